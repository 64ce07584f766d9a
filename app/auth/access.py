"""Who is calling, and what each endpoint needs: ``@require_worker`` or ``@require_officer(role…)``.

Every protected view states its need with one of these decorators and passes
``current_actor()`` (an ``app.actors.Actor``) to its service; the officer's scope (its
union's subtree) is then checked by the services with ``Actor.covers``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from flask import g, request

from app.actors import Actor
from app.auth.models import LIAISON, Officer, Person
from app.auth.service import officer_actor
from app.auth.tokens import decode_access_token
from app.db import BigId, db, run_core
from app.errors import Forbidden, Unauthorized

P = ParamSpec("P")
R = TypeVar("R")


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def _load_actor() -> Actor:
    claims = decode_access_token(_bearer_token())
    sub = str(claims["sub"])
    subject = int(sub) if sub.isascii() and sub.isdigit() and len(sub) < 19 else None
    if subject is None:
        raise Unauthorized()
    if claims["kind"] == "worker":
        return Actor(kind="worker", id=subject)
    officer = db.session.get(Officer, subject)
    if officer is None or not officer.active:
        raise Unauthorized("账号不可用，请重新登录")
    return officer_actor(db.session, officer)


def current_actor() -> Actor:
    """The signed-in caller (401 without a valid token); after ``require_officer``, an officer with its subtree."""
    if "actor" not in g:
        g.actor = _load_actor()
    actor: Actor = g.actor
    return actor


# Whether the worker is there and not erased: the one column, read through Core by a statement built once (every
# worker request runs it; loading the whole person through the ORM cost several times as much, for one column).
_PERSON_STANDING = sa.select(Person.__table__.c.erased_at).where(
    Person.__table__.c.id == sa.bindparam("person_id", type_=BigId)
)


def _check_person(actor: Actor) -> None:
    """A worker who erased their data (DELETE /me) is signed out at once, not when the token expires."""
    if actor.kind == "worker" and "person_checked" not in g:
        standing = run_core(db.session, _PERSON_STANDING, {"person_id": actor.id}).first()
        if standing is None or standing.erased_at is not None:
            raise Unauthorized()
        g.person_checked = True


def require_worker(view: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        actor = current_actor()
        if actor.kind != "worker":
            raise Forbidden()
        _check_person(actor)
        return view(*args, **kwargs)

    _document_security(wrapper)
    return wrapper


def require_officer(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Require an officer; with ``roles``, one of them (e.g. ``require_officer("admin")``).

    A ``liaison`` (a department's reader of founding data) passes only where ``roles`` names
    it: "any officer" (no roles) means any union officer, never a liaison.
    """

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            actor = current_actor()
            allowed = actor.role in roles if roles else actor.role != LIAISON
            if actor.kind != "officer" or not allowed:
                raise Forbidden()
            return view(*args, **kwargs)

        _document_security(wrapper)
        return wrapper

    return decorator


def require_signed_in(view: Callable[P, R]) -> Callable[P, R]:
    """Any signed-in caller, worker or union officer (the view tells them apart); never a liaison."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        actor = current_actor()
        if actor.role == LIAISON:
            raise Forbidden()
        _check_person(actor)
        return view(*args, **kwargs)

    _document_security(wrapper)
    return wrapper


def admin_errors(blp: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Document the 401 and 403 every admin endpoint can answer (on a flask-smorest blueprint)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        view = blp.alt_response(401, description="Not signed in (`unauthorized`)")(view)
        documented: Callable[P, R] = blp.alt_response(403, description="Not an admin officer (`forbidden`)")(view)
        return documented

    return decorator


def _document_security(view: Any) -> None:
    # flask-smorest reads ``_apidoc``; this puts the bearer requirement into the OpenAPI document.
    apidoc = view.__dict__.setdefault("_apidoc", {})
    apidoc.setdefault("manual_doc", {})["security"] = [{"bearerAuth": []}]
