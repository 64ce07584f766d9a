"""Services know no HTTP: they take a session and plain values, so the API, the CLI and the pages share them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
# Every feature's rules, and the rules kept under other names: the directory importer (it takes the
# uploaded file's bytes, not the upload), member numbers and cards, and the outbox.
OTHER_RULES = ("directory/imports.py", "enrollment/members.py", "notify/outbox.py")
SERVICES = sorted([*APP.rglob("service.py"), *(APP / path for path in OTHER_RULES)])
WEB = ("flask", "werkzeug")


def _imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _is_web(module: str) -> bool:
    top = module.split(".")[0]
    return top in WEB or top.startswith("flask_")


def test_every_feature_has_a_service_to_check():
    assert len(SERVICES) >= 9, SERVICES


@pytest.mark.parametrize("path", SERVICES, ids=lambda path: str(path.relative_to(APP)))
def test_services_import_neither_flask_nor_werkzeug(path):
    assert [module for module in _imported_modules(path) if _is_web(module)] == []


def test_the_check_sees_imports_anywhere_in_a_module(tmp_path):
    module = tmp_path / "service.py"
    module.write_text("import os\nfrom flask import g\n\n\ndef f():\n    import werkzeug.datastructures\n")
    assert [name for name in _imported_modules(module) if _is_web(name)] == ["flask", "werkzeug.datastructures"]
