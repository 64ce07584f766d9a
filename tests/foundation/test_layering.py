"""The features low in the tree (directory, notify, audit) import no feature above them.

Read from the source with ``ast``, so a new import that breaks the layering fails here
before it becomes a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
LOW = ("directory", "notify", "audit")
ABOVE = ("auth", "enrollment", "review", "joincodes", "stats", "exports", "routing")

# The few imports upward that are allowed, and why: tables, never rules.
ALLOWED = {
    # A blueprint is a door: it asks auth who is calling, as every door does.
    ("api", "app.auth.access"),
    # The outbox sends to a person: it reads the persons table and unseals the number with the
    # phone helpers (not the auth service).
    ("notify.outbox", "app.auth.models"),
    ("notify.outbox", "app.auth.phones"),
    # Moving a union re-homes the applications' copies of its path, through the one function
    # enrollment's models keep for it.
    ("directory.service", "app.enrollment.models"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # from app import auth
    return names


def _upward(module: str, imported: str) -> bool:
    parts = imported.split(".")
    if parts[0] != "app" or len(parts) < 2 or parts[1] not in ABOVE:
        return False
    target = ".".join(parts[:3])
    # "api" names every package's blueprint module; "notify.outbox" names one module.
    return not any(target == allowed and who in (module, module.rsplit(".", 1)[-1]) for who, allowed in ALLOWED)


def _modules() -> list[tuple[str, Path]]:
    return [(f"{package}.{path.stem}", path) for package in LOW for path in sorted((APP / package).glob("*.py"))]


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[module for module, _ in _modules()])
def test_low_features_import_nothing_above_them(module, path):
    upward = sorted(name for name in _imports(path) if _upward(module, name))
    assert upward == [], f"app.{module} imports {upward}"


def test_the_check_sees_an_upward_import():
    assert _upward("directory.service", "app.auth.service")
    assert _upward("notify.outbox", "app.auth")
    assert not _upward("directory.api", "app.auth.access")
    assert not _upward("directory.service", "app.db")
