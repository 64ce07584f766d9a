"""Benchmark: how heavy each worker page is, and how soon the landing page is usable on a weak signal.

A courier scans the depot poster with a cheap phone on a poor mobile link. This serves the
app for real (a werkzeug thread on a SQLite file with the demo directory), walks the whole
worker journey in the system Chromium at 360×740 and reports, per page, all its bytes (the
document and every file it loads). Then, with Chromium's network emulation (CDP
``Network.emulateNetworkConditions``: 400 kbit/s down, 400 ms round trip), it opens the
scanned URL with an empty cache and times the moment the page is usable: the phone field
is on screen and the button can be tapped (and, for comparison, the ``load`` event).

    .venv/bin/python -m bench.pages            # 5 cold loads of the landing page
    .venv/bin/python -m bench.pages --runs 10
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from werkzeug.serving import make_server

from app import create_app, migrate
from app.directory.models import Station
from app.joincodes import service as joincodes_service

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105  # a throwaway server's key
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SLOW_LINK = {
    "offline": False,
    "latency": 400,  # ms from request sent to response headers: one round trip
    "downloadThroughput": 400_000 / 8,  # bytes per second
    "uploadThroughput": 400_000 / 8,
}
DEMO_ADMIN = {"username": "demo-admin", "password": "demo-admin-2026"}
PHONE = "13900000001"


class _Codes(logging.Handler):
    """The console SMS gateway's lines: the code a phone would have received."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(str(getattr(record, "text", "")))

    def last(self) -> str:
        match = re.search(r"\d{6}", self.texts[-1])
        assert match is not None
        return match.group(0)


def _serve(directory: Path) -> tuple[Any, str, Any]:
    url = f"sqlite:///{directory / 'bench.sqlite3'}"
    migrate.upgrade(url)
    server = make_server("127.0.0.1", 0, lambda environ, start: app(environ, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        {
            "env": "test",
            "database_url": url,
            "secret_key": SECRET,
            "public_base_url": base,
            "ratelimit_storage_uri": "memory://",
            "log_level": "WARNING",
        }
    )
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, base, server


def _join_token(app: Any) -> str:
    with app.app_context():
        session = app.extensions["ruhui.sessionmaker"]()
        station = session.scalars(sa.select(Station).where(Station.employer_id.is_not(None)).limit(1)).one()
        token = joincodes_service.create_join_code(session, station, created_by_id=None).token
        session.commit()
        session.close()
    return token


class _Weigher:
    """All the bytes of the page on screen: its document and every file it references."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.document: Any = None
        page.on("response", self._seen)

    def _seen(self, response: Any) -> None:
        if response.request.resource_type == "document" and not 300 <= response.status < 400:
            self.document = response

    def weigh(self) -> int:
        self.page.wait_for_load_state("load")
        urls = self.page.evaluate(
            "() => [...document.querySelectorAll('script[src], link[href], img[src]')].map(e => e.src || e.href)"
        )
        return len(self.document.body()) + sum(len(self.page.request.get(u).body()) for u in urls)


def page_weights(browser: Any, app: Any, base: str, token: str, codes: _Codes) -> dict[str, int]:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    scale = _Weigher(page)
    weights: dict[str, int] = {}
    page.goto(f"{base}/j/{token}")
    weights["/j/{token} landing"] = scale.weigh()
    page.get_by_label("手机号", exact=True).fill(PHONE)
    page.get_by_role("button", name="获取验证码", exact=True).click()
    weights["/signin/code"] = scale.weigh()
    page.get_by_label("验证码", exact=True).fill(codes.last())
    page.get_by_role("button", name="下一步", exact=True).click()
    weights["/j/{token}/apply form"] = scale.weigh()
    page.get_by_label("姓名", exact=True).fill("王小明")
    page.get_by_label("身份证号", exact=True).fill("11010519491231002X")
    page.get_by_label("用工形式", exact=True).select_option("platform")
    page.get_by_role("checkbox", name=re.compile("同意")).check()
    page.get_by_role("button", name="提交申请", exact=True).click()
    weights["/my/applications/{id} submitted"] = scale.weigh()
    application_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    page.goto(f"{base}/my")
    weights["/my"] = scale.weigh()
    api = app.test_client()
    login = api.post("/api/v1/officers/login", json=DEMO_ADMIN).get_json()
    decided = api.post(
        f"/api/v1/review/applications/{application_id}/decision",
        json={"action": "approve"},
        headers={"Authorization": f"Bearer {login['access_token']}"},
    )
    assert decided.status_code == 200, decided.get_json()
    page.goto(f"{base}/my/card")
    weights["/my/card"] = scale.weigh()
    page.goto(f"{base}/api/v1/cards/forged")
    weights["/api/v1/cards/{token} (HTML)"] = scale.weigh()
    context.close()
    return weights


def landing_on_a_slow_link(browser: Any, base: str, token: str, runs: int) -> tuple[list[float], list[float]]:
    usable: list[float] = []
    loaded: list[float] = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", SLOW_LINK)
        start = time.perf_counter()
        page.goto(f"{base}/j/{token}", wait_until="commit")
        page.get_by_role("button", name="获取验证码", exact=True).wait_for(state="visible")
        usable.append(time.perf_counter() - start)
        page.wait_for_load_state("load")
        loaded.append(time.perf_counter() - start)
        context.close()
    return usable, loaded


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold loads of the landing page on the slow link")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    codes = _Codes()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would drown the figures
    logging.getLogger("ruhui.sms.console").addHandler(codes)
    with tempfile.TemporaryDirectory() as directory, sync_playwright() as playwright:
        app, base, server = _serve(Path(directory))
        logging.getLogger("ruhui.sms.console").setLevel(logging.INFO)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            token = _join_token(app)
            print("page                               bytes (all files, uncompressed)")
            for name, size in page_weights(browser, app, base, token, codes).items():
                print(f"{name:34} {size:7,}")
            usable, loaded = landing_on_a_slow_link(browser, base, token, args.runs)
            print(f"landing on 400 kbit/s, 400 ms RTT, cold cache, {args.runs} runs:")
            print(
                f"  usable (phone field and button on screen): median {statistics.median(usable):.2f} s, "
                f"max {max(usable):.2f} s"
            )
            print(
                f"  load event:                                median {statistics.median(loaded):.2f} s, "
                f"max {max(loaded):.2f} s"
            )
        finally:
            browser.close()
            server.shutdown()
            app.extensions["ruhui.engine"].dispose()


if __name__ == "__main__":
    main()
