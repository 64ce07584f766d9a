"""GET /exports/founding.xlsx: the monthly report (通报) of the subtree, opened by LibreOffice Calc as a user would."""

from __future__ import annotations

import datetime as dt
import io
import shutil

import openpyxl
import pytest

from app.clock import CHINA
from app.db import utcnow
from app.founding.models import FoundingCase, FoundingCaseStep
from tests.exports.libreoffice import open_xlsx_in_calc
from tests.founding.ledger import add_target

REPORT = "/api/v1/exports/founding.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="session")
def calc_xlsx(tmp_path_factory):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice Calc is missing: `make test` installs it (apt-get install libreoffice-calc)")
    profile = tmp_path_factory.mktemp("libreoffice-profile")
    return lambda data: open_xlsx_in_calc(soffice, data, tmp_path_factory.mktemp("calc"), profile)


@pytest.fixture
def steps(session, tree, ledger):
    """Two steps this month (one with a document number and a hostile note) and one last year."""
    case = session.query(FoundingCase).filter_by(stage="preparing").one()
    now = utcnow()
    session.add_all(
        [
            FoundingCaseStep(case_id=case.id, from_stage=None, stage="identified", at=now - dt.timedelta(minutes=5)),
            FoundingCaseStep(case_id=case.id, from_stage="contacted", stage="preparing", at=now,
                             document_no="宁工复〔2026〕12号", note="=HYPERLINK(\"x\")"),
            FoundingCaseStep(case_id=case.id, from_stage="identified", stage="contacted",
                             at=now - dt.timedelta(days=400)),
        ]
    )  # fmt: skip
    add_target(session, tree.xuanwu, name='=HYPERLINK("x")物流', headcount=70, founded_on=dt.date(2000, 1, 1))
    session.commit()


def _rows(sheet):
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _block(rows, heading):
    start = next(i for i, row in enumerate(rows) if row[0] == heading)
    header = rows[start + 1]
    body = []
    for row in rows[start + 2 :]:
        if row[0] is None:
            break
        body.append(dict(zip(header, row, strict=False)))
    return body


def test_the_report_holds_the_figures_the_progress_and_the_unbuilt_units(
    client, tree, ledger, steps, make_officer, calc_xlsx
):
    _, headers = make_officer(tree.nanjing, "viewer")
    response = client.get(REPORT, headers=headers)
    assert response.status_code == 200 and response.content_type == XLSX
    assert response.headers["Content-Disposition"] == 'attachment; filename="founding.xlsx"'
    data = response.get_data()
    ours = openpyxl.load_workbook(io.BytesIO(data))
    calc = calc_xlsx(data)  # LibreOffice opens it and saves it again: the same cells come back
    assert calc.sheetnames == ours.sheetnames == ["通报", "本月进展", "应建未建"]
    for name in calc.sheetnames:
        assert _rows(calc[name]) == _rows(ours[name]), name

    rows = _rows(calc["通报"])
    month = utcnow().astimezone(CHINA)
    assert rows[0][0] == f"南京市总工会：工会组建工作通报（{month.year}年{month.month}月）"
    by_union = _block(rows, "一、按工会")
    assert [row["工会"] for row in by_union] == ["南京市总工会（本级）", "玄武区总工会", "鼓楼区总工会", "合计"]
    total = by_union[-1]
    # The numbers are numbers, and they are the API's.
    stats = client.get("/api/v1/stats/founding", query_string={"by": "union"}, headers=headers).get_json()["total"]
    assert (total["应建单位数"], total["已建会"], total["推进中合计"], total["逾期"]) == (
        stats["targets"], stats["with_union"], stats["in_progress_total"], stats["overdue"],
    ) == (7, 2, 4, 3)  # fmt: skip
    assert total["建会率"] == stats["founding_rate"] == 0.2857
    total_row = next(row for row in calc["通报"].iter_rows() if row[0].value == "合计")
    assert total_row[3].number_format == "0.0%" and total_row[3].data_type == "n"
    assert total["筹备组已批复"] == 1 and total["已摸排"] == 1
    assert sum(row["应建单位数"] for row in by_union[:-1]) == total["应建单位数"]
    by_sector = _block(rows, "二、按行业")
    assert {row["行业"]: row["应建单位数"] for row in by_sector}["快递企业"] == 4

    progress = _rows(calc["本月进展"])
    assert progress[1][:3] == ["时间", "单位名称", "统一社会信用代码"]
    assert [row[5] for row in progress[2:]] == ["已摸排", "筹备组已批复"]  # last year's step is not this month's
    assert progress[3][7] == "宁工复〔2026〕12号" and progress[3][8] == '\'=HYPERLINK("x")'
    assert isinstance(progress[2][0], dt.datetime)

    unbuilt = _rows(calc["应建未建"])
    assert unbuilt[1][:4] == ["序号", "重点", "单位名称", "统一社会信用代码"]
    listed = [(row[1], row[2], row[6]) for row in unbuilt[2:]]
    assert listed[:3] == [("★", "宁城配", 120), (None, "玄武快递", 80), ("★", '\'=HYPERLINK("x")物流', 70)]
    assert [name for _, name, _ in listed] == ["宁城配", "玄武快递", '\'=HYPERLINK("x")物流', "鼓楼货运", "宁律所"]
    for sheet in calc.worksheets:  # no cell of the report is alive
        assert all(not (isinstance(v, str) and v.startswith("=")) for row in _rows(sheet) for v in row)


def test_a_liaisons_report_holds_its_sectors_only(client, session, tree, ledger, make_officer):
    from app.auth import service as auth_service
    from app.auth.tokens import issue_access_token

    officer = auth_service.create_officer(
        session, username="health.liaison", password="correct-horse-battery", name="卫健委联络员",
        union_id=tree.nanjing.id, role="liaison", sectors=["private_medical"],
    )  # fmt: skip
    session.commit()
    with client.application.test_request_context():
        token, _ = issue_access_token("officer", officer.id)
    response = client.get(REPORT, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    rows = _rows(book["通报"])
    assert "行业：民营医疗机构" in rows[1][0]
    assert [row["行业"] for row in _block(rows, "二、按行业")] == ["民营医疗机构", "合计"]
    assert _block(rows, "一、按工会")[-1]["应建单位数"] == 1  # 玄武诊所, which has its union
    assert len(_rows(book["应建未建"])) == 2  # headings only


@pytest.mark.parametrize("month", ["2026-13", "26-01", "2026-1"])
def test_a_bad_month_is_a_field_error(client, tree, make_officer, month):
    _, headers = make_officer(tree.nanjing, "viewer")
    response = client.get(REPORT, query_string={"month": month}, headers=headers)
    assert response.status_code == 422 and "month" in response.get_json()["errors"]
