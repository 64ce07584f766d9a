"""What every request's input must be before any view sees it, checked in one place for every endpoint.

Schemas say what a field means; this says what no field may ever hold, so that a
new schema, query parameter or page cannot forget it:

- A JSON body nested deeper than ``MAX_JSON_DEPTH`` is 400 ``bad_request`` (a 2 KB
  body of a thousand brackets used to exhaust the parser's recursion and answer
  500). A body that does not parse is left to the view's parser, also a 400.
- A lone surrogate (``"\\ud800"``: it cannot be encoded, hashed or stored), NUL
  (PostgreSQL's text refuses it) or another C0 control character (or DEL) in any string
  of a JSON body (keys and values, at any depth), any form field or any query
  parameter is 422 ``validation_error`` naming the field. Tab, line feed and carriage
  return are allowed in body and form strings, where free text (a reason, an
  address) may span lines; a query parameter is one line, so none is allowed there.
  A schema may refuse line breaks in a single-line field on top of this.

Path segments are left to the views: each already turns an id or token that cannot
exist into its own 404 (``join_code_not_found``…) before anything reaches the database.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request

from app.errors import AppError, ValidationFailed

MAX_JSON_DEPTH = 20  # our deepest body is a list of objects in an object; 20 leaves room

_CONTROL_OR_SURROGATE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff"
_FORBIDDEN_IN_TEXT = re.compile(f"[{_CONTROL_OR_SURROGATE}]")
_FORBIDDEN_IN_LINE = re.compile(f"[{_CONTROL_OR_SURROGATE}\t\n\r]")

BAD_CHARACTER_MESSAGE = "不能包含控制字符或无效字符"


def _bad_request() -> AppError:
    return AppError("请求格式错误", code="bad_request", status=400)


def _field_name(path: list[str]) -> str:
    return ".".join(path) if path else "_schema"


def _check_json_strings(document: Any) -> dict[str, list[str]]:
    """Walk the parsed body without recursion: depth first, each string checked, depth bounded."""
    problems: dict[str, list[str]] = {}
    stack: list[tuple[Any, list[str], int]] = [(document, [], 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise _bad_request()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and _FORBIDDEN_IN_TEXT.search(key):
                    # The key itself cannot be echoed back (it may not even encode): name its parent.
                    problems.setdefault(_field_name(path), []).append(BAD_CHARACTER_MESSAGE)
                    continue
                stack.append((item, [*path, str(key)], depth + 1))
        elif isinstance(value, str) and _FORBIDDEN_IN_TEXT.search(value):
            problems.setdefault(_field_name(path), []).append(BAD_CHARACTER_MESSAGE)
    return problems


def _json_body_problems() -> dict[str, list[str]]:
    data = request.get_data(cache=True)
    if not data.strip():
        return {}  # no body: the schema says whether one was required
    try:
        document = json.loads(data)
    except RecursionError:  # deeper than the parser's stack
        raise _bad_request() from None
    except ValueError:
        # Malformed: the view's own parser answers 400 in its turn (after the sign-in check).
        return {}
    return _check_json_strings(document)


def _pairs_problems(pairs: Any, pattern: re.Pattern[str]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for name, value in pairs.items(multi=True):
        if pattern.search(name):
            problems.setdefault("_schema", []).append(BAD_CHARACTER_MESSAGE)
        elif pattern.search(value):
            problems.setdefault(name, []).append(BAD_CHARACTER_MESSAGE)
    return problems


def check_request_input() -> None:
    """``before_request``: refuse what no view may see (see the module docstring)."""
    environ = request.environ
    if not environ.get("QUERY_STRING") and not environ.get("CONTENT_TYPE"):
        return  # no parameters and no body to parse (most GETs): nothing to look at
    problems = _pairs_problems(request.args, _FORBIDDEN_IN_LINE)
    if request.is_json:
        problems.update(_json_body_problems())
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        problems.update(_pairs_problems(request.form, _FORBIDDEN_IN_TEXT))
    if problems:
        raise ValidationFailed(errors=problems)


def init_app(app: Flask) -> None:
    app.before_request(check_request_input)
