"""Settings come from the environment; production refuses unsafe ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
GOOD_PRODUCTION = {
    "RUHUI_ENV": "production",
    "SECRET_KEY": "k" * 40,
    "DATABASE_URL": "postgresql://ruhui@db/ruhui",
    "SMS_PROVIDER": "aliyun",
    "DATA_ENCRYPTION_KEYS": "k2:" + "A" * 43 + ",k1:" + "B" * 43,
    "BLIND_INDEX_KEY": "C" * 43,
    "RATELIMIT_STORAGE_URI": "redis://redis:6379/0",
    "ALIYUN_ACCESS_KEY_ID": "LTAI-example",
    "ALIYUN_ACCESS_KEY_SECRET": "example-secret",
    "ALIYUN_SMS_SIGN_NAME": "入会",
    "ALIYUN_SMS_TEMPLATE_CODE": "SMS_000000001",
    "PUBLIC_BASE_URL": "https://join.example.cn",
}


def test_development_needs_no_variables(tmp_path):
    settings = Settings.from_env({}, tmp_path)
    assert settings.env == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'ruhui.sqlite3'}"
    assert settings.sms_provider == "console"
    assert settings.ratelimit_storage_uri == "memory://"


def test_development_secret_key_is_generated_once_and_kept(tmp_path):
    first = Settings.from_env({}, tmp_path).secret_key
    second = Settings.from_env({}, tmp_path).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgres_urls_use_psycopg(tmp_path):
    settings = Settings.from_env({**GOOD_PRODUCTION, "DATABASE_URL": "postgres://u@h/d"}, tmp_path)
    assert settings.database_url == "postgresql+psycopg://u@h/d"


def test_good_production_settings_start(tmp_path):
    settings = Settings.from_env(GOOD_PRODUCTION, tmp_path)
    assert settings.is_production


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "at least 32"),
        ({"DATABASE_URL": ""}, "DATABASE_URL must be set"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "must not be SQLite"),
        ({"SMS_PROVIDER": "console"}, "not console"),
        ({"DATA_ENCRYPTION_KEYS": ""}, "DATA_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set"),
        ({"BLIND_INDEX_KEY": ""}, "DATA_ENCRYPTION_KEYS and BLIND_INDEX_KEY must be set"),
        ({"SMS_PROVIDER": ""}, "not console"),
        ({"RUHUI_ENV": "staging"}, "RUHUI_ENV must be one of"),
        ({"DATABASE_URL": "SQLITE:///x.db"}, "must not be SQLite"),
        ({"DATABASE_URL": "Sqlite+pysqlite:///x.db"}, "must not be SQLite"),
        ({"RATELIMIT_STORAGE_URI": "MEMORY://"}, "not memory://"),
        ({"RATELIMIT_STORAGE_URI": "Memory://"}, "not memory://"),
        ({"RATELIMIT_STORAGE_URI": "memcached://cache:11211"}, "RATELIMIT_STORAGE_URI must be redis://"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL must be set"),
        ({"PUBLIC_BASE_URL": "http://join.example.cn"}, "PUBLIC_BASE_URL must be an https:// address"),
        ({"PUBLIC_BASE_URL": "https://127.0.0.1:5000"}, "must not be a loopback"),
        ({"PUBLIC_BASE_URL": "https://localhost"}, "must not be a loopback"),
        ({"PUBLIC_BASE_URL": "https://[::1]:8443"}, "must not be a loopback"),
        ({"PUBLIC_BASE_URL": "https://0.0.0.0"}, "must not be a loopback"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
    ],
)
def test_production_refuses_unsafe_settings(tmp_path, change, complaint):
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env({**GOOD_PRODUCTION, **change}, tmp_path)


def test_production_without_secrets_exits_non_zero_with_a_clear_message():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "SMS_PROVIDER")}
    env["RUHUI_ENV"] = "production"
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "SECRET_KEY must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_upper_case_sqlite_url_works_in_development(tmp_path):
    settings = Settings.from_env({"DATABASE_URL": "SQLITE:///" + str(tmp_path / "x.db")}, tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'x.db'}"


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"RUHUI_ENV": "production", **GOOD_PRODUCTION, "DATABASE_URL": "SQLITE:///x.db"}, "must not be SQLite"),
        ({"DATABASE_URL": "mysql://u@h/d"}, "DATABASE_URL must be postgresql"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"RATELIMIT_STORAGE_URI": "nonsense"}, "RATELIMIT_STORAGE_URI must be"),
        ({"RUHUI_ENV": "production", **GOOD_PRODUCTION, "RATELIMIT_STORAGE_URI": "MEMORY://"}, "not memory://"),
    ],
)
def test_bad_settings_exit_2_with_the_reason_and_no_traceback(tmp_path, environ, complaint):
    env = {k: v for k, v in os.environ.items() if k not in GOOD_PRODUCTION and k != "LOG_LEVEL"}
    env.update(environ)
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_a_short_metrics_token(tmp_path):
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 32 characters"):
        Settings.from_env({**GOOD_PRODUCTION, "METRICS_TOKEN": "short"}, tmp_path)
    settings = Settings.from_env({**GOOD_PRODUCTION, "METRICS_TOKEN": "m" * 32}, tmp_path)
    assert settings.metrics_token == "m" * 32


def test_a_read_replica_url_is_a_postgres_replica_of_a_postgres_primary(tmp_path):
    settings = Settings.from_env({**GOOD_PRODUCTION, "DATABASE_READ_URL": "postgres://ruhui@replica/ruhui"}, tmp_path)
    assert settings.database_read_url == "postgresql+psycopg://ruhui@replica/ruhui"
    assert Settings.from_env(GOOD_PRODUCTION, tmp_path).database_read_url == ""
    for environ in (
        {**GOOD_PRODUCTION, "DATABASE_READ_URL": "sqlite:///replica.db"},
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "DATABASE_READ_URL": "postgresql://ruhui@replica/ruhui"},
    ):
        with pytest.raises(ConfigError, match="DATABASE_READ_URL must be postgresql"):
            Settings.from_env(environ, tmp_path)
