"""A worker deletes their own data from the web pages (the same service as DELETE /me, issue 17 item 6)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.auth.models import Person
from app.enrollment import service as enrollment_service
from app.enrollment.models import Application, Identity
from tests.web.steps import fill_form, scan_and_sign_in, submit

PHONE = "13900007777"


def test_a_worker_deletes_their_data_with_a_code_and_is_signed_out(
    live_server, new_page, sms, nanjing, session, clock, screenshot
):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, PHONE, sms)
    fill_form(page, name="欧阳娜娜")
    submit(page)
    page.goto(f"{live_server.url}/my")
    page.get_by_role("link", name="删除我的个人信息", exact=True).click()
    assert "无法恢复" in page.inner_text("main")
    screenshot(page, "erase-1-explained")
    clock.advance(61)  # one code a minute per number
    page.get_by_role("button", name="获取验证码", exact=True).click()
    page.get_by_label("验证码", exact=True).fill("000000" if sms.last_code(PHONE) != "000000" else "111111")
    page.get_by_role("button", name="确认删除", exact=True).click()
    assert "验证码错误，还可尝试 4 次" in page.inner_text("main")
    screenshot(page, "erase-2-wrong-code")
    page.get_by_label("验证码", exact=True).fill(sms.last_code(PHONE))
    page.get_by_role("button", name="确认删除", exact=True).click()
    assert "个人信息已删除" in page.inner_text("main")
    screenshot(page, "erase-3-done")

    session.expire_all()
    identity = session.scalars(sa.select(Identity)).one()
    assert identity.erased_at is not None and identity.name_sealed == "" and identity.name_masked == ""
    assert session.scalars(sa.select(Application.status)).one() == "withdrawn"
    assert session.scalars(sa.select(Person.phone_masked)).one() == ""
    page.goto(f"{live_server.url}/my")
    assert page.get_by_label("手机号", exact=True).count() == 1  # signed out: back at the sign-in


def test_a_member_is_told_to_withdraw_first_and_gets_no_button(
    live_server, new_page, sms, nanjing, session, screenshot
):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, PHONE, sms)
    fill_form(page)
    submit(page)
    application = session.scalars(sa.select(Application)).one()
    with live_server.app.app_context():
        application.status = "approved"
        enrollment_service.grant_membership(session, application, dt.datetime.now(dt.UTC))
        session.commit()
    page.goto(f"{live_server.url}/my/erase")
    assert "请先办理退会" in page.inner_text("main")
    assert page.get_by_role("button", name="获取验证码", exact=True).count() == 0
    screenshot(page, "erase-4-member")
    session.expire_all()
    assert session.scalars(sa.select(Identity.erased_at)).one() is None
