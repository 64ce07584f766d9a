"""A department's list of units that should have a union, imported as CSV, with its difference report.

Read like the directory's imports (``app.directory.imports``): UTF-8 with or without BOM,
GB18030 or UTF-16; English or Chinese column names; all rows or none (a 422 names every
bad row as ``errors["line N"]``, the header being line 1).

Rows are keyed by USCC within a source. What the source said of each unit is kept
(``FoundingListing.data``), so the next file of the same source reports, within the
importing officer's subtree: ``created`` (not on that source's previous list),
``changed`` (on it, but with other values), ``unchanged``, and ``gone`` (on the previous
list, not on this one: marked, never deleted). The target itself takes the values of
the latest list that named it, and is linked to the employer with the same USCC.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor
from app.db import utcnow
from app.directory import imports as directory_imports
from app.directory.imports import Column, Row, RowProblem, decode, read_rows
from app.directory.models import Employer, Union
from app.directory.service import audit_change
from app.errors import AppError, ValidationFailed
from app.founding.models import FoundingListing, FoundingTarget
from app.founding.vocabulary import IMPORT_SOURCES, SECTORS

log = logging.getLogger("ruhui.founding.imports")

IMPORT_MAX_BYTES = directory_imports.IMPORT_MAX_BYTES

_SECTOR_WORDS = {**{code: code for code in SECTORS}, **{name: code for code, name in SECTORS.items()}}


def _sector(value: str) -> str:
    code = _SECTOR_WORDS.get(value.lower() if value.isascii() else value)
    if code is None:
        raise RowProblem(f"行业类别「{value}」无效，须为规定的类别代码或其中文名称")
    return code


def _headcount(value: str) -> int:
    text = value.replace(",", "").replace("，", "")
    if not text.isascii() or not text.isdigit() or len(text) > 7:
        raise RowProblem("须为 0 到 9999999 的整数")
    return int(text)


def _date(value: str) -> str:
    """A YYYY-MM-DD date (also 2020/1/5), kept as its ISO text so the listing's JSON can hold it."""
    parts = value.replace("/", "-").replace(".", "-").split("-")
    try:
        if len(parts) != 3:
            raise ValueError(value)
        day = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise RowProblem("须为日期，格式 YYYY-MM-DD") from None
    return day.isoformat()


def _industry_code(value: str) -> str:
    # GB/T 4754: a section letter (A–T), or a 2- to 4-digit division/group/class code, optionally after the letter.
    code = value.upper()
    digits = code[1:] if code[:1].isalpha() else code
    if not code.isascii() or not (code[:1].isalpha() or code[:1].isdigit()) or len(code) > 5:
        raise RowProblem("须为国民经济行业分类（GB/T 4754）代码，如 6021 或 I6021")
    if digits and (not digits.isdigit() or not 2 <= len(digits) <= 4):
        raise RowProblem("须为国民经济行业分类（GB/T 4754）代码，如 6021 或 I6021")
    return code


COLUMNS: tuple[Column, ...] = (
    Column("uscc", ("统一社会信用代码", "信用代码"), directory_imports._uscc, required=True),
    Column("name", ("名称", "单位名称"), directory_imports._text(200), required=True),
    Column("region_code", ("行政区划代码", "区划代码"), directory_imports._region_code, required=True),
    Column("sector", ("行业类别", "行业"), _sector, required=True),
    Column("headcount", ("从业人数", "职工人数"), _headcount),
    Column("founded_on", ("成立日期",), _date),
    Column("address", ("地址", "住所"), directory_imports._text(300)),
    Column("parent_uscc", ("总部统一社会信用代码", "上级单位统一社会信用代码"), directory_imports._uscc),
    Column("industry_code", ("GB/T 4754 行业代码", "行业代码", "国民经济行业代码"), _industry_code),
)
# The fields a row sets on its target (all but its key).
_FIELDS = tuple(column.name for column in COLUMNS if column.name != "uscc")


@dataclass
class FoundingImportResult:
    source: str
    rows: int = 0
    created: int = 0
    changed: int = 0
    gone: int = 0
    unchanged: int = 0


def import_targets(session: Session, scope: Actor, source: str, file: IO[bytes]) -> FoundingImportResult:
    """Import one department's whole list or nothing; report the difference from its previous list."""
    if source not in IMPORT_SOURCES:
        raise ValidationFailed(errors={"source": [f"须为 {'、'.join(IMPORT_SOURCES)} 之一"]})
    try:
        raw = file.read(IMPORT_MAX_BYTES + 1)
    finally:
        file.close()
    if len(raw) > IMPORT_MAX_BYTES:
        raise AppError(
            f"文件过大，单次导入不超过 {IMPORT_MAX_BYTES // (1024 * 1024)} MB，请拆分后上传",
            code="payload_too_large",
            status=413,
        )
    rows, _ = read_rows(decode(raw), COLUMNS)
    errors: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    for row in rows:
        uscc = row.values.get("uscc")
        if uscc and uscc in first_line:
            row.problems.append(f"统一社会信用代码 {uscc} 与第 {first_line[uscc]} 行重复")
        elif uscc:
            first_line[uscc] = row.line

    targets = _targets_by_uscc(session, list(first_line))
    unions = _union_paths(session, {target.union_id for target in targets.values()})
    for row in rows:
        target = targets.get(row.values.get("uscc") or "")
        if target is not None and not scope.covers(unions[target.union_id]):
            row.problems.append(f"统一社会信用代码 {row.values['uscc']} 已由其他工会登记为应建单位")
        if row.problems:
            errors.setdefault(f"line {row.line}", []).extend(row.problems)
    if errors:
        log.info("founding import refused", extra={"source": source, "rows": len(rows), "bad_rows": len(errors)})
        raise ValidationFailed(f"有 {len(errors)} 行有误，未导入任何数据", errors=errors)

    result = FoundingImportResult(source=source, rows=len(rows))
    listings = _listings(session, source, [target.id for target in targets.values()])
    employers = _employers_by_uscc(session, list(first_line))
    seen = _apply_rows(session, scope, source, rows, targets, listings, employers, result)
    result.gone = _mark_gone(session, scope, source, seen)
    home = session.get(Union, scope.union_id)
    assert home is not None
    audit_change(
        session,
        scope,
        "import.founding_targets",
        home,
        home.path,
        source=source,
        rows=len(rows),
        created=result.created,
        changed=result.changed,
        gone=result.gone,
    )
    log.info(
        "founding import done",
        extra={"source": source, "rows": len(rows), "rows_created": result.created, "rows_changed": result.changed},
    )
    return result


def _targets_by_uscc(session: Session, codes: list[str]) -> dict[str, FoundingTarget]:
    found: dict[str, FoundingTarget] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        for target in session.scalars(sa.select(FoundingTarget).where(FoundingTarget.uscc.in_(chunk))):
            found[str(target.uscc)] = target
    return found


def _union_paths(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(sa.select(Union.id, Union.path).where(Union.id.in_(list(ids))))
    return {union_id: path for union_id, path in rows}  # noqa: C416  # Row objects, unpacked into pairs


def _listings(session: Session, source: str, target_ids: list[int]) -> dict[int, FoundingListing]:
    found: dict[int, FoundingListing] = {}
    for start in range(0, len(target_ids), 500):
        chunk = target_ids[start : start + 500]
        for listing in session.scalars(
            sa.select(FoundingListing).where(FoundingListing.source == source, FoundingListing.target_id.in_(chunk))
        ):
            found[listing.target_id] = listing
    return found


def _employers_by_uscc(session: Session, codes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        rows = session.execute(sa.select(Employer.uscc, Employer.id).where(Employer.uscc.in_(chunk)))
        found.update({uscc: employer_id for uscc, employer_id in rows})  # noqa: C416  # Row objects into pairs
    return found


def _apply_rows(
    session: Session,
    scope: Actor,
    source: str,
    rows: list[Row],
    targets: dict[str, FoundingTarget],
    listings: dict[int, FoundingListing],
    employers: dict[str, int],
    result: FoundingImportResult,
) -> set[int]:
    """Write the rows: new targets and listings as multi-row INSERTs, stored ones through the ORM.

    A 20,000-row list is a few statements per thousand rows, not one round trip per row; unchanged
    rows only have their ``seen_at`` moved, in bulk (``bench/founding_import.py`` times it).
    """
    assert scope.union_id is not None
    now = utcnow()
    seen: set[int] = set()
    fresh: list[dict[str, Any]] = []
    fresh_data: dict[str, dict[str, Any]] = {}
    unchanged: list[int] = []
    for row in rows:
        uscc = str(row.values["uscc"])
        data = {name: row.values[name] for name in _FIELDS if name in row.values}
        target = targets.get(uscc)
        if target is None:
            fresh.append(_new_target(uscc, data, source, scope.union_id, employers.get(uscc), now))
            fresh_data[uscc] = data
            continue
        _set_fields(target, data, source)
        if target.gone:
            target.gone = False
        if target.employer_id is None and uscc in employers:
            target.employer_id = employers[uscc]
        seen.add(target.id)
        listing = listings.get(target.id)
        if listing is None:
            session.add(FoundingListing(source=source, target_id=target.id, data=data, seen_at=now, gone=False))
            result.created += 1
        elif listing.gone:
            listing.gone, listing.gone_at, listing.data, listing.seen_at = False, None, data, now
            result.created += 1
        elif listing.data != data:
            listing.data, listing.seen_at = data, now
            result.changed += 1
        else:
            unchanged.append(listing.id)
            result.unchanged += 1
    session.flush()
    for start in range(0, len(fresh), 1000):
        inserted = session.execute(
            sa.insert(FoundingTarget).returning(FoundingTarget.id, FoundingTarget.uscc, sort_by_parameter_order=True),
            fresh[start : start + 1000],
        )
        new_listings = []
        for target_id, code in inserted:
            seen.add(target_id)
            new_listings.append(
                {"source": source, "target_id": target_id, "data": fresh_data[str(code)], "seen_at": now, "gone": False}
            )
        session.execute(sa.insert(FoundingListing), new_listings)
        result.created += len(new_listings)
    for start in range(0, len(unchanged), 1000):
        session.execute(
            sa.update(FoundingListing)
            .where(FoundingListing.id.in_(unchanged[start : start + 1000]))
            .values(seen_at=now)
            .execution_options(synchronize_session=False)
        )
    return seen


def _new_target(
    uscc: str, data: dict[str, Any], source: str, union_id: int, employer_id: int | None, now: dt.datetime
) -> dict[str, Any]:
    """A new target's row, every column given (a multi-row INSERT takes one set of columns)."""
    founded_on = data.get("founded_on")
    return {
        "uscc": uscc,
        "name": data["name"],
        "region_code": data["region_code"],
        "sector": data["sector"],
        "industry_code": data.get("industry_code"),
        "headcount": data.get("headcount"),
        "headcount_source": source if data.get("headcount") is not None else None,
        "founded_on": dt.date.fromisoformat(founded_on) if founded_on else None,
        "address": data.get("address") or "",
        "parent_uscc": data.get("parent_uscc"),
        "source": source,
        "employer_id": employer_id,
        "station_id": None,
        "union_id": union_id,
        "gone": False,
        "created_at": now,
        "updated_at": now,
    }


def _set_fields(target: FoundingTarget, data: dict[str, Any], source: str) -> None:
    """The columns the file has, from this row (a column left out of the file keeps its stored value)."""
    for name, value in data.items():
        if name == "founded_on":
            value = dt.date.fromisoformat(value) if value else None
        elif name == "address":
            value = value or ""
        if getattr(target, name) != value:
            setattr(target, name, value)
    if "headcount" in data and data["headcount"] is not None:
        target.headcount_source = source
    target.source = source


def _mark_gone(session: Session, scope: Actor, source: str, seen: set[int]) -> int:
    """This source's listings in the scope that the file lacks: marked gone (the target too, once no list has it)."""
    statement = (
        sa.select(FoundingListing.id, FoundingListing.target_id)
        .join(FoundingTarget, FoundingTarget.id == FoundingListing.target_id)
        .join(Union, Union.id == FoundingTarget.union_id)
        .where(FoundingListing.source == source, FoundingListing.gone.is_(False), scope.covers(Union.path))
    )
    now = utcnow()
    gone = [(listing_id, target_id) for listing_id, target_id in session.execute(statement) if target_id not in seen]
    gone_targets = [target_id for _, target_id in gone]
    for start in range(0, len(gone), 1000):
        session.execute(
            sa.update(FoundingListing)
            .where(FoundingListing.id.in_([listing_id for listing_id, _ in gone[start : start + 1000]]))
            .values(gone=True, gone_at=now)
            .execution_options(synchronize_session=False)
        )
    for start in range(0, len(gone_targets), 500):
        chunk = gone_targets[start : start + 500]
        still_listed = sa.select(FoundingListing.id).where(
            FoundingListing.target_id == FoundingTarget.id, FoundingListing.gone.is_(False)
        )
        session.execute(
            sa.update(FoundingTarget)
            .where(FoundingTarget.id.in_(chunk), ~sa.exists(still_listed))
            .values(gone=True)
            .execution_options(synchronize_session=False)
        )
    return len(gone_targets)
