"""Request and response shapes of the sign-in and officer endpoints."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.auth.models import OFFICER_ROLES
from app.schemas import UnionRefSchema, WholeMatch

# The check is str.isprintable(), which JSON Schema cannot say (no Unicode classes in Python's re, which the
# generators use). The document states a subset the check always accepts: printable ASCII, Latin letters,
# CJK ideographs and full-width forms.
PRINTABLE = r"^[\x20-\x7e\u00a1-\u00ac\u00ae-\u02ff\u4e00-\u9fff\uff01-\uff5e]*$"
# What wx.login() and getPhoneNumber hand out, and what POST /auth/refresh was given (secrets.token_urlsafe).
VISIBLE_ASCII = r"^[\x21-\x7e]*$"
URLSAFE_TOKEN = "^[A-Za-z0-9_-]*$"  # noqa: S105  # a pattern, not a secret
# A mainland mobile number as normalise_phone() takes it: +86 or 0086 optional, single spaces or dashes
# between digits, no data-only (IoT) range 140/141/144/146/148.
MOBILE = r"^((\+86|0086) ?)?1(3[0-9]|4[23579]|[5-9][0-9])([ -]?[0-9]){8}$"


def _printable(value: str) -> None:
    # Control characters, NUL and lone surrogates cannot reach a password hash or the database.
    if not value.isprintable():
        raise ma.ValidationError("含有不允许的字符")


def _text(
    *, required: bool = True, min_length: int = 1, max_length: int, pattern: str = PRINTABLE, **kwargs: Any
) -> ma.fields.String:
    metadata = {"pattern": pattern, **kwargs.pop("metadata", {})}
    return ma.fields.String(
        required=required,
        validate=[ma.validate.Length(min=min_length, max=max_length), _printable],
        metadata=metadata,
        **kwargs,
    )


class OtpRequestSchema(ma.Schema):
    phone = _text(
        max_length=32,
        pattern=MOBILE,
        metadata={"description": "Mainland mobile number; +86, spaces and dashes allowed"},
    )


class OtpChallengeSchema(ma.Schema):
    challenge_id = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True, metadata={"description": "Seconds the code stays valid"})
    resend_after = ma.fields.Integer(required=True, metadata={"description": "Seconds before another code may be sent"})


class OtpVerifySchema(ma.Schema):
    challenge_id = ma.fields.String(required=True, validate=WholeMatch(r"^[A-Za-z0-9_-]{1,64}$", error="格式不正确"))
    code = ma.fields.String(required=True, validate=WholeMatch(r"^[0-9]{6}$", error="验证码须为 6 位数字"))


class WeChatSignInSchema(ma.Schema):
    code = _text(max_length=128, pattern=VISIBLE_ASCII, metadata={"description": "The code from wx.login()"})
    phone_code = _text(
        required=False,
        max_length=128,
        pattern=VISIBLE_ASCII,
        allow_none=True,
        metadata={"description": "The code from a getPhoneNumber button; proves and links the phone"},
    )


class RefreshSchema(ma.Schema):
    refresh_token = _text(max_length=256, pattern=URLSAFE_TOKEN)


class TokensSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, metadata={"description": "Always Bearer"})
    expires_in = ma.fields.Integer(required=True, metadata={"description": "Seconds the access token stays valid"})
    refresh_token = ma.fields.String(required=True, metadata={"description": "Opaque, single use"})


class OfficerLoginSchema(ma.Schema):
    username = _text(max_length=64)
    password = _text(max_length=256)


class OfficerCreateSchema(ma.Schema):
    username = ma.fields.String(
        required=True,
        validate=WholeMatch(r"^[A-Za-z0-9._@-]{3,64}$", error="用户名须为 3 到 64 位字母、数字或 . _ @ -"),
    )
    password = _text(min_length=10, max_length=128)
    union_id = _text(max_length=32)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(OFFICER_ROLES))
    name = _text(required=False, max_length=50, metadata={"description": "Display name; the username when omitted"})
    sectors = ma.fields.List(
        _text(max_length=32),
        load_default=list,
        validate=ma.validate.Length(max=20),
        metadata={"description": "Role `liaison` only (and then at least one): the founding sectors it reads"},
    )


class OfficerSchema(ma.Schema):
    id = ma.fields.String()
    username = ma.fields.String()
    name = ma.fields.String()
    union_id = ma.fields.String()
    union = ma.fields.Nested(UnionRefSchema)
    role = ma.fields.String()
    sectors = ma.fields.List(ma.fields.String(), metadata={"description": "A liaison's sectors; empty for other roles"})
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
