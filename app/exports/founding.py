"""The founding report (工会组建工作通报): the ledger of an officer's subtree as one workbook for the month.

Three sheets, as a federation circulates it: 通报 (the figures by union, by sector and by source,
each block with its 合计, the same numbers as ``GET /stats/founding``), 本月进展 (every stage a
case reached in the month) and 应建未建 (units without a union, largest first, the flagged ones
marked ★). The workbook names organisations and unions only: no person's data. A liaison's
report holds its sectors only. Cells are numbers where they are counts (a rate is a
percentage cell); every text cell is formula-inert (``writers.inert``).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session, aliased, sessionmaker

from app.actors import Actor, within_subtree
from app.clock import CHINA
from app.directory.models import Union
from app.directory.regions import display_name
from app.errors import ValidationFailed
from app.exports.writers import FILE_CHUNK_BYTES, _xlsx_text
from app.founding.models import FoundingCase, FoundingCaseStep, FoundingTarget
from app.founding.vocabulary import SECTORS, STAGE_NAMES
from app.stats import founding as ledger
from app.stats.founding import IN_PROGRESS_STAGES, FoundingFigures, FoundingRow

FILENAME = "founding.xlsx"
UNBUILT_PAGE = 500
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEAD_FILL = PatternFill("solid", fgColor="E8EAEE")
_PERCENT = "0.0%"
_DATE = "yyyy-mm-dd"
_TIME = "yyyy-mm-dd hh:mm"

FIGURE_TITLES = (
    "应建单位数", "已建会", "建会率", "未建会", *(STAGE_NAMES[stage] for stage in IN_PROGRESS_STAGES), "推进中合计",
    "逾期",
)  # fmt: skip
STEP_TITLES = ("时间", "单位名称", "统一社会信用代码", "行业", "原阶段", "新阶段", "负责工会", "批复文号", "说明")
UNBUILT_TITLES = (
    "序号", "重点", "单位名称", "统一社会信用代码", "所在地区", "行业", "从业人数", "成立日期", "成立年限",
    "建会进度", "管理工会",
)  # fmt: skip


@dataclass(frozen=True)
class FoundingReport:
    union: Union
    month: dt.date  # the first day of the report's month
    as_of: dt.datetime
    by_union: ledger.FoundingStats
    by_sector: ledger.FoundingStats
    by_source: ledger.FoundingStats

    @property
    def title(self) -> str:
        return f"{self.union.name}：工会组建工作通报（{self.month.year}年{self.month.month}月）"


def parse_month(raw: str | None, now: dt.datetime) -> dt.date:
    """``YYYY-MM`` (default: this month in China) → the month's first day."""
    if not raw:
        return today_in_china(now).replace(day=1)
    try:
        month = dt.date.fromisoformat(f"{raw.strip()}-01")
    except ValueError:
        raise ValidationFailed(errors={"month": ["请按 年-月 填写，例如 2026-11"]}) from None
    return month  # a month still to come simply has no progress yet


def today_in_china(now: dt.datetime) -> dt.date:
    return now.astimezone(CHINA).date()


def prepare_founding_report(
    session: Session, actor: Actor, *, now: dt.datetime, month: str | None = None, union_id: str | None = None
) -> FoundingReport:
    """The report's figures (read now, in the request); its lists are read while the workbook is written."""
    first_day = parse_month(month, now)
    figures = {
        by: ledger.founding_stats(session, actor, by=by, now=now, union_id=union_id)
        for by in ("union", "sector", "source")
    }
    return FoundingReport(
        union=figures["union"].union,
        month=first_day,
        as_of=now,
        by_union=figures["union"],
        by_sector=figures["sector"],
        by_source=figures["source"],
    )


def report_bytes(report: FoundingReport, actor: Actor, sessions: sessionmaker[Session]) -> Iterator[bytes]:
    """The workbook's bytes (openpyxl's write-only mode into a temporary file, then sent in chunks).

    The lists are read through a session of the stream's own, as ``exports.service.export_bytes``
    does: the body is sent after the request's session has closed.
    """
    handle, path = tempfile.mkstemp(prefix="ruhui-founding-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook = Workbook(write_only=True)
        _figures_sheet(workbook, report)
        with sessions() as session:
            _steps_sheet(workbook, report, actor, session)
            _unbuilt_sheet(workbook, report, actor, session)
        workbook.save(path)
        with open(path, "rb") as stream:
            while chunk := stream.read(FILE_CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def _cell(
    sheet: Any, value: Any, *, font: Font | None = None, fill: PatternFill | None = None, fmt: str | None = None
) -> Any:
    if isinstance(value, str) or value is None:
        value = _xlsx_text(value)
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if fmt is not None:
        cell.number_format = fmt
    return cell


def _widths(sheet: Any, widths: Sequence[float]) -> None:
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width


def _figure_cells(sheet: Any, figures: FoundingFigures, *, font: Font | None = None) -> list[Any]:
    rate = figures.founding_rate
    return [
        _cell(sheet, figures.targets, font=font),
        _cell(sheet, figures.with_union, font=font),
        _cell(sheet, rate if rate is not None else "—", font=font, fmt=_PERCENT if rate is not None else None),
        _cell(sheet, figures.without_union, font=font),
        *(_cell(sheet, figures.in_progress[stage], font=font) for stage in IN_PROGRESS_STAGES),
        _cell(sheet, figures.in_progress_total, font=font),
        _cell(sheet, figures.overdue, font=font),
    ]


def _figures_sheet(workbook: Workbook, report: FoundingReport) -> None:
    sheet = workbook.create_sheet(title="通报")
    _widths(sheet, [30, *([12] * len(FIGURE_TITLES))])
    sheet.append([_cell(sheet, report.title, font=_TITLE)])
    as_of = report.as_of.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    scope = f"统计范围：{report.union.name}及所属工会；数据截至 {as_of}（北京时间）"
    if report.by_union.sectors is not None:
        scope += "；行业：" + "、".join(SECTORS.get(s, s) for s in report.by_union.sectors)
    sheet.append([_cell(sheet, scope)])
    sheet.append(
        [
            _cell(
                sheet,
                "建会率 = 已建会 ÷ 应建单位数；已建会含已加入联合基层工会的单位；"
                "逾期指推进中且已过计划完成日期的建会工作。",
            )
        ]
    )
    blocks: tuple[tuple[str, str, list[FoundingRow], FoundingFigures], ...] = (
        ("一、按工会", "工会", report.by_union.items, report.by_union.total),
        ("二、按行业", "行业", report.by_sector.items, report.by_sector.total),
        ("三、按名单来源", "来源", report.by_source.items, report.by_source.total),
    )
    for heading, first_column, rows, total in blocks:
        sheet.append([])
        sheet.append([_cell(sheet, heading, font=_BOLD)])
        sheet.append([_cell(sheet, title, font=_BOLD, fill=_HEAD_FILL) for title in (first_column, *FIGURE_TITLES)])
        for row in rows:
            sheet.append([_cell(sheet, row.label), *_figure_cells(sheet, row.figures)])
        sheet.append([_cell(sheet, "合计", font=_BOLD), *_figure_cells(sheet, total, font=_BOLD)])


def _case_scope(actor: Actor, root_path: str, responsible: Any) -> list[sa.ColumnElement[bool]]:
    conditions = [within_subtree(responsible.path, root_path)]
    if actor.sectors is not None:
        conditions.append(FoundingTarget.sector.in_(actor.sectors))
    return conditions


def _steps_sheet(workbook: Workbook, report: FoundingReport, actor: Actor, session: Session) -> None:
    sheet = workbook.create_sheet(title="本月进展")
    _widths(sheet, [18, 30, 22, 16, 20, 20, 26, 18, 36])
    sheet.append([_cell(sheet, f"{report.month.year}年{report.month.month}月建会工作进展", font=_BOLD)])
    sheet.append([_cell(sheet, title, font=_BOLD, fill=_HEAD_FILL) for title in STEP_TITLES])
    start = dt.datetime.combine(report.month, dt.time(), tzinfo=CHINA)
    end = dt.datetime.combine((report.month + dt.timedelta(days=32)).replace(day=1), dt.time(), tzinfo=CHINA)
    responsible = aliased(Union)
    statement = (
        sa.select(FoundingCaseStep, FoundingTarget.name, FoundingTarget.uscc, FoundingTarget.sector, responsible.name)
        .join(FoundingCase, FoundingCase.id == FoundingCaseStep.case_id)
        .join(FoundingTarget, FoundingTarget.id == FoundingCase.target_id)
        .join(responsible, responsible.id == FoundingCase.union_id)
        .where(
            *_case_scope(actor, report.union.path, responsible), FoundingCaseStep.at >= start, FoundingCaseStep.at < end
        )
        .order_by(FoundingCaseStep.at, FoundingCaseStep.id)
        .execution_options(yield_per=UNBUILT_PAGE)
    )
    for step, name, uscc, sector, union_name in session.execute(statement):
        sheet.append(
            [
                _cell(sheet, step.at.astimezone(CHINA).replace(tzinfo=None, second=0, microsecond=0), fmt=_TIME),
                _cell(sheet, name),
                _cell(sheet, uscc),
                _cell(sheet, SECTORS.get(sector, sector)),
                _cell(sheet, STAGE_NAMES.get(step.from_stage, "") if step.from_stage else "（新建）"),
                _cell(sheet, STAGE_NAMES.get(step.stage, step.stage)),
                _cell(sheet, union_name),
                _cell(sheet, step.document_no or ""),
                _cell(sheet, step.note or ""),
            ]
        )


def _unbuilt_sheet(workbook: Workbook, report: FoundingReport, actor: Actor, session: Session) -> None:
    sheet = workbook.create_sheet(title="应建未建")
    _widths(sheet, [7, 7, 30, 22, 20, 16, 10, 12, 10, 20, 26])
    sheet.append(
        [
            _cell(
                sheet,
                f"应建未建单位（按从业人数由多到少；★ 为从业 {ledger.FLAG_HEADCOUNT} 人以上"
                f"且成立满 {ledger.FLAG_YEARS} 年）",
                font=_BOLD,
            )
        ]
    )
    sheet.append([_cell(sheet, title, font=_BOLD, fill=_HEAD_FILL) for title in UNBUILT_TITLES])
    for number, unit in enumerate(ledger.all_unbuilt(session, actor, now=report.as_of, root=report.union), start=1):
        target = unit.target
        sheet.append(
            [
                _cell(sheet, number),
                _cell(sheet, "★" if unit.flagged else ""),
                _cell(sheet, target.name),
                _cell(sheet, target.uscc),
                _cell(sheet, display_name(target.region_code)),
                _cell(sheet, SECTORS.get(target.sector, target.sector)),
                _cell(sheet, target.headcount if target.headcount is not None else ""),
                _cell(sheet, target.founded_on, fmt=_DATE) if target.founded_on else _cell(sheet, ""),
                _cell(sheet, unit.years if unit.years is not None else ""),
                _cell(sheet, STAGE_NAMES.get(unit.case_stage, unit.case_stage) if unit.case_stage else "未启动"),
                _cell(sheet, unit.union_name),
            ]
        )
