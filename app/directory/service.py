"""Directory rules: the union tree and its materialised paths."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.directory.models import Union
from app.directory.regions import is_valid_region_code
from app.errors import ValidationFailed


def add_union(
    session: Session,
    *,
    name: str,
    kind: str,
    region_code: str,
    parent: Union | None = None,
    occupations: list[str] | None = None,
    employer_id: int | None = None,
    accepting: bool = True,
    external_code: str | None = None,
) -> Union:
    """Insert a union under ``parent`` and give it its materialised path."""
    if not is_valid_region_code(region_code):
        raise ValidationFailed(errors={"region_code": ["不是有效的行政区划代码"]})
    union = Union(
        name=name,
        kind=kind,
        region_code=region_code,
        parent_id=parent.id if parent else None,
        occupations=occupations or [],
        employer_id=employer_id,
        accepting=accepting,
        external_code=external_code,
        path="",
    )
    session.add(union)
    session.flush()  # the id is part of the path
    union.path = f"{parent.path if parent else '/'}{union.id}/"
    session.flush()
    return union


def ensure_root_federation(session: Session, *, name: str, region_code: str) -> Union:
    """The root federation of that name, created when absent."""
    existing = session.scalars(
        sa.select(Union).where(Union.parent_id.is_(None), Union.name == name).order_by(Union.id).limit(1)
    ).first()
    if existing is not None:
        return existing
    return add_union(session, name=name, kind="federation", region_code=region_code)
