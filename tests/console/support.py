"""Helpers for the console's tests: forms with the page's CSRF token, and the browser's tools (no fixtures here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "long-enough-pass"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 768}
# Our test tools (axe) are injected into pages whose CSP allows only the app's own scripts.
CONTEXT = {"viewport": DESKTOP, "locale": "zh-CN", "bypass_csp": True}


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.get_data(as_text=True))},
    )


def post_form(client, page_url: str, action: str, data: Mapping[str, object] | None = None, **kwargs):
    """POST ``data`` to ``action`` with the CSRF token of the page at ``page_url`` (what a browser submits)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return client.post(action, data={**(data or {}), "csrf_token": csrf_of(page.get_data(as_text=True))}, **kwargs)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page as it stands."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make install-dev` (npm ci)")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))  # the context bypasses the page's CSP for this
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
