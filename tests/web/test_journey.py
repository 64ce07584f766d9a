"""The whole worker journey in a real phone-sized Chromium, with JavaScript on and again with it off."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.enrollment.models import Application
from tests.web.steps import fill_form, read_qr_on_screen, submit

PHONE = "13900001111"


def _decide(client, headers, application_id, action, reason=None):
    body = {"action": action, **({"reason": reason} if reason else {})}
    response = client.post(f"/api/v1/review/applications/{application_id}/decision", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_scan_to_member_card_and_its_check(js, live_server, new_page, sms, nanjing, session, make_officer, screenshot):
    page = new_page(js=js)
    suffix = "js" if js else "nojs"

    # The poster's QR code opens the landing page: station, employer and the union it goes to.
    page.goto(f"{live_server.url}/j/{nanjing.code.token}")
    assert page.get_by_text(nanjing.depot.name).is_visible()
    assert page.get_by_text("示例速运南京分公司").is_visible()
    assert page.get_by_text("南京市快递行业工会联合会").is_visible()
    screenshot(page, f"1-landing-{suffix}")

    # Phone number, then the code the console gateway logged.
    page.get_by_label("手机号", exact=True).fill(PHONE)
    page.get_by_role("button", name="获取验证码", exact=True).click()
    assert "138" not in page.content() and "139****1111" in page.content()
    screenshot(page, f"2-code-{suffix}")
    page.get_by_label("验证码", exact=True).fill(sms.last_code(PHONE))
    page.get_by_role("button", name="下一步", exact=True).click()

    # The form: the station has an employer, so no 工作单位 field.
    assert page.get_by_label("工作单位", exact=True).count() == 0
    fill_form(page)
    screenshot(page, f"3-form-{suffix}")
    submit(page)
    assert "/my/applications/" in page.url and PHONE not in page.url
    body = page.inner_text("main")
    assert "待审核" in body and "南京市快递行业工会联合会" in body
    screenshot(page, f"4-submitted-{suffix}")

    application = session.scalars(sa.select(Application)).one()
    assert (application.status, application.consent_version) == ("pending", "2026-01")

    # Progress, reachable from every page once signed in.
    page.get_by_role("link", name="我的申请", exact=True).click()
    assert "待审核" in page.inner_text("main")
    screenshot(page, f"5-my-{suffix}")

    # An officer approves through the JSON API; the worker's page shows it and the card.
    _, officer = make_officer(nanjing.express, role="reviewer")
    _decide(live_server.app.test_client(), officer, application.id, "approve")
    page.reload()
    assert "已通过" in page.inner_text("main")
    page.get_by_role("link", name="出示电子会员证", exact=True).click()
    session.expire_all()
    member_no = session.get(Application, application.id).member_no
    card_text = page.inner_text("main")
    assert member_no and member_no in card_text and "南京市快递行业工会联合会" in card_text
    assert int(page.locator("[data-refresh]").get_attribute("data-refresh")) < 300  # before the token's 5 minutes
    screenshot(page, f"6-card-{suffix}")

    # The card's QR code holds the public check URL; a phone camera opening it sees an HTML page.
    card_url = read_qr_on_screen(page)
    assert card_url.startswith(f"{live_server.url}/api/v1/cards/")
    check = new_page(js=js)
    check.goto(card_url)
    checked = check.inner_text("main")
    assert "有效会员" in checked and "王**" in checked and "南京市快递行业工会联合会" in checked
    assert "核验时间" in checked
    screenshot(check, f"7-card-check-{suffix}")
