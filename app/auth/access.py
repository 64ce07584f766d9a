"""Who is calling, and what each endpoint needs: ``@require_worker`` or ``@require_officer(role…)``.

Every protected view states its need with one of these decorators; the officer's
scope (its union's subtree) is then checked by the services with ``in_scope``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from flask import g, request

from app.auth.models import Officer
from app.auth.tokens import decode_access_token
from app.db import db
from app.directory.models import Union
from app.errors import Forbidden, NotFound, Unauthorized

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Principal:
    kind: str  # "worker" | "officer"
    id: int
    role: str | None = None
    union_id: int | None = None
    union_path: str | None = None

    def in_scope(self, union_path: str) -> bool:
        """True when a union (by its materialised path) lies in this officer's subtree."""
        return self.union_path is not None and union_path.startswith(self.union_path)


def require_in_scope(principal: Principal, union_path: str) -> None:
    """404 unless the union lies in the officer's subtree: what is out of scope does not exist."""
    if principal.kind != "officer" or not principal.in_scope(union_path):
        raise NotFound()


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def _load_principal() -> Principal:
    claims = decode_access_token(_bearer_token())
    sub = str(claims["sub"])
    subject = int(sub) if sub.isascii() and sub.isdigit() and len(sub) < 19 else None
    if subject is None:
        raise Unauthorized()
    if claims["kind"] == "worker":
        return Principal(kind="worker", id=subject)
    officer = db.session.get(Officer, subject)
    if officer is None or not officer.active:
        raise Unauthorized("账号不可用，请重新登录")
    union = db.session.get(Union, officer.union_id)
    assert union is not None  # officers.union_id is a foreign key
    return Principal(kind="officer", id=officer.id, role=officer.role, union_id=union.id, union_path=union.path)


def current_principal() -> Principal:
    if "principal" not in g:
        g.principal = _load_principal()
    principal: Principal = g.principal
    return principal


def require_worker(view: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if current_principal().kind != "worker":
            raise Forbidden()
        return view(*args, **kwargs)

    _document_security(wrapper)
    return wrapper


def require_officer(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Require an officer; with ``roles``, one of them (e.g. ``require_officer("admin")``)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = current_principal()
            if principal.kind != "officer" or (roles and principal.role not in roles):
                raise Forbidden()
            return view(*args, **kwargs)

        _document_security(wrapper)
        return wrapper

    return decorator


def require_principal(view: Callable[P, R]) -> Callable[P, R]:
    """Any signed-in caller, worker or officer (the view tells them apart)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        current_principal()
        return view(*args, **kwargs)

    _document_security(wrapper)
    return wrapper


def _document_security(view: Any) -> None:
    # flask-smorest reads ``_apidoc``; this puts the bearer requirement into the OpenAPI document.
    apidoc = view.__dict__.setdefault("_apidoc", {})
    apidoc.setdefault("manual_doc", {})["security"] = [{"bearerAuth": []}]
