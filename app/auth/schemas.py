"""Request and response shapes of the sign-in and officer endpoints."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma

from app.auth.models import OFFICER_ROLES
from app.schemas import UnionRefSchema


def _printable(value: str) -> None:
    # Control characters, NUL and lone surrogates cannot reach a password hash or the database.
    if not value.isprintable():
        raise ma.ValidationError("含有不允许的字符")


def _text(*, required: bool = True, min_length: int = 1, max_length: int, **kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        required=required, validate=[ma.validate.Length(min=min_length, max=max_length), _printable], **kwargs
    )


class OtpRequestSchema(ma.Schema):
    phone = _text(max_length=32, metadata={"description": "Mainland mobile number; +86, spaces and dashes allowed"})


class OtpChallengeSchema(ma.Schema):
    challenge_id = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True, metadata={"description": "Seconds the code stays valid"})
    resend_after = ma.fields.Integer(required=True, metadata={"description": "Seconds before another code may be sent"})


class OtpVerifySchema(ma.Schema):
    challenge_id = ma.fields.String(
        required=True, validate=ma.validate.Regexp(re.compile(r"^[A-Za-z0-9_-]{1,64}\Z"), error="格式不正确")
    )
    code = ma.fields.String(
        required=True, validate=ma.validate.Regexp(re.compile(r"^[0-9]{6}\Z"), error="验证码须为 6 位数字")
    )


class WeChatSignInSchema(ma.Schema):
    code = _text(max_length=128, metadata={"description": "The code from wx.login()"})
    phone_code = _text(
        required=False,
        max_length=128,
        allow_none=True,
        metadata={"description": "The code from a getPhoneNumber button; proves and links the phone"},
    )


class RefreshSchema(ma.Schema):
    refresh_token = _text(max_length=256)


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
        validate=ma.validate.Regexp(
            re.compile(r"^[A-Za-z0-9._@-]{3,64}\Z"), error="用户名须为 3 到 64 位字母、数字或 . _ @ -"
        ),
    )
    password = _text(min_length=10, max_length=128)
    union_id = _text(max_length=32)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(OFFICER_ROLES))
    name = _text(required=False, max_length=50, metadata={"description": "Display name; the username when omitted"})


class OfficerSchema(ma.Schema):
    id = ma.fields.String()
    username = ma.fields.String()
    name = ma.fields.String()
    union_id = ma.fields.String()
    union = ma.fields.Nested(UnionRefSchema)
    role = ma.fields.String()
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
