"""The migrations build exactly the models' schema, and can be undone."""

from __future__ import annotations

import shutil
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app import migrate, partitions
from app.db import Base, create_db_engine
from app.directory import service as directory_service
from app.directory.models import Employer, Station, Union
from app.enrollment.models import Application, MemberNumberSequence
from app.routing.models import RoutingRule


def _diff(url: str) -> list[Any]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            opts = {"compare_type": True, "compare_server_default": True, "include_name": partitions.include_name}
            context = MigrationContext.configure(connection, opts=opts)
            diff: list[Any] = compare_metadata(context, Base.metadata)
            return diff
    finally:
        engine.dispose()


# SQLite cannot index (or reflect) the PostgreSQL-only expression index of app.enrollment.models;
# Alembic says so and leaves it out of the comparison there, which is what the models ask for.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrated_schema_matches_the_models(database_url):
    assert _diff(database_url) == []


def test_migrations_downgrade_to_nothing_and_back(database_url, tmp_path):
    if database_url.startswith("postgresql"):
        name = f"ruhui_migrations_{uuid.uuid4().hex[:8]}"
        admin = create_db_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        scratch = database_url.rsplit("/", 1)[0] + f"/{name}"
    else:
        admin = None
        scratch = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    try:
        migrate.upgrade(scratch)
        migrate.downgrade(scratch, "base")
        engine = create_db_engine(scratch)
        with engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
        engine.dispose()
        migrate.upgrade(scratch)
        assert _diff(scratch) == []
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_new_revisions_are_numbered_like_the_others(database_url, tmp_path):
    migrations = tmp_path / "migrations"  # a copy: the test must not write into the project's migrations
    shutil.copytree(migrate.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    head = max(path.stem for path in (migrations / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    number = int(head[:4])
    first, second = f"{number + 1:04d}_add_the_badge_v2", f"{number + 2:04d}_an_empty_one"

    written = migrate.revision(database_url, "Add the 会员 badge, v2!", autogenerate=True, migrations_dir=migrations)
    empty = migrate.revision(database_url, "An empty one", autogenerate=False, migrations_dir=migrations)

    assert written == migrations / "versions" / f"{first}.py"
    assert f"revision: str = {first!r}" in written.read_text()
    assert f"down_revision: str | Sequence[str] | None = {head!r}" in written.read_text()
    assert empty == migrations / "versions" / f"{second}.py"
    assert f"down_revision: str | Sequence[str] | None = {first!r}" in empty.read_text()


def test_chongchuan_moves_from_320602_to_320613_and_back(database_url, session, province, file_application):
    """0014: everything that says where a thing is moves; numbers issued under 320602 keep it."""
    # The union is stored under the new code (the list now has it); the rest as stored before the fix.
    union = directory_service.add_union(session, name="崇川区总工会", kind="federation", region_code="320613")
    employer = Employer(name="南通示例速运", uscc="91320602MA1Y8K4X2C", region_code="320602", union_id=union.id)
    session.add(employer)
    session.flush()
    station = Station(
        name="崇川点部",
        union_id=union.id,
        region_code="320602",
        occupation="courier",
        address="",
        employer_id=employer.id,
    )
    tongzhou = Station(name="通州点部", union_id=union.id, region_code="320612", occupation="courier", address="")
    session.add_all([station, tongzhou])
    session.flush()
    session.add_all(
        [
            RoutingRule(union_id=union.id, owner_union_id=union.id, region_code="320602", occupation="courier"),
            MemberNumberSequence(region_code="320602", year=2026, last_value=7),
        ]
    )
    session.commit()
    application = file_application(union, station, status="approved", decided_after_days=1)
    application_id = application.id

    def codes() -> dict[str, list[str]]:
        session.expire_all()
        return {
            "unions": list(session.scalars(sa.select(Union.region_code).where(Union.id == union.id))),
            "employers": list(session.scalars(sa.select(Employer.region_code))),
            "stations": list(session.scalars(sa.select(Station.region_code).order_by(Station.id))),
            "routing_rules": list(session.scalars(sa.select(RoutingRule.region_code))),
            "applications": [session.get(Application, application_id).region_code],
            "member_number_sequences": list(session.scalars(sa.select(MemberNumberSequence.region_code))),
        }

    session.close()
    try:
        migrate.downgrade(database_url, "0013_coverage_top_child")
        before = codes()
        session.close()
    finally:
        migrate.upgrade(database_url)
    after = codes()

    assert before == {
        "unions": ["320602"],
        "employers": ["320602"],
        "stations": ["320602", "320612"],
        "routing_rules": ["320602"],
        "applications": ["320602"],
        "member_number_sequences": ["320602"],
    }
    assert after == {
        "unions": ["320613"],
        "employers": ["320613"],
        "stations": ["320613", "320612"],
        "routing_rules": ["320613"],
        "applications": ["320613"],
        "member_number_sequences": ["320602"],  # counts numbers issued under 320602, which keep it
    }
    assert session.get(Employer, employer.id).uscc == "91320602MA1Y8K4X2C"  # an issued code keeps its region
