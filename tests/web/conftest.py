"""Browser fixtures: the app served for real on a local port, and the system's Chromium driven by Playwright.

Chromium is the Debian package (``make test`` installs it and a CJK font); Playwright's own
browser downloads are never used. Each test gets a fresh database (the ``app`` fixture), a
server thread serving that app, and a phone-sized browser context with JavaScript on or off.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "instance" / "screenshots"


class _LateApp:
    """A WSGI app whose real app is set once the server knows its port (the app's PUBLIC_BASE_URL)."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@dataclass
class LiveServer:
    url: str
    app: Any


@pytest.fixture
def live_server(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[LiveServer]:
    late = _LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app_config["public_base_url"] = url
    late.app = request.getfixturevalue("app")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url=url, app=late.app)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium fonts-noto-cjk, as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(js=True)``: a fresh 360×740 phone browser (own cookies), JavaScript on or off."""
    contexts: list[Any] = []

    def make(js: bool = True, **options: Any) -> Any:
        context = browser.new_context(
            viewport=PHONE, java_script_enabled=js, locale="zh-CN", device_scale_factor=1, **options
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


class SmsInbox(logging.Handler):
    """The console SMS gateway's log lines: what a phone would have received."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def last_code(self, phone: str) -> str:
        texts = [str(getattr(r, "text", "")) for r in self.records if getattr(r, "phone", None) == phone]
        assert texts, f"no SMS was sent to {phone}"
        match = re.search(r"\d{6}", texts[-1])
        assert match is not None
        return match.group(0)


@pytest.fixture
def sms() -> Iterator[SmsInbox]:
    inbox = SmsInbox()
    logger = logging.getLogger("ruhui.sms.console")
    logger.addHandler(inbox)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield inbox
    logger.removeHandler(inbox)
    logger.setLevel(previous)


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """``screenshot(page, name)``: a full-page PNG under instance/screenshots/ to look at."""

    def take(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
