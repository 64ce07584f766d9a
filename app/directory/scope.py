"""An officer's scope — its union and that union's subtree — and how admin endpoints obtain and document it.

Services take a ``Scope`` (a plain value); views build it from the signed-in
officer with ``officer_scope()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from app.auth.access import current_principal
from app.errors import Forbidden

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Scope:
    """What an officer may see and change: its union (``union_id``) and that union's subtree (``path``)."""

    union_id: int
    path: str
    officer_id: int | None = None  # who acts, for the audit trail (None: a command-line job)

    def covers(self, union_path: str) -> bool:
        return union_path.startswith(self.path)


def officer_scope() -> Scope:
    """The signed-in officer's scope (call after ``require_officer``)."""
    principal = current_principal()
    if principal.union_id is None or principal.union_path is None:
        raise Forbidden()
    return Scope(union_id=principal.union_id, path=principal.union_path, officer_id=principal.id)


def admin_errors(blp: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Document the 401 and 403 every admin endpoint can answer (on a flask-smorest blueprint)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        view = blp.alt_response(401, description="Not signed in (`unauthorized`)")(view)
        documented: Callable[P, R] = blp.alt_response(403, description="Not an admin officer (`forbidden`)")(view)
        return documented

    return decorator
