"""Settings: the only place that reads ``os.environ``.

Every setting has a development default so that ``make run`` works with nothing
set; ``RUHUI_ENV=production`` turns the unsafe defaults into start-up errors.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENVIRONMENTS = ("development", "production", "test")
SMS_PROVIDERS = ("console", "aliyun", "tencent")


class ConfigError(Exception):
    """The environment does not describe a service that may start."""


@dataclasses.dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = ""
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

        database_url = get("DATABASE_URL")
        secret_key = get("SECRET_KEY")
        sms_provider = get("SMS_PROVIDER", "" if production else "console")
        problems: list[str] = []
        if production:
            if not secret_key:
                problems.append("SECRET_KEY must be set")
            elif len(secret_key) < 32:
                problems.append("SECRET_KEY must be at least 32 characters")
            if not database_url:
                problems.append("DATABASE_URL must be set")
            elif database_url.startswith("sqlite"):
                problems.append("DATABASE_URL must not be SQLite")
            if not get("DATA_ENCRYPTION_KEYS") or not get("BLIND_INDEX_KEY"):
                problems.append("DATA_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set")
            if sms_provider in ("", "console"):
                problems.append("SMS_PROVIDER must be aliyun or tencent, not console")
        if sms_provider and sms_provider not in SMS_PROVIDERS:
            problems.append(f"SMS_PROVIDER must be one of {', '.join(SMS_PROVIDERS)}")
        if problems:
            raise ConfigError("Refusing to start: " + "; ".join(problems) + ".")

        if not database_url:
            database_url = f"sqlite:///{instance_path / 'ruhui.sqlite3'}"
        if not secret_key:
            secret_key = _development_secret_key(instance_path)
        return cls(
            env=env,
            database_url=normalise_database_url(database_url),
            secret_key=secret_key,
            public_base_url=get("PUBLIC_BASE_URL", cls.public_base_url).rstrip("/"),
            sms_provider=sms_provider,
            ratelimit_storage_uri=get("RATELIMIT_STORAGE_URI", cls.ratelimit_storage_uri),
            log_level=get("LOG_LEVEL", cls.log_level).upper(),
            trusted_proxy_hops=_int(get("TRUSTED_PROXY_HOPS", "0"), "TRUSTED_PROXY_HOPS"),
            data_encryption_keys=get("DATA_ENCRYPTION_KEYS"),
            blind_index_key=get("BLIND_INDEX_KEY"),
            consent_version=get("CONSENT_VERSION", cls.consent_version),
            join_miniprogram_page=get("JOIN_MINIPROGRAM_PAGE", cls.join_miniprogram_page).lstrip("/"),
        )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
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
