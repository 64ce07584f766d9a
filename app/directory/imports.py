"""CSV imports of unions, employers and stations, the way union offices keep their rosters: in Excel.

- Encodings: UTF-8 with or without BOM (Excel's "CSV UTF-8"), GB18030 (Excel's plain
  "CSV" on a Chinese Windows, a superset of GBK/GB2312), and UTF-16 with a BOM.
- Headers: the English column names below, or their Chinese equivalents; values for
  kinds and occupations may be codes (``courier``) or Chinese names (``快递员``).
- All rows or none: every row is checked; if any is bad the 422 lists each bad row
  as ``errors["line N"]`` (the header is line 1) and nothing is stored.
- Idempotent: rows are matched by ``external_code``; a row identical to what is
  stored changes nothing, a row that differs updates only the columns the file has.
- References between rows may come in any order (a branch before its HQ).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor
from app.db import parse_id
from app.directory import service
from app.directory.models import Employer, Station, Union
from app.directory.regions import is_valid_region_code
from app.directory.uscc import normalise_uscc, uscc_problem
from app.directory.vocabulary import OCCUPATIONS, UNION_KIND_NAMES, UNION_KINDS
from app.errors import AppError, ValidationFailed

log = logging.getLogger("ruhui.directory.imports")

IMPORT_MAX_BYTES = 2 * 1024 * 1024  # ~20,000 rows; larger rosters are split by district
MAX_ROWS = 20_000
IMPORT_KINDS = ("unions", "employers", "stations")

_Record = TypeVar("_Record", Union, Employer, Station)


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class RowProblem(ValueError):
    """A cell that cannot be read; the message is shown to the officer."""


# --- cell parsers ---------------------------------------------------------------------------------------------------


def _text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise RowProblem("不能包含控制字符")
        if len(value) > max_length:
            raise RowProblem(f"长度不能超过 {max_length}")
        return value

    return parse


def _region_code(value: str) -> str:
    if not is_valid_region_code(value):
        raise RowProblem(f"{value} 不是有效的行政区划代码（GB/T 2260）")
    return value


def _uscc(value: str) -> str:
    code = normalise_uscc(value)
    problem = uscc_problem(code)
    if problem:
        raise RowProblem(problem)
    return code


_KIND_WORDS = {**{kind: kind for kind in UNION_KINDS}, **{name: kind for kind, name in UNION_KIND_NAMES.items()}}
_KIND_WORDS.update({"总工会": "federation", "行业工会联合会": "industry"})
_OCCUPATION_WORDS = {**{code: code for code in OCCUPATIONS}, **{name: code for code, name in OCCUPATIONS.items()}}


def _kind(value: str) -> str:
    kind = _KIND_WORDS.get(value.lower() if value.isascii() else value)
    if kind is None:
        raise RowProblem(f"工会类型「{value}」无效，须为 {'、'.join(UNION_KINDS)} 或对应的中文名称")
    return kind


def _occupation(value: str) -> str:
    code = _OCCUPATION_WORDS.get(value.lower() if value.isascii() else value)
    if code is None:
        raise RowProblem(f"职业「{value}」无效")
    return code


def _occupations(value: str) -> list[str]:
    return list(dict.fromkeys(_occupation(part) for part in re.split(r"[;；,，、|\s]+", value) if part))


_TRUE = {"true", "1", "yes", "y", "是", "受理", "接收"}
_FALSE = {"false", "0", "no", "n", "否", "暂停", "不受理"}


def _accepting(value: str) -> bool:
    word = value.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise RowProblem(f"「{value}」无效，须为 是/否 或 true/false")


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    parse: Callable[[str], Any]
    required: bool = False


_EXTERNAL_CODE = Column("external_code", ("编码", "外部编码", "代码"), _text(64), required=True)
_REGION = Column("region_code", ("行政区划代码", "区划代码", "地区代码"), _region_code, required=True)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "unions": (
        _EXTERNAL_CODE,
        Column("name", ("名称", "工会名称"), _text(100), required=True),
        Column("kind", ("类型", "工会类型"), _kind, required=True),
        _REGION,
        Column("parent_code", ("上级编码", "上级工会编码"), _text(64)),
        Column("parent_id", ("上级工会编号",), _text(20)),
        Column("occupations", ("覆盖职业", "职业"), _occupations),
        Column("employer_uscc", ("用人单位统一社会信用代码", "单位信用代码"), _uscc),
        Column("accepting", ("受理入会", "是否受理"), _accepting),
    ),
    "employers": (
        _EXTERNAL_CODE,
        Column("name", ("名称", "单位名称"), _text(200), required=True),
        Column("uscc", ("统一社会信用代码", "信用代码"), _uscc, required=True),
        _REGION,
        Column("parent_uscc", ("上级单位统一社会信用代码", "总部统一社会信用代码"), _uscc),
        Column("union_code", ("管理工会编码",), _text(64)),
    ),
    "stations": (
        _EXTERNAL_CODE,
        Column("name", ("名称", "站点名称"), _text(200), required=True),
        _REGION,
        Column("occupation", ("职业", "默认职业"), _occupation, required=True),
        Column("address", ("地址",), _text(300)),
        Column("employer_uscc", ("用人单位统一社会信用代码", "单位信用代码"), _uscc),
        Column("union_code", ("管理工会编码",), _text(64)),
    ),
}


# --- reading the file -----------------------------------------------------------------------------------------------


@dataclass
class Row:
    line: int
    values: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return str(self.values.get("external_code", ""))


def decode(raw: bytes) -> str:
    """The file's text, whichever of the encodings Chinese spreadsheets save it is in."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: Sequence[str] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("无法识别文件编码", errors={"file": ["请将文件另存为 UTF-8 或 GB18030（GBK）编码的 CSV"]})


def read_rows(text: str, columns: Sequence[Column]) -> tuple[list[Row], dict[str, str]]:
    """Parse the CSV into rows of typed values; returns the rows and the header each column was written as."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ValidationFailed("文件是空的", errors={"file": ["文件中没有表头和数据行"]})
        written, header_problems = _map_header([cell.strip() for cell in header], columns)
        if header_problems:
            raise ValidationFailed("表头有误", errors={"header": header_problems})
        rows: list[Row] = []
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(_read_row(line, cells, written, columns))
                if len(rows) > MAX_ROWS:
                    raise ValidationFailed("行数过多", errors={"file": [f"一次最多导入 {MAX_ROWS} 行，请拆分文件"]})
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ValidationFailed("CSV 格式错误", errors={"file": [f"第 {reader.line_num} 行附近格式错误"]}) from exc
    if not rows:
        raise ValidationFailed("文件中没有数据行", errors={"file": ["文件中只有表头，没有数据行"]})
    return rows, {column: written[column][1] for column in written}


def _map_header(header: list[str], columns: Sequence[Column]) -> tuple[dict[str, tuple[int, str]], list[str]]:
    names: dict[str, Column] = {}
    for column in columns:
        for name in (column.name, *column.aliases):
            names[name.lower()] = column
    written: dict[str, tuple[int, str]] = {}
    problems: list[str] = []
    for index, cell in enumerate(header):
        found = names.get(cell.lower())
        if found is None:
            if cell:
                problems.append(f"不认识的列「{cell}」")
            continue
        column = found
        if column.name in written:
            problems.append(f"列「{cell}」重复")
            continue
        written[column.name] = (index, cell)
    for column in columns:
        if column.required and column.name not in written:
            problems.append(f"缺少列「{column.name}」（或「{column.aliases[0]}」）")
    return written, problems


def _read_row(line: int, cells: list[str], written: dict[str, tuple[int, str]], columns: Sequence[Column]) -> Row:
    row = Row(line=line, values={})
    for column in columns:
        if column.name not in written:
            continue
        index, header = written[column.name]
        value = cells[index].strip() if index < len(cells) else ""
        if not value:
            if column.required:
                row.problems.append(f"{header}：此项为必填项")
            else:
                row.values[column.name] = None
            continue
        try:
            row.values[column.name] = column.parse(value)
        except RowProblem as problem:
            row.problems.append(f"{header}：{problem}")
    return row


# --- applying rows --------------------------------------------------------------------------------------------------


@dataclass
class _Import:
    session: Session
    scope: Actor
    headers: dict[str, str]
    result: ImportResult
    errors: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, row: Row, *problems: str) -> None:
        self.errors.setdefault(f"line {row.line}", []).extend(problems)

    def fail_with(self, row: Row, error: AppError) -> None:
        if error.errors:
            for name, messages in error.errors.items():
                label = self.headers.get(name, name)
                self.fail(row, *(f"{label}：{message}" for message in messages))
        else:
            self.fail(row, error.message)

    def existing(self, model: type[_Record], rows: Iterable[Row]) -> dict[str, _Record]:
        """The stored records these rows name by external code, fetched in a few queries."""
        codes = sorted({row.code for row in rows if row.code})
        found: dict[str, _Record] = {}
        for start in range(0, len(codes), 500):
            chunk = codes[start : start + 500]
            for record in self.session.scalars(sa.select(model).where(model.external_code.in_(chunk))):
                found[str(record.external_code)] = record
        return found

    def refused(self, row: Row, record: Union | Employer | Station | None) -> bool:
        """Report the row's problems, and a code already held outside the scope; True when it cannot be imported."""
        if record is not None and not self.in_scope(record):
            row.problems.append(f"编码 {row.code} 已被占用")
        if row.problems:
            self.fail(row, *row.problems)
        return bool(row.problems)

    def in_scope(self, record: Union | Employer | Station) -> bool:
        union = record if isinstance(record, Union) else self.session.get(Union, record.union_id)
        return union is not None and self.scope.covers(union.path)

    def union_by_code(self, code: str) -> Union:
        union = self.session.scalars(
            sa.select(Union).where(Union.external_code == code, self.scope.covers(Union.path))
        ).first()
        if union is None:
            raise AppError(f"编码为 {code} 的工会不存在", status=404)
        return union

    def employer_by_uscc(self, uscc: str) -> Employer:
        employer = service.find_employer_by_uscc(self.session, self.scope, uscc)
        if employer is None:
            raise AppError(f"统一社会信用代码为 {uscc} 的用人单位不存在", status=404)
        return employer

    def upsert(
        self,
        row: Row,
        record: Any,
        desired: dict[str, Any],
        create: Callable[..., Any],
        update: Callable[[Session, Actor, int, dict[str, Any]], Any],
    ) -> Any:
        """Create the row's record, or update what differs, or leave an identical one alone."""
        if record is None:
            self.result.created += 1
            return create(self.session, self.scope, external_code=row.code, **desired)
        changes = {name: value for name, value in desired.items() if getattr(record, name) != value}
        if not changes:
            self.result.unchanged += 1
            return record
        self.result.updated += 1
        return update(self.session, self.scope, record.id, changes)


def import_csv(session: Session, scope: Actor, kind: str, file: IO[bytes]) -> ImportResult:
    """Import a whole file (its bytes, in UTF-8 or GB18030) or nothing; a 422 names every bad row.

    At most ``IMPORT_MAX_BYTES`` are read from ``file``, which is closed once read.
    """
    try:
        raw = file.read(IMPORT_MAX_BYTES + 1)
    finally:
        file.close()  # a large upload is spooled to a temporary file; free it now
    if len(raw) > IMPORT_MAX_BYTES:
        raise AppError(
            f"文件过大，单次导入不超过 {IMPORT_MAX_BYTES // (1024 * 1024)} MB，请拆分后上传",
            code="payload_too_large",
            status=413,
        )
    rows, headers = read_rows(decode(raw), COLUMNS[kind])
    job = _Import(session, scope, headers, ImportResult(kind=kind, rows=len(rows)))
    _check_duplicate_codes(job, rows)
    {"unions": _import_unions, "employers": _import_employers, "stations": _import_stations}[kind](job, rows)
    if job.errors:
        log.info("import refused", extra={"kind": kind, "rows": len(rows), "bad_rows": len(job.errors)})
        raise ValidationFailed(f"有 {len(job.errors)} 行有误，未导入任何数据", errors=job.errors)
    home = session.get(Union, scope.union_id)
    assert home is not None  # the officer's own union
    service.audit_change(
        session,
        scope,
        f"import.{kind}",
        home,
        home.path,
        rows=len(rows),
        created=job.result.created,
        updated=job.result.updated,
    )
    log.info(
        "import done",
        extra={"kind": kind, "rows": len(rows), "rows_created": job.result.created, "rows_updated": job.result.updated},
    )
    return job.result


def _check_duplicate_codes(job: _Import, rows: list[Row]) -> None:
    first_line: dict[str, int] = {}
    for row in rows:
        if not row.code:
            continue
        if row.code in first_line:
            row.problems.append(f"编码 {row.code} 与第 {first_line[row.code]} 行重复")
        else:
            first_line[row.code] = row.line


def _in_dependency_order(job: _Import, rows: list[Row], parent_key: Callable[[Row], str | None]) -> list[Row]:
    """Rows ordered so that a row comes after the row it refers to; rows in a loop are failed."""
    by_key = {row.code: row for row in rows}
    ordered: list[Row] = []
    state: dict[int, str] = {}

    def visit(row: Row, path: list[Row]) -> None:
        if state.get(row.line) == "done":
            return
        if state.get(row.line) == "visiting":
            for member in path[path.index(row) :]:
                member.problems.append("上级关系形成循环")
            return
        state[row.line] = "visiting"
        parent = by_key.get(parent_key(row) or "")
        if parent is not None and parent is not row:
            visit(parent, [*path, row])
        state[row.line] = "done"
        ordered.append(row)

    for row in rows:
        visit(row, [])
    return ordered


def _import_unions(job: _Import, rows: list[Row]) -> None:
    existing = job.existing(Union, rows)
    imported: dict[str, Union | None] = {}
    file_codes = {row.code for row in rows}
    for row in _in_dependency_order(job, rows, lambda row: row.values.get("parent_code")):
        record = existing.get(row.code)
        if job.refused(row, record):
            imported[row.code] = None
            continue
        try:
            desired = _union_fields(job, row, record, imported, file_codes)
            imported[row.code] = job.upsert(row, record, desired, service.create_union, service.update_union)
        except AppError as error:
            job.fail_with(row, error)
            imported[row.code] = None


def _union_fields(
    job: _Import, row: Row, record: Union | None, imported: dict[str, Union | None], file_codes: set[str]
) -> dict[str, Any]:
    values = row.values
    desired: dict[str, Any] = {name: values[name] for name in ("name", "kind", "region_code") if name in values}
    parent_code, parent_id = values.get("parent_code"), values.get("parent_id")
    if parent_code:
        if parent_code in file_codes:
            parent = imported.get(parent_code)
            if parent is None:
                raise AppError(f"上级工会（编码 {parent_code}）所在行有误，本行无法导入")
        else:
            parent = job.union_by_code(parent_code)
        desired["parent_id"] = parent.id
    elif parent_id:
        desired["parent_id"] = service.get_union(
            job.session, job.scope, parse_id(parent_id), missing="上级工会不存在"
        ).id
    elif record is None:
        desired["parent_id"] = job.scope.union_id
    if "occupations" in values:
        desired["occupations"] = values["occupations"] or []
    if "employer_uscc" in values:
        uscc = values["employer_uscc"]
        desired["employer_id"] = job.employer_by_uscc(uscc).id if uscc else None
    if "accepting" in values:
        desired["accepting"] = True if values["accepting"] is None else values["accepting"]
    return desired


def _import_employers(job: _Import, rows: list[Row]) -> None:
    existing = job.existing(Employer, rows)
    by_uscc = {row.values["uscc"]: row for row in rows if row.values.get("uscc")}
    imported: dict[str, Employer | None] = {}
    ordered = _in_dependency_order(job, rows, lambda row: _code_of(by_uscc.get(row.values.get("parent_uscc") or "")))
    for row in ordered:
        record = existing.get(row.code)
        if job.refused(row, record):
            imported[row.code] = None
            continue
        try:
            values = row.values
            desired: dict[str, Any] = {name: values[name] for name in ("name", "uscc", "region_code")}
            if "parent_uscc" in values:
                desired["parent_id"] = _employer_parent_id(job, values["parent_uscc"], by_uscc, imported)
            if "union_code" in values:
                code = values["union_code"]
                desired["union_id"] = job.union_by_code(code).id if code else job.scope.union_id
            imported[row.code] = job.upsert(row, record, desired, service.create_employer, service.update_employer)
        except AppError as error:
            job.fail_with(row, error)
            imported[row.code] = None


def _code_of(row: Row | None) -> str | None:
    return row.code if row is not None else None


def _employer_parent_id(
    job: _Import, parent_uscc: str | None, by_uscc: dict[str, Row], imported: dict[str, Employer | None]
) -> int | None:
    if not parent_uscc:
        return None
    parent_row = by_uscc.get(parent_uscc)
    if parent_row is not None:
        parent = imported.get(parent_row.code)
        if parent is None:
            raise AppError(f"上级单位（第 {parent_row.line} 行）有误，本行无法导入")
        return parent.id
    return job.employer_by_uscc(parent_uscc).id


def _import_stations(job: _Import, rows: list[Row]) -> None:
    existing = job.existing(Station, rows)
    for row in rows:
        record = existing.get(row.code)
        if job.refused(row, record):
            continue
        try:
            values = row.values
            desired: dict[str, Any] = {name: values[name] for name in ("name", "region_code", "occupation")}
            if "address" in values:
                desired["address"] = values["address"] or ""
            if "employer_uscc" in values:
                uscc = values["employer_uscc"]
                desired["employer_id"] = job.employer_by_uscc(uscc).id if uscc else None
            if "union_code" in values:
                code = values["union_code"]
                desired["union_id"] = job.union_by_code(code).id if code else job.scope.union_id
            job.upsert(row, record, desired, service.create_station, service.update_station)
        except AppError as error:
            job.fail_with(row, error)
