"""What an export holds: the members or applications of an officer's subtree, row by row.

Rows are read with ``yield_per``, which on PostgreSQL is a server-side cursor: the
database hands over a thousand rows at a time and memory stays flat however many
rows the subtree has (``bench/exports_memory.py`` measures it).

Names, ID numbers and phones are masked (``张*``, ``110105********002X``,
``138****5678``) unless an admin asks for them unmasked; each unmasked export is an
audit event, recorded in the request's transaction before the first byte is sent (no
personal data in it).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app.actors import Actor, within_subtree
from app.audit.service import record_event
from app.auth.models import Person
from app.auth.phones import PHONE_PURPOSE
from app.clock import CHINA
from app.db import parse_id
from app.directory.models import Employer, Station, Union
from app.directory.regions import display_name
from app.directory.service import get_union
from app.directory.vocabulary import EMPLOYMENT_FORMS, OCCUPATIONS
from app.enrollment.memberships import STATUS_LABELS
from app.enrollment.models import HELD_STATUSES, Application, Identity, Membership
from app.enrollment.service import ID_NUMBER_CONTEXT, NAME_CONTEXT
from app.errors import Forbidden
from app.exports import writers
from app.exports.writers import Cell, Column
from app.privacy import Keyring

log = logging.getLogger("ruhui.exports")

KINDS = ("members", "applications")
FORMATS = ("csv", "xlsx")
ROWS_PER_FETCH = 1_000

STATUS_NAMES = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "未通过",
    "returned": "退回补正",
    "withdrawn": "已撤回",
}
RULE_NAMES = {
    "override": "覆盖规则",
    "enterprise": "企业工会",
    "industry": "行业工会",
    "regional": "区域工会",
    "fallback": "兜底（盲区）",
}
SEX_NAMES = {"male": "男", "female": "女"}

APPLICATION_COLUMNS = tuple(
    Column(title, width)
    for title, width in (
        ("申请编号", 10), ("状态", 10), ("姓名", 12), ("身份证号", 22), ("职业", 16), ("用工形式", 12),
        ("站点", 28), ("用人单位", 28), ("所在地区", 22), ("受理工会", 28), ("分派规则", 14), ("提交时间", 18),
        ("答复期限", 18), ("处理时间", 18), ("处理意见", 36), ("手机号", 15), ("会员号", 20),
    )
)  # fmt: skip
MEMBER_COLUMNS = tuple(
    Column(title, width)
    for title, width in (
        ("会员号", 20), ("姓名", 12), ("身份证号", 22), ("性别", 8), ("所属工会", 28), ("入会时间", 18),
        ("职业", 16), ("用工形式", 12), ("站点", 28), ("用人单位", 28), ("所在地区", 22), ("手机号", 15),
        ("会籍状态", 10), ("状态变更时间", 18),
    )
)  # fmt: skip


@dataclass(frozen=True)
class Export:
    kind: str
    fmt: str
    unmasked: bool
    columns: Sequence[Column]
    # Called with the session to read from: the stream outlives the request's session (see exports.api).
    rows: Callable[[Session], Iterator[list[Cell]]]

    @property
    def filename(self) -> str:
        return f"{self.kind}.{self.fmt}"

    @property
    def sheet_title(self) -> str:
        return "会员" if self.kind == "members" else "入会申请"


def prepare_export(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    fmt: str,
    unmasked: bool,
    keyring: Keyring,
    union_id: str | None = None,
) -> Export:
    """Check the right to an unmasked export and audit it; return the export, whose rows are read lazily.

    ``union_id`` narrows the export to that union's subtree, as the statistics do; a
    union outside the scope (or no union at all) is a 404.
    """
    root = _export_root(session, actor, union_id)
    if unmasked:
        if actor.role != "admin":
            raise Forbidden("仅管理员可导出未脱敏的个人信息")
        record_event(
            session,
            actor=actor,
            action="export.unmasked",
            object_type="export",
            object_id=f"{kind}.{fmt}",
            union_path=actor.subtree,
            details={"kind": kind, "format": fmt, "union_id": str(root.id)},
        )
    log.info("export", extra={"kind": kind, "format": fmt, "unmasked": unmasked, "union_id": root.id})
    ring = keyring if unmasked else None
    if kind == "members":
        return Export(kind, fmt, unmasked, MEMBER_COLUMNS, lambda reader: member_rows(reader, root.path, ring))
    return Export(kind, fmt, unmasked, APPLICATION_COLUMNS, lambda reader: application_rows(reader, root.path, ring))


def _export_root(session: Session, actor: Actor, union_id: str | None) -> Union:
    """The union whose subtree is exported: the actor's own, or ``union_id`` when it lies in the actor's subtree."""
    return get_union(session, actor, actor.union_id if union_id is None else parse_id(union_id))


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    """A time as officers in China read it (UTC+8), to the minute; naive, as spreadsheets hold times."""
    if moment is None:
        return None
    return moment.astimezone(CHINA).replace(tzinfo=None, second=0, microsecond=0)


def _person(row: Any, ring: Keyring | None) -> tuple[str, str, str]:
    """Name, ID number and phone: masked, or in full for an unmasked export."""
    if ring is None:
        return row.name, row.id_number, row.phone
    return (
        ring.decrypt(row.name, NAME_CONTEXT),
        ring.decrypt(row.id_number, ID_NUMBER_CONTEXT),
        ring.decrypt(row.phone, PHONE_PURPOSE),
    )


def _person_columns(ring: Keyring | None) -> list[Any]:
    """The name, ID number and phone columns to read (labelled alike, masked or sealed)."""
    if ring is None:
        columns = [Identity.name_masked, Identity.id_number_masked, Person.phone_masked]
    else:
        columns = [Identity.name_sealed, Identity.id_number_sealed, Person.phone_sealed]
    return [column.label(label) for column, label in zip(columns, ("name", "id_number", "phone"), strict=True)]


def application_rows(session: Session, scope_path: str, ring: Keyring | None) -> Iterator[list[Cell]]:
    """The applications routed to unions of the subtree, oldest first."""
    statement = (
        sa.select(
            Application.id,
            Application.status,
            *_person_columns(ring),
            Application.occupation,
            Application.employment_form,
            Station.name.label("station_name"),
            sa.func.coalesce(Employer.name, Application.employer_name).label("employer_name"),
            Application.region_code,
            Union.name.label("union_name"),
            Application.route_rule,
            Application.submitted_at,
            Application.due_at,
            Application.decided_at,
            Application.decision_reason,
            Application.member_no,
        )
        .join(Identity, Identity.id == Application.identity_id)
        .join(Person, Person.id == Application.person_id)
        .join(Station, Station.id == Application.station_id)
        .join(Union, Union.id == Application.union_id)
        .outerjoin(Employer, Employer.id == Application.employer_id)
        .where(within_subtree(Application.union_path, scope_path))
        .order_by(Application.id)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    for row in session.execute(statement):
        name, id_number, phone = _person(row, ring)
        yield [
            str(row.id),
            STATUS_NAMES.get(row.status, row.status),
            name,
            id_number,
            OCCUPATIONS.get(row.occupation, row.occupation),
            EMPLOYMENT_FORMS.get(row.employment_form, row.employment_form),
            row.station_name,
            row.employer_name or "",
            display_name(row.region_code),
            row.union_name,
            RULE_NAMES.get(row.route_rule, row.route_rule),
            _local(row.submitted_at),
            _local(row.due_at),
            _local(row.decided_at),
            row.decision_reason or "",
            phone,
            row.member_no or "",
        ]


def member_rows(session: Session, scope_path: str, ring: Keyring | None) -> Iterator[list[Cell]]:
    """The members (active and retained) of unions in the subtree, in the order they joined.

    A retained member (保留会籍) is listed under the union above that holds the membership,
    with its status: the rows are the coverage figures' active plus retained members.
    """
    statement = (
        sa.select(
            Membership.member_no,
            *_person_columns(ring),
            Identity.sex,
            Union.name.label("union_name"),
            Membership.since,
            Membership.status,
            Membership.status_changed_at,
            Application.occupation,
            Application.employment_form,
            Station.name.label("station_name"),
            sa.func.coalesce(Employer.name, Application.employer_name).label("employer_name"),
            Application.region_code,
        )
        .join(Identity, Identity.id == Membership.identity_id)
        .join(Union, Union.id == Membership.union_id)
        .join(Application, Application.id == Membership.application_id)
        .join(Person, Person.id == Application.person_id)
        .join(Station, Station.id == Application.station_id)
        .outerjoin(Employer, Employer.id == Application.employer_id)
        .where(Membership.status.in_(HELD_STATUSES), within_subtree(Union.path, scope_path))
        .order_by(Membership.id)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    for row in session.execute(statement):
        name, id_number, phone = _person(row, ring)
        yield [
            row.member_no,
            name,
            id_number,
            SEX_NAMES.get(row.sex, row.sex),
            row.union_name,
            _local(row.since),
            OCCUPATIONS.get(row.occupation, row.occupation),
            EMPLOYMENT_FORMS.get(row.employment_form, row.employment_form),
            row.station_name,
            row.employer_name or "",
            display_name(row.region_code),
            phone,
            STATUS_LABELS.get(row.status, row.status),
            _local(row.status_changed_at),
        ]


def export_bytes(export: Export, sessions: sessionmaker[Session]) -> Iterator[bytes]:
    """The file's bytes, read through a session of its own (for the API and the console alike).

    The body is sent after the view has returned and Flask has closed the request's
    session, so the stream opens its own (on the read replica when there is one) and
    closes it when the last byte is sent or the client goes away (``GeneratorExit``).
    The statement runs here, before the view returns: a database that does not answer
    is the request's 503 (``app.errors``), not a download cut off after its headers.
    """
    session = sessions()
    try:
        rows = export.rows(session)
        first = next(rows, None)
    except BaseException:
        session.close()
        raise
    return _stream(export, session, rows if first is None else itertools.chain([first], rows))


def _stream(export: Export, session: Session, rows: Iterator[list[Cell]]) -> Iterator[bytes]:
    with session:
        if export.fmt == "csv":
            yield from writers.csv_chunks(export.columns, rows)
        else:
            yield from writers.xlsx_chunks(export.columns, rows, title=export.sheet_title)
