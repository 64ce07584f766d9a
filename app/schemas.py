"""Shapes every feature shares: the union and employer references, a nested shape read from the object
itself, and a whole-string pattern that the OpenAPI document can state as it is checked.

Low in the tree on purpose (marshmallow and the directory's vocabulary only, no Flask, no feature), so any
feature's schemas or services can import it without an import cycle.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma

from app.directory.vocabulary import UNION_KINDS


class UnionRefSchema(ma.Schema):
    """A union as other resources show it (applications, memberships, routing, stats): ``{"id","name","kind"}``.

    Dumps a ``Union`` row or anything else with ``id``, ``name`` and ``kind`` (a routing decision's
    union, an already-dumped dict).
    """

    id = ma.fields.String(required=True, metadata={"description": "Opaque id (a string)"})
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": list(UNION_KINDS)})


class EmployerRefSchema(ma.Schema):
    """An employer as other resources show it (applications, join screens, stats): ``{"id","name"}``."""

    id = ma.fields.String(required=True, metadata={"description": "Opaque id (a string)"})
    name = ma.fields.String(required=True)


_UNION_REF = UnionRefSchema()


def union_ref(union: Any) -> dict[str, str]:
    """``union`` as the reference other resources (and error details, and stored route hops) carry."""
    ref: dict[str, str] = _UNION_REF.dump(union)
    return ref


class WholeMatch(ma.validate.Regexp):
    """A pattern the whole value must match, written as the OpenAPI document shows it (``^…$``).

    JSON Schema patterns are ECMA-262, which has no ``\\Z``; Python's ``$`` also matches before a final
    newline. ``re.fullmatch`` holds the value to the pattern as a client reads it: ``"123456\\n"`` is refused.
    """

    def __init__(self, pattern: str, *, error: str | None = None) -> None:
        self.whole: re.Pattern[str] = re.compile(pattern)
        super().__init__(self.whole, error=error)

    def __call__(self, value: str) -> str:  # type: ignore[override]  # str only; Regexp also overloads bytes
        if self.whole.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


class Itself(ma.fields.Nested):
    """A nested object whose fields are read from the dumped object itself, not from one of its attributes.

    For a flat record that the contract shows in two levels (an audit event's ``actor`` is its
    ``actor_kind`` and ``actor_id``). Documented like any ``Nested``: a ``$ref`` to the nested schema.
    """

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing) -> Any:
        return obj
