"""The join-code settings read from the environment."""

from __future__ import annotations

import pytest

from app.config import ConfigError, Settings


def test_defaults(tmp_path):
    settings = Settings.from_env({}, tmp_path)
    assert settings.consent_version == "2026-01"
    assert settings.join_miniprogram_page == "pages/join/index"
    assert settings.join_miniprogram_env_version == "release"


def test_values_from_the_environment(tmp_path):
    settings = Settings.from_env(
        {
            "CONSENT_VERSION": "2027-03",
            "JOIN_MINIPROGRAM_PAGE": "/pages/enrol/start",
            "JOIN_MINIPROGRAM_ENV_VERSION": "trial",
        },
        tmp_path,
    )
    assert settings.consent_version == "2027-03"
    assert settings.join_miniprogram_page == "pages/enrol/start"  # WeChat wants no leading slash
    assert settings.join_miniprogram_env_version == "trial"


def test_unknown_mini_program_version_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="JOIN_MINIPROGRAM_ENV_VERSION must be one of release, trial, develop"):
        Settings.from_env({"JOIN_MINIPROGRAM_ENV_VERSION": "beta"}, tmp_path)
