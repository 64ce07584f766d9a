"""Every worker page: no serious or critical axe-core violation, at most 30 KB all bytes counted, all from here."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.enrollment.models import Application
from tests.web.conftest import AXE, PHONE
from tests.web.steps import fill_form, read_qr_on_screen, submit

PAGE_BUDGET = 30 * 1024


class PageBytes:
    """The page on screen, all its bytes counted: its document and every file it loads (cached or not)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.document: Any = None
        page.on("response", self._seen)

    def _seen(self, response: Any) -> None:
        if response.request.resource_type == "document" and not 300 <= response.status < 400:
            self.document = response

    def take(self) -> tuple[int, list[str]]:
        urls = self.page.evaluate(
            """() => [...document.querySelectorAll('script[src], link[href], img[src], iframe[src], source[src]')]
                     .map(e => e.src || e.href)"""
        )
        total = len(self.document.body()) + sum(len(self.page.request.get(url).body()) for url in urls)
        return total, urls


def _axe(page: Any) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_every_worker_page_is_accessible_small_and_self_contained(
    live_server, new_page, sms, nanjing, session, make_officer, screenshot
):
    # bypass_csp: the test injects axe-core, which the pages' own policy rightly refuses.
    page = new_page(js=True, bypass_csp=True)
    loaded = PageBytes(page)
    checked: dict[str, tuple[int, list[dict[str, Any]]]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        size, urls = loaded.take()
        assert all(url.startswith(live_server.url) for url in urls), urls
        assert any(url.endswith("/web/static/web.js") for url in urls), urls
        # Readable at 320 px: nothing wider than the narrowest phone, so nothing scrolls sideways.
        page.set_viewport_size({"width": 320, "height": 640})
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320, name
        page.set_viewport_size(PHONE)
        screenshot(page, f"quality-{name.replace(' ', '-').replace(',', '')}")
        checked[name] = (size, _axe(page))

    page.goto(f"{live_server.url}/j/{nanjing.code.token}")
    check("landing")
    page.get_by_label("手机号", exact=True).fill("139")
    page.get_by_role("button", name="获取验证码", exact=True).click()
    check("phone with an error")
    page.get_by_label("手机号", exact=True).fill("13900001010")
    page.get_by_role("button", name="获取验证码", exact=True).click()
    check("code")
    page.get_by_label("验证码", exact=True).fill(sms.last_code("13900001010"))
    page.get_by_role("button", name="下一步", exact=True).click()
    check("form")
    fill_form(page, id_number="110105194912310021")
    submit(page)
    check("form with errors")
    fill_form(page)
    submit(page)
    check("submitted")
    page.goto(f"{live_server.url}/my")
    check("my applications")
    page.get_by_role("link", name="删除我的个人信息", exact=True).click()
    check("erase my data")

    application = session.scalars(sa.select(Application)).one()
    _, officer = make_officer(nanjing.express, role="reviewer")
    api = live_server.app.test_client()
    decide = f"/api/v1/review/applications/{application.id}/decision"
    assert api.post(decide, json={"action": "return", "reason": "请核对"}, headers=officer).status_code == 200
    page.goto(f"{live_server.url}/my/applications/{application.id}/edit")
    check("correction form")
    fill_form(page)
    page.get_by_role("button", name="重新提交申请", exact=True).click()
    assert api.post(decide, json={"action": "approve"}, headers=officer).status_code == 200
    page.goto(f"{live_server.url}/my/card")
    check("card")
    card_url = read_qr_on_screen(page)
    assert card_url not in page.content()  # the token is only in the QR code, never in a link
    page.goto(card_url)
    check("card check")
    page.goto(f"{live_server.url}/api/v1/cards/forged-token")
    check("card check, invalid")
    page.goto(f"{live_server.url}/j/{'z' * 22}")
    check("unknown code")
    page.goto(f"{live_server.url}/my/applications/999999")
    check("error")

    for name, (size, violations) in checked.items():
        assert size <= PAGE_BUDGET, f"{name}: {size} bytes"
        assert violations == [], (name, [(v["id"], v["impact"], v["help"]) for v in violations])
