"""Settings: the only place that reads ``os.environ``.

Every setting has a development default so that ``make run`` works with nothing
set; ``RUHUI_ENV=production`` turns the unsafe defaults into start-up errors.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "production", "test")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_BACKENDS = ("sqlite", "postgresql", "postgres")
# The storages app/ratelimits.py can count in (and hand hits back to); only memory is per process.
RATELIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
SMS_PROVIDERS = ("console", "aliyun", "tencent")
MINIPROGRAM_ENV_VERSIONS = ("release", "trial", "develop")


class ConfigError(Exception):
    """The environment does not describe a service that may start."""


@dataclasses.dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = ""
    # A PostgreSQL hot standby that statistics, exports, the funnel and the review queue's list read from
    # (app/db.py ``read_session``); empty: everything reads the primary.
    database_read_url: str = ""
    secret_key: str = ""
    public_base_url: str = "http://127.0.0.1:5000"
    sms_provider: str = "console"
    ratelimit_storage_uri: str = "memory://"
    log_level: str = "INFO"
    trusted_proxy_hops: int = 0
    # Personal data at rest (app/privacy.py); derived from SECRET_KEY outside production.
    data_encryption_keys: str = ""
    blind_index_key: str = ""
    # Join codes: the consent text version the mini-program shows, and the mini-program page a scan opens.
    consent_version: str = "2026-01"
    join_miniprogram_page: str = "pages/join/index"
    join_miniprogram_env_version: str = "release"  # release | trial | develop
    # Accounts and sign-in (app/auth, app/notify).
    ratelimit_key_prefix: str = "ruhui"
    jwt_keys: tuple[tuple[str, str], ...] = ()  # (kid, secret), newest first; empty: derived from secret_key
    sms_daily_budget: int = 5000
    # Join-code scans counted per client address and hour (app.joincodes.service.record_bounded_scan).
    scans_counted_per_address_hour: int = 120
    # Counted scans are written in batches (app.joincodes.scanlog): every this many ms, or at this many rows.
    # -1: 200 ms, except 0 (each scan in its request) when env is "test".
    scan_flush_ms: int = -1
    scan_flush_rows: int = 500
    # Access lines are written in batches (app.observability.AccessLines): at most this many ms after a
    # request, or at 64 lines. -1: 1000 ms, except 0 (each line as its request ends) when env is "test".
    access_log_flush_ms: int = -1
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = ""
    aliyun_sms_sign_name: str = ""
    aliyun_sms_template_code: str = ""
    tencent_sms_endpoint: str = "https://sms.tencentcloudapi.com"
    tencent_sms_region: str = "ap-guangzhou"
    tencent_secret_id: str = ""
    tencent_secret_key: str = ""
    tencent_sms_sdk_app_id: str = ""
    tencent_sms_sign_name: str = ""
    tencent_sms_template_id: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"

    @property
    def wechat_configured(self) -> bool:
        return bool(self.wechat_app_id and self.wechat_app_secret)

    # Enrollment: minimum member age and the reply deadline unions promise, in working days.
    min_member_age: int = 16
    review_due_working_days: int = 15
    # Union founding (app/founding/trigger.py): people from one employer without a union (members and open
    # applications), or workers seen at a blind-spot station, that open a founding case by themselves; 0: never.
    founding_trigger_members: int = 25
    # Review notifications (app/review, app/notify/outbox.py): provider template ids of the decision
    # SMS (template name → id), the WeChat subscribe-message template, and the outbox worker's pacing.
    aliyun_sms_notice_template_codes: tuple[tuple[str, str], ...] = ()
    tencent_sms_notice_template_ids: tuple[tuple[str, str], ...] = ()
    wechat_decision_template_id: str = ""
    wechat_decision_page: str = "pages/applications/index"
    outbox_max_attempts: int = 8
    outbox_retry_base_seconds: int = 30
    outbox_lease_seconds: int = 300
    # /metrics (app/metrics.py): served only when a token is set, to a scraper that sends it as a Bearer.
    # The multiprocess directory is where gunicorn's workers keep their counters (prometheus-client's own
    # variable, read by the library at import; read here too so the scrape knows to merge the workers').
    metrics_token: str = ""
    prometheus_multiproc_dir: str = ""
    # Personal data of people nothing holds any more is erased after this many days (app/retention).
    retention_days: int = 365

    @property
    def scan_flush_interval_ms(self) -> int:
        """How often queued scans are written; 0: each in its own request (``scan_flush_ms`` -1 decides by env)."""
        if self.scan_flush_ms >= 0:
            return self.scan_flush_ms
        return 0 if self.env == "test" else 200

    @property
    def access_log_interval_ms(self) -> int:
        """How long an access line may wait to be written; 0: each as its request ends (-1 decides by env)."""
        if self.access_log_flush_ms >= 0:
            return self.access_log_flush_ms
        return 0 if self.env == "test" else 1000

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], instance_path: Path) -> Settings:
        """Read the settings from ``environ``, filling development defaults."""
        env = environ.get("RUHUI_ENV", "development").strip() or "development"
        if env not in ENVIRONMENTS:
            raise ConfigError(f"RUHUI_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
        production = env == "production"

        def get(name: str, default: str = "") -> str:
            return environ.get(name, "").strip() or default

        database_url = normalise_database_url(get("DATABASE_URL"))
        secret_key = get("SECRET_KEY")
        sms_provider = get("SMS_PROVIDER", "" if production else "console")
        ratelimit_storage_uri = get("RATELIMIT_STORAGE_URI", cls.ratelimit_storage_uri)
        ratelimit_scheme = _scheme(ratelimit_storage_uri)
        public_base_url = get("PUBLIC_BASE_URL").rstrip("/")
        log_level = get("LOG_LEVEL", cls.log_level).upper()
        problems: list[str] = []
        if database_url and _scheme(database_url).partition("+")[0] not in DATABASE_BACKENDS:
            problems.append("DATABASE_URL must be postgresql://… or sqlite:///…")
        database_read_url = normalise_database_url(get("DATABASE_READ_URL"))
        if database_read_url and not (
            database_read_url.startswith("postgresql") and database_url.startswith("postgresql")
        ):
            problems.append("DATABASE_READ_URL must be postgresql://…, a replica of a PostgreSQL DATABASE_URL")
        if ratelimit_scheme not in RATELIMIT_SCHEMES:
            problems.append("RATELIMIT_STORAGE_URI must be redis://… (or memory:// outside production)")
        if log_level not in LOG_LEVELS:
            problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        jwt_keys = _parse_key_list(get("JWT_KEYS"), "JWT_KEYS", problems)
        # "approved:SMS_1,rejected:SMS_2,…": the decision templates approved in each SMS console.
        notice_codes = {
            name: _parse_key_list(get(name), name, problems)
            for name in ("ALIYUN_SMS_NOTICE_TEMPLATE_CODES", "TENCENT_SMS_NOTICE_TEMPLATE_IDS")
        }
        if production:
            if not secret_key:
                problems.append("SECRET_KEY must be set")
            elif len(secret_key) < 32:
                problems.append("SECRET_KEY must be at least 32 characters")
            if not database_url:
                problems.append("DATABASE_URL must be set")
            elif _scheme(database_url).startswith("sqlite"):
                problems.append("DATABASE_URL must not be SQLite")
            if not get("DATA_ENCRYPTION_KEYS") or not get("BLIND_INDEX_KEY"):
                problems.append("DATA_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set")
            if sms_provider in ("", "console"):
                problems.append("SMS_PROVIDER must be aliyun or tencent, not console")
            if ratelimit_scheme == "memory":
                problems.append("RATELIMIT_STORAGE_URI must be shared storage (redis://…), not memory://")
            problems += _public_base_url_problems(public_base_url)
            if get("METRICS_TOKEN") and len(get("METRICS_TOKEN")) < 32:
                problems.append("METRICS_TOKEN must be at least 32 characters")
            problems += [f"{name} must be set" for name in _PROVIDER_SECRETS.get(sms_provider, ()) if not get(name)]
            problems += [
                f"JWT_KEYS secret {kid!r} must be at least 32 characters" for kid, k in jwt_keys if len(k) < 32
            ]
        if sms_provider and sms_provider not in SMS_PROVIDERS:
            problems.append(f"SMS_PROVIDER must be one of {', '.join(SMS_PROVIDERS)}")
        join_env_version = get("JOIN_MINIPROGRAM_ENV_VERSION", cls.join_miniprogram_env_version)
        if join_env_version not in MINIPROGRAM_ENV_VERSIONS:
            problems.append(f"JOIN_MINIPROGRAM_ENV_VERSION must be one of {', '.join(MINIPROGRAM_ENV_VERSIONS)}")
        retention_days = _int(get("RETENTION_DAYS", str(cls.retention_days)), "RETENTION_DAYS")
        if retention_days < 1:
            problems.append("RETENTION_DAYS must be at least 1")
        if problems:
            raise ConfigError("Refusing to start: " + "; ".join(problems) + ".")

        if not database_url:
            database_url = f"sqlite:///{instance_path / 'ruhui.sqlite3'}"
        if not secret_key:
            secret_key = _development_secret_key(instance_path)
        return cls(
            env=env,
            database_url=database_url,
            database_read_url=database_read_url,
            secret_key=secret_key,
            public_base_url=public_base_url or cls.public_base_url,
            sms_provider=sms_provider,
            ratelimit_storage_uri=ratelimit_storage_uri,
            log_level=log_level,
            trusted_proxy_hops=_int(get("TRUSTED_PROXY_HOPS", "0"), "TRUSTED_PROXY_HOPS"),
            data_encryption_keys=get("DATA_ENCRYPTION_KEYS"),
            blind_index_key=get("BLIND_INDEX_KEY"),
            ratelimit_key_prefix=get("RATELIMIT_KEY_PREFIX", cls.ratelimit_key_prefix),
            jwt_keys=jwt_keys,
            sms_daily_budget=_int(get("SMS_DAILY_BUDGET", str(cls.sms_daily_budget)), "SMS_DAILY_BUDGET"),
            scans_counted_per_address_hour=_int(
                get("SCANS_COUNTED_PER_ADDRESS_HOUR", str(cls.scans_counted_per_address_hour)),
                "SCANS_COUNTED_PER_ADDRESS_HOUR",
            ),
            scan_flush_ms=_int(get("SCAN_FLUSH_MS", str(cls.scan_flush_ms)), "SCAN_FLUSH_MS"),
            scan_flush_rows=_int(get("SCAN_FLUSH_ROWS", str(cls.scan_flush_rows)), "SCAN_FLUSH_ROWS"),
            access_log_flush_ms=_int(get("ACCESS_LOG_FLUSH_MS", str(cls.access_log_flush_ms)), "ACCESS_LOG_FLUSH_MS"),
            aliyun_sms_endpoint=get("ALIYUN_SMS_ENDPOINT", cls.aliyun_sms_endpoint).rstrip("/"),
            aliyun_access_key_id=get("ALIYUN_ACCESS_KEY_ID"),
            aliyun_access_key_secret=get("ALIYUN_ACCESS_KEY_SECRET"),
            aliyun_sms_sign_name=get("ALIYUN_SMS_SIGN_NAME"),
            aliyun_sms_template_code=get("ALIYUN_SMS_TEMPLATE_CODE"),
            tencent_sms_endpoint=get("TENCENT_SMS_ENDPOINT", cls.tencent_sms_endpoint).rstrip("/"),
            tencent_sms_region=get("TENCENT_SMS_REGION", cls.tencent_sms_region),
            tencent_secret_id=get("TENCENT_SECRET_ID"),
            tencent_secret_key=get("TENCENT_SECRET_KEY"),
            tencent_sms_sdk_app_id=get("TENCENT_SMS_SDK_APP_ID"),
            tencent_sms_sign_name=get("TENCENT_SMS_SIGN_NAME"),
            tencent_sms_template_id=get("TENCENT_SMS_TEMPLATE_ID"),
            wechat_app_id=get("WECHAT_APP_ID"),
            wechat_app_secret=get("WECHAT_APP_SECRET"),
            wechat_api_base=get("WECHAT_API_BASE", cls.wechat_api_base).rstrip("/"),
            consent_version=get("CONSENT_VERSION", cls.consent_version),
            join_miniprogram_page=get("JOIN_MINIPROGRAM_PAGE", cls.join_miniprogram_page).lstrip("/"),
            join_miniprogram_env_version=join_env_version,
            min_member_age=_int(get("MIN_MEMBER_AGE", str(cls.min_member_age)), "MIN_MEMBER_AGE"),
            review_due_working_days=_int(
                get("REVIEW_DUE_WORKING_DAYS", str(cls.review_due_working_days)), "REVIEW_DUE_WORKING_DAYS"
            ),
            founding_trigger_members=_int(
                get("FOUNDING_TRIGGER_MEMBERS", str(cls.founding_trigger_members)), "FOUNDING_TRIGGER_MEMBERS"
            ),
            aliyun_sms_notice_template_codes=notice_codes["ALIYUN_SMS_NOTICE_TEMPLATE_CODES"],
            tencent_sms_notice_template_ids=notice_codes["TENCENT_SMS_NOTICE_TEMPLATE_IDS"],
            wechat_decision_template_id=get("WECHAT_DECISION_TEMPLATE_ID"),
            wechat_decision_page=get("WECHAT_DECISION_PAGE", cls.wechat_decision_page).lstrip("/"),
            outbox_max_attempts=_int(get("OUTBOX_MAX_ATTEMPTS", str(cls.outbox_max_attempts)), "OUTBOX_MAX_ATTEMPTS"),
            outbox_retry_base_seconds=_int(
                get("OUTBOX_RETRY_BASE_SECONDS", str(cls.outbox_retry_base_seconds)), "OUTBOX_RETRY_BASE_SECONDS"
            ),
            outbox_lease_seconds=_int(
                get("OUTBOX_LEASE_SECONDS", str(cls.outbox_lease_seconds)), "OUTBOX_LEASE_SECONDS"
            ),
            metrics_token=get("METRICS_TOKEN"),
            prometheus_multiproc_dir=get("PROMETHEUS_MULTIPROC_DIR"),
            retention_days=retention_days,
        )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


# What each real SMS gateway needs before production may start.
_PROVIDER_SECRETS: dict[str, tuple[str, ...]] = {
    "aliyun": ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME", "ALIYUN_SMS_TEMPLATE_CODE"),
    "tencent": (
        "TENCENT_SECRET_ID",
        "TENCENT_SECRET_KEY",
        "TENCENT_SMS_SDK_APP_ID",
        "TENCENT_SMS_SIGN_NAME",
        "TENCENT_SMS_TEMPLATE_ID",
    ),
}


def _parse_key_list(value: str, name: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """``kid1:secret1,kid2:secret2`` → ((kid, secret), …), order kept (the first one signs)."""
    keys: list[tuple[str, str]] = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        kid, sep, secret = entry.partition(":")
        if not sep or not kid.strip() or not secret.strip():
            problems.append(f"{name} entries must look like kid:secret")
            continue
        keys.append((kid.strip(), secret.strip()))
    if len({kid for kid, _ in keys}) != len(keys):
        problems.append(f"{name} must not repeat a kid")
    return tuple(keys)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def _scheme(url: str) -> str:
    """The scheme of a URL, lower-cased (``SQLITE://`` and ``MEMORY://`` are what they say)."""
    return url.partition("://")[0].strip().lower()


def _public_base_url_problems(url: str) -> list[str]:
    """Production's base URL is printed on every poster: a public https address, never a loopback one."""
    if not url:
        return ["PUBLIC_BASE_URL must be set (it is printed on every join-code poster)"]
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        return ["PUBLIC_BASE_URL must be an https:// address"]
    host = parts.hostname.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    else:
        loopback = address.is_loopback or address.is_unspecified
    return ["PUBLIC_BASE_URL must not be a loopback address"] if loopback else []


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote (in any case)."""
    scheme, sep, rest = url.partition("://")
    if sep:
        url = scheme.strip().lower() + sep + rest
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret_key(instance_path: Path) -> str:
    """Generate a key once and keep it, so sessions survive a restart in development."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_settings(instance_path: Path, overrides: Mapping[str, Any] | None = None) -> Settings:
    settings = Settings.from_env(os.environ, instance_path)
    if overrides:
        settings = settings.replace(**overrides)
    return settings
