"""What the console's founding pages show beside the services' records: open cases of a page of targets,
the unions a case may join as its joint union, and the names of the officers in a case's history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from app.actors import Actor
from app.auth.models import Officer
from app.directory.models import Union
from app.founding.models import FoundingCase, FoundingCaseStep
from app.founding.vocabulary import CLOSED_STAGES

JOINT_UNION_KINDS = ("regional", "industry", "enterprise")  # a joint base union, or a regional or industry one
JOINT_UNION_CHOICES = 200


def open_cases_of(session: Session, scope: Actor, target_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """For each target of the list that has an open case in the scope: (case id, stage)."""
    if not target_ids:
        return {}
    responsible = aliased(Union)
    rows = session.execute(
        sa.select(FoundingCase.target_id, FoundingCase.id, FoundingCase.stage)
        .join(responsible, responsible.id == FoundingCase.union_id)
        .where(
            FoundingCase.target_id.in_(list(target_ids)),
            FoundingCase.stage.not_in(CLOSED_STAGES),
            scope.covers(responsible.path),
        )
    )
    return {target_id: (case_id, stage) for target_id, case_id, stage in rows}


def joint_union_choices(session: Session, scope: Actor) -> list[Union]:
    """Unions of the scope a unit may join instead of founding its own (not a federation), by name."""
    return list(
        session.scalars(
            sa.select(Union)
            .where(scope.covers(Union.path), Union.kind.in_(JOINT_UNION_KINDS), Union.accepting.is_(True))
            .order_by(Union.name, Union.id)
            .limit(JOINT_UNION_CHOICES)
        )
    )


def step_officer_names(session: Session, steps: Iterable[FoundingCaseStep]) -> dict[int, str]:
    """The display names of the officers who took the steps (a step by the system has none)."""
    ids = {step.officer_id for step in steps if step.officer_id is not None}
    if not ids:
        return {}
    rows = session.execute(sa.select(Officer.id, Officer.name).where(Officer.id.in_(ids))).all()
    return {row.id: row.name for row in rows}
