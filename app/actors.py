"""Who acts, and over which subtree: the one value every service and the audit log take.

An ``Actor`` is a signed-in worker, an officer (with its union and that union's
materialised path, ``/1/7/42/``: the subtree it may see and change), or the system
(a command-line job, which may act over a subtree too). Doors build it — the API from
the bearer token (``app.auth.access``), the CLI by hand — and services take it as a
plain value.

``within_subtree`` is the one rule for "this union path lies in that subtree", in SQL
and in Python alike. Nothing imports a feature from here: directory, audit and notify
sit below auth and take this value without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = ["Actor", "within_subtree"]

ACTOR_KINDS = ("worker", "officer", "system")
SYSTEM_ID = 0  # no row has id 0: the system is nobody's account


@dataclass(frozen=True)
class Actor:
    kind: str  # "worker" | "officer" | "system"
    id: int  # the person's or officer's id; SYSTEM_ID for the system
    role: str | None = None
    union_id: int | None = None
    union_path: str | None = None
    # A liaison officer's sectors: it reads founding data of these only (None for every other actor).
    sectors: tuple[str, ...] | None = None

    @classmethod
    def system(cls, union_id: int | None = None, union_path: str | None = None) -> Actor:
        """A command-line job (the demo seed, an import run by hand), over ``union_path``'s subtree if given."""
        return cls(kind="system", id=SYSTEM_ID, union_id=union_id, union_path=union_path)

    @overload
    def covers(self, path: str) -> bool: ...

    @overload
    def covers(self, path: sa.ColumnElement[str] | Any) -> sa.ColumnElement[bool]: ...

    def covers(self, path: Any) -> Any:
        """Whether a union (by its path, or a path column in SQL) lies in this actor's subtree; a worker has none."""
        if self.union_path is None:
            return False if isinstance(path, str) else sa.false()
        return within_subtree(path, self.union_path)

    @property
    def subtree(self) -> str:
        """The root path of this actor's subtree (officers and scoped jobs; asking a worker is a bug)."""
        assert self.union_path is not None, "only an officer or a scoped job has a subtree"
        return self.union_path


class _WithinSubtree(sa.ColumnElement[bool]):
    """``path LIKE 'root%'`` on PostgreSQL (its ``text_pattern_ops`` index serves it), ``GLOB 'root*'`` on SQLite.

    SQLite's LIKE ignores case and so never uses a plain index; its case-sensitive GLOB
    does. Both patterns escape their wildcards, although paths hold only digits and
    slashes: a prefix is never read as a pattern.
    """

    inherit_cache = True
    _is_implicitly_boolean = True  # a comparison already: no "= 1" where booleans are integers
    type = sa.Boolean()
    _traverse_internals = [  # noqa: RUF012  # SQLAlchemy's cache key reads this class attribute
        ("like_sql", InternalTraversal.dp_clauseelement),
        ("glob_sql", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, path: Any, root: str) -> None:  # a column or an ORM attribute
        like_prefix = root.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        glob_prefix = "".join(f"[{char}]" if char in "*?[" else char for char in root)
        self.like_sql: sa.ColumnElement[bool] = path.like(like_prefix + "%", escape="\\")
        self.glob_sql: sa.ColumnElement[bool] = path.op("GLOB", is_comparison=True)(glob_prefix + "*")


@compiles(_WithinSubtree)
def _like(element: _WithinSubtree, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.like_sql, **kw)


@compiles(_WithinSubtree, "sqlite")
def _glob(element: _WithinSubtree, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.glob_sql, **kw)


@overload
def within_subtree(path: str, root: str) -> bool: ...


@overload
def within_subtree(path: sa.ColumnElement[str] | Any, root: str) -> sa.ColumnElement[bool]: ...


def within_subtree(path: Any, root: str) -> Any:
    """``path`` lies in the subtree whose root has the path ``root`` (the root itself included).

    Given a string, answers in Python; given a column (``Union.path``,
    ``Application.union_path``…), a SQL condition that keeps the column's index.
    """
    if isinstance(path, str):
        return path.startswith(root)
    return _WithinSubtree(path, root)
