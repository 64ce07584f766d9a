"""The A4 poster in Chromium's print layout: long names stay on the sheet, with the steps and the URL."""

from __future__ import annotations

import re

import pytest


def _box(page, selector):
    return page.locator(selector).bounding_box()


@pytest.mark.parametrize("length", [8, 40, 120])
def test_the_steps_and_the_url_stay_on_one_a4_sheet_whatever_the_station_name(
    length, live_server, new_page, nanjing, session, make_officer, screenshot
):
    nanjing.depot.name = ("示例速运玄武区点部" * 14)[:length]
    session.commit()
    _, admin = make_officer(nanjing.province, role="admin")
    page = new_page(js=True, extra_http_headers=admin)
    page.emulate_media(media="print")
    response = page.goto(f"{live_server.url}/api/v1/join-codes/{nanjing.code.id}/poster")
    assert response.status == 200
    sheet, steps, foot = _box(page, ".sheet"), _box(page, "ol"), _box(page, ".foot")
    station = _box(page, ".station")
    bottom = sheet["y"] + sheet["height"]
    assert station["x"] >= sheet["x"] and station["x"] + station["width"] <= sheet["x"] + sheet["width"]
    assert steps["y"] + steps["height"] <= foot["y"] <= bottom - foot["height"]
    assert page.get_by_text(nanjing.code.token).is_visible()
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    screenshot(page, f"poster-{length}")


def test_the_poster_tells_the_truth_about_phone_cameras(live_server, new_page, nanjing, make_officer):
    _, admin = make_officer(nanjing.province, role="admin")
    page = new_page(js=False, extra_http_headers=admin)
    page.goto(f"{live_server.url}/api/v1/join-codes/{nanjing.code.id}/poster")
    steps = page.inner_text("ol")
    assert "手机相机" in steps and "小程序" not in steps
    # And what the camera opens is the web join itself, not "open WeChat and scan again".
    landing = new_page(js=False)
    landing.goto(f"{live_server.url}/j/{nanjing.code.token}")
    assert landing.get_by_label("手机号", exact=True).is_visible()
    assert "重新扫描" not in landing.inner_text("main")
