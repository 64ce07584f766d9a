"""Exports open intact: every digit of ID, member and phone numbers survives LibreOffice's default CSV import,
no formula comes alive, the XLSX has date cells and column widths, and phones are masked unless an admin asks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Person
from app.auth.phones import PHONE_PURPOSE
from app.enrollment.models import Identity, Membership
from app.enrollment.service import ID_NUMBER_CONTEXT

ID_NUMBER = "320102199005171234"  # 18 digits: a spreadsheet that reads it as a number keeps 15
MEMBER_NO = "3201022026000001"  # 16 digits: as a number its last digit becomes 0
PHONE = "13812345678"
HOSTILE = ("=1+1", "+1+1", "-1+1", "@SUM(1)", '=HYPERLINK("x")速运')


@pytest.fixture
def member(app, coverage_tree, file_application, session):
    """A member whose numbers are all digits, and an applicant whose decision reason is a formula."""
    ring = app.extensions["ruhui.keyring"]
    application = file_application(
        coverage_tree.xuanwu, coverage_tree.depot, status="approved", decided_after_days=2, name="=1+1"
    )
    person = session.get(Person, application.person_id)
    person.phone_sealed, person.phone_masked = ring.encrypt(PHONE, PHONE_PURPOSE), "138****5678"
    identity = session.get(Identity, application.identity_id)
    identity.id_number_sealed = ring.encrypt(ID_NUMBER, ID_NUMBER_CONTEXT)
    identity.id_number_masked = "320102********1234"
    application.member_no = MEMBER_NO
    session.execute(sa.update(Membership).values(member_no=MEMBER_NO))
    rejected = file_application(
        coverage_tree.xuanwu, coverage_tree.depot, status="rejected", decided_after_days=1, name="李四"
    )
    rejected.decision_reason = "+1+1"
    session.commit()
    return application


def _download(client, headers, path, **query):
    with client.get(path, query_string=query, headers=headers) as response:
        assert response.status_code == 200, response.get_data()
        return response.get_data()


def _by_title(rows):
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


@pytest.mark.parametrize(
    ("kind", "typed"),
    [("members", {"'=1+1"}), ("applications", {"'=1+1", "'+1+1"})],  # a name; and a decision reason
)
def test_libreoffice_keeps_every_digit_of_an_unmasked_csv(
    client, make_officer, coverage_tree, member, calc, kind, typed
):
    _, headers = make_officer(coverage_tree.nanjing, "admin")
    data = _download(client, headers, f"/api/v1/exports/{kind}.csv", unmasked="1")
    rows = calc(data)
    header = [cell.value for cell in rows[0]]
    cells = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    mine = next(row for row in cells if str(row["身份证号"].value).strip() == ID_NUMBER)
    for title, number in {"会员号": MEMBER_NO, "身份证号": ID_NUMBER, "手机号": PHONE}.items():
        cell = mine[title]
        # Text, every digit there (what shows is the number; a leading tab is invisible).
        assert (cell.data_type, str(cell.value).strip()) == ("s", number), title
    for row in rows:
        for cell in row:
            assert cell.data_type != "f", cell.value  # no formula came alive
    texts = {str(cell.value) for row in rows for cell in row}
    assert typed <= texts  # shown as typed, with the spreadsheet's "this is text" mark
    assert '\'=HYPERLINK("x")速运' in texts  # Chinese intact


def test_libreoffice_reads_the_export_times_as_dates(client, make_officer, coverage_tree, member, calc):
    _, headers = make_officer(coverage_tree.nanjing, "viewer")
    rows = calc(_download(client, headers, "/api/v1/exports/applications.csv"))
    header = [cell.value for cell in rows[0]]
    submitted = rows[1][header.index("提交时间")]
    assert isinstance(submitted.value, dt.datetime)


@pytest.mark.parametrize("kind", ["members", "applications"])
def test_the_csv_marks_numbers_as_text_and_keeps_formulas_inert(client, make_officer, coverage_tree, member, kind):
    _, headers = make_officer(coverage_tree.nanjing, "admin")
    data = _download(client, headers, f"/api/v1/exports/{kind}.csv", unmasked="1")
    rows = _by_title(list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))))
    mine = next(row for row in rows if row["身份证号"].strip() == ID_NUMBER)
    assert (mine["身份证号"], mine["会员号"], mine["手机号"]) == ("\t" + ID_NUMBER, "\t" + MEMBER_NO, "\t" + PHONE)
    assert mine["姓名"] == "'=1+1"
    for row in rows:
        for value in row.values():
            assert not value.startswith(HOSTILE), value


@pytest.mark.parametrize("kind", ["members", "applications"])
def test_the_phone_column_is_masked_unless_an_admin_asks(client, make_officer, coverage_tree, member, session, kind):
    _, viewer = make_officer(coverage_tree.nanjing, "viewer")
    rows = _xlsx_rows(_download(client, viewer, f"/api/v1/exports/{kind}.xlsx"))
    assert {row["手机号"] for row in rows if row["会员号"] == MEMBER_NO} == {"138****5678"}
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0

    admin, headers = make_officer(coverage_tree.nanjing, "admin")
    rows = _xlsx_rows(_download(client, headers, f"/api/v1/exports/{kind}.xlsx", unmasked="1"))
    assert {row["手机号"] for row in rows if row["会员号"] == MEMBER_NO} == {PHONE}
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.unmasked")).one()
    assert event.actor_id == admin.id and PHONE not in str(event.details)


def _xlsx_rows(data):
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    try:
        return _by_title([list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)])
    finally:
        workbook.close()


@pytest.mark.parametrize(
    ("kind", "dates", "first"),
    [("members", ["入会时间"], "decided_at"), ("applications", ["提交时间", "答复期限", "处理时间"], "submitted_at")],
)
def test_the_xlsx_has_date_cells_text_numbers_and_column_widths(
    client, make_officer, coverage_tree, member, kind, dates, first
):
    _, headers = make_officer(coverage_tree.nanjing, "admin")
    data = _download(client, headers, f"/api/v1/exports/{kind}.xlsx", unmasked="1")
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("身份证号")].value == ID_NUMBER)
    for title in dates:
        cell = row[header.index(title)]
        assert cell.is_date and isinstance(cell.value, dt.datetime), title
        assert "yyyy" in cell.number_format and "hh:mm" in cell.number_format
    # In the time officers in China read (UTC+8), to the minute (a member joined when approved).
    china = getattr(member, first).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert row[header.index(dates[0])].value == china.replace(tzinfo=None, second=0, microsecond=0)
    for title in ("身份证号", "会员号", "手机号"):
        assert row[header.index(title)].data_type == "s", title
    widths = [sheet.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width for i in range(len(header))]
    assert all(width and width >= 8 for width in widths), widths
    assert widths[header.index("身份证号")] >= 20  # 18 digits fit
    workbook.close()
