"""Sign-in and provider settings from the environment; production refuses what cannot be safe."""

from __future__ import annotations

import pytest

from app.config import ConfigError, Settings

PRODUCTION = {
    "RUHUI_ENV": "production",
    "SECRET_KEY": "k" * 40,
    "DATABASE_URL": "postgresql://ruhui@db/ruhui",
    "RATELIMIT_STORAGE_URI": "redis://redis:6379/0",
    "SMS_PROVIDER": "tencent",
    "TENCENT_SECRET_ID": "AKID-example",
    "TENCENT_SECRET_KEY": "example",
    "TENCENT_SMS_SDK_APP_ID": "1400000000",
    "TENCENT_SMS_SIGN_NAME": "入会",
    "TENCENT_SMS_TEMPLATE_ID": "100000",
    "DATA_ENCRYPTION_KEYS": "k1:" + "A" * 43,
    "BLIND_INDEX_KEY": "B" * 43,
    "PUBLIC_BASE_URL": "https://join.example.cn",
}


def test_provider_settings_are_read(tmp_path):
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "TENCENT_SMS_ENDPOINT": "https://sms.internal/",
            "SMS_DAILY_BUDGET": "800",
            "WECHAT_APP_ID": "wx1",
            "WECHAT_APP_SECRET": "s",
            "JWT_KEYS": f"new:{'n' * 32}, old:{'o' * 32}",
        },
        tmp_path,
    )
    assert settings.tencent_sms_endpoint == "https://sms.internal"
    assert settings.tencent_secret_id == "AKID-example" and settings.tencent_sms_template_id == "100000"
    assert settings.sms_daily_budget == 800
    assert settings.wechat_configured and settings.wechat_api_base == "https://api.weixin.qq.com"
    assert settings.jwt_keys == (("new", "n" * 32), ("old", "o" * 32))


def test_development_defaults(tmp_path):
    settings = Settings.from_env({}, tmp_path)
    assert settings.aliyun_sms_endpoint == "https://dysmsapi.aliyuncs.com"
    assert settings.tencent_sms_endpoint == "https://sms.tencentcloudapi.com"
    assert not settings.wechat_configured and settings.jwt_keys == ()


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"RATELIMIT_STORAGE_URI": ""}, "not memory://"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "not memory://"),
        ({"TENCENT_SECRET_KEY": ""}, "TENCENT_SECRET_KEY must be set"),
        ({"TENCENT_SMS_TEMPLATE_ID": ""}, "TENCENT_SMS_TEMPLATE_ID must be set"),
        ({"SMS_PROVIDER": "aliyun"}, "ALIYUN_ACCESS_KEY_ID must be set"),
        ({"JWT_KEYS": "k1:short"}, "at least 32 characters"),
        ({"JWT_KEYS": "no-colon"}, "kid:secret"),
        ({"JWT_KEYS": f"a:{'x' * 32},a:{'y' * 32}"}, "must not repeat a kid"),
        ({"SMS_DAILY_BUDGET": "lots"}, "SMS_DAILY_BUDGET must be a whole number"),
    ],
)
def test_production_refuses(tmp_path, change, complaint):
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env({**PRODUCTION, **change}, tmp_path)


def test_production_with_everything_starts(tmp_path):
    assert Settings.from_env(PRODUCTION, tmp_path).is_production
