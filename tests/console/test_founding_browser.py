"""Union founding in the real Chromium: the import, opening a case, its stage buttons, the board and the dashboard —
with JavaScript off, as the console must work — and axe on every founding page, for an admin and a liaison."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.auth import service as auth_service
from app.founding.models import FoundingCase
from tests.conftest import valid_uscc
from tests.console.support import CONTEXT, PASSWORD, axe_violations
from tests.founding.ledger import build_ledger


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where the screenshots go (``CONSOLE_SCREENSHOTS`` to keep them)."""
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page, base: str, path: str, username: str) -> None:
    page.goto(f"{base}{path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(re.escape(path.split("?")[0])))


def test_an_admin_imports_a_list_opens_a_case_and_moves_it_without_javascript(
    live_server, browser, session, tree, make_account, tmp_path, shots
):
    admin = make_account(tree.nanjing, "admin")
    csv = tmp_path / "health.csv"
    first, second = valid_uscc(7001, "320102"), valid_uscc(7002, "320106")
    csv.write_text(
        "统一社会信用代码,名称,行政区划代码,行业类别,从业人数,成立日期\n"
        f"{first},玄武仁济诊所,320102,民营医疗机构,86,2012-04-01\n"
        f"{second},鼓楼康宁诊所,320106,民营医疗机构,14,2021-09-15\n",
        encoding="utf-8-sig",
    )
    context = browser.new_context(**CONTEXT, java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, live_server, "/console/founding/import", admin.username)

    page.get_by_label("名单来源").select_option("health")
    page.get_by_label("CSV 文件").set_input_files(str(csv))
    page.get_by_role("button", name="上传并导入").click()
    report = page.get_by_role("status").inner_text()
    assert "已导入「卫生健康部门」名单 2 行" in report and re.search(r"新增\s*2", report)
    page.screenshot(path=str(shots / "founding_import.png"), full_page=True)

    page.get_by_role("link", name="应建单位").first.click()
    page.get_by_label("行业").select_option("private_medical")
    page.get_by_label("从业人数不少于").fill("50")
    page.get_by_role("button", name="筛选").click()
    assert page.locator("tbody tr").count() == 1
    page.get_by_role("button", name="为 玄武仁济诊所 启动建会").click()
    assert "已为「玄武仁济诊所」启动建会工作" in page.get_by_role("status").inner_text()
    assert "已摸排" in page.locator("dl.facts").inner_text()

    page.get_by_label("说明").fill("已与单位负责人面谈")
    page.get_by_role("button", name="推进到：已宣传动员").click()
    assert "已推进到「已宣传动员」" in page.get_by_role("status").inner_text()
    history = page.locator("table tbody tr").first.inner_text()
    assert "已宣传动员" in history and "已与单位负责人面谈" in history
    page.screenshot(path=str(shots / "founding_case.png"), full_page=True)

    case = session.scalars(sa.select(FoundingCase)).one()
    session.refresh(case)
    assert case.stage == "contacted" and case.version == 2

    page.get_by_role("link", name="建会进度").click()
    column = page.get_by_role("region", name="已宣传动员")
    assert "玄武仁济诊所" in column.inner_text()
    page.screenshot(path=str(shots / "founding_board.png"), full_page=True)

    page.get_by_role("link", name="建会统计").click()
    assert "应建单位 2 家，已建会 0 家" in page.locator("main").inner_text()
    context.close()


FOUNDING_PAGES = (
    "/console/founding",
    "/console/founding?by=sector",
    "/console/founding/targets",
    "/console/founding/cases",
    "/console/founding/cases/{case}",
    "/console/founding/import",
    "/console/officers",
)


def test_the_founding_pages_have_no_serious_accessibility_violation(
    live_server, browser, session, tree, make_account, shots
):
    made = build_ledger(session, tree)
    case = session.scalars(sa.select(FoundingCase).where(FoundingCase.target_id == made["宁城配"].id)).one()
    admin = make_account(tree.nanjing, "admin")
    liaison = auth_service.create_officer(
        session, username="express.liaison", password=PASSWORD, name="邮政管理局联络员", union_id=tree.nanjing.id,
        role="liaison", sectors=["express_delivery", "road_freight"],
    )  # fmt: skip
    session.commit()
    found = {}
    context = browser.new_context(**CONTEXT)
    page = context.new_page()
    _sign_in(page, live_server, "/console/founding", admin.username)
    for path in FOUNDING_PAGES:
        url = path.format(case=case.id)
        page.goto(f"{live_server}{url}")
        found[url] = axe_violations(page)
    page.goto(f"{live_server}/console/founding")
    page.screenshot(path=str(shots / "founding_dashboard.png"), full_page=True)
    page.goto(f"{live_server}/console/founding/cases")
    page.screenshot(path=str(shots / "founding_board_ledger.png"), full_page=True)
    page.goto(f"{live_server}/console/founding/targets")
    page.screenshot(path=str(shots / "founding_targets.png"), full_page=True)
    context.close()

    context = browser.new_context(**CONTEXT)
    page = context.new_page()
    _sign_in(page, live_server, "/console/founding", liaison.username)
    for path in FOUNDING_PAGES[:5]:
        url = path.format(case=case.id)
        page.goto(f"{live_server}{url}")
        found[f"liaison {url}"] = axe_violations(page)
    page.goto(f"{live_server}/console/founding")
    page.screenshot(path=str(shots / "founding_liaison.png"), full_page=True)
    refused = page.goto(f"{live_server}/console/review")
    assert refused.status == 403
    found["liaison refused"] = axe_violations(page)
    context.close()
    assert {url: v for url, v in found.items() if v} == {}
