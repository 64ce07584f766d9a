"""Account rules: SMS codes, WeChat sign-in, sessions (access + refresh tokens) and officers.

Limits that must hold across processes (SMS sends, login attempts) live in the
shared rate-limit storage (``app.ratelimits``); everything else in the database.
Functions take a session and plain values, flush, raise ``AppError``s and never
commit. A refusal that must be remembered (a wrong code, a reused refresh token)
is flushed before the error is raised; the view commits it (see ``api.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, selectinload, sessionmaker

from app import metrics
from app.actors import Actor
from app.audit.service import record_event
from app.auth.models import LIAISON, OFFICER_ROLES, Officer, OfficerSector, OtpChallenge, Person, RefreshToken
from app.auth.passwords import MIN_PASSWORD_LENGTH, dummy_hash, hash_password, verify_password
from app.auth.phones import PHONE_PURPOSE, InvalidPhone, mask_phone, normalise_phone
from app.auth.tokens import issue_access_token
from app.clock import CHINA
from app.db import parse_id, utcnow
from app.directory.models import Union
from app.errors import (
    AppError,
    Conflict,
    Gone,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from app.founding.vocabulary import SECTORS
from app.notify import sms
from app.notify.wechat import WeChatCodeInvalid, WeChatNotConfigured, WeChatUnavailable, wechat_client
from app.observability import warn_throttled
from app.pagination import Page, paginate
from app.privacy import derive_key, keyring
from app.ratelimits import Limit, RateLimitStoreDown, rate_limits

log = logging.getLogger("ruhui.auth")


# --- SMS codes --------------------------------------------------------------
OTP_TTL = dt.timedelta(minutes=5)
OTP_MAX_FAILURES = 5
OTP_RESEND_AFTER = 60
OTP_PER_PHONE = (
    Limit("otp-phone-minute", "1/minute"),
    Limit("otp-phone-hour", "5/hour"),
    Limit("otp-phone-day", "10/day"),
)
OTP_PER_IP = Limit("otp-ip-hour", "20/hour")
# The budget is per calendar day in China (``app.clock.CHINA``).

# --- sessions -----------------------------------------------------------------
REFRESH_TTL = {"worker": dt.timedelta(days=30), "officer": dt.timedelta(hours=12)}

# --- officer sign-in ----------------------------------------------------------
LOGIN_ATTEMPTS_PER_USERNAME = Limit("login-username", "5/15minutes")
LOGIN_ATTEMPTS_PER_IP = Limit("login-ip", "20/15minutes")


@dataclass(frozen=True)
class SignInPolicy:
    """What workers' sign-in takes from the settings; the view builds it (see ``api.py``)."""

    secret_key: str  # SECRET_KEY: SMS codes are hashed, and scanning devices recognised, under keys derived from it
    sms_daily_budget: int  # SMS codes sent per day across all numbers (SMS_DAILY_BUDGET)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105  # the OAuth token type, not a secret


@dataclass(frozen=True)
class OtpIssued:
    challenge_id: str
    expires_in: int
    resend_after: int


# ---------------------------------------------------------------------------
# Persons (workers)


def phone_index(phone: str) -> str:
    return keyring().blind_index(phone, PHONE_PURPOSE)


def person_signed_in(session: Session, person_id: int) -> bool:
    """True while the person a session names exists and is not erased (an erased person is signed out)."""
    person = session.get(Person, person_id)
    return person is not None and person.erased_at is None


def find_person_by_phone(session: Session, phone: str) -> Person | None:
    """The person who proved ``phone`` (normalised, 11 digits), if any."""
    return session.scalars(sa.select(Person).where(Person.phone_index == phone_index(phone))).first()


def find_or_create_person(session: Session, phone: str) -> Person:
    """The person for a just-proved ``phone``, created on first proof."""
    person = find_person_by_phone(session, phone)
    if person is not None:
        return person
    person = Person(
        phone_index=phone_index(phone),
        phone_sealed=keyring().encrypt(phone, PHONE_PURPOSE),
        phone_masked=mask_phone(phone),
    )
    try:
        with session.begin_nested():
            session.add(person)
            session.flush()
    except IntegrityError:
        # Another request proved the same number a moment ago; theirs is the person.
        existing = find_person_by_phone(session, phone)
        assert existing is not None
        return existing
    return person


def _refresh_hash(token: str) -> str:
    # The token is 256 random bits: a plain hash is as strong as a keyed one here.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_tokens(session: Session, kind: str, subject_id: int, *, family_id: str | None = None) -> Tokens:
    """Start a session (or continue ``family_id``): an access token and a fresh refresh token."""
    access_token, expires_in = issue_access_token(kind, subject_id)
    refresh_token = secrets.token_urlsafe(32)
    now = utcnow()
    # Spent tokens are kept until they expire (a replay must still be recognised), then dropped.
    session.execute(
        sa.delete(RefreshToken).where(
            RefreshToken.principal_kind == kind, RefreshToken.subject_id == subject_id, RefreshToken.expires_at < now
        )
    )
    session.add(
        RefreshToken(
            token_hash=_refresh_hash(refresh_token),
            family_id=family_id or secrets.token_hex(16),
            principal_kind=kind,
            subject_id=subject_id,
            issued_at=now,
            expires_at=now + REFRESH_TTL[kind],
        )
    )
    session.flush()
    return Tokens(access_token=access_token, expires_in=expires_in, refresh_token=refresh_token)


def _token_invalid() -> AppError:
    return AppError("登录已失效，请重新登录", code="token_invalid", status=401)


def _revoke_family(session: Session, family_id: str, now: dt.datetime) -> None:
    session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()


def _principal_still_allowed(session: Session, kind: str, subject_id: int) -> bool:
    if kind == "officer":
        officer = session.get(Officer, subject_id)
        return officer is not None and officer.active
    return person_signed_in(session, subject_id)


def refresh_session(session: Session, refresh_token: str) -> Tokens:
    """Trade a refresh token for new tokens. A token presented twice revokes its whole family."""
    now = utcnow()
    row = session.scalars(
        sa.select(RefreshToken).where(RefreshToken.token_hash == _refresh_hash(refresh_token)).with_for_update()
    ).first()
    if row is None:
        raise _token_invalid()
    if row.revoked_at is not None:
        raise _token_invalid()
    if row.used_at is not None:
        _revoke_family(session, row.family_id, now)
        log.warning(
            "refresh token used twice; its family is revoked",
            extra={"family_id": row.family_id, "principal_kind": row.principal_kind, "subject_id": row.subject_id},
        )
        raise _token_invalid()
    if row.expires_at <= now:
        raise _token_invalid()
    claimed = session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result has rowcount
        _revoke_family(session, row.family_id, now)
        raise _token_invalid()
    if not _principal_still_allowed(session, row.principal_kind, row.subject_id):
        _revoke_family(session, row.family_id, now)
        raise _token_invalid()
    return issue_tokens(session, row.principal_kind, row.subject_id, family_id=row.family_id)


def _code_hash(challenge_id: str, phone: str, code: str, secret_key: str) -> str:
    """The code bound to its challenge and number, under a key of its own."""
    key = derive_key(secret_key, "otp-code-v1")
    return hmac.new(key, f"{challenge_id}\x00{phone}\x00{code}".encode(), hashlib.sha256).hexdigest()


def _valid_phone(raw: str, field: str = "phone") -> str:
    try:
        return normalise_phone(raw)
    except InvalidPhone:
        raise ValidationFailed(errors={field: ["请输入正确的中国大陆手机号"]}) from None


def _sms_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("短信服务暂时不可用，请稍后再试", code="sms_unavailable", retry_after=60)


def _otp_rate_limited(retry_after: int) -> RateLimited:
    return RateLimited("验证码发送过于频繁，请稍后再试", code="otp_rate_limited", retry_after=retry_after)


def _seconds_to_next_budget_day(now: dt.datetime) -> int:
    local = now.astimezone(CHINA)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), CHINA)
    return max(1, int((midnight - local).total_seconds()))


def _spend_sms_allowance(phone_key: str, client_ip: str, daily_budget: int) -> list[tuple[Limit, str]]:
    """Count one SMS against every limit, or refuse (429 per number/IP, 503 past the budget).

    Returns what was counted, for ``_hand_back_sms_allowance`` should the send fail.
    """
    now = utcnow()
    budget = Limit("sms-budget", f"{max(daily_budget, 1)}/day", fixed=True)
    budget_day = now.astimezone(CHINA).date().isoformat()
    checks = [*((limit, phone_key) for limit in OTP_PER_PHONE), (OTP_PER_IP, client_ip), (budget, budget_day)]
    try:
        refusal = rate_limits().acquire(checks)
    except RateLimitStoreDown:
        warn_throttled(log, "otp-ratelimit-storage", "rate-limit storage unreachable; refusing to send SMS")
        raise _sms_unavailable() from None
    if refusal is None:
        return checks
    if refusal.limit is budget:
        metrics.SMS_REFUSED.labels("daily_budget").inc()
        log.error("daily SMS budget exhausted; codes are refused until tomorrow", extra={"budget": daily_budget})
        raise ServiceUnavailable(
            "短信服务暂时不可用，请稍后再试", code="sms_unavailable", retry_after=_seconds_to_next_budget_day(now)
        )
    metrics.SMS_REFUSED.labels("rate_limited").inc()
    log.info("SMS code refused by a rate limit", extra={"limit": refusal.limit.name})
    raise _otp_rate_limited(refusal.retry_after)


def _hand_back_sms_allowance(spent: list[tuple[Limit, str]]) -> None:
    try:
        rate_limits().release(spent)
    except RateLimitStoreDown:
        warn_throttled(log, "otp-ratelimit-storage", "rate-limit storage unreachable; a failed send stays counted")


def _send_code(phone: str, code: str) -> None:
    minutes = str(int(OTP_TTL.total_seconds() // 60))
    try:
        sms.send_sms(phone, sms.OTP.name, {"code": code, "minutes": minutes})
    except sms.SmsThrottled:
        raise _otp_rate_limited(OTP_RESEND_AFTER) from None
    except sms.SmsRecipientRejected:
        raise ValidationFailed(errors={"phone": ["无法向该号码发送短信，请换一个号码"]}) from None
    except sms.SmsUnavailable:
        raise _sms_unavailable() from None


def issue_otp(session: Session, *, phone: str, client_ip: str, policy: SignInPolicy) -> OtpIssued:
    """Send a six-digit code to ``phone`` and open a challenge for it.

    The answer is the same whether or not the number belongs to anybody. The
    challenge is stored (flushed) before anything is counted or sent, and what was
    counted is handed back when the send fails: no code leaves without its challenge,
    and a request that failed spends no limit. The view commits after the send.
    """
    phone = _valid_phone(phone)
    challenge_id = secrets.token_urlsafe(16)
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = utcnow()
    session.add(
        OtpChallenge(
            id=challenge_id,
            phone_sealed=keyring().encrypt(phone, PHONE_PURPOSE),
            code_hash=_code_hash(challenge_id, phone, code, policy.secret_key),
            failed_attempts=0,
            expires_at=now + OTP_TTL,
            created_at=now,
        )
    )
    session.flush()
    spent = _spend_sms_allowance(phone_index(phone), client_ip, policy.sms_daily_budget)
    try:
        _send_code(phone, code)
    except Exception:
        _hand_back_sms_allowance(spent)
        raise
    # Old challenges are swept after the send, so their row locks are held only until the commit.
    session.execute(sa.delete(OtpChallenge).where(OtpChallenge.expires_at < now - dt.timedelta(days=1)))
    session.flush()
    return OtpIssued(challenge_id=challenge_id, expires_in=int(OTP_TTL.total_seconds()), resend_after=OTP_RESEND_AFTER)


def verify_otp(
    session: Session, *, challenge_id: str, code: str, policy: SignInPolicy, on_sign_in: SignInHook | None = None
) -> Tokens:
    """Check a code; the right one (once, in time) signs the worker in with tokens (see ``prove_phone``)."""
    person = prove_phone(session, challenge_id=challenge_id, code=code, policy=policy, on_sign_in=on_sign_in)
    return issue_tokens(session, "worker", person.id)


def prove_phone(
    session: Session, *, challenge_id: str, code: str, policy: SignInPolicy, on_sign_in: SignInHook | None = None
) -> Person:
    """Check a code; the right one (once, in time) proves the phone and gives its person.

    The JSON API trades the person for tokens; the web pages keep its id in the session
    cookie: both name the same ``Person``.

    A wrong code is counted (and flushed) before ``otp_invalid`` is raised; after
    five the challenge is dead (``otp_locked``). ``on_sign_in`` is told who signed in
    (the API ties the sign-in to the join code the device just scanned, for the funnel).
    """
    now = utcnow()
    challenge = _open_challenge(session, challenge_id, now)
    phone = _checked_phone(session, challenge, code, policy.secret_key)
    _consume(session, challenge, now)
    person = find_or_create_person(session, phone)
    _note_sign_in(session, on_sign_in, person, "sms")
    return person


def prove_phones(session: Session, proofs: Sequence[tuple[str, str]], *, secret_key: str) -> list[str]:
    """Check SMS codes (``(challenge_id, code)`` pairs) together: all right, and all used up; or none used.

    For acts that need more than a sign-in (moving an identity to another phone proves
    both numbers). A wrong code is counted and raises ``otp_invalid`` naming its
    ``challenge_id``; the other challenges stay usable. Returns the proved numbers in order.
    """
    now = utcnow()
    challenges = [_open_challenge(session, challenge_id, now) for challenge_id, _ in proofs]
    phones = [
        _checked_phone(session, challenge, code, secret_key, name_challenge=True)
        for challenge, (_, code) in zip(challenges, proofs, strict=True)
    ]
    for challenge in challenges:
        _consume(session, challenge, now)
    return phones


def _open_challenge(session: Session, challenge_id: str, now: dt.datetime) -> OtpChallenge:
    """The challenge, locked, while it may still be answered; else ``otp_expired`` / ``otp_locked``."""
    challenge = session.get(OtpChallenge, challenge_id, with_for_update=True)
    if challenge is None or challenge.consumed_at is not None or challenge.expires_at <= now:
        raise Gone("验证码已失效，请重新获取", code="otp_expired")
    if challenge.failed_attempts >= OTP_MAX_FAILURES:
        raise RateLimited("验证码错误次数过多，请重新获取", code="otp_locked", retry_after=OTP_RESEND_AFTER)
    return challenge


def _checked_phone(
    session: Session, challenge: OtpChallenge, code: str, secret_key: str, *, name_challenge: bool = False
) -> str:
    """The challenge's number when ``code`` is right; a wrong code is counted, then ``otp_invalid``."""
    phone = keyring().decrypt(challenge.phone_sealed, PHONE_PURPOSE)
    if not hmac.compare_digest(challenge.code_hash, _code_hash(challenge.id, phone, code, secret_key)):
        # Counted in one guarded statement, so parallel guesses cannot slip past the fifth.
        failures = session.scalar(
            sa.update(OtpChallenge)
            .where(OtpChallenge.id == challenge.id, OtpChallenge.failed_attempts < OTP_MAX_FAILURES)
            .values(failed_attempts=OtpChallenge.failed_attempts + 1)
            .returning(OtpChallenge.failed_attempts)
            .execution_options(synchronize_session=False)
        )
        if failures is None:
            raise RateLimited("验证码错误次数过多，请重新获取", code="otp_locked", retry_after=OTP_RESEND_AFTER)
        remaining = OTP_MAX_FAILURES - int(failures)
        if name_challenge:
            raise AppError(
                "验证码错误", code="otp_invalid", status=400, remaining_attempts=remaining, challenge_id=challenge.id
            )
        raise AppError("验证码错误", code="otp_invalid", status=400, remaining_attempts=remaining)
    return phone


def _consume(session: Session, challenge: OtpChallenge, now: dt.datetime) -> None:
    """Use the challenge up, once: a parallel request that used it first makes this ``otp_expired``."""
    consumed = session.execute(
        sa.update(OtpChallenge)
        .where(
            OtpChallenge.id == challenge.id,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.failed_attempts < OTP_MAX_FAILURES,
        )
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    if consumed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result has rowcount
        raise Gone("验证码已失效，请重新获取", code="otp_expired")  # a parallel request used it first


# Told (session, person id, method: "sms" | "wechat") once a worker has signed in, in the same transaction.
SignInHook = Callable[[Session, int, str], object]


def _note_sign_in(session: Session, hook: SignInHook | None, person: Person, method: str) -> None:
    if hook is not None:
        hook(session, person.id, method)


# ---------------------------------------------------------------------------
# WeChat sign-in


def sign_in_with_wechat(
    session: Session,
    *,
    code: str,
    phone_code: str | None,
    policy: SignInPolicy,
    on_sign_in: SignInHook | None = None,
) -> Tokens:
    """Sign a worker in with a ``wx.login`` code; a ``phone_code`` proves the number and links it.

    Every WeChat call happens before anything is written, so no database lock is
    held while WeChat answers.
    """
    try:
        client = wechat_client()
        login = client.code_to_session(code)
        proved = client.get_phone_number(phone_code) if phone_code else None
    except WeChatNotConfigured:
        raise AppError("未启用微信登录", code="wechat_not_configured", status=501) from None
    except WeChatCodeInvalid:
        raise AppError("微信登录凭证无效或已过期，请重新授权", code="wechat_code_invalid", status=400) from None
    except WeChatUnavailable:
        raise ServiceUnavailable("微信服务暂时不可用，请稍后再试", code="wechat_unavailable", retry_after=30) from None

    linked = session.scalars(sa.select(Person).where(Person.wechat_openid == login.openid)).first()
    if proved is None:
        if linked is None:
            raise Conflict("请先授权手机号", code="phone_required")
        if login.unionid and linked.wechat_unionid != login.unionid:
            linked.wechat_unionid = login.unionid
            session.flush()
        _note_sign_in(session, on_sign_in, linked, "wechat")
        return issue_tokens(session, "worker", linked.id)

    if proved.country_code not in ("86", ""):
        raise ValidationFailed(errors={"phone_code": ["仅支持中国大陆手机号"]})
    phone = _valid_phone(proved.pure_phone_number, field="phone_code")
    person = find_or_create_person(session, phone)
    if linked is not None and linked.id != person.id:
        # The WeChat account now proves another number: the link moves with the proof.
        linked.wechat_openid = None
        linked.wechat_unionid = None
        session.flush()
    person.wechat_openid = login.openid
    person.wechat_unionid = login.unionid or person.wechat_unionid
    session.flush()
    _note_sign_in(session, on_sign_in, person, "wechat")
    return issue_tokens(session, "worker", person.id)


# ---------------------------------------------------------------------------
# Officers


LIAISON_SECTORS = tuple(SECTORS)  # the founding sectors a liaison may be bound to


def _validate_officer_fields(username: str, password: str, role: str, sectors: Sequence[str]) -> None:
    errors: dict[str, list[str]] = {}
    if not 3 <= len(username) <= 64 or not all(c.isascii() and (c.isalnum() or c in "._@-") for c in username):
        errors["username"] = ["用户名须为 3 到 64 位字母、数字或 . _ @ -"]
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"密码长度不能少于 {MIN_PASSWORD_LENGTH} 位"]
    elif len(password) > 128:
        errors["password"] = ["密码长度不能超过 128 位"]
    if role not in OFFICER_ROLES:
        errors["role"] = ["角色须为 reviewer、admin、viewer 或 liaison"]
    elif role == LIAISON and not sectors:
        errors["sectors"] = ["联络员须至少绑定一个行业类别"]
    elif role != LIAISON and sectors:
        errors["sectors"] = ["只有联络员绑定行业类别"]
    unknown = [sector for sector in sectors if sector not in LIAISON_SECTORS]
    if unknown and "sectors" not in errors:
        errors["sectors"] = ["行业类别不在规定的范围内"]
    if errors:
        raise ValidationFailed(errors=errors)


def create_officer(
    session: Session,
    *,
    username: str,
    password: str,
    name: str,
    union_id: int,
    role: str,
    sectors: Sequence[str] = (),
) -> Officer:
    """An officer account; a liaison is bound to ``sectors`` (at least one), no other role is."""
    _validate_officer_fields(username, password, role, sectors)
    if find_officer(session, username) is not None:
        raise Conflict("用户名已被使用", code="username_taken")
    officer = Officer(
        username=username,
        password_hash=hash_password(password),
        name=name,
        union_id=union_id,
        role=role,
        active=True,
        sector_rows=[OfficerSector(sector=sector) for sector in dict.fromkeys(sectors)],
    )
    try:
        with session.begin_nested():
            session.add(officer)
            session.flush()
    except IntegrityError:
        raise Conflict("用户名已被使用", code="username_taken") from None
    return officer


def officer_sectors(session: Session, officer: Officer) -> tuple[str, ...]:
    """The sectors a liaison is bound to, in the contract's order (empty for every other role)."""
    if officer.role != LIAISON:
        return ()
    bound = set(session.scalars(sa.select(OfficerSector.sector).where(OfficerSector.officer_id == officer.id)))
    return tuple(sector for sector in LIAISON_SECTORS if sector in bound) + tuple(sorted(bound - set(LIAISON_SECTORS)))


def officer_actor(session: Session, officer: Officer, *, union_path: str | None = None) -> Actor:
    """The signed-in officer as services take it: its union's subtree and, for a liaison, its sectors.

    ``union_path`` saves the union's read when the caller loaded it with the officer.
    """
    if union_path is None:
        union = session.get(Union, officer.union_id)
        assert union is not None  # officers.union_id is a foreign key
        union_path = union.path
    sectors = officer_sectors(session, officer) if officer.role == LIAISON else None
    return Actor(
        kind="officer",
        id=officer.id,
        role=officer.role,
        union_id=officer.union_id,
        union_path=union_path,
        sectors=sectors,
    )


def find_officer(session: Session, username: str) -> Officer | None:
    return session.scalars(sa.select(Officer).where(Officer.username == username)).first()


def _union_in_scope(session: Session, principal: Actor, union_id: str) -> Union | None:
    number = parse_id(union_id)
    union = session.get(Union, number) if number else None
    if union is None or not principal.covers(union.path):
        return None
    return union


def create_officer_in_scope(
    session: Session,
    principal: Actor,
    *,
    username: str,
    password: str,
    union_id: str,
    role: str,
    name: str | None,
    sectors: Sequence[str] = (),
) -> Officer:
    """An admin creates an account on a union in its own subtree (a liaison with its sectors)."""
    union = _union_in_scope(session, principal, union_id)
    if union is None:
        raise ValidationFailed(errors={"union_id": ["工会不存在"]})
    officer = create_officer(
        session,
        username=username,
        password=password,
        name=name or username,
        union_id=union.id,
        role=role,
        sectors=sectors,
    )
    officer.union = union
    return officer


def list_officers(session: Session, principal: Actor, *, limit: int, cursor: str | None) -> Page:
    """Officers on the unions of the caller's subtree, newest first."""
    statement = (
        sa.select(Officer)
        .join(Officer.union)
        .where(principal.covers(Union.path))
        .options(contains_eager(Officer.union), selectinload(Officer.sector_rows))
    )
    return paginate(session, statement, keys=[Officer.id], limit=limit, cursor=cursor)


def _audit_login(session: Session, officer: Officer | None, *, ok: bool, username_key: str) -> None:
    """Sign-ins and failed tries go to the audit trail, in their own transaction: a failure's
    request answers 401 and commits nothing else. No password, and the username only as a key."""
    union_path = None
    if officer is not None:
        union_path = session.scalar(sa.select(Union.path).where(Union.id == officer.union_id))
    actor = Actor(kind="officer", id=officer.id) if officer is not None else None
    sessions = sessionmaker(session.get_bind())
    with sessions() as own:
        record_event(
            own,
            actor=actor,
            action="officer.login" if ok else "officer.login_failed",
            object_type="officer",
            object_id=officer.id if officer is not None else username_key,
            union_path=union_path or "/",
            details={"username_key": username_key},
        )
        own.commit()


def _login_key(username: str) -> str:
    return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


def _login_locked(retry_after: int) -> RateLimited:
    return RateLimited("登录失败次数过多，请稍后再试", code="login_locked", retry_after=retry_after)


def login_officer(session: Session, *, username: str, password: str, client_ip: str) -> Tokens:
    """Sign an officer in for the API: the password checked as ``authenticate_officer`` does, then tokens."""
    officer = authenticate_officer(session, username=username, password=password, client_ip=client_ip)
    return issue_tokens(session, "officer", officer.id)


def authenticate_officer(session: Session, *, username: str, password: str, client_ip: str) -> Officer:
    """Check an officer's password. Five failures in 15 minutes lock the username; an address gets 20 failures.

    The API turns the officer into tokens; the console into a cookie session, under the same locks.

    The username's attempt is counted before the password is checked and forgiven
    on success, so parallel guesses cannot slip past its lock. The address counts
    failures only: an office whose officers all sign in from one address is not
    locked out by their good sign-ins (a burst of parallel failures may pass the
    address's limit by the few in flight; the username's lock still holds each).
    """
    limits = rate_limits()
    username_key = _login_key(username)
    try:
        refusal = limits.check([(LOGIN_ATTEMPTS_PER_IP, client_ip)]) or limits.acquire(
            [(LOGIN_ATTEMPTS_PER_USERNAME, username_key)]
        )
    except RateLimitStoreDown:
        log.exception("rate-limit storage unreachable; refusing officer sign-in")
        raise ServiceUnavailable() from None
    if refusal is not None:
        log.warning("officer sign-in refused by a limit", extra={"limit": refusal.limit.name})
        raise _login_locked(refusal.retry_after)

    officer = find_officer(session, username)
    # An unknown username costs one hash check too, so timing does not tell which usernames exist.
    password_ok = verify_password(officer.password_hash if officer else dummy_hash(), password)
    if officer is None or not officer.active or not password_ok:
        log.info("officer sign-in failed", extra={"username_key": username_key})
        _audit_login(session, officer, ok=False, username_key=username_key)
        try:
            limits.acquire([(LOGIN_ATTEMPTS_PER_IP, client_ip)])
        except RateLimitStoreDown:
            log.warning("rate-limit storage unreachable; a failed sign-in went uncounted for its address")
        raise AppError("用户名或密码错误", code="login_failed", status=401)
    _audit_login(session, officer, ok=True, username_key=username_key)
    try:
        limits.clear(LOGIN_ATTEMPTS_PER_USERNAME, username_key)
    except RateLimitStoreDown:
        log.exception("rate-limit storage unreachable; failures not forgiven")
    return officer
