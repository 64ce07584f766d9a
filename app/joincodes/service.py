"""Join-code rules: issuing, revoking and rotating codes, resolving a scanned token, counting scans.

Functions take a session and plain values, raise ``AppError``s, flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import metrics
from app.actors import Actor, within_subtree
from app.audit import service as audit
from app.consent import consent_text
from app.db import parse_id, utcnow
from app.directory import regions
from app.directory.models import EMPLOYMENT_FORMS, OCCUPATIONS, Employer, Station, Union
from app.directory.service import get_station
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.joincodes.models import JoinCode, JoinScan, ScanSignIn
from app.joincodes.resolved import (
    CodeFacts,
    EmployerFacts,
    ResolveCache,
    Resolved,
    SessionSource,
    StationFacts,
    opened,
)
from app.joincodes.scanlog import PendingScan, ScanLog, current_scan_log
from app.pagination import Page, paginate
from app.ratelimits import Limit, RateLimits, RateLimitStoreDown
from app.routing.service import route_station

log = logging.getLogger("ruhui.joincodes")

# 16 random bytes = 128 bits, 22 characters of base64url: well over the 80 bits the
# design asks for, and within the 32 characters a mini-program code's ``scene`` holds.
TOKEN_BYTES = 16
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_EXPIRY = dt.timedelta(days=3660)
# A print-shop bundle beyond this is an export job, not a request.
MAX_BUNDLE_STATIONS = 2000
_DEVICE_ID_MAX = 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def join_url(base_url: str, token: str) -> str:
    """The URL printed in the QR code: one link that WeChat and any phone camera both open."""
    return f"{base_url.rstrip('/')}/j/{token}"


class _HasStatus(Protocol):
    def status_at(self, now: dt.datetime) -> str: ...


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


def ensure_live(code: _HasStatus, now: dt.datetime) -> None:
    """Raise the contract's 410 for a code that no longer admits anyone."""
    status = code.status_at(now)
    if status == "revoked":
        raise AppError("该入会码已停用，请向站点负责人索取新的入会码", code="join_code_revoked", status=410)
    if status == "expired":
        raise AppError("该入会码已过期，请向站点负责人索取新的入会码", code="join_code_expired", status=410)


def _join_code_not_found() -> NotFound:
    return NotFound("入会码不存在", code="join_code_not_found")


# --- officers: managing codes within their scope ---------------------------------------------


def station_in_scope(session: Session, principal: Actor, station_id: str | int) -> Station:
    """The station, when it exists and its union lies in the officer's scope (else 404: existence is not revealed)."""
    return get_station(session, principal, parse_id(station_id), code="station_not_found")


def join_code_and_station(session: Session, scope: Actor, code_id: str | int) -> tuple[JoinCode, Station]:
    """The join code and its station, when the station's union lies in the scope (else 404)."""
    number = parse_id(code_id)
    row = None
    if number:
        row = session.execute(
            sa.select(JoinCode, Station)
            .join(Station, Station.id == JoinCode.station_id)
            .join(Union, Union.id == Station.union_id)
            .where(JoinCode.id == number, scope.covers(Union.path))
        ).first()
    if row is None:
        raise _join_code_not_found()
    return row[0], row[1]


def join_code_in_scope(session: Session, principal: Actor, code_id: str | int) -> JoinCode:
    """The join code, when its station's union lies in the officer's scope (else 404)."""
    return join_code_and_station(session, principal, code_id)[0]


def _check_expiry(expires_at: dt.datetime | None, now: dt.datetime) -> None:
    if expires_at is None:
        return
    if expires_at.tzinfo is None:
        raise ValidationFailed(errors={"expires_at": ["须带时区偏移（RFC 3339）"]})
    if expires_at <= now:
        raise ValidationFailed(errors={"expires_at": ["失效时间须晚于当前时间"]})
    if expires_at - now > MAX_EXPIRY:
        raise ValidationFailed(errors={"expires_at": ["失效时间不能超过十年后"]})


def create_join_code(
    session: Session,
    station: Station,
    *,
    created_by_id: int | None,
    expires_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> JoinCode:
    """Issue a new code for ``station``; older codes of the station stay valid until revoked."""
    now = now or utcnow()
    _check_expiry(expires_at, now)
    code = JoinCode(
        station_id=station.id,
        token=new_token(),
        expires_at=expires_at.astimezone(dt.UTC) if expires_at else None,
        created_by_id=created_by_id,
    )
    session.add(code)
    session.flush()
    return code


def revoke_join_code(
    session: Session, code: JoinCode, *, revoked_by_id: int | None, now: dt.datetime | None = None
) -> bool:
    """Stop ``code`` admitting anyone unless it already is revoked (the first revocation stands); True when this did.

    A conditional UPDATE rather than read-then-write, so two officers revoking or
    rotating the same code at once cannot both believe they did it.
    """
    now = now or utcnow()
    result = session.execute(
        sa.update(JoinCode)
        .where(JoinCode.id == code.id, JoinCode.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=revoked_by_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(code)
    return bool(getattr(result, "rowcount", 0))


def rotate_join_code(
    session: Session, code: JoinCode, *, officer_id: int | None, expires_at: dt.datetime | None = None
) -> JoinCode:
    """Replace ``code`` in one step: a new code for the same station, the old one revoked and pointing at it."""
    now = utcnow()
    _check_expiry(expires_at, now)
    if not revoke_join_code(session, code, revoked_by_id=officer_id, now=now):
        raise Conflict("该入会码已停用，无法轮换；请为站点新建入会码", code="join_code_revoked")
    station = session.get(Station, code.station_id)
    assert station is not None  # join_codes.station_id is a foreign key
    replacement = create_join_code(session, station, created_by_id=officer_id, expires_at=expires_at, now=now)
    code.replaced_by_id = replacement.id
    session.flush()
    return replacement


def list_station_join_codes(session: Session, station: Station, *, limit: int, cursor: str | None) -> Page:
    """The station's codes, newest first, revoked and expired ones included."""
    statement = sa.select(JoinCode).where(JoinCode.station_id == station.id)
    return paginate(session, statement, keys=[JoinCode.id], limit=limit, cursor=cursor)


# --- scans -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanStats:
    scans: int = 0
    unique_devices: int = 0
    first_scan_at: dt.datetime | None = None
    last_scan_at: dt.datetime | None = None
    by_channel: dict[str, int] = field(default_factory=lambda: {"miniprogram": 0, "web": 0})


def scan_stats(session: Session, code_ids: Sequence[int]) -> dict[int, ScanStats]:
    """Per-code scan totals for many codes in one grouped query (list pages make no query per row)."""
    stats: dict[int, ScanStats] = {code_id: ScanStats() for code_id in code_ids}
    if not code_ids:
        return stats
    web = sa.func.sum(sa.case((JoinScan.channel == "web", 1), else_=0))
    rows = session.execute(
        sa.select(
            JoinScan.join_code_id,
            sa.func.count(),
            sa.func.count(sa.distinct(JoinScan.device_hash)),
            sa.func.min(JoinScan.scanned_at),
            sa.func.max(JoinScan.scanned_at),
            web,
        )
        .where(JoinScan.join_code_id.in_(list(code_ids)))
        .group_by(JoinScan.join_code_id)
    )
    for code_id, scans, devices, first, last, web_scans in rows:
        web_scans = int(web_scans or 0)
        stats[code_id] = ScanStats(
            scans=int(scans),
            unique_devices=int(devices),
            first_scan_at=first,
            last_scan_at=last,
            by_channel={"miniprogram": int(scans) - web_scans, "web": web_scans},
        )
    return stats


def device_hash(device_id: str | None, key: str) -> str | None:
    """A keyed hash of the client's device id: distinct devices can be counted, the id itself is not kept.

    Keyed (HMAC with the app's secret) so the stored value cannot be matched against
    a list of guessed device ids. An empty or absurd id counts as no id: counting a
    scan must never fail the scan.
    """
    if device_id is None:
        return None
    device_id = device_id.strip()
    if not device_id or len(device_id) > _DEVICE_ID_MAX or not device_id.isprintable():
        return None
    return hmac.new(key.encode(), device_id.encode(), hashlib.sha256).hexdigest()[:32]


# The header a client sends its stable, app-generated device id in (scans and sign-ins).
DEVICE_ID_HEADER = "X-Device-Id"
# A device counts once per code in this window: a reload, a second tap or a replayed header is one scan.
SCAN_DEVICE_WINDOW = Limit("scan-device-code", "1/hour")
# How long after a scan a sign-in on the same device still counts for that scan's code.
ATTRIBUTION_WINDOW = dt.timedelta(hours=24)


def record_sign_in_after_scan(
    session: Session,
    *,
    person_id: int,
    method: str,
    device_id: str | None,
    device_key: str,
    now: dt.datetime,
    scan_log: ScanLog | None = None,
) -> ScanSignIn | None:
    """Tie a worker's sign-in to the code the same device scanned last, within the window; None when none.

    A scan this process has queued but not yet written (``scan_log``) is newer than any written one.
    """
    device = device_hash(device_id, device_key)
    if device is None:
        return None
    queued = scan_log.pending_for_device(device, now - ATTRIBUTION_WINDOW) if scan_log is not None else None
    code_id = (
        queued.join_code_id
        if queued is not None
        else session.scalar(
            sa.select(JoinScan.join_code_id)
            .where(
                JoinScan.device_hash == device,
                JoinScan.scanned_at <= now,
                JoinScan.scanned_at > now - ATTRIBUTION_WINDOW,
            )
            .order_by(JoinScan.scanned_at.desc(), JoinScan.id.desc())
            .limit(1)
        )
    )
    if code_id is None:
        return None
    sign_in = ScanSignIn(join_code_id=code_id, person_id=person_id, method=method, signed_in_at=now)
    session.add(sign_in)
    session.flush()
    return sign_in


@dataclass(frozen=True)
class ScanCounting:
    """What bounds the counting of scans: the shared counters, the device-id key and the client's address.

    ``per_address_hour`` (setting ``SCANS_COUNTED_PER_ADDRESS_HOUR``, default 120) is generous, because a
    depot's Wi-Fi or a carrier's NAT puts many phones behind one address; past it, that address's scans
    are still answered but no longer counted, so forged device ids cannot inflate a code's figures (or
    fill the table).
    """

    limits: RateLimits
    device_key: str
    client_address: str
    per_address_hour: int = 120
    # Where counted scans are queued to be written in batches; None: written in the request (``record_scan``).
    log: ScanLog | None = None

    @property
    def address_limit(self) -> Limit:
        return Limit("scan-address", f"{max(self.per_address_hour, 1)}/hour")


def sign_in_attribution(device_id: str | None, device_key: str) -> Callable[[Session, int, str], ScanSignIn | None]:
    """The hook a sign-in calls (``on_sign_in``): ties it to the code this device scanned last."""

    def record(session: Session, person_id: int, method: str) -> ScanSignIn | None:
        return record_sign_in_after_scan(
            session,
            person_id=person_id,
            method=method,
            device_id=device_id,
            device_key=device_key,
            now=utcnow(),
            scan_log=current_scan_log(),
        )

    return record


def record_scan(
    session: Session,
    code: _HasId,
    *,
    channel: str,
    device_id: str | None,
    device_key: str,
    now: dt.datetime,
    scan_log: ScanLog | None = None,
) -> None:
    """Append one scan event: queued to ``scan_log`` when given (written in a batch), else an INSERT now.

    Either way no row is shared with concurrent scans of the same code.
    """
    device = device_hash(device_id, device_key)
    if scan_log is not None:
        scan_log.append(PendingScan(join_code_id=code.id, scanned_at=now, channel=channel, device_hash=device))
        return
    session.add(JoinScan(join_code_id=code.id, scanned_at=now, channel=channel, device_hash=device))
    session.flush()


def record_bounded_scan(
    session: SessionSource,
    code: _HasId,
    *,
    channel: str,
    device_id: str | None,
    counting: ScanCounting,
    now: dt.datetime,
) -> bool:
    """Record a worker's scan unless it repeats one (same device and code) or its address is past its cap.

    True when recorded (or queued: ``counting.log`` applies the same bounds, in ``bounded_scans``,
    when it writes the batch). The bounds (``SCAN_DEVICE_WINDOW``, ``SCANS_COUNTED_PER_ADDRESS``)
    live in the shared counter storage, so they hold across processes; when it cannot be
    reached the scan goes uncounted. Counting never fails the scan itself.
    """
    device = device_hash(device_id, counting.device_key)
    if counting.log is not None:
        # Queued with what its bounds need; the log applies them to the batch (``bounded_scans``).
        counting.log.append(
            PendingScan(
                join_code_id=code.id,
                scanned_at=now,
                channel=channel,
                device_hash=device,
                client_address=counting.client_address,
            )
        )
        return True
    address_limit = counting.address_limit
    checks = [(address_limit, counting.client_address)]
    if device is not None:
        checks.append((SCAN_DEVICE_WINDOW, f"{code.id}:{device}"))
    try:
        refusal = counting.limits.acquire(checks)
    except RateLimitStoreDown:
        log.warning("rate-limit storage unreachable; a scan went uncounted", extra={"join_code_id": code.id})
        metrics.JOIN_SCANS.labels("no").inc()
        return False
    if refusal is not None:
        if refusal.limit is address_limit:
            log.info("scan not counted: its address is past the cap", extra={"join_code_id": code.id})
        metrics.JOIN_SCANS.labels("no").inc()
        return False
    record_scan(
        opened(session),
        code,
        channel=channel,
        device_id=device_id,
        device_key=counting.device_key,
        now=now,
        scan_log=counting.log,
    )
    metrics.JOIN_SCANS.labels("yes").inc()
    return True


def bounded_scans(limits: RateLimits, per_address_hour: int, scans: list[PendingScan]) -> list[PendingScan]:
    """The queued ``scans`` that count under ``record_bounded_scan``'s bounds, in one call to the shared counters.

    In order, so a later scan of the batch sees the earlier ones' hits (the scan log marks the ones it
    must write again ``bounded``, so their hits are not counted twice). When the
    counters cannot be reached the batch goes uncounted, as a single scan would.
    """
    address_limit = ScanCounting(limits, "", "", per_address_hour).address_limit
    groups: list[list[tuple[Limit, str]]] = []
    for scan in scans:
        checks = [(address_limit, scan.client_address)]
        if scan.device_hash is not None:
            checks.append((SCAN_DEVICE_WINDOW, f"{scan.join_code_id}:{scan.device_hash}"))
        groups.append(checks)
    try:
        refusals = limits.acquire_each(groups)
    except RateLimitStoreDown:
        log.warning("rate-limit storage unreachable; scans went uncounted", extra={"scans": len(scans)})
        metrics.JOIN_SCANS.labels("no").inc(len(scans))
        return []
    counted = [scan for scan, refused in zip(scans, refusals, strict=True) if refused is None]
    capped = sum(1 for refused in refusals if refused is address_limit)
    if capped:
        log.info("scans not counted: their address is past the cap", extra={"scans": capped})
    metrics.JOIN_SCANS.labels("yes").inc(len(counted))
    if len(counted) < len(scans):
        metrics.JOIN_SCANS.labels("no").inc(len(scans) - len(counted))
    return counted


@dataclass(frozen=True)
class JoinCodeReport:
    """A code as officers see it: its state, its URL and its scan totals."""

    code: JoinCode
    status: str
    url: str
    stats: ScanStats


def ensure_live_codes(session: Session, station_ids: Sequence[int] | None = None) -> list[JoinCode]:
    """Issue a code to every station (of ``station_ids``, if given) that has no live one; returns the new codes.

    For the demo data and a first roll-out; running it again issues nothing.
    """
    now = utcnow()
    live = sa.select(JoinCode.id).where(JoinCode.station_id == Station.id, JoinCode.live_at(now)).exists()
    statement = sa.select(Station).where(~live).order_by(Station.id)
    if station_ids is not None:
        statement = statement.where(Station.id.in_(list(station_ids)))
    stations = session.scalars(statement).all()
    return [create_join_code(session, station, created_by_id=None, now=now) for station in stations]


def _reports(session: Session, codes: Sequence[JoinCode], base_url: str) -> list[JoinCodeReport]:
    now = utcnow()
    stats = scan_stats(session, [code.id for code in codes])
    return [JoinCodeReport(code, code.status_at(now), join_url(base_url, code.token), stats[code.id]) for code in codes]


def _audit(session: Session, principal: Actor, action: str, code: JoinCode, **details: object) -> None:
    station = session.get(Station, code.station_id)
    assert station is not None  # a foreign key
    union_path = session.scalar(sa.select(Union.path).where(Union.id == station.union_id))
    assert union_path is not None  # a foreign key
    audit.record_event(
        session,
        actor=principal,
        action=f"join_code.{action}",
        object_type="join_code",
        object_id=code.id,
        union_path=union_path,
        details={"station_id": str(station.id), **details},
    )


def issue_join_code(
    session: Session, principal: Actor, station_id: str, *, expires_at: dt.datetime | None, base_url: str
) -> JoinCodeReport:
    """An officer issues a new code for a station in scope."""
    station = station_in_scope(session, principal, station_id)
    code = create_join_code(session, station, created_by_id=principal.id, expires_at=expires_at)
    _audit(session, principal, "issue", code, expires_at=code.expires_at.isoformat() if code.expires_at else None)
    return _reports(session, [code], base_url)[0]


def station_join_codes(
    session: Session, principal: Actor, station_id: str, *, limit: int, cursor: str | None, base_url: str
) -> Page:
    """One page of a station's codes with their scan totals (two queries, whatever the page size)."""
    station = station_in_scope(session, principal, station_id)
    page = list_station_join_codes(session, station, limit=limit, cursor=cursor)
    return Page(items=_reports(session, page.items, base_url), next_cursor=page.next_cursor)


def join_code_report(session: Session, principal: Actor, code_id: str, *, base_url: str) -> JoinCodeReport:
    code = join_code_in_scope(session, principal, code_id)
    return _reports(session, [code], base_url)[0]


def revoke_join_code_in_scope(session: Session, principal: Actor, code_id: str, *, base_url: str) -> JoinCodeReport:
    code = join_code_in_scope(session, principal, code_id)
    if revoke_join_code(session, code, revoked_by_id=principal.id):
        _audit(session, principal, "revoke", code)
    return _reports(session, [code], base_url)[0]


def rotate_join_code_in_scope(
    session: Session, principal: Actor, code_id: str, *, expires_at: dt.datetime | None, base_url: str
) -> JoinCodeReport:
    code = join_code_in_scope(session, principal, code_id)
    replacement = rotate_join_code(session, code, officer_id=principal.id, expires_at=expires_at)
    _audit(session, principal, "rotate", code, replaced_by_id=str(replacement.id))
    return _reports(session, [replacement], base_url)[0]


# --- the worker's side: resolving a scanned token --------------------------------------------


@dataclass(frozen=True)
class JoinScreen:
    """What the first screen after a scan shows: the code, its station, employer and the union it routes to."""

    code: JoinCode | CodeFacts
    station: Station | StationFacts
    employer: Employer | EmployerFacts | None
    union: UnionPreview | None
    url: str
    consent_version: str = ""
    resolved: Resolved | None = None  # the cached answer it was made of (a scan), if any

    @property
    def join_code(self) -> dict[str, object]:
        return {"id": self.code.id, "token": self.code.token, "url": self.url, "expires_at": self.code.expires_at}

    @property
    def occupations(self) -> list[dict[str, str]]:
        return [{"code": code, "label": label} for code, label in OCCUPATIONS.items()]

    @property
    def employment_forms(self) -> list[dict[str, str]]:
        return [{"code": code, "label": label} for code, label in EMPLOYMENT_FORMS.items()]

    @property
    def consent(self) -> dict[str, str]:
        words = consent_text(self.consent_version)
        return {"version": words.version, "title": words.title, "text": words.text}


def find_by_token(session: Session, token: str) -> JoinCode:
    """The code for ``token`` with its station and employer loaded (404 when there is none)."""
    if not TOKEN_PATTERN.match(token):
        raise _join_code_not_found()
    row = session.execute(
        sa.select(JoinCode, Station, Employer)
        .join(Station, Station.id == JoinCode.station_id)
        .outerjoin(Employer, Employer.id == Station.employer_id)
        .where(JoinCode.token == token)
    ).first()
    if row is None:
        raise _join_code_not_found()
    code: JoinCode = row[0]
    return code


@dataclass(frozen=True)
class UnionPreview:
    id: int
    name: str
    kind: str
    rule: str  # the routing rule that chose it (``fallback``: only a federation can take the worker)


def preview_union(session: Session, station: Station) -> UnionPreview | None:
    """The union a worker at ``station`` would be routed to for the station's default occupation.

    The routing engine decides, exactly as it will when the application is filed (and
    as ``GET /routing/explain`` shows). ``None`` when no union of the place accepts
    applications: the scan still shows the station, and filing will say why.
    """
    try:
        decision = route_station(session, station, station.occupation)
    except AppError as exc:
        if exc.code != "no_union_available":
            raise
        return None
    return UnionPreview(decision.union_id, decision.union_name, decision.union_kind, decision.rule)


def resolve_token(source: SessionSource, token: str, cache: ResolveCache | None = None) -> Resolved:
    """What ``token`` resolves to (code, station, employer, union preview), from ``cache`` when it holds it.

    404 for an unknown token (never cached); a revoked or expired code is returned like a live one.
    ``source`` is the session, or a function opening it when the cache cannot answer alone.
    """
    if not TOKEN_PATTERN.match(token):
        raise _join_code_not_found()
    if cache is not None:
        return cache.fetch(source, token, lambda session: _resolve(session, token))
    return _resolve(opened(source), token)


def _resolve(session: Session, token: str) -> Resolved:
    code = find_by_token(session, token)
    station = session.get(Station, code.station_id)
    assert station is not None  # loaded by find_by_token, a foreign key
    employer = session.get(Employer, station.employer_id) if station.employer_id is not None else None
    return Resolved(
        CodeFacts.of(code), StationFacts.of(station), EmployerFacts.of(employer), preview_union(session, station)
    )


def open_join_code(
    session: SessionSource,
    token: str,
    *,
    channel: str,
    device_id: str | None,
    counting: ScanCounting,
    base_url: str,
    consent_version: str,
    count_scan: bool = True,
    cache: ResolveCache | None = None,
) -> JoinScreen:
    """Resolve a scanned token for its first screen and count the scan (within ``record_scan``'s bounds).

    Dead or unknown codes raise 410/404; a live one is always answered, counted or not. With a
    ``cache`` (``app.joincodes.resolved``) a code already resolved since the directory last changed
    costs no query, and, given a function that opens the session, opens none.
    """
    now = utcnow()
    resolved = resolve_token(session, token, cache)
    ensure_live(resolved.code, now)
    if count_scan:
        record_bounded_scan(session, resolved.code, channel=channel, device_id=device_id, counting=counting, now=now)
    return JoinScreen(
        code=resolved.code,
        station=resolved.station,
        employer=resolved.employer,
        union=resolved.union,
        url=join_url(base_url, resolved.code.token),
        consent_version=consent_version,
        resolved=resolved,
    )


def printable_join_code(
    session: Session, principal: Actor, code_id: str | int, *, base_url: str, with_union: bool = True
) -> JoinScreen:
    """A live code in the officer's scope with what its poster shows (printing a dead code is refused with 410)."""
    code = join_code_in_scope(session, principal, code_id)
    ensure_live(code, utcnow())
    station = session.get(Station, code.station_id)
    assert station is not None  # loaded by join_code_in_scope, a foreign key
    employer = session.get(Employer, station.employer_id) if station.employer_id is not None else None
    return JoinScreen(
        code=code,
        station=station,
        employer=employer,
        union=preview_union(session, station) if with_union else None,
        url=join_url(base_url, code.token),
    )


# --- printing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintItem:
    station_id: int
    station_name: str
    token: str | None  # None: the station has no live code to print


def _region_filter(region_code: str) -> sa.ColumnElement[bool]:
    region = regions.get_region(region_code)
    if region is None:
        raise ValidationFailed(errors={"region_code": ["不是有效的行政区划代码"]})
    # GB/T 2260: a province is its first 2 digits, a city its first 4; a county is the whole code.
    significant = {"province": 2, "city": 4}.get(region.level, 6)
    if significant == 6:
        return Station.region_code == region_code
    return Station.region_code.startswith(region_code[:significant], autoescape=True)


def stations_for_print(
    session: Session,
    principal: Actor,
    *,
    employer_id: str | None = None,
    region_code: str | None = None,
    union_id: str | None = None,
    now: dt.datetime | None = None,
) -> list[PrintItem]:
    """The stations in scope matching every given filter, each with its newest live code (if any)."""
    now = now or utcnow()
    statement = (
        sa.select(Station.id, Station.name)
        .join(Union, Union.id == Station.union_id)
        .where(principal.covers(Union.path))
    )
    if employer_id is not None:
        number = parse_id(employer_id)
        statement = statement.where(Station.employer_id == number)
    if region_code is not None:
        statement = statement.where(_region_filter(region_code))
    if union_id is not None:
        number = parse_id(union_id)
        union = session.get(Union, number) if number else None
        if union is None or not principal.covers(union.path):
            raise NotFound("工会组织不存在", code="union_not_found")
        statement = statement.where(within_subtree(Union.path, union.path))
    stations = session.execute(statement.order_by(Station.id).limit(MAX_BUNDLE_STATIONS + 1)).all()
    if not stations:
        raise NotFound("没有符合条件的站点", code="stations_not_found")
    if len(stations) > MAX_BUNDLE_STATIONS:
        raise ValidationFailed(
            f"一次最多打包 {MAX_BUNDLE_STATIONS} 个站点，请缩小范围（按用人单位、地区或工会）",
            code="too_many_stations",
        )
    tokens = _newest_live_tokens(session, [station_id for station_id, _ in stations], now)
    return [PrintItem(station_id, name, tokens.get(station_id)) for station_id, name in stations]


def _newest_live_tokens(session: Session, station_ids: Iterable[int], now: dt.datetime) -> dict[int, str]:
    ids = list(station_ids)
    tokens: dict[int, str] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists
        rows = session.execute(
            sa.select(JoinCode.station_id, JoinCode.token)
            .where(
                JoinCode.station_id.in_(ids[start : start + 500]),
                JoinCode.live_at(now),
            )
            .order_by(JoinCode.station_id, JoinCode.id.desc())
        )
        for station_id, token in rows:
            tokens.setdefault(station_id, token)
    return tokens
