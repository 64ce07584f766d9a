"""Exports: spreadsheets that open with Chinese intact, no live formulas, masked unless an admin asks (audited)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent

TRIGGERS = ("=", "+", "-", "@")


@pytest.fixture
def exported(coverage_tree, file_application, session):
    """Three applications in Xuanwu (one a member) and one in Suzhou, with hostile free text."""
    member = file_application(
        coverage_tree.xuanwu, coverage_tree.depot, status="approved", decided_after_days=2, name="张三丰"
    )
    rejected = file_application(
        coverage_tree.xuanwu, coverage_tree.depot, status="rejected", decided_after_days=1, name="李四"
    )
    rejected.decision_reason = "@SUM(1+1)*cmd|' /C calc'!A0"
    returned = file_application(coverage_tree.xuanwu, coverage_tree.depot, status="returned", name="王五")
    returned.decision_reason = "-2+3 请补充材料"
    file_application(
        coverage_tree.gusu, coverage_tree.suzhou_point, status="pending", name="赵六", occupation="domestic_worker"
    )
    session.commit()
    return member


def _download(client, headers, path, **query):
    with client.get(path, query_string=query, headers=headers) as response:
        return response.status_code, response.headers, response.get_data()


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _xlsx_rows(data: bytes) -> list[list[object]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _assert_inert(rows):
    for row in rows:
        for value in row:
            assert not str(value or "").startswith(TRIGGERS), value


def test_applications_csv_has_bom_chinese_and_no_live_formulas(client, make_officer, coverage_tree, exported):
    _, headers = make_officer(coverage_tree.nanjing, "viewer")
    status, response_headers, data = _download(client, headers, "/api/v1/exports/applications.csv")
    assert status == 200
    assert response_headers["Content-Type"].startswith("text/csv")
    assert 'filename="applications.csv"' in response_headers["Content-Disposition"]
    header, *rows = _csv_rows(data)
    assert header[:4] == ["申请编号", "状态", "姓名", "身份证号"]
    assert len(rows) == 3  # Suzhou's application is outside Nanjing's scope
    names = {row[2] for row in rows}
    assert names == {"张**", "李*", "王*"}
    assert all("********" in row[3] for row in rows)
    assert {row[1] for row in rows} == {"已通过", "未通过", "退回补正"}
    reasons = {row[14] for row in rows}
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in reasons and "'-2+3 请补充材料" in reasons
    assert {row[7] for row in rows} == {'\'=HYPERLINK("x")速运'}
    assert rows[0][8] == "南京市玄武区"
    _assert_inert(rows)


def test_members_xlsx_opens_with_chinese_and_no_formulas(client, make_officer, coverage_tree, exported):
    _, headers = make_officer(coverage_tree.province, "reviewer")
    status, response_headers, data = _download(client, headers, "/api/v1/exports/members.xlsx")
    assert status == 200
    assert response_headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    header, *rows = _xlsx_rows(data)
    assert header[:3] == ["会员号", "姓名", "身份证号"]
    assert len(rows) == 1
    assert rows[0][1] == "张**" and rows[0][3] == "女" and rows[0][4] == "玄武区总工会"
    assert rows[0][9] == '\'=HYPERLINK("x")速运'
    _assert_inert(rows)


def test_applications_xlsx_makes_every_formula_inert(client, make_officer, coverage_tree, exported):
    _, headers = make_officer(coverage_tree.province, "admin")
    _, _, data = _download(client, headers, "/api/v1/exports/applications.xlsx")
    header, *rows = _xlsx_rows(data)
    assert len(rows) == 4 and header[-1] == "会员号"
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in {row[14] for row in rows}
    _assert_inert(rows)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_admin_may_export_unmasked_and_is_audited(client, make_officer, coverage_tree, exported, session, fmt):
    officer, headers = make_officer(coverage_tree.nanjing, "admin")
    status, _, data = _download(client, headers, f"/api/v1/exports/members.{fmt}", unmasked="1")
    assert status == 200
    rows = _csv_rows(data) if fmt == "csv" else _xlsx_rows(data)
    name, id_number = str(rows[1][1]), str(rows[1][2])
    assert name == "张三丰"
    assert id_number.startswith("1101051949123") and "*" not in id_number
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.unmasked")).all()
    assert [(e.actor_id, e.object_id, e.union_path) for e in events] == [
        (officer.id, f"members.{fmt}", coverage_tree.nanjing.path)
    ]
    assert "张三丰" not in str(events[0].details) and "1101051949123" not in str(events[0].details)


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_admins_may_export_unmasked(client, make_officer, coverage_tree, exported, session, role):
    _, headers = make_officer(coverage_tree.province, role)
    status, _, _data = _download(client, headers, "/api/v1/exports/applications.csv", unmasked="true")
    assert status == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_masked_exports_are_not_audited_as_unmasked(client, make_officer, coverage_tree, exported, session):
    _, headers = make_officer(coverage_tree.province, "admin")
    assert _download(client, headers, "/api/v1/exports/applications.csv")[0] == 200
    assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "export.unmasked")) == 0


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/api/v1/exports/officers.csv", {}, 404),
        ("/api/v1/exports/members.pdf", {}, 404),
        ("/api/v1/exports/members", {}, 404),
        ("/api/v1/exports/members.csv", {"unmasked": "perhaps"}, 422),
    ],
)
def test_bad_export_requests(client, make_officer, coverage_tree, path, query, status):
    _, headers = make_officer(coverage_tree.province, "admin")
    assert _download(client, headers, path, **query)[0] == status


def test_exports_need_an_officer(client, coverage_tree):
    assert _download(client, {}, "/api/v1/exports/members.csv")[0] == 401


def test_an_empty_scope_exports_just_the_header(client, make_officer, coverage_tree):
    _, headers = make_officer(coverage_tree.gusu, "viewer")
    _, _, data = _download(client, headers, "/api/v1/exports/members.csv")
    assert len(_csv_rows(data)) == 1
