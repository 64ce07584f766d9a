"""One actor value and one subtree rule: ``within_subtree`` agrees in Python and SQL, escapes, and keeps the index."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.actors import Actor, within_subtree
from app.directory.models import Union
from app.directory.service import add_union


@pytest.mark.parametrize(
    ("path", "root", "inside"),
    [
        ("/1/7/", "/1/7/", True),  # the root itself
        ("/1/7/42/", "/1/7/", True),
        ("/1/70/", "/1/7/", False),  # a sibling whose id starts with the same digits
        ("/1/", "/1/7/", False),  # an ancestor
        ("/2/7/", "/1/7/", False),
    ],
)
def test_python_and_sql_agree(session, province, path, root, inside):
    assert within_subtree(path, root) is inside
    in_sql = session.scalar(sa.select(within_subtree(sa.literal(path, sa.String), root)))
    assert bool(in_sql) is inside


@pytest.mark.parametrize("root", ["%", "_", "*", "?", "[1]"])
def test_a_root_is_never_read_as_a_pattern(session, province, root):
    # Paths hold only digits and slashes, so a root with wildcards matches nothing, not everything.
    assert session.scalar(sa.select(sa.func.count()).select_from(Union).where(within_subtree(Union.path, root))) == 0
    assert within_subtree(province.path, root) is False


def test_the_subtree_condition_uses_the_path_index(session, province, is_postgres):
    add_union(session, name="市总工会", kind="federation", region_code="320100", parent=province)
    statement = sa.select(Union.id).where(within_subtree(Union.path, province.path))
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if is_postgres:
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in session.execute(sa.text(f"EXPLAIN {compiled}")))
    else:
        plan = " ".join(str(row[-1]) for row in session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_unions_path" in plan
    assert session.scalars(statement).all() == [province.id, province.id + 1]


def test_an_actor_covers_its_subtree_only(session, province):
    city = add_union(session, name="市总工会", kind="federation", region_code="320100", parent=province)
    officer = Actor(kind="officer", id=1, role="admin", union_id=city.id, union_path=city.path)
    worker = Actor(kind="worker", id=2)
    assert officer.covers(city.path) and not officer.covers(province.path)
    assert not worker.covers(city.path)
    ids = session.scalars(sa.select(Union.id).where(officer.covers(Union.path))).all()
    assert ids == [city.id]
    assert session.scalars(sa.select(Union.id).where(worker.covers(Union.path))).all() == []
