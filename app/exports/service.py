"""What an export holds: the members or applications of an officer's subtree, row by row.

Rows are read with ``yield_per``, which on PostgreSQL is a server-side cursor: the
database hands over a thousand rows at a time and memory stays flat however many
rows the subtree has (``bench/exports_memory.py`` measures it).

Names and ID numbers are masked (``张*``, ``110105********002X``) unless an admin
asks for them unmasked; each unmasked export is an audit event, recorded in the
request's transaction before the first byte is sent (no personal data in it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor, within_subtree
from app.audit.service import record_event
from app.clock import CHINA
from app.directory.models import Employer, Station, Union
from app.directory.regions import display_name
from app.directory.vocabulary import EMPLOYMENT_FORMS, OCCUPATIONS
from app.enrollment.models import Application, Identity, Membership
from app.enrollment.service import ID_NUMBER_CONTEXT, NAME_CONTEXT
from app.errors import Forbidden
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

APPLICATION_HEADER = (
    "申请编号", "状态", "姓名", "身份证号", "职业", "用工形式", "站点", "用人单位", "所在地区",
    "受理工会", "分派规则", "提交时间", "答复期限", "处理时间", "处理意见", "会员号",
)  # fmt: skip
MEMBER_HEADER = (
    "会员号", "姓名", "身份证号", "性别", "所属工会", "入会时间", "职业", "用工形式", "站点", "用人单位", "所在地区",
)  # fmt: skip


@dataclass(frozen=True)
class Export:
    kind: str
    fmt: str
    unmasked: bool
    header: Sequence[str]
    # Called with the session to read from: the stream outlives the request's session (see exports.api).
    rows: Callable[[Session], Iterator[list[object]]]

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
) -> Export:
    """Check the right to an unmasked export and audit it; return the export, whose rows are read lazily."""
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
            details={"kind": kind, "format": fmt, "union_id": str(actor.union_id)},
        )
    log.info("export", extra={"kind": kind, "format": fmt, "unmasked": unmasked, "union_id": actor.union_id})
    ring = keyring if unmasked else None
    if kind == "members":
        return Export(kind, fmt, unmasked, MEMBER_HEADER, lambda reader: member_rows(reader, actor.subtree, ring))
    return Export(kind, fmt, unmasked, APPLICATION_HEADER, lambda reader: application_rows(reader, actor.subtree, ring))


def _local(moment: dt.datetime | None) -> str:
    """A time as officers in China read it (UTC+8), to the minute."""
    return "" if moment is None else moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _person(row: Any, ring: Keyring | None) -> tuple[str, str]:
    if ring is None:
        return row.name_masked, row.id_number_masked
    return ring.decrypt(row.name_sealed, NAME_CONTEXT), ring.decrypt(row.id_number_sealed, ID_NUMBER_CONTEXT)


def _identity_columns(ring: Keyring | None) -> list[Any]:
    if ring is None:
        return [Identity.name_masked, Identity.id_number_masked]
    return [Identity.name_sealed, Identity.id_number_sealed]


def application_rows(session: Session, scope_path: str, ring: Keyring | None) -> Iterator[list[object]]:
    """The applications routed to unions of the subtree, oldest first."""
    statement = (
        sa.select(
            Application.id,
            Application.status,
            *_identity_columns(ring),
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
        .join(Station, Station.id == Application.station_id)
        .join(Union, Union.id == Application.union_id)
        .outerjoin(Employer, Employer.id == Application.employer_id)
        .where(within_subtree(Application.union_path, scope_path))
        .order_by(Application.id)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    for row in session.execute(statement):
        name, id_number = _person(row, ring)
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
            row.member_no or "",
        ]


def member_rows(session: Session, scope_path: str, ring: Keyring | None) -> Iterator[list[object]]:
    """The active members of unions in the subtree, by member number."""
    statement = (
        sa.select(
            Membership.member_no,
            *_identity_columns(ring),
            Identity.sex,
            Union.name.label("union_name"),
            Membership.since,
            Application.occupation,
            Application.employment_form,
            Station.name.label("station_name"),
            sa.func.coalesce(Employer.name, Application.employer_name).label("employer_name"),
            Application.region_code,
        )
        .join(Identity, Identity.id == Membership.identity_id)
        .join(Union, Union.id == Membership.union_id)
        .join(Application, Application.id == Membership.application_id)
        .join(Station, Station.id == Application.station_id)
        .outerjoin(Employer, Employer.id == Application.employer_id)
        .where(Membership.status == "active", within_subtree(Union.path, scope_path))
        .order_by(Membership.id)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    for row in session.execute(statement):
        name, id_number = _person(row, ring)
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
        ]
