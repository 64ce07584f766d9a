"""Enrollment rules: submit, resubmit and withdraw applications; one membership per person; cards."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor
from app.db import parse_id
from app.directory.models import EMPLOYMENT_FORMS, OCCUPATIONS, Employer, Station, Union
from app.enrollment import members
from app.enrollment.deadlines import add_working_days
from app.enrollment.identity import IdentityError, mask_id_number, mask_name, normalise_name, parse_id_number
from app.enrollment.models import (
    OPEN_STATUSES,
    Application,
    IdempotencyRecord,
    Identity,
    Membership,
    route_hop,
    union_summary,
)
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.joincodes import service as joincodes
from app.pagination import Page, paginate
from app.privacy import keyring
from app.routing import service as routing

ID_NUMBER_CONTEXT = "identity.id_number"
NAME_CONTEXT = "identity.name"


@dataclass(frozen=True)
class EnrollmentPolicy:
    consent_version: str
    min_age: int
    due_working_days: int


@dataclass(frozen=True)
class ApplicationForm:
    join_token: str
    full_name: str
    id_number: str
    occupation: str
    employment_form: str
    consent_version: str
    employer_name: str | None = None
    transfer: bool = False


def _application_not_found() -> NotFound:
    return NotFound("申请不存在", code="application_not_found")


# ---------------------------------------------------------------- identities


def _check_form(form: ApplicationForm, policy: EnrollmentPolicy, today: dt.date) -> tuple[str, Any]:
    """Validate the real-name fields together, so the worker sees every problem at once."""
    errors: dict[str, list[str]] = {}
    name = resident = None
    try:
        name = normalise_name(form.full_name)
    except IdentityError as exc:
        errors["full_name"] = [exc.message]
    try:
        resident = parse_id_number(form.id_number, today)
        if resident.age_on(today) < policy.min_age:
            errors["id_number"] = [f"年满 {policy.min_age} 周岁方可申请入会"]
    except IdentityError as exc:
        errors["id_number"] = [exc.message]
    if form.consent_version != policy.consent_version:
        errors["consent_version"] = ["请阅读并同意最新的入会须知后再提交"]
    if form.occupation not in OCCUPATIONS:
        errors["occupation"] = ["不是允许的职业"]
    if form.employment_form not in EMPLOYMENT_FORMS:
        errors["employment_form"] = ["不是允许的用工形式"]
    if errors:
        raise ValidationFailed(errors=errors)
    assert name is not None and resident is not None
    return name, resident


def _find_or_create_identity(session: Session, name: str, resident: Any) -> Identity:
    ring = keyring()
    index = ring.blind_index(resident.number, ID_NUMBER_CONTEXT)
    identity = session.scalars(sa.select(Identity).where(Identity.id_number_index == index)).first()
    if identity is None:
        identity = Identity(
            id_number_index=index,
            id_number_sealed=ring.encrypt(resident.number, ID_NUMBER_CONTEXT),
            name_sealed=ring.encrypt(name, NAME_CONTEXT),
            name_masked=mask_name(name),
            id_number_masked=mask_id_number(resident.number),
            birth_date=resident.birth_date,
            sex=resident.sex,
        )
        session.add(identity)
        session.flush()
        return identity
    if ring.decrypt(identity.name_sealed, NAME_CONTEXT) != name:
        if identity.member_no:
            # A member's real name is on record; a different one under the same ID number is not a typo we fix silently.
            raise ValidationFailed(errors={"full_name": ["姓名与该身份证号码已登记的信息不一致"]})
        identity.name_sealed = ring.encrypt(name, NAME_CONTEXT)
        identity.name_masked = mask_name(name)
    return identity


def active_membership(session: Session, identity_id: int) -> Membership | None:
    return session.scalars(
        sa.select(Membership).where(Membership.identity_id == identity_id, Membership.status == "active")
    ).first()


# ---------------------------------------------------------------- submit


def _place(
    session: Session, application: Application, form: ApplicationForm, station: Station, now: dt.datetime
) -> None:
    """Route the application from its station and form, and record the hop."""
    decision = routing.route_station(session, station, form.occupation, form.employment_form)
    union = session.get(Union, decision.union_id)
    assert union is not None
    hop = route_hop(union, at=now, by="routing", rule=decision.rule, reasons=list(decision.reasons))
    application.route_to(union, rule=decision.rule, hop=hop)


def _live_station(session: Session, join_token: str, now: dt.datetime) -> tuple[int, Station]:
    code = joincodes.find_by_token(session, join_token)
    joincodes.ensure_live(code, now)
    station = session.get(Station, code.station_id)
    assert station is not None
    return code.id, station


def _employer_fields(station: Station, form: ApplicationForm) -> tuple[int | None, str | None]:
    if station.employer_id is not None:
        return station.employer_id, None
    name = " ".join((form.employer_name or "").split()) or None
    return None, name


def submit_application(
    session: Session, *, person_id: int, form: ApplicationForm, policy: EnrollmentPolicy, now: dt.datetime
) -> Application:
    """Check, route and file a worker's application; it lands ``pending`` in its union's queue."""
    join_code_id, station = _live_station(session, form.join_token, now)
    name, resident = _check_form(form, policy, now.date())
    identity = _find_or_create_identity(session, name, resident)

    if session.scalar(
        sa.select(Application.id).where(Application.identity_id == identity.id, Application.status.in_(OPEN_STATUSES))
    ):
        raise Conflict("您已有一份正在办理的入会申请，请勿重复提交", code="application_open")
    membership = active_membership(session, identity.id)
    if membership is not None and not form.transfer:
        union = session.get(Union, membership.union_id)
        assert union is not None
        raise Conflict(
            f"您已是{union.name}的会员；如需转会，请选择会员关系转接",
            code="already_member",
            union=union_summary(union),
        )

    employer_id, employer_name = _employer_fields(station, form)
    application = Application(
        person_id=person_id,
        identity_id=identity.id,
        join_code_id=join_code_id,
        station_id=station.id,
        employer_id=employer_id,
        employer_name=employer_name,
        region_code=station.region_code,
        occupation=form.occupation,
        employment_form=form.employment_form,
        is_transfer=membership is not None,
        consent_version=form.consent_version,
        status="pending",
        submitted_at=now,
        due_at=add_working_days(now, policy.due_working_days),
        route_trace=[],
    )
    _place(session, application, form, station, now)
    if membership is not None and membership.union_id == application.union_id:
        union = session.get(Union, membership.union_id)
        assert union is not None
        raise Conflict(f"您已是{union.name}的会员，无需转入同一工会", code="already_member", union=union_summary(union))
    session.add(application)
    session.flush()
    return application


def resubmit_application(
    session: Session,
    *,
    person_id: int,
    application_id: str,
    form: ApplicationForm,
    policy: EnrollmentPolicy,
    now: dt.datetime,
) -> Application:
    """Correct a ``returned`` application; it goes back to ``pending``, re-routed, with a fresh deadline."""
    application = own_application(session, person_id, application_id)
    if application.status != "returned":
        raise Conflict("只有被退回补充材料的申请才能修改后重新提交", code="invalid_state")
    join_code_id, station = _live_station(session, form.join_token, now)
    name, resident = _check_form(form, policy, now.date())
    identity = _find_or_create_identity(session, name, resident)
    if identity.id != application.identity_id:
        raise ValidationFailed(errors={"id_number": ["重新提交时不能更换身份证号码，请撤回后重新申请"]})
    employer_id, employer_name = _employer_fields(station, form)
    application.join_code_id = join_code_id
    application.station_id = station.id
    application.employer_id = employer_id
    application.employer_name = employer_name
    application.region_code = station.region_code
    application.occupation = form.occupation
    application.employment_form = form.employment_form
    application.consent_version = form.consent_version
    application.status = "pending"
    application.submitted_at = now
    application.due_at = add_working_days(now, policy.due_working_days)
    _place(session, application, form, station, now)
    session.flush()
    return application


def withdraw_application(session: Session, *, person_id: int, application_id: str) -> Application:
    application = own_application(session, person_id, application_id)
    if application.status not in OPEN_STATUSES:
        raise Conflict("该申请已办结，不能撤回", code="invalid_state")
    application.status = "withdrawn"
    session.flush()
    return application


# ---------------------------------------------------------------- reading


def own_application(session: Session, person_id: int, application_id: str) -> Application:
    number = parse_id(application_id)
    application = session.get(Application, number) if number else None
    if application is None or application.person_id != person_id:
        raise _application_not_found()
    return application


def visible_application(session: Session, principal: Actor, application_id: str) -> Application:
    """A worker's own application, or one routed into an officer's subtree; otherwise 404."""
    number = parse_id(application_id)
    application = session.get(Application, number) if number else None
    if application is None:
        raise _application_not_found()
    if principal.kind == "worker" and application.person_id == principal.id:
        return application
    if principal.kind == "officer" and principal.covers(application.union_path):
        return application
    raise _application_not_found()


def list_own_applications(session: Session, *, person_id: int, limit: int, cursor: str | None) -> Page:
    statement = sa.select(Application).where(Application.person_id == person_id)
    return paginate(session, statement, keys=[Application.id], limit=limit, cursor=cursor)


@dataclass(frozen=True)
class ApplicationView:
    """An application with what its representation names, loaded without N+1."""

    application: Application
    station: Station
    union: Union
    employer: Employer | None
    identity: Identity

    @property
    def route(self) -> dict[str, Any]:
        last = (self.application.route_trace or [{}])[-1]
        return {
            "rule": self.application.route_rule,
            "reasons": last.get("reasons", []),
            "hops": self.application.route_trace,
        }


def application_views(session: Session, applications: Sequence[Application]) -> list[ApplicationView]:
    if not applications:
        return []

    def by_id(model: Any, ids: set[int]) -> dict[int, Any]:
        return {row.id: row for row in session.scalars(sa.select(model).where(model.id.in_(ids)))} if ids else {}

    stations = by_id(Station, {a.station_id for a in applications})
    unions = by_id(Union, {a.union_id for a in applications})
    employers = by_id(Employer, {a.employer_id for a in applications if a.employer_id})
    identities = by_id(Identity, {a.identity_id for a in applications})
    return [
        ApplicationView(
            application=a,
            station=stations[a.station_id],
            union=unions[a.union_id],
            employer=employers.get(a.employer_id) if a.employer_id else None,
            identity=identities[a.identity_id],
        )
        for a in applications
    ]


def application_view(session: Session, application: Application) -> ApplicationView:
    return application_views(session, [application])[0]


# ---------------------------------------------------------------- membership and cards


@dataclass(frozen=True)
class MembershipView:
    membership: Membership
    union: Union
    card_token: str


def _identity_of_person(session: Session, person_id: int) -> int | None:
    """The real-name identity a phone has applied under (its latest application)."""
    return session.scalar(
        sa.select(Application.identity_id)
        .where(Application.person_id == person_id)
        .order_by(Application.id.desc())
        .limit(1)
    )


def my_membership(session: Session, *, person_id: int, now: dt.datetime, secret_key: str) -> MembershipView:
    """The worker's active membership with a fresh card token signed under ``secret_key`` (``SECRET_KEY``)."""
    identity_id = _identity_of_person(session, person_id)
    membership = active_membership(session, identity_id) if identity_id else None
    if membership is None:
        raise NotFound("您还不是工会会员", code="not_a_member")
    union = session.get(Union, membership.union_id)
    assert union is not None
    return MembershipView(
        membership=membership,
        union=union,
        card_token=members.issue_card_token(membership.id, now, secret_key=secret_key),
    )


@dataclass(frozen=True)
class CardCheck:
    member_no: str
    name_masked: str
    union: Union
    status: str


def check_card(session: Session, card_token: str, *, secret_key: str) -> CardCheck:
    """What a venue sees when it scans a member card: only a live card of an active membership passes."""
    membership_id = members.read_card_token(card_token, secret_key=secret_key)
    membership = session.get(Membership, membership_id) if membership_id else None
    if membership is None or membership.status != "active":
        raise NotFound("会员卡无效或已过期，请让会员刷新后重新出示", code="card_not_found")
    identity = session.get(Identity, membership.identity_id)
    union = session.get(Union, membership.union_id)
    assert identity is not None and union is not None
    return CardCheck(member_no=membership.member_no, name_masked=identity.name_masked, union=union, status="active")


# ---------------------------------------------------------------- idempotency


def request_fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def stored_response(
    session: Session, *, person_id: int, key: str, fingerprint: str
) -> tuple[dict[str, Any], int] | None:
    """The response first given for this key, or None; the same key with another body is refused."""
    record = session.scalars(
        sa.select(IdempotencyRecord).where(IdempotencyRecord.person_id == person_id, IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise AppError("该 Idempotency-Key 已用于另一份内容不同的提交", code="idempotency_key_reused", status=422)
    return record.response, record.status_code


def remember_response(
    session: Session, *, person_id: int, key: str, fingerprint: str, response: dict[str, Any], status_code: int
) -> None:
    session.add(
        IdempotencyRecord(
            person_id=person_id, key=key, request_hash=fingerprint, response=response, status_code=status_code
        )
    )
    session.flush()


# ---------------------------------------------------------------- memberships (granted on approval)


def grant_membership(session: Session, application: Application, now: dt.datetime) -> Membership:
    """Make the applicant a member of the application's union (called when an officer approves).

    A transfer ends the current membership as ``transferred_out`` and starts the new
    one under the same member number (一次入会、动态接转); a first membership gets its
    number here, allocated from the union's region.
    """
    identity = session.get(Identity, application.identity_id)
    union = session.get(Union, application.union_id)
    assert identity is not None and union is not None
    current = active_membership(session, identity.id)
    if current is not None:
        if current.union_id == union.id:
            raise Conflict("申请人已是该工会会员", code="already_member", union=union_summary(union))
        current.status = "transferred_out"
        current.ended_at = now
        granted_by = session.get(Application, current.application_id)
        if granted_by is not None:
            granted_by.membership_active = False
        session.flush()  # the old membership leaves "active" before the new one may enter it
    member_no = members.allocate_member_no(session, identity, union.region_code, now)
    membership = Membership(
        identity_id=identity.id,
        union_id=union.id,
        application_id=application.id,
        member_no=member_no,
        status="active",
        since=now,
    )
    session.add(membership)
    application.member_no = member_no
    application.membership_active = True
    session.flush()
    return membership
