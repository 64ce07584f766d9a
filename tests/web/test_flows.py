"""The worker pages' other paths in Chromium: mistakes, corrections, dead codes, double taps, the session."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.enrollment.models import Application
from app.joincodes import service as joincodes
from tests.web.steps import VALID_ID, fill_form, scan_and_sign_in, submit


def _applications(session):
    session.expire_all()
    return session.scalars(sa.select(Application)).all()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_wrong_code_is_refused_beside_the_field_and_the_right_one_still_works(
    js, live_server, new_page, sms, nanjing
):
    page = new_page(js=js)
    page.goto(f"{live_server.url}/j/{nanjing.code.token}")
    page.get_by_label("手机号", exact=True).fill("13900002222")
    page.get_by_role("button", name="获取验证码", exact=True).click()
    right = sms.last_code("13900002222")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    page.get_by_label("验证码", exact=True).fill(wrong)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="下一步", exact=True).click()
    assert navigation.value.status == 400
    assert page.locator("#code-error").inner_text() == "验证码错误，还可尝试 4 次"
    assert page.get_by_label("验证码", exact=True).get_attribute("aria-invalid") == "true"
    page.get_by_label("验证码", exact=True).fill(right)
    page.get_by_role("button", name="下一步", exact=True).click()
    assert page.get_by_label("姓名", exact=True).is_visible()


def test_a_bad_phone_number_is_refused_beside_the_field(live_server, new_page, nanjing, sms):
    page = new_page(js=False)
    page.goto(f"{live_server.url}/j/{nanjing.code.token}")
    page.get_by_label("手机号", exact=True).fill("12345")
    page.get_by_role("button", name="获取验证码", exact=True).click()
    assert page.locator("#phone-error").inner_text() == "请输入正确的中国大陆手机号"
    assert sms.records == []


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_bad_id_number_is_refused_beside_the_field(js, live_server, new_page, sms, nanjing, session):
    page = new_page(js=js)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900003333", sms)
    fill_form(page, id_number="110105194912310021")  # wrong check digit
    submit(page)
    message = page.locator("#id_number-error").inner_text()
    assert "校验" in message or "身份证" in message
    assert message in page.locator(".summary").inner_text()  # summarised at the top too
    assert page.get_by_label("姓名", exact=True).input_value() == "王小明"  # what was typed is kept
    assert page.get_by_role("checkbox", name=re.compile("同意")).is_checked()
    assert _applications(session) == []


def test_without_the_consent_tick_nothing_is_filed(live_server, new_page, sms, nanjing, session):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900004444", sms)
    fill_form(page)
    page.get_by_role("checkbox", name=re.compile("同意")).uncheck()
    submit(page)
    assert "同意" in page.locator("#consent-error").inner_text()
    assert _applications(session) == []


def test_a_station_without_employer_asks_for_the_workplace(live_server, new_page, sms, nanjing, session):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.rider_code.token, "13900005555", sms)
    page.get_by_label("工作单位", exact=True).fill("  某某  外卖平台 ")
    fill_form(page)
    submit(page)
    assert "待审核" in page.inner_text("main")
    assert _applications(session)[0].employer_name == "某某 外卖平台"


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_double_tap_or_a_resend_of_the_form_files_one_application(js, live_server, new_page, sms, nanjing, session):
    from playwright.sync_api import Error as PlaywrightError

    page = new_page(js=js)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900006666", sms)
    fill_form(page)
    form = page.locator("form[data-once]")
    sent = {
        name: form.locator(f'[name="{name}"]').first.input_value()
        for name in (
            "csrf_token",
            "nonce",
            "consent_version",
            "full_name",
            "id_number",
            "occupation",
            "employment_form",
        )
    }
    try:
        with page.expect_navigation(url=re.compile(r"/my/applications/")):
            page.get_by_role("button", name="提交申请", exact=True).dblclick()
    except PlaywrightError:
        # Without JavaScript the second tap submits again and the browser may abort the first submission's
        # navigation (net::ERR_ABORTED): the worker lands where the second one leads.
        page.wait_for_url(re.compile(r"/my/applications/"))
    assert "待审核" in page.inner_text("main")
    page.reload()  # a GET after the redirect: nothing is sent again
    # The same form sent once more (a retry over a weak signal): answered with the same application.
    again = page.request.post(
        f"{live_server.url}/j/{nanjing.code.token}/apply", form={**sent, "consent": "1"}, max_redirects=0
    )
    assert again.status == 303
    assert again.headers["location"].split("?")[0] == page.url.split("?")[0].removeprefix(live_server.url)
    assert len(_applications(session)) == 1


def test_a_worker_signed_in_on_this_phone_skips_the_code(live_server, new_page, sms, nanjing):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900007777", sms)
    sent = len(sms.records)
    page.goto(f"{live_server.url}/j/{nanjing.rider_code.token}")
    assert page.get_by_label("手机号", exact=True).count() == 0
    page.get_by_role("link", name="下一步", exact=True).click()
    assert page.get_by_label("工作单位", exact=True).is_visible()
    assert len(sms.records) == sent


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_returned_application_is_corrected_and_resubmitted(
    js, live_server, new_page, sms, nanjing, session, make_officer, screenshot
):
    page = new_page(js=js)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900008888", sms)
    fill_form(page, form="contract")
    submit(page)
    application = _applications(session)[0]
    _, officer = make_officer(nanjing.express, role="reviewer")
    api = live_server.app.test_client()
    returned = api.post(
        f"/api/v1/review/applications/{application.id}/decision",
        json={"action": "return", "reason": "用工形式请选平台"},
        headers=officer,
    )
    assert returned.status_code == 200
    page.goto(f"{live_server.url}/my")
    assert "已退回（用工形式请选平台）" in page.inner_text("main")
    page.get_by_role("link", name=re.compile("查看详情")).click()
    page.get_by_role("link", name="修改后重新提交", exact=True).click()
    assert "用工形式请选平台" in page.inner_text("main")
    assert page.get_by_label("用工形式", exact=True).input_value() == "contract"
    fill_form(page, form="platform")
    screenshot(page, f"8-edit-{'js' if js else 'nojs'}")
    with page.expect_navigation():
        page.get_by_role("button", name="重新提交申请", exact=True).click()
    assert "待审核" in page.inner_text("main")
    session.expire_all()
    again = session.get(Application, application.id)
    assert (again.status, again.employment_form) == ("pending", "platform")
    assert len(_applications(session)) == 1


def test_a_pending_application_is_withdrawn(live_server, new_page, sms, nanjing, session):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900009999", sms)
    fill_form(page)
    submit(page)
    page.get_by_role("button", name="撤回申请", exact=True).click()
    assert "已撤回" in page.inner_text("main")
    assert _applications(session)[0].status == "withdrawn"


def test_a_revoked_code_gets_its_own_page_and_no_form(live_server, new_page, sms, nanjing, session, screenshot):
    joincodes.revoke_join_code(session, nanjing.code, revoked_by_id=None)
    session.commit()
    page = new_page(js=False)
    response = page.goto(f"{live_server.url}/j/{nanjing.code.token}")
    assert response.status == 410
    assert "这个入会码已停用" in page.inner_text("main")
    assert page.get_by_label("手机号", exact=True).count() == 0
    assert page.locator("main").get_by_role("link", name="12351").get_attribute("href") == "tel:12351"
    screenshot(page, "9-revoked")


def test_personal_pages_are_not_cached_and_the_session_cookie_is_safe(live_server, new_page, sms, nanjing):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900001234", sms)
    response = page.goto(f"{live_server.url}/my")
    assert response.headers["cache-control"] == "no-store"
    cookie = next(c for c in page.context.cookies() if c["name"] == "session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain http here
    assert "13900001234" not in cookie["value"]


def test_a_form_without_its_csrf_token_is_refused(live_server, new_page, sms, nanjing, session):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900004321", sms)
    form = {"full_name": "王小明", "id_number": VALID_ID, "occupation": "courier", "employment_form": "platform"}
    response = page.request.post(
        f"{live_server.url}/j/{nanjing.code.token}/apply",
        form={**form, "consent": "1", "consent_version": "2026-01", "nonce": "n" * 22},
    )
    assert response.status == 400 and "页面已过期" in response.text()
    assert _applications(session) == []


def test_the_web_session_and_the_api_tokens_name_the_same_person(live_server, new_page, sms, nanjing, session, clock):
    page = new_page(js=False)
    scan_and_sign_in(page, live_server.url, nanjing.code.token, "13900005678", sms)
    fill_form(page)
    submit(page)
    filed = _applications(session)[0]
    api = live_server.app.test_client()
    clock.advance(61)  # one code a minute per number
    challenge = api.post("/api/v1/auth/otp", json={"phone": "13900005678"}).get_json()["challenge_id"]
    tokens = api.post("/api/v1/auth/otp/verify", json={"challenge_id": challenge, "code": sms.last_code("13900005678")})
    mine = api.get("/api/v1/me/applications", headers={"Authorization": f"Bearer {tokens.get_json()['access_token']}"})
    assert [item["id"] for item in mine.get_json()["items"]] == [str(filed.id)]


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
def test_a_card_check_answers_a_browser_with_a_page_and_a_program_with_json(client, nanjing, accept, mimetype):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/api/v1/cards/forged-token", headers=headers)
    assert response.status_code == 404 and response.mimetype == mimetype
    if mimetype == "text/html":
        assert "无法核验" in response.get_data(as_text=True)
    else:
        assert response.get_json()["code"] == "card_not_found"
