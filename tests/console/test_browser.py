"""An officer's day in the real Chromium against the app served on a real port (Playwright for Python)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.directory.models import Station
from app.enrollment.models import Application, Membership
from app.joincodes.models import JoinCode
from tests.console.support import CONTEXT, PASSWORD, axe_violations

BAD_CSV = (
    "编码,名称,行政区划代码,职业,地址\n"
    "S1,玄武一号站,320102,courier,北京东路1号\n"
    "S2,玄武二号站,999999,courier,北京东路2号\n"  # line 3: no such region
)


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where the screenshots go (``CONSOLE_SCREENSHOTS`` to keep them)."""
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/console/review")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/console/review"))


def test_an_officers_day(live_server, browser, session, nanjing, apply, make_account, make_officer, tmp_path, shots):
    base = live_server
    first, second, third, fourth, fifth = (apply() for _ in range(5))
    rider = apply(code=nanjing.rider_code, occupation="food_delivery_rider")
    admin = make_account(nanjing.city, "admin")
    context = browser.new_context(**CONTEXT)
    page = context.new_page()

    # Sign in; the queue: pending, oldest first.
    sign_in(page, base, admin.username)
    rows = page.locator("tbody tr")
    assert rows.count() == 6
    page.screenshot(path=str(shots / "queue.png"), full_page=True)

    # Filter by occupation.
    page.get_by_label("职业").select_option("food_delivery_rider")
    page.get_by_role("button", name="筛选").click()
    assert page.locator("tbody tr").count() == 1
    assert "玄武骑手驿站" in page.locator("tbody").inner_text()
    page.get_by_role("link", name="清除").click()

    # Open a detail and reveal the identity: an audit event.
    page.get_by_role("link", name=re.compile("查看")).first.click()
    assert page.get_by_role("heading", name=re.compile(f"#{first['id']}")).is_visible()
    assert page.get_by_role("heading", name="为什么分到这个工会").is_visible()
    page.get_by_role("button", name="显示完整姓名和身份证号").click()
    assert "张三" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "detail.png"), full_page=True)
    events = session.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == "application.view_unmasked"))
    assert list(events) == [first["id"]]

    # Approve with the version: 已通过 and the member number.
    page.get_by_role("button", name="通过", exact=True).click()
    member_no = session.scalar(sa.select(Membership.member_no))
    assert member_no
    assert page.locator("#status").inner_text() == "已通过"
    assert member_no in page.locator("#member-no").inner_text()

    # Return one with a reason.
    page.goto(f"{base}/console/review/{second['id']}")
    page.get_by_label("原因", exact=True).fill("请补充工作单位的全称")
    page.get_by_role("button", name="退回补充").click()
    assert page.locator("#status").inner_text() == "退回补充"
    session.expire_all()
    assert session.get(Application, int(second["id"])).decision_reason == "请补充工作单位的全称"

    # A colleague decides first: a clear message, and nothing overwritten.
    page.goto(f"{base}/console/review/{third['id']}")
    _, colleague = make_officer(nanjing.city, "reviewer")
    import requests

    answer = requests.post(
        f"{base}/api/v1/review/applications/{third['id']}/decision",
        json={"action": "reject", "reason": "不属于本工会受理范围"},
        headers={**colleague, "If-Match": "1"},
        timeout=10,
    )
    assert answer.status_code == 200
    page.get_by_role("button", name="通过", exact=True).click()
    assert "已被其他工作人员" in page.get_by_role("status").first.inner_text()
    assert page.locator("#status").inner_text() == "不予通过"

    # Bulk: tick two, preview (nothing changes), confirm (each row reported).
    page.get_by_role("link", name="审核", exact=True).click()
    page.get_by_label(re.compile(f"（{fourth['id']}）")).check()
    page.get_by_label(re.compile(f"（{fifth['id']}）")).check()
    page.get_by_role("button", name="预览").click()
    assert "尚未保存任何决定" in page.get_by_role("status").first.inner_text()
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1
    page.screenshot(path=str(shots / "bulk-preview.png"), full_page=True)
    page.get_by_role("button", name="确认").click()
    assert "已处理 2 份" in page.get_by_role("status").first.inner_text()
    assert session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 3

    # Issue a code and open its poster.
    page.get_by_role("link", name="入会码", exact=True).click()
    page.get_by_role("link", name=re.compile("管理入会码.*示例速运玄武点部")).click()
    before = session.scalar(sa.select(sa.func.count()).select_from(JoinCode))
    page.get_by_role("button", name="生成新入会码").click()
    assert session.scalar(sa.select(sa.func.count()).select_from(JoinCode)) == before + 1
    page.screenshot(path=str(shots / "codes.png"), full_page=True)
    with context.expect_page() as opened:
        page.get_by_role("link", name=re.compile("A4 海报")).first.click()
    poster = opened.value
    poster.wait_for_load_state()
    assert "示例速运玄武点部" in poster.content() and "<svg" in poster.content()
    poster.screenshot(path=str(shots / "poster.png"), full_page=True)
    poster.close()

    # Import a CSV with one bad row: that row's error, nothing stored.
    stations = session.scalar(sa.select(sa.func.count()).select_from(Station))
    page.get_by_role("link", name="批量导入").click()
    page.get_by_label("导入类别").select_option("stations")
    csv_file = tmp_path / "stations.csv"
    csv_file.write_text(BAD_CSV, encoding="utf-8-sig")
    page.get_by_label("CSV 文件").set_input_files(str(csv_file))
    page.get_by_role("button", name="上传并导入").click()
    alert = page.get_by_role("alert").inner_text()
    assert "第 3 行" in alert and "第 2 行" not in alert
    assert session.scalar(sa.select(sa.func.count()).select_from(Station)) == stations
    page.screenshot(path=str(shots / "import-error.png"), full_page=True)
    context.close()

    # A viewer sees no decision buttons.
    viewer = make_account(nanjing.city, "viewer")
    viewing = browser.new_context(**CONTEXT)
    page = viewing.new_page()
    sign_in(page, base, viewer.username)
    page.goto(f"{base}/console/review/{rider['id']}")
    for name in ("通过", "退回补充", "不予通过", "显示完整姓名和身份证号"):
        assert page.get_by_role("button", name=name, exact=True).count() == 0
    assert page.get_by_role("button", name="预览").count() == 0
    viewing.close()

    # An admin of another district cannot open this district's application.
    stranger = make_account(nanjing.suzhou, "admin")
    other = browser.new_context(**CONTEXT)
    page = other.new_page()
    sign_in(page, base, stranger.username)
    response = page.goto(f"{base}/console/review/{rider['id']}")
    assert response.status == 404
    assert "不在您的管辖范围内" in page.locator("main").inner_text()
    assert "玄武骑手驿站" not in page.content()
    other.close()


MAIN_PAGES = (
    "/console/review",
    "/console/review/{application}",
    "/console/codes",
    "/console/codes/stations/{depot}",
    "/console/directory/unions",
    "/console/directory/stations/{depot}",
    "/console/imports",
    "/console/rules/explain?station_id={depot}&occupation=courier",
    "/console/stats?by=union",
    "/console/stats/funnel",
    "/console/exports",
    "/console/audit",
    "/console/officers",
)


def test_the_main_pages_have_no_serious_accessibility_violation(
    live_server, browser, nanjing, apply, make_account, shots
):
    application = apply()
    admin = make_account(nanjing.city, "admin")
    context = browser.new_context(**CONTEXT)
    page = context.new_page()
    page.goto(f"{live_server}/console/login")
    found = {"/console/login": axe_violations(page)}
    page.screenshot(path=str(shots / "login.png"))
    sign_in(page, live_server, admin.username)
    for path in MAIN_PAGES:
        url = path.format(application=application["id"], depot=nanjing.depot.id)
        page.goto(f"{live_server}{url}")
        found[url] = axe_violations(page)
    page.goto(f"{live_server}/console/stats?by=union")
    page.screenshot(path=str(shots / "coverage.png"), full_page=True)
    context.close()
    assert {url: v for url, v in found.items() if v} == {}


def test_the_console_works_with_javascript_off(live_server, browser, nanjing, apply, make_account):
    application = apply()
    admin = make_account(nanjing.city, "reviewer")
    context = browser.new_context(**CONTEXT, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, admin.username)
    page.get_by_role("link", name="勾选本页全部待审核").click()
    page.get_by_role("button", name="预览").click()
    assert "1 份可以通过" in page.get_by_role("status").first.inner_text()
    page.goto(f"{live_server}/console/review/{application['id']}")
    page.get_by_role("button", name="通过", exact=True).click()
    assert page.locator("#status").inner_text() == "已通过"
    context.close()
