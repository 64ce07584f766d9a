"""Browser reach, checked in the files themselves: the console's JavaScript is ES2019, its CSS is Chromium 90's.

The government PCs run domestic Chromium 90–93 builds and Firefox ESR. The script is parsed by
acorn (npm, pinned) as ES2019, which refuses any later syntax; the CSS of every console template
and static file is read for what Chromium 90 lacks (``:has()``, container queries, nesting, …).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "app" / "console"
ACORN = ROOT / "node_modules" / "acorn" / "bin" / "acorn"
# Later than Chromium 90 (the version that shipped each, in brackets).
NEWER_CSS = {
    ":has(": "the :has() selector (105)",
    "@container": "container queries (105)",
    "container-type": "container queries (105)",
    "@layer": "cascade layers (99)",
    "@scope": "@scope (118)",
    "accent-color": "accent-color (93)",
    "color-mix(": "color-mix() (111)",
    "text-wrap": "text-wrap (114)",
}
_VIEWPORT_UNITS = re.compile(r"\d(dvh|svh|lvh|dvw|svw|lvw)\b")  # 108
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
_STYLE_ATTRIBUTE = re.compile(r'style="([^"]*)"')


def _es2019(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not ACORN.exists():
        pytest.fail("node and acorn are needed: `make install-dev` (npm ci)")
    return subprocess.run(  # noqa: S603  # our own files through a pinned tool
        [node, str(ACORN), "--ecma2019", "--silent", str(path)], capture_output=True, text=True, check=False
    )


def test_the_console_script_is_es2019():
    scripts = sorted((CONSOLE / "static").rglob("*.js"))
    assert scripts
    for script in scripts:
        parsed = _es2019(script)
        assert parsed.returncode == 0, f"{script.name} is newer than ES2019: {parsed.stderr}"


def test_the_es2019_check_refuses_later_syntax(tmp_path):
    for later in ("var a = b?.c;", "var a = b ?? c;", "a ||= 1;", "class A { #x = 1; }", "var n = 1_000;"):
        script = tmp_path / "later.js"
        script.write_text(later, encoding="utf-8")
        assert _es2019(script).returncode != 0, later


def _console_css() -> dict[str, str]:
    found = {}
    for template in sorted((CONSOLE / "templates").rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        css = "\n".join(_STYLE_BLOCK.findall(text) + _STYLE_ATTRIBUTE.findall(text))
        if css.strip():
            found[template.name] = css
    for sheet in sorted((CONSOLE / "static").rglob("*.css")):
        found[sheet.name] = sheet.read_text(encoding="utf-8")
    return found


def _nested_rules(css: str) -> list[str]:
    """Style rules inside style rules (CSS nesting, Chromium 112); rules inside @media and the like are fine."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    stack: list[bool] = []  # True: a style rule's block
    nested, prelude = [], ""
    for char in css:
        if char == "{":
            is_style_rule = not prelude.strip().startswith("@")
            if is_style_rule and stack and stack[-1]:
                nested.append(prelude.strip())
            stack.append(is_style_rule)
            prelude = ""
        elif char == "}":
            if stack:
                stack.pop()
            prelude = ""
        elif char == ";":
            prelude = ""
        else:
            prelude += char
    return nested


def test_the_console_css_is_within_chromium_90():
    sheets = _console_css()
    assert "base.html" in sheets
    problems = []
    for name, css in sheets.items():
        problems += [f"{name}: {what}" for token, what in NEWER_CSS.items() if token in css]
        problems += [f"{name}: {unit} viewport units (108)" for unit in _VIEWPORT_UNITS.findall(css)]
        problems += [f"{name}: nested rule {rule!r} (112)" for rule in _nested_rules(css)]
    assert problems == []


def test_the_nesting_check_sees_nesting():
    assert _nested_rules(".a { color: red; .b { color: blue; } }") == [".b"]
    assert _nested_rules(".a { color: red; &:hover { color: blue; } }") == ["&:hover"]
    assert _nested_rules("@media print { .a { color: red; } } .b { x: y; }") == []
