"""The error family and the one handler that renders every error as the contract's envelope.

``{"code": "otp_invalid", "message": "验证码错误", "errors": {...}, "request_id": "..."}``

Services raise ``AppError`` subclasses; routing, validation and rate-limit errors
from Flask, flask-smorest and Flask-Limiter are translated here, so a client never
sees another shape, a stack trace or SQL text. A dependency that cannot be reached
(the database, the shared rate-limit storage) is a 503 with ``Retry-After`` from
wherever it fails, logged as one warning a minute rather than a traceback per request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify
from flask_limiter.errors import RateLimitExceeded
from limits.errors import StorageError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.observability import current_request_id, warn_throttled
from app.ratelimits import RateLimitStoreDown

log = logging.getLogger("ruhui.errors")


class AppError(Exception):
    """An error a client can act on: a status, a stable snake_case code and a Chinese message."""

    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(self.code)


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = "资源不存在"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = "请先登录"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = "没有权限执行此操作"


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = "操作与当前状态冲突"


class Gone(AppError):
    status = 410
    code = "gone"
    message = "资源已失效"


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"
    message = "提交的内容有误，请检查后重试"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    message = "操作过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        headers = {"Retry-After": str(max(1, int(retry_after)))}
        super().__init__(message, headers=headers, **kwargs)


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    message = "服务暂时不可用，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int = 30, **kwargs: Any) -> None:
        headers = {"Retry-After": str(max(1, int(retry_after)))}
        super().__init__(message, headers=headers, **kwargs)


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    message = "数据库暂时不可用，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)


class RateLimitStorageUnavailable(ServiceUnavailable):
    code = "ratelimit_unavailable"
    message = "服务暂时不可用，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)


# Werkzeug's HTTP errors that can reach a client, as the contract names them.
_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式错误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法提供所请求的格式"),
    409: ("conflict", "操作与当前状态冲突"),
    412: ("precondition_failed", "前置条件不满足"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "提交的内容有误，请检查后重试"),
    428: ("precondition_required", "缺少前置条件"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}

# marshmallow's built-in messages, in the language of our users. Messages our own
# validators raise are already Chinese and pass through unchanged.
_FIELD_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Missing data for required field\.$"), "此项为必填项"),
    (re.compile(r"^Field may not be null\.$"), "此项不能为空"),
    (re.compile(r"^Unknown field\.$"), "不允许的字段"),
    (re.compile(r"^Not a valid string\.$"), "须为文本"),
    (re.compile(r"^Not a valid integer\.$"), "须为整数"),
    (re.compile(r"^Not a valid number\.$"), "须为数字"),
    (re.compile(r"^Not a valid boolean\.$"), "须为 true 或 false"),
    (re.compile(r"^Not a valid list\.$"), "须为列表"),
    (re.compile(r"^Not a valid mapping type\.$"), "须为对象"),
    (re.compile(r"^Invalid input type\.$"), "格式不正确"),
    (re.compile(r"^Not a valid (date|datetime|time)\.$"), "日期时间格式不正确"),
    (re.compile(r"^Not a valid email address\.$"), "邮箱格式不正确"),
    (re.compile(r"^Not a valid URL\.$"), "网址格式不正确"),
    (re.compile(r"^Not a valid UUID\.$"), "格式不正确"),
    (re.compile(r"^Must be one of: .*\.$"), "不是允许的取值"),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"), r"须在 \1 到 \2 之间"),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), r"须不小于 \1"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), r"须不大于 \1"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"长度不能少于 \1"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"长度不能超过 \1"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度须在 \1 到 \2 之间"),
    (re.compile(r"^Length must be (\d+)\.$"), r"长度须为 \1"),
    (re.compile(r"^String does not match expected pattern\.$"), "格式不正确"),
    (re.compile(r"^Invalid value\.$"), "取值无效"),
]


def translate_field_message(message: str) -> str:
    for pattern, chinese in _FIELD_MESSAGES:
        if pattern.match(message):
            return pattern.sub(chinese, message)
    return message


def flatten_field_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"field.sub": ["..."]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, errors in flatten_field_errors(value, name).items():
                flat.setdefault(field, []).extend(errors)
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, Mapping | list | tuple):
                for field, errors in flatten_field_errors(item, prefix).items():
                    flat.setdefault(field, []).extend(errors)
            else:
                flat.setdefault(prefix or "_schema", []).append(translate_field_message(str(item)))
    else:
        flat.setdefault(prefix or "_schema", []).append(translate_field_message(str(messages)))
    return flat


def _webargs_field_errors(messages: Any) -> dict[str, list[str]]:
    """webargs groups messages by location (json, query, files…); clients only know field names."""
    merged: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for location_messages in messages.values():
            for field, errors in flatten_field_errors(location_messages).items():
                merged.setdefault(field, []).extend(errors)
    return merged


def envelope(
    code: str,
    message: str,
    status: int,
    *,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = dict(errors)
    if extra:
        body.update(extra)
    body["request_id"] = current_request_id()
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status in (429, 503) and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = "60"
    return response


def handle_app_error(error: AppError) -> Response:
    return envelope(
        error.code, error.message, error.status, errors=error.errors, headers=error.headers, extra=error.extra
    )


def handle_rate_limit(error: RateLimitExceeded) -> Response:
    retry_after = 60
    limit = getattr(error, "limit", None)
    if limit is not None:
        retry_after = int(limit.limit.get_expiry())
    return envelope("rate_limited", _HTTP_ERRORS[429][1], 429, headers={"Retry-After": str(retry_after)})


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code, message = _HTTP_ERRORS.get(status, ("http_error", error.name))
    data = getattr(error, "data", None) or {}
    field_errors = _webargs_field_errors(data.get("messages")) if status == 422 else None
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return envelope(code, message, status, errors=field_errors, headers=headers)


def database_unreachable(error: BaseException) -> bool:
    """Whether a database error means "not reachable right now" rather than a bug.

    Connecting, a dropped connection, a pool that timed out, and the operational
    errors of a running server (statement cancelled, deadlock, serialisation failure,
    SQLite's "unable to open" or "locked") are all worth a retry; anything else
    (a constraint, a syntax error) is a bug and stays a 500.
    """
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
    return isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError)


def handle_database_error(error: sa_exc.SQLAlchemyError) -> Response:
    if not database_unreachable(error):
        return handle_unexpected(error)
    cause = type(getattr(error, "orig", None) or error).__name__
    # The error text names the host and port; the class is enough to tell what happened.
    warn_throttled(log, "database", "database unreachable; requests answer 503 until it is back", error=cause)
    return handle_app_error(DatabaseUnavailable())


def handle_ratelimit_storage_error(error: Exception) -> Response:
    warn_throttled(
        log,
        "ratelimit-storage",
        "rate-limit storage unreachable; requests that count answer 503",
        error=type(error).__name__,
    )
    return handle_app_error(RateLimitStorageUnavailable())


def handle_unexpected(error: Exception) -> Response:
    # The traceback goes to the operators' log; the client gets no detail.
    log.exception("unhandled error", extra={"request_id": current_request_id()})
    code, message = _HTTP_ERRORS[500]
    return envelope(code, message, 500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(sa_exc.SQLAlchemyError, handle_database_error)
    app.register_error_handler(RateLimitStoreDown, handle_ratelimit_storage_error)
    app.register_error_handler(StorageError, handle_ratelimit_storage_error)
    app.register_error_handler(Exception, handle_unexpected)


class ErrorSchema(ma.Schema):
    """The error envelope, for the OpenAPI document (errors are rendered by ``envelope``)."""

    code = ma.fields.String(required=True, metadata={"description": "Stable snake_case error code"})
    message = ma.fields.String(required=True, metadata={"description": "Human message in Simplified Chinese"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Per-field messages (validation errors only)"},
    )
    request_id = ma.fields.String(metadata={"description": "Echo of X-Request-ID"})
