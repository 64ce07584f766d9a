"""Union founding in the console: dashboard, targets, the case board, a case and its stage buttons, the import,
and a liaison who opens only the founding pages of its sectors."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from app.auth import service as auth_service
from app.founding.models import FoundingCase, FoundingCaseStep, FoundingTarget
from tests.conftest import valid_uscc
from tests.console.support import PASSWORD, csrf_of, post_form, sign_in
from tests.founding.ledger import build_ledger


@pytest.fixture
def ledger(session, tree):
    return build_ledger(session, tree)


@pytest.fixture
def liaison_client(client, session, tree):
    """``client`` signed in as a liaison of the express sector on 南京市总工会."""
    officer = auth_service.create_officer(
        session, username="express.liaison", password=PASSWORD, name="邮政管理局联络员", union_id=tree.nanjing.id,
        role="liaison", sectors=["express_delivery"],
    )  # fmt: skip
    session.commit()
    response = sign_in(client, officer.username)
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/founding")
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_dashboard_shows_the_figures_with_bars_and_the_largest_units_unbuilt(client, tree, ledger, signed_in):
    signed_in(tree.nanjing, "viewer")
    response = client.get("/console/founding")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    text = _text(html)
    assert "应建单位 6 家，已建会 2 家，建会率 33.3%" in text
    assert "推进中的建会工作 4 项，其中逾期 3 项" in text
    assert 'aria-label="玄武区总工会 已建会 2，应建 3"' in html  # the bar of a row
    assert text.index("宁城配") < text.index("玄武快递") < text.index("鼓楼货运")  # largest first
    by_sector = _text(client.get("/console/founding?by=sector").get_data(as_text=True))
    assert "快递企业" in by_sector and "民办学校" in by_sector
    drilled = _text(client.get(f"/console/founding?by=union&union_id={tree.xuanwu.id}").get_data(as_text=True))
    assert "建会统计：玄武区总工会" in drilled


def test_the_targets_filter_by_sector_union_and_headcount(client, tree, ledger, signed_in):
    signed_in(tree.nanjing, "viewer")
    everything = _text(client.get("/console/founding/targets").get_data(as_text=True))
    assert "宁律所" in everything and "玄武诊所" in everything and "苏快递" not in everything
    unbuilt_express = _text(
        client.get("/console/founding/targets?sector=express_delivery&has_union=no&min_headcount=50").get_data(
            as_text=True
        )
    )
    assert "宁城配" in unbuilt_express and "玄武快递" in unbuilt_express
    assert "玄武联合" not in unbuilt_express and "宁律所" not in unbuilt_express
    bad = client.get("/console/founding/targets?min_headcount=lots")
    assert bad.status_code == 422 and "请填写整数" in bad.get_data(as_text=True)


def test_the_board_puts_each_case_in_its_stage_column(client, tree, ledger, signed_in):
    signed_in(tree.nanjing, "viewer")
    html = client.get("/console/founding/cases").get_data(as_text=True)
    columns = dict(re.findall(r'<h2 id="stage-(\w+)"><span>[^<]+</span>.*?</h2>\s*<ul>(.*?)</ul>', html, re.S))
    assert "宁城配" in columns["preparing"] and "逾期" in columns["preparing"]
    assert "玄武快递" in columns["identified"]
    assert "玄武联合" in columns["joined_joint_union"]
    assert "鼓楼货运" in columns["deferred"]
    assert "苏学校" not in html  # Suzhou's


def test_an_admin_moves_a_case_with_its_version_and_a_stale_page_saves_nothing(
    client, session, tree, ledger, signed_in
):
    signed_in(tree.nanjing, "admin")
    case = session.scalars(sa.select(FoundingCase).where(FoundingCase.target_id == ledger["宁城配"].id)).one()
    page, seen = f"/console/founding/cases/{case.id}", case.version
    html = client.get(page).get_data(as_text=True)
    assert "推进到：发展会员" in html and f'name="version" value="{seen}"' in html
    token = csrf_of(html)
    moved = client.post(
        f"{page}/stage", data={"csrf_token": token, "version": seen, "stage": "recruiting", "note": "筹备组已组建"}
    )
    assert moved.status_code == 303
    session.expire_all()
    assert session.get(FoundingCase, case.id).stage == "recruiting"
    after = _text(client.get(page).get_data(as_text=True))
    assert "已推进到「发展会员」" in after and "筹备组已组建" in after
    # The same (old) page sent again: a colleague got there first.
    stale = client.post(f"{page}/stage", data={"csrf_token": token, "version": seen, "stage": "congress_held"})
    assert stale.status_code == 303
    session.expire_all()
    assert session.get(FoundingCase, case.id).stage == "recruiting"
    assert "刚被其他工作人员更新" in client.get(page).get_data(as_text=True)
    steps = session.scalars(sa.select(FoundingCaseStep).where(FoundingCaseStep.case_id == case.id)).all()
    assert [s.stage for s in steps] == ["recruiting"]


def test_registering_needs_the_unions_uscc_shown_at_the_field(client, session, tree, ledger, signed_in):
    signed_in(tree.nanjing, "admin")
    case = session.scalars(sa.select(FoundingCase).where(FoundingCase.target_id == ledger["宁城配"].id)).one()
    for stage in ("recruiting", "congress_held", "election_approved"):
        session.expire_all()
        version = session.get(FoundingCase, case.id).version
        page = f"/console/founding/cases/{case.id}"
        assert post_form(client, page, f"{page}/stage", {"version": version, "stage": stage}).status_code == 303
    session.expire_all()
    version = session.get(FoundingCase, case.id).version
    refused = post_form(client, page, f"{page}/stage", {"version": version, "stage": "registered"})
    assert refused.status_code == 422
    assert "法人资格登记须填写工会的统一社会信用代码" in refused.get_data(as_text=True)


def test_a_viewer_sees_the_case_but_no_buttons_and_cannot_post(client, session, tree, ledger, signed_in):
    signed_in(tree.nanjing, "viewer")
    case = session.scalars(sa.select(FoundingCase).where(FoundingCase.target_id == ledger["宁城配"].id)).one()
    page = f"/console/founding/cases/{case.id}"
    html = client.get(page).get_data(as_text=True)
    assert "只有管理员可以推进建会工作" in html and '<button type="submit" name="stage"' not in html
    response = client.post(f"{page}/stage", data={"csrf_token": csrf_of(html), "version": 1, "stage": "recruiting"})
    assert response.status_code == 403


def _upload(client, source: str, body: str):
    page = client.get("/console/founding/import")
    return client.post(
        "/console/founding/import",
        data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "source": source,
            "file": (io.BytesIO(body.encode("utf-8-sig")), "list.csv"),
        },
        content_type="multipart/form-data",
    )


def test_the_import_reports_its_difference_from_the_previous_list(client, session, tree, signed_in):
    signed_in(tree.nanjing, "admin")
    a, b, c = valid_uscc(9001), valid_uscc(9002), valid_uscc(9003)
    header = "统一社会信用代码,名称,行政区划代码,行业类别,从业人数\n"
    first = _upload(client, "health", header + f"{a},甲诊所,320102,民营医疗机构,20\n{b},乙诊所,320106,民营医疗机构,30\n"
                    f"{c},丙诊所,320102,民营医疗机构,40\n")  # fmt: skip
    assert first.status_code == 200
    assert re.search(r"新增\s*</th><td[^>]*>3<", first.get_data(as_text=True))
    second = _upload(
        client, "health", header + f"{a},甲诊所,320102,民营医疗机构,20\n{b},乙诊所,320106,民营医疗机构,35\n"
    )
    html = second.get_data(as_text=True)
    assert re.search(r"有变化\s*</th><td[^>]*>1<", html) and re.search(
        r"已不在名单（已标记，未删除）\s*</th><td[^>]*>1<", html
    )
    assert re.search(r"未变\s*</th><td[^>]*>1<", html)
    assert session.scalars(sa.select(FoundingTarget.gone).where(FoundingTarget.uscc == c)).one() is True


def test_a_bad_row_is_listed_and_nothing_is_stored(client, session, tree, signed_in):
    signed_in(tree.nanjing, "admin")
    response = _upload(client, "commerce", "uscc,name,region_code,sector\n91320102MA0000000X,坏代码,320102,internet\n")
    assert response.status_code == 422 and "第 2 行" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(FoundingTarget)) == 0


def test_an_admin_creates_a_liaison_on_the_accounts_page(client, session, tree, signed_in):
    signed_in(tree.nanjing, "admin")
    response = post_form(
        client, "/console/officers", "/console/officers",
        {"username": "health.liaison", "password": PASSWORD, "union_id": tree.nanjing.id, "role": "liaison",
         "sectors": ["private_medical", "care_service"]},
    )  # fmt: skip
    assert response.status_code == 303
    listing = _text(client.get("/console/officers").get_data(as_text=True))
    assert "联络员（护理服务机构、民营医疗机构）" in listing
    missing = post_form(
        client, "/console/officers", "/console/officers",
        {"username": "empty.liaison", "password": PASSWORD, "union_id": tree.nanjing.id, "role": "liaison"},
    )  # fmt: skip
    assert missing.status_code == 422 and "联络员须至少绑定一个行业类别" in missing.get_data(as_text=True)


def _console_get_rules(app) -> list[str]:
    return sorted(
        {
            rule.rule
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/console") and "GET" in (rule.methods or set()) and "<path:" not in rule.rule
        }
    )


LIAISON_PAGES = {
    "/console/founding",
    "/console/founding/targets",
    "/console/founding/cases",
    "/console/founding/cases/<case_id>",
    "/console/founding/report.xlsx",
}
PUBLIC_PAGES = {"/console/login", "/console/static/<path:filename>", "/console/"}


def test_a_liaison_opens_only_the_founding_pages_of_its_sectors(app, liaison_client, session, tree, ledger):
    client = liaison_client
    opened, refused = [], []
    for rule in _console_get_rules(app):
        path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule)
        path = re.sub(r"<[^>]+>", "1", path)
        response = client.get(path)
        if rule in LIAISON_PAGES:
            opened.append(rule)
            assert response.status_code in (200, 404), rule
        elif rule in PUBLIC_PAGES:
            assert response.status_code in (200, 302), rule
        else:
            refused.append(rule)
            assert response.status_code == 403, (rule, response.status_code)
            assert "没有权限" in response.get_data(as_text=True)
    assert "/console/review" in refused and "/console/exports" in refused and "/console/audit" in refused
    assert len(refused) > 15

    dashboard = _text(client.get("/console/founding").get_data(as_text=True))
    assert "本账号可查看的行业：快递企业" in dashboard
    assert "应建单位 3 家" in dashboard  # Nanjing's express units only
    navigation = client.get("/console/founding").get_data(as_text=True)
    assert "/console/review" not in navigation and "/console/officers" not in navigation
    targets = _text(client.get("/console/founding/targets").get_data(as_text=True))
    assert "宁城配" in targets and "宁律所" not in targets and "鼓楼货运" not in targets
    assert "启动建会" not in targets
    law_case = session.scalars(sa.select(FoundingCase).where(FoundingCase.target_id == ledger["宁律所"].id)).one()
    assert client.get(f"/console/founding/cases/{law_case.id}").status_code == 404
    mine = session.scalars(sa.select(FoundingCase).where(FoundingCase.target_id == ledger["宁城配"].id)).one()
    page = client.get(f"/console/founding/cases/{mine.id}").get_data(as_text=True)
    assert "只有管理员可以推进建会工作" in page
    post = client.post(f"/console/founding/cases/{mine.id}/stage", data={"csrf_token": csrf_of(page), "version": 1,
                                                                           "stage": "recruiting"})  # fmt: skip
    assert post.status_code == 403
