"""Join codes, directory, imports, rules, statistics, exports, audit and accounts through the console."""

from __future__ import annotations

import io
import re
import zipfile

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Officer
from app.directory.models import Station, Union
from app.joincodes.models import JoinCode
from tests.console.support import post_form


def _count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_an_admin_issues_rotates_and_revokes_a_code_and_prints_its_poster(client, session, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    page = f"/console/codes/stations/{nanjing.depot.id}"
    assert post_form(client, page, page, {"expires_at": ""}).status_code == 303
    codes = session.scalars(sa.select(JoinCode).where(JoinCode.station_id == nanjing.depot.id).order_by(JoinCode.id))
    newest = list(codes)[-1]
    listing = client.get(page).get_data(as_text=True)
    assert f"/console/codes/{newest.id}/poster" in listing
    poster = client.get(f"/console/codes/{newest.id}/poster")
    assert poster.status_code == 200 and "示例速运玄武点部" in poster.get_data(as_text=True)
    png = client.get(f"/console/codes/{newest.id}/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert client.get(f"/console/codes/{newest.id}/qr.svg").mimetype == "image/svg+xml"
    assert post_form(client, page, f"/console/codes/{newest.id}/rotate").status_code == 303
    session.expire_all()
    assert session.get(JoinCode, newest.id).revoked_at is not None
    replacement = session.scalars(sa.select(JoinCode).where(JoinCode.id > newest.id)).one()
    assert post_form(client, page, f"/console/codes/{replacement.id}/revoke").status_code == 303
    session.expire_all()
    assert session.get(JoinCode, replacement.id).revoked_at is not None
    assert client.get(f"/console/codes/{replacement.id}/poster").status_code == 410


def test_the_print_shop_zip_holds_the_scopes_stations(client, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    response = client.get("/console/codes/print.zip")
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "manifest.csv" in names and len(names) == 3  # two Nanjing stations + the manifest


def test_codes_of_a_station_outside_the_scope_are_not_found(client, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    assert client.get(f"/console/codes/stations/{nanjing.suzhou_depot.id}").status_code == 404
    assert client.get(f"/console/codes/{nanjing.suzhou_code.id}/poster").status_code == 404


def test_an_import_with_one_bad_row_lists_it_by_line_and_stores_nothing(client, session, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    before = _count(session, Station)
    csv_text = (
        "编码,名称,行政区划代码,职业,地址\n"
        "S1,玄武一号站,320102,courier,北京东路1号\n"
        "S2,玄武二号站,999999,courier,北京东路2号\n"  # line 3: no such region
    )
    response = post_form(
        client,
        "/console/imports",
        "/console/imports",
        {"kind": "stations", "file": (io.BytesIO(("\ufeff" + csv_text).encode()), "stations.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r"<td>第 3 行</td><td>[^<]*行政区划", html), html[html.find("error-summary") :][:800]
    assert "第 2 行" not in html
    assert _count(session, Station) == before


def test_a_gb18030_import_is_stored(client, session, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    csv_text = "编码,名称,行政区划代码,职业,地址\nS1,玄武一号站,320102,courier,北京东路1号\n"
    response = post_form(
        client,
        "/console/imports",
        "/console/imports",
        {"kind": "stations", "file": (io.BytesIO(csv_text.encode("gb18030")), "stations.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "新建 1" in response.get_data(as_text=True)
    assert session.scalar(sa.select(Station.name).where(Station.external_code == "S1")) == "玄武一号站"


def test_the_import_template_is_utf8_with_bom(client, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    response = client.get("/console/imports/stations/template.csv")
    assert response.data.startswith("\ufeff编码,".encode())


def test_an_admin_creates_and_edits_a_union_with_errors_at_the_field(client, session, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    new = "/console/directory/unions/new"
    bad = post_form(
        client, new, new, {"name": "玄武区快递工会", "kind": "industry", "parent_id": str(nanjing.xuanwu.id)}
    )
    assert bad.status_code == 422
    assert 'id="region_code-error"' in bad.get_data(as_text=True)
    good = post_form(
        client,
        new,
        new,
        {
            "name": "玄武区快递工会",
            "kind": "industry",
            "parent_id": str(nanjing.xuanwu.id),
            "region_code": "320102",
            "occupations": "courier",
            "accepting": "on",
        },
    )
    assert good.status_code == 303
    created = session.scalars(sa.select(Union).where(Union.name == "玄武区快递工会")).one()
    assert created.occupations == ["courier"]
    edit = f"/console/directory/unions/{created.id}"
    renamed = post_form(
        client,
        edit,
        edit,
        {"name": "玄武区快递行业工会", "kind": "industry", "region_code": "320102", "occupations": "courier"},
    )
    assert renamed.status_code == 303
    session.expire_all()
    assert session.get(Union, created.id).name == "玄武区快递行业工会"
    assert client.get(f"/console/directory/unions/{nanjing.suzhou.id}").status_code == 404


def test_the_explain_tool_says_which_union_and_why(client, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    page = client.get(f"/console/rules/explain?station_id={nanjing.depot.id}&occupation=courier")
    html = page.get_data(as_text=True)
    assert "南京市快递行业工会联合会" in html and "<ol><li>" in html
    outside = client.get(f"/console/rules/explain?station_id={nanjing.suzhou_depot.id}&occupation=courier")
    assert outside.status_code == 404


def test_an_override_rule_is_added_and_then_routes(client, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    rule = {"union_id": str(nanjing.xuanwu.id), "station_id": str(nanjing.depot.id), "priority": "10"}
    assert post_form(client, "/console/rules", "/console/rules", rule).status_code == 303
    html = client.get(f"/console/rules/explain?station_id={nanjing.depot.id}&occupation=courier").get_data(as_text=True)
    assert "分到 <strong>玄武区总工会</strong>" in html


def test_coverage_draws_a_bar_per_group(client, nanjing, apply, signed_in):
    apply()
    signed_in(nanjing.city, "viewer")
    html = client.get("/console/stats?by=union").get_data(as_text=True)
    assert html.count("<svg") >= 2 and "南京市快递行业工会联合会" in html


def test_exports_are_masked_by_get_and_unmasked_only_for_admins_with_an_audit_event(
    client, session, nanjing, apply, signed_in
):
    apply()
    signed_in(nanjing.city, "admin")
    masked = client.get("/console/exports/applications.csv").get_data(as_text=True)
    assert "张*" in masked and "张三" not in masked
    assert client.get("/console/exports/applications.csv?unmasked=1").get_data(as_text=True).count("张三") == 0
    full = post_form(client, "/console/exports", "/console/exports/applications.csv", {"unmasked": "1"})
    assert "张三" in full.get_data(as_text=True)
    assert session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action == "export.unmasked")).all()


def test_a_reviewer_cannot_export_unmasked(client, nanjing, apply, signed_in):
    apply()
    signed_in(nanjing.city, "reviewer")
    refused = post_form(client, "/console/exports", "/console/exports/applications.csv", {"unmasked": "1"})
    assert refused.status_code == 403


def test_the_audit_log_filters_by_action(client, nanjing, apply, signed_in):
    application = apply()
    signed_in(nanjing.city, "admin")
    url = f"/console/review/{application['id']}"
    post_form(client, url, f"{url}/identity")
    html = client.get("/console/audit?action=application.view_unmasked").get_data(as_text=True)
    assert f"application {application['id']}" in html
    assert "officer.login" not in html


def test_an_admin_creates_an_officer_account_in_its_subtree_only(client, session, nanjing, signed_in):
    signed_in(nanjing.city, "admin")
    data = {
        "username": "xuanwu-reviewer",
        "password": "long-enough-pass",
        "union_id": str(nanjing.xuanwu.id),
        "role": "reviewer",
    }
    assert post_form(client, "/console/officers", "/console/officers", data).status_code == 303
    assert session.scalar(sa.select(Officer.union_id).where(Officer.username == "xuanwu-reviewer")) == nanjing.xuanwu.id
    outside = {**data, "username": "suzhou-reviewer", "union_id": str(nanjing.suzhou.id)}
    refused = post_form(client, "/console/officers", "/console/officers", outside)
    assert refused.status_code == 422 and "工会不存在" in refused.get_data(as_text=True)
