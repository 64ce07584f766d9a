"""Enrollment rules: submit, resubmit and withdraw applications; one membership per person; cards.

An identity (a resident ID number) is bound to the phone that first filed it. Only that
phone may apply under it, hear that it is already a member or has an application open;
any other phone gets the same ``identity_in_use`` whatever it typed, and a phone may
try at most ``IDENTITY_ATTEMPTS_PER_PHONE`` different ID numbers a day. The identity
moves to another phone only when both numbers are proved by SMS code
(``rebind_identity_by_codes``) or an officer checked the person in place
(``app.review.service.verify_identity_in_person``); both go through ``move_identity``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from app.actors import Actor
from app.audit.service import record_event
from app.auth import service as auth
from app.auth.models import Person
from app.auth.phones import phone_of
from app.db import conflict_insert, parse_id, run_core
from app.directory.models import EMPLOYMENT_FORMS, OCCUPATIONS, Employer, Station, Union
from app.enrollment import members, memberships
from app.enrollment.deadlines import add_working_days
from app.enrollment.identity import IdentityError, mask_id_number, mask_name, normalise_name, parse_id_number
from app.enrollment.models import (
    HELD_STATUSES,
    OPEN_STATUSES,
    Application,
    IdempotencyRecord,
    Identity,
    Membership,
    route_hop,
    union_summary,
)
from app.errors import AppError, Conflict, NotFound, RateLimited, ServiceUnavailable, ValidationFailed
from app.joincodes import service as joincodes
from app.joincodes.models import JoinCode
from app.joincodes.resolved import EmployerFacts, ResolveCache, Resolved, StationFacts
from app.pagination import Page, paginate
from app.privacy import keyring
from app.ratelimits import Limit, RateLimits, RateLimitStoreDown
from app.routing import service as routing
from app.routing.cache import CachedRoute, RouteCache, RoutedUnion

ID_NUMBER_CONTEXT = "identity.id_number"
NAME_CONTEXT = "identity.name"

# Different ID numbers one phone may file in a day (fixed window from the first): enough for a typo and
# its correction, too few to probe whose numbers are registered. The same number again is not counted.
IDENTITY_ATTEMPTS_PER_PHONE = Limit("identity-ids-phone", "3/day", fixed=True)
_IDENTITY_TRIED = Limit("identity-id-tried", "1/day", fixed=True)
IDENTITY_IN_USE = "该身份证号码已登记，请使用原登记手机号办理，或到工会现场核验"


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


@dataclass(frozen=True)
class Caches:
    """The app process's caches a submit may read through (``app.joincodes.resolved``, ``app.routing.cache``).

    Without them (a command, a test calling the service) every lookup goes to the database.
    """

    resolve: ResolveCache | None = None
    route: RouteCache | None = None


def _application_open() -> Conflict:
    return Conflict("您已有一份正在办理的入会申请，请勿重复提交", code="application_open")


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


def id_number_index(number: str) -> str:
    """The blind index an ID number is found by (the number itself is never a key)."""
    return keyring().blind_index(number, ID_NUMBER_CONTEXT)


def _identity_in_use() -> Conflict:
    # The same words whatever the identity's state: no union, no status, nothing about the name.
    return Conflict(IDENTITY_IN_USE, code="identity_in_use")


def count_identity_attempt(limits: RateLimits, person_id: int, index: str) -> None:
    """Count a phone's try of an ID number (once per number a day); 429 past the limit, 503 without storage."""
    tried, phone = f"{person_id}:{index[:32]}", str(person_id)
    try:
        # Once per number a day; a parallel request (a double tap) that marked the number first counts it there.
        seen, refusal = limits.count_once((_IDENTITY_TRIED, tried), (IDENTITY_ATTEMPTS_PER_PHONE, phone))
    except RateLimitStoreDown:
        raise ServiceUnavailable(retry_after=30) from None
    if seen:
        return
    if refusal is not None:
        raise RateLimited(
            "今天使用过的身份证号码过多，请明天再试；如需帮助请到工会现场办理",
            code="identity_attempts_exceeded",
            retry_after=refusal.retry_after,
        )


def _bound_identity(session: Session, person_id: int, name: str, resident: Any) -> tuple[Identity, bool]:
    """The identity of ``resident``'s number, created and bound to ``person_id`` on first use; and whether it was.

    The binding is checked before anything else about the identity (its name, its
    membership), so another phone learns nothing beyond ``identity_in_use``.
    """
    ring = keyring()
    index = id_number_index(resident.number)
    filing = _identity_filing(session.get_bind().dialect)
    for _ in range(3):
        # A first filing (the common case) is one statement: the row is inserted unless the number is
        # already there. The new row is this transaction's own until the commit, so an erasure
        # (``app.retention``) cannot touch it meanwhile; another phone filing the same number at the
        # same moment waits for this commit and then finds it.
        values = {
            "id_number_index": index,
            "id_number_sealed": ring.encrypt(resident.number, ID_NUMBER_CONTEXT),
            "name_sealed": ring.encrypt(name, NAME_CONTEXT),
            "name_masked": mask_name(name),
            "id_number_masked": mask_id_number(resident.number),
            "birth_date": resident.birth_date,
            "sex": resident.sex,
            "person_id": person_id,
            "member_no": None,
            "erased_at": None,
        }
        filed = run_core(session, filing, values).first()
        if filed is not None:
            return _as_loaded(session, Identity(**values, **filed._asdict())), True
        # Filed before. A shared lock until the commit: an erasure of this identity waits for the
        # application filed under it, or has already changed its index and this finds none (then the
        # number is new again: the loop files it).
        identity = session.scalars(
            sa.select(Identity).where(Identity.id_number_index == index).with_for_update(read=True)
        ).first()
        if identity is not None:
            break
    else:
        raise ServiceUnavailable(retry_after=1)  # the number kept changing hands under this request
    if identity.person_id != person_id:
        raise _identity_in_use()
    _check_name(identity, name)
    return identity, False


# The rows a submit files, written through Core by statements built once (per dialect for the ``ON CONFLICT``
# one): an ORM insert compiled and loaded the identity afresh, and a flush ran the unit of work for the
# application, on every submit; together they cost more than the rest of it. The row's defaults (its
# timestamps) come back by ``RETURNING``, and ``_as_loaded`` makes the object what a load would have.
_identities, _applications = cast(sa.Table, Identity.__table__), cast(sa.Table, Application.__table__)
_STAMPS = (_identities.c.created_at, _identities.c.updated_at)
_IDENTITY_FILINGS: dict[str, Any] = {}
_FILE_APPLICATION = sa.insert(_applications).returning(
    _applications.c.id, _applications.c.created_at, _applications.c.updated_at
)


def _identity_filing(dialect: Any) -> Any:
    """``INSERT INTO identities … ON CONFLICT (id_number_index) DO NOTHING RETURNING`` its id and stamps."""
    filing = _IDENTITY_FILINGS.get(dialect.name)
    if filing is None:
        filing = _IDENTITY_FILINGS.setdefault(
            dialect.name,
            conflict_insert(dialect)(_identities)
            .on_conflict_do_nothing(index_elements=[_identities.c.id_number_index])
            .returning(_identities.c.id, *_STAMPS),
        )
    return filing


M = TypeVar("M", Identity, Application)


def _as_loaded(session: Session, row: M) -> M:
    """``row`` (every column set, its key included), just inserted through Core, made persistent in ``session``.

    As if it had been loaded: in the identity map, clean, every column known (nothing lazy-loads it again).
    """
    make_transient_to_detached(row)
    session.add(row)
    return row


def _check_name(identity: Identity, name: str) -> None:
    """The bound phone may correct the name, except of a member (a real name on record)."""
    ring = keyring()
    if ring.decrypt(identity.name_sealed, NAME_CONTEXT) != name:
        if identity.member_no:
            # A member's real name is on record; a different one under the same ID number is not a typo we fix silently.
            raise ValidationFailed(errors={"full_name": ["姓名与该身份证号码已登记的信息不一致"]})
        identity.name_sealed = ring.encrypt(name, NAME_CONTEXT)
        identity.name_masked = mask_name(name)


def active_membership(session: Session, identity_id: int) -> Membership | None:
    return session.scalars(
        sa.select(Membership).where(Membership.identity_id == identity_id, Membership.status == "active")
    ).first()


def held_membership(session: Session, identity_id: int) -> Membership | None:
    """The identity's ``active`` or ``retained`` membership (at most one, by a unique index)."""
    return session.scalars(
        sa.select(Membership).where(Membership.identity_id == identity_id, Membership.status.in_(HELD_STATUSES))
    ).first()


# ---------------------------------------------------------------- submit


def _route(
    session: Session,
    station: StationFacts | Station,
    occupation: str,
    employment_form: str,
    cache: RouteCache | None,
) -> CachedRoute:
    """The routing decision for a worker at ``station``; from ``cache`` (per process) while the directory stays."""

    def decide(session: Session) -> CachedRoute:
        decision = routing.route_station(session, station, occupation, employment_form)
        union = session.get(Union, decision.union_id)
        assert union is not None
        return CachedRoute(
            RoutedUnion(union.id, union.name, union.kind, union.path), decision.rule, tuple(decision.reasons)
        )

    if cache is None:
        return decide(session)
    return cache.fetch(session, (station.id, occupation, employment_form), decide)


def _place(
    session: Session,
    application: Application,
    form: ApplicationForm,
    station: StationFacts | Station,
    now: dt.datetime,
    cache: RouteCache | None = None,
) -> RoutedUnion:
    """Route the application from its station and form, and record the hop; the union it went to."""
    route = _route(session, station, form.occupation, form.employment_form, cache)
    hop = route_hop(route.union, at=now, by="routing", rule=route.rule, reasons=list(route.reasons))
    application.route_to(route.union, rule=route.rule, hop=hop)
    return route.union


def _live_station(session: Session, join_token: str, now: dt.datetime, cache: ResolveCache | None) -> Resolved:
    """The live code ``join_token`` names, with its station and employer (from ``cache`` when it holds them)."""
    resolved = joincodes.resolve_token(session, join_token, cache)
    joincodes.ensure_live(resolved.code, now)
    return resolved


def _employer_fields(station: StationFacts | Station, form: ApplicationForm) -> tuple[int | None, str | None]:
    if station.employer_id is not None:
        return station.employer_id, None
    name = " ".join((form.employer_name or "").split()) or None
    return None, name


def submit_application(
    session: Session,
    *,
    person_id: int,
    form: ApplicationForm,
    policy: EnrollmentPolicy,
    limits: RateLimits,
    now: dt.datetime,
    caches: Caches | None = None,
) -> ApplicationView:
    """Check, route and file a worker's application; it lands ``pending`` in its union's queue.

    Order matters: the form's own checks (422), then the phone's ID-number attempts
    (429), then the identity's binding (409 ``identity_in_use`` to any other phone),
    and only then what the bound phone may hear (its name, ``application_open``,
    ``already_member``). ``limits`` is the shared counter storage (``app.ratelimits``).

    The common case (a number filed for the first time, a code and a route already in ``caches``)
    is two statements: the identity's and the application's inserts.
    """
    caches = caches or Caches()
    resolved = _live_station(session, form.join_token, now, caches.resolve)
    station = resolved.station
    name, resident = _check_form(form, policy, now.date())
    count_identity_attempt(limits, person_id, id_number_index(resident.number))
    identity, created = _bound_identity(session, person_id, name, resident)

    # An identity created just now has no application and no membership yet: nothing to look up.
    membership = None
    if not created:
        if session.scalar(
            sa.select(Application.id).where(
                Application.identity_id == identity.id, Application.status.in_(OPEN_STATUSES)
            )
        ):
            raise _application_open()
        # A retained member (out of work) who starts work again applies at the new place: a transfer of course.
        membership = held_membership(session, identity.id)
        if membership is not None and membership.status == "active" and not form.transfer:
            union = session.get(Union, membership.union_id)
            assert union is not None
            raise Conflict(
                f"您已是{union.name}的会员；如需转会，请选择会员关系转接",
                code="already_member",
                union=union_summary(union),
            )

    employer_id, employer_name = _employer_fields(station, form)
    route = _route(session, station, form.occupation, form.employment_form, caches.route)
    routed = route.union
    if membership is not None and membership.status == "active" and membership.union_id == routed.id:
        union = session.get(Union, membership.union_id)
        assert union is not None
        raise Conflict(f"您已是{union.name}的会员，无需转入同一工会", code="already_member", union=union_summary(union))
    hop = route_hop(routed, at=now, by="routing", rule=route.rule, reasons=list(route.reasons))
    values = {
        "person_id": person_id,
        "identity_id": identity.id,
        "join_code_id": resolved.code.id,
        "station_id": station.id,
        "employer_id": employer_id,
        "employer_name": employer_name,
        "union_id": routed.id,
        "union_path": routed.path,
        "region_code": station.region_code,
        "occupation": form.occupation,
        "employment_form": form.employment_form,
        "is_transfer": membership is not None,
        "consent_version": form.consent_version,
        "status": "pending",
        "route_rule": route.rule,
        "route_trace": [hop],
        "decision_reason": None,
        "decided_by": None,
        "decided_at": None,
        "decision_hours": None,  # undecided (what ``_stamp_decision_hours`` would say)
        "membership_active": False,
        "submitted_at": now,
        "due_at": add_working_days(now, policy.due_working_days),
        "member_no": None,
        "version": 1,
    }
    filed = run_core(session, _FILE_APPLICATION, values).one()
    application = _as_loaded(session, Application(**values, **filed._asdict()))
    return ApplicationView(
        application=application, station=station, union=routed, employer=resolved.employer, identity=identity
    )


def resubmit_application(
    session: Session,
    *,
    person_id: int,
    application_id: str,
    form: ApplicationForm,
    policy: EnrollmentPolicy,
    now: dt.datetime,
    caches: Caches | None = None,
) -> Application:
    """Correct a ``returned`` application; it goes back to ``pending``, re-routed, with a fresh deadline."""
    caches = caches or Caches()
    application = own_application(session, person_id, application_id)
    if application.status != "returned":
        raise Conflict("只有被退回补充材料的申请才能修改后重新提交", code="invalid_state")
    resolved = _live_station(session, form.join_token, now, caches.resolve)
    join_code_id, station = resolved.code.id, resolved.station
    name, resident = _check_form(form, policy, now.date())
    identity = session.get(Identity, application.identity_id)
    assert identity is not None  # a foreign key
    # Compared by index before any lookup: another number typed here must not reveal anything about it.
    if id_number_index(resident.number) != identity.id_number_index:
        raise ValidationFailed(errors={"id_number": ["重新提交时不能更换身份证号码，请撤回后重新申请"]})
    if identity.person_id != person_id:
        raise _identity_in_use()
    _check_name(identity, name)
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
    _place(session, application, form, station, now, caches.route)
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
    station: Station | StationFacts  # the row, or the resolve cache's facts of it (a submit)
    union: Union | RoutedUnion
    employer: Employer | EmployerFacts | None
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


MembershipView = memberships.MembershipDetail


def my_membership(session: Session, *, person_id: int, now: dt.datetime, secret_key: str) -> MembershipView:
    """The membership of an identity bound to this phone (held, else the latest ended) with its history, and a
    fresh card token signed under ``secret_key`` (``SECRET_KEY``) while it is held; a phone that lost the
    identity sees none."""
    return memberships.my_membership(session, person_id=person_id, now=now, secret_key=secret_key)


@dataclass(frozen=True)
class CardCheck:
    member_no: str
    name_masked: str
    union: Union
    status: str


def check_card(session: Session, card_token: str, *, secret_key: str) -> CardCheck:
    """What a venue sees when it scans a member card: only a live card of a held membership passes.

    ``active`` and ``retained`` (保留会籍, which says so) are valid; a card of a membership
    transferred out, withdrawn or removed is not (404, as a forged one).
    """
    membership_id = members.read_card_token(card_token, secret_key=secret_key)
    membership = session.get(Membership, membership_id) if membership_id else None
    if membership is None or membership.status not in HELD_STATUSES:
        raise NotFound("会员卡无效或已过期，请让会员刷新后重新出示", code="card_not_found")
    identity = session.get(Identity, membership.identity_id)
    union = session.get(Union, membership.union_id)
    assert identity is not None and union is not None
    return CardCheck(
        member_no=membership.member_no, name_masked=identity.name_masked, union=union, status=membership.status
    )


@dataclass(frozen=True)
class WorkerOverview:
    """What a signed-in worker sees on one page: their applications (newest first) and their membership."""

    applications: list[ApplicationView]
    membership: MembershipView | None


def worker_overview(
    session: Session, *, person_id: int, now: dt.datetime, secret_key: str, limit: int = 50
) -> WorkerOverview:
    page = list_own_applications(session, person_id=person_id, limit=limit, cursor=None)
    try:
        membership: MembershipView | None = my_membership(session, person_id=person_id, now=now, secret_key=secret_key)
    except NotFound:
        membership = None
    return WorkerOverview(applications=application_views(session, page.items), membership=membership)


@dataclass(frozen=True)
class ReturnedApplication:
    """A returned application with the join token it was filed under, for the form that corrects it."""

    view: ApplicationView
    join_token: str


def returned_application(session: Session, *, person_id: int, application_id: str) -> ReturnedApplication:
    """The worker's own ``returned`` application, ready to be corrected (409 in any other state)."""
    application = own_application(session, person_id, application_id)
    if application.status != "returned":
        raise Conflict("只有被退回补充材料的申请才能修改后重新提交", code="invalid_state")
    token = session.scalar(sa.select(JoinCode.token).where(JoinCode.id == application.join_code_id))
    if token is None:  # filed without a join code (an import): a correction needs a station's code
        raise Conflict("该申请无法在线修改，请扫描站点的入会码重新申请", code="invalid_state")
    return ReturnedApplication(view=application_view(session, application), join_token=token)


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


@dataclass(frozen=True)
class Submitted:
    """The answer to a submit: the representation first given for it, and whether this call filed it."""

    body: dict[str, Any]
    status_code: int
    replayed: bool
    filed: ApplicationView | None = None  # what this call filed (None for a replay)


def submit_application_once(
    session: Session,
    *,
    person_id: int,
    form: ApplicationForm,
    policy: EnrollmentPolicy,
    limits: RateLimits,
    now: dt.datetime,
    idempotency_key: str | None,
    represent: Callable[[ApplicationView], dict[str, Any]],
    caches: Caches | None = None,
) -> Submitted:
    """File an application at most once per ``idempotency_key``: a retry gets the first answer again.

    ``represent`` turns the filed application into the body to remember (the JSON API's
    representation), so a replay is the same bytes. With a key the filing runs in a savepoint: when a
    request racing this one committed first, the unique keys refuse this one, the savepoint
    is rolled back, and the same key replays the winner's answer; anything else met the
    one-open-application rule.
    """
    if not idempotency_key:
        # Nothing to replay: no savepoint either. A refusal (a Conflict, or the unique index of the open
        # application when a racing request committed first) ends the request, and its transaction with it.
        try:
            view = submit_application(
                session, person_id=person_id, form=form, policy=policy, limits=limits, now=now, caches=caches
            )
        except IntegrityError:
            raise _application_open() from None
        return Submitted(represent(view), 201, replayed=False, filed=view)
    fingerprint = request_fingerprint(asdict(form))
    replay = stored_response(session, person_id=person_id, key=idempotency_key, fingerprint=fingerprint)
    if replay is not None:
        return Submitted(*replay, replayed=True)
    try:
        with session.begin_nested():
            view = submit_application(
                session, person_id=person_id, form=form, policy=policy, limits=limits, now=now, caches=caches
            )
            body = represent(view)
            remember_response(
                session,
                person_id=person_id,
                key=idempotency_key,
                fingerprint=fingerprint,
                response=body,
                status_code=201,
            )
    except (IntegrityError, Conflict) as refusal:
        # A request racing this one may have committed first: seen as a unique index, or as the open
        # application it just filed. The same key replays its answer; any other refusal stands.
        replay = stored_response(session, person_id=person_id, key=idempotency_key, fingerprint=fingerprint)
        if replay is not None:
            return Submitted(*replay, replayed=True)
        if isinstance(refusal, Conflict):
            raise
        raise _application_open() from None
    return Submitted(body, 201, replayed=False, filed=view)


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
    if identity.person_id != application.person_id:
        # Filed from a phone the identity is not (or no longer) bound to, e.g. before binding existed.
        raise Conflict("该申请所用手机号不是此身份登记的手机号，请核验本人后再办理", code="identity_in_use")
    current = held_membership(session, identity.id)
    if current is not None:
        if current.union_id == union.id and current.status == "active":
            raise Conflict("申请人已是该工会会员", code="already_member", union=union_summary(union))
        decider = Actor(kind="officer", id=application.decided_by) if application.decided_by else Actor.system()
        memberships.end_for_transfer(session, current, actor=decider, now=now)
        session.flush()  # the old membership leaves "active" before the new one may enter it
    member_no = members.allocate_member_no(session, identity, union.region_code, now)
    membership = Membership(
        identity_id=identity.id,
        union_id=union.id,
        application_id=application.id,
        member_no=member_no,
        status="active",
        since=now,
        status_changed_at=now,
    )
    session.add(membership)
    application.member_no = member_no
    application.membership_active = True
    session.flush()
    memberships.record_start(
        session,
        membership,
        at=now,
        by_kind="officer" if application.decided_by else "system",
        by_officer_id=application.decided_by,
        reason=None,
    )
    session.flush()
    return membership


# ---------------------------------------------------------------- moving an identity to another phone (换绑)


@dataclass(frozen=True)
class Rebinding:
    """An identity moved to another phone, and how many of its applications went with it."""

    identity: Identity
    person: Person
    applications_moved: int
    at: dt.datetime


def move_identity(session: Session, identity: Identity, person: Person, now: dt.datetime) -> Rebinding:
    """Bind ``identity`` to ``person``'s phone; its applications (and so its card and notices) follow."""
    moved = 0
    if identity.person_id != person.id:
        result = session.execute(
            sa.update(Application)
            .where(Application.identity_id == identity.id, Application.person_id != person.id)
            .values(person_id=person.id)
            .execution_options(synchronize_session="fetch")
        )
        moved = int(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE's result has rowcount
        identity.person_id = person.id
        session.flush()
    return Rebinding(identity=identity, person=person, applications_moved=moved, at=now)


def identity_union_path(session: Session, identity: Identity) -> str:
    """Where events about an identity belong: its held membership's union, else its latest application's."""
    path = session.scalar(
        sa.select(Union.path)
        .join(Membership, Membership.union_id == Union.id)
        .where(Membership.identity_id == identity.id, Membership.status.in_(HELD_STATUSES))
    ) or session.scalar(
        sa.select(Application.union_path)
        .where(Application.identity_id == identity.id)
        .order_by(Application.id.desc())
        .limit(1)
    )
    return path or "/"


def rebind_identity_by_codes(
    session: Session,
    *,
    person_id: int,
    id_number: str,
    old_challenge_id: str,
    old_code: str,
    new_challenge_id: str,
    new_code: str,
    now: dt.datetime,
    secret_key: str,
) -> Rebinding:
    """Move an identity from its old phone to the signed-in (new) phone: both numbers proved by SMS code.

    The new number's code must be the signed-in phone's; the old number's must be the
    phone the identity is bound to (else 409 ``rebind_refused``, which tells only someone
    who holds that phone anything). Both codes are used up together, or neither.
    """
    number = id_number.strip().upper()
    if old_challenge_id == new_challenge_id:
        raise ValidationFailed(errors={"new_challenge_id": ["请分别向原手机号和新手机号获取验证码"]})
    old_phone, new_phone = auth.prove_phones(
        session, [(old_challenge_id, old_code), (new_challenge_id, new_code)], secret_key=secret_key
    )
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("登录已失效，请重新登录", code="not_found")
    if phone_of(person) != new_phone:
        raise ValidationFailed(errors={"new_challenge_id": ["须是发送到当前登录手机号的验证码"]})
    if old_phone == new_phone:
        raise ValidationFailed(errors={"old_challenge_id": ["原手机号与新手机号相同，无需换绑"]})
    old_person = auth.find_person_by_phone(session, old_phone)
    identity = session.scalars(sa.select(Identity).where(Identity.id_number_index == id_number_index(number))).first()
    if identity is None or old_person is None or identity.person_id != old_person.id:
        raise Conflict("该身份证号码未登记在原手机号下，无法换绑；如有疑问请到工会现场核验", code="rebind_refused")
    rebinding = move_identity(session, identity, person, now)
    record_event(
        session,
        actor=Actor(kind="worker", id=person.id),
        action="identity.rebind",
        object_type="identity",
        object_id=identity.id,
        union_path=identity_union_path(session, identity),
        details={
            "method": "sms_both_numbers",
            "from_person_id": str(old_person.id),
            "to_person_id": str(person.id),
            "applications_moved": rebinding.applications_moved,
        },
    )
    return rebinding
