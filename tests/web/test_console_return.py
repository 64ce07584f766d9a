"""One journey across both doors: a worker applies on the phone, an officer returns it in the console with a reason,
and the worker reads why on their own progress page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.enrollment.models import Application
from tests.web.steps import fill_form, scan_and_sign_in, submit

PHONE = "13900002222"
REASON = "请补充工作单位的全称"
CONSOLE = {"viewport": {"width": 1366, "height": 768}, "locale": "zh-CN"}


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_an_officer_returns_it_in_the_console_and_the_worker_sees_the_reason(
    js, live_server, browser, new_page, sms, nanjing, session, make_officer, screenshot
):
    # The worker scans the depot's poster, signs in with the SMS code and applies.
    phone = new_page(js=js)
    scan_and_sign_in(phone, live_server.url, nanjing.code.token, PHONE, sms)
    fill_form(phone)
    submit(phone)
    assert "待审核" in phone.inner_text("main")
    application = session.scalars(sa.select(Application)).one()

    # A reviewer of the union it was routed to signs in to the console at a desk.
    officer, _ = make_officer(nanjing.express, role="reviewer")
    desk_context = browser.new_context(**CONSOLE, java_script_enabled=js)
    try:
        desk = desk_context.new_page()
        desk.goto(f"{live_server.url}/console/review")
        desk.get_by_label("用户名").fill(officer.username)
        desk.get_by_label("密码").fill("correct-horse-battery")  # make_officer's password
        desk.get_by_role("button", name="登录").click()
        desk.wait_for_url(re.compile(r"/console/review$"))

        # The queue lists it (masked name); its detail returns it with a reason.
        row = desk.locator("tbody tr", has_text="王**")
        assert row.count() == 1 and "小明" not in desk.content()
        row.get_by_role("link", name=re.compile("查看")).click()
        assert desk.get_by_role("heading", name=re.compile(f"#{application.id}")).is_visible()
        desk.get_by_label("原因", exact=True).fill(REASON)
        desk.get_by_role("button", name="退回补充").click()
        assert desk.locator("#status").inner_text() == "退回补充"
        screenshot(desk, f"console-returned-{'js' if js else 'nojs'}")
    finally:
        desk_context.close()

    # The worker's own progress page and the application's page say so, with the officer's words.
    phone.goto(f"{live_server.url}/my")
    assert f"已退回（{REASON}）" in phone.inner_text("main")
    phone.get_by_role("link", name=re.compile("查看详情")).click()
    assert REASON in phone.inner_text("main")
    assert phone.get_by_role("link", name="修改后重新提交", exact=True).is_visible()
    screenshot(phone, f"my-returned-{'js' if js else 'nojs'}")
    session.expire_all()
    returned = session.get(Application, application.id)
    assert (returned.status, returned.decision_reason) == ("returned", REASON)
