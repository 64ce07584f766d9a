"""Closing a union with many members: ``POST /unions/{id}/dissolve``'s service, dry run and the real one.

Seeds a scratch PostgreSQL database (created on the server DATABASE_URL points at, dropped
afterwards) with a province federation → a city federation → an enterprise union, one
station, N active members of the enterprise union and P pending applications routed to it
(``INSERT … SELECT generate_series``), then times ``dissolve_union`` as the API calls it:
first the dry run (counts), then the dissolution itself (each member retained with the city,
with its history entry, audit event and SMS; each application routed again), in one
transaction, committed:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.dissolve
    … -m bench.dissolve --members 2000 --pending 200 --rounds 3

Each round seeds a fresh enterprise union. Prints seconds per round and per 1,000 members.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time

import sqlalchemy as sa

from app import create_app, migrate
from app.actors import Actor
from app.auth import service as auth_service
from app.db import utcnow
from app.directory.models import Union
from app.enrollment.dissolution import dissolve_union
from bench.union_subtree import scratch_database


def _seed_tree(engine: sa.Engine) -> None:
    now = utcnow()
    with engine.begin() as connection:
        for union_id, parent, path, region in ((1, None, "/1/", "320000"), (2, 1, "/1/2/", "320100")):
            connection.execute(
                sa.text(
                    "INSERT INTO unions (id, name, kind, parent_id, path, region_code, occupations, accepting,"
                    " created_at, updated_at) VALUES (:id, :name, 'federation', :parent, :path, :region, '[]', true,"
                    " :now, :now)"
                ),
                {
                    "id": union_id,
                    "name": f"总工会{union_id}",
                    "parent": parent,
                    "path": path,
                    "region": region,
                    "now": now,
                },
            )
        connection.execute(
            sa.text(
                "INSERT INTO stations (id, name, region_code, address, occupation, union_id, created_at, updated_at)"
                " VALUES (1, '站点', '320102', '地址', 'courier', 2, now(), now())"
            )
        )
        connection.execute(sa.text("SELECT setval(pg_get_serial_sequence('unions', 'id'), 100)"))


def _seed_round(engine: sa.Engine, round_no: int, members: int, pending: int) -> int:
    """A fresh enterprise union under the city with ``members`` members and ``pending`` open applications."""
    union_id = 100 + round_no
    base = round_no * 10_000_000
    total = members + pending
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO unions (id, name, kind, parent_id, path, region_code, occupations, accepting,"
                " created_at, updated_at)"
                " VALUES (:id, :name, 'enterprise', 2, :path, '320102', '[]', true, now(), now())"
            ),
            {"id": union_id, "name": f"企业工会{round_no}", "path": f"/1/2/{union_id}/"},
        )
        params = {"n": total, "base": base, "members": members, "union": union_id, "path": f"/1/2/{union_id}/"}
        connection.execute(
            sa.text(
                "INSERT INTO persons (id, phone_index, phone_sealed, phone_masked, created_at, updated_at)"
                " SELECT :base + g, md5('p' || (:base + g)), 'sealed', '138****0000', now(), now()"
                " FROM generate_series(1, :n) g"
            ),
            params,
        )
        connection.execute(
            sa.text(
                "INSERT INTO identities (id, id_number_index, id_number_sealed, name_sealed, name_masked,"
                " id_number_masked, birth_date, sex, person_id, member_no, created_at, updated_at)"
                " SELECT :base + g, md5('i' || (:base + g)), 'sealed', 'sealed', '张*', '320102********0000',"
                " date '1990-01-01', 'male', :base + g, CASE WHEN g <= :members THEN 'M' || (:base + g) END,"
                " now(), now()"
                " FROM generate_series(1, :n) g"
            ),
            params,
        )
        connection.execute(
            sa.text(
                "INSERT INTO applications (id, person_id, identity_id, station_id, union_id, union_path, region_code,"
                " occupation, employment_form, is_transfer, consent_version, status, route_rule, route_trace,"
                " submitted_at, due_at, version, membership_active, member_no, created_at, updated_at)"
                " SELECT :base + g, :base + g, :base + g, 1, :union, :path, '320102', 'courier', 'platform', false,"
                " '2026-01', CASE WHEN g <= :members THEN 'approved' ELSE 'pending' END, 'enterprise', '[]',"
                " now(), now() + interval '21 days', 1, g <= :members,"
                " CASE WHEN g <= :members THEN 'M' || (:base + g) END,"
                " now(), now() FROM generate_series(1, :n) g"
            ),
            params,
        )
        connection.execute(
            sa.text(
                "INSERT INTO memberships (id, identity_id, union_id, application_id, member_no, status, since,"
                " status_changed_at, version, created_at, updated_at)"
                " SELECT :base + g, :base + g, :union, :base + g, 'M' || (:base + g), 'active', now(), now(), 1,"
                " now(), now() FROM generate_series(1, :members) g"
            ),
            params,
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    return union_id


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--pending", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with scratch_database() as url:
        if not url.startswith("postgresql"):
            print("bench.dissolve needs PostgreSQL: set DATABASE_URL=postgresql://…", file=sys.stderr)
            return
        migrate.upgrade(url)
        app = create_app({"database_url": url, "env": "development"})
        engine = app.extensions["ruhui.engine"]
        sessions = app.extensions["ruhui.sessionmaker"]
        _seed_tree(engine)
        with app.app_context(), sessions() as session:
            officer = auth_service.create_officer(
                session, username="bench-admin", password=secrets.token_urlsafe(24), name="管理员", union_id=2,
                role="admin",
            )  # fmt: skip
            session.commit()
            admin = Actor(kind="officer", id=officer.id, role="admin", union_id=2, union_path="/1/2/")
        print(
            f"{'round':>5} {'members':>8} {'pending':>8} {'dry run s':>10} {'dissolve s':>11} {'s per 1k members':>17}"
        )
        for round_no in range(1, args.rounds + 1):
            union_id = _seed_round(engine, round_no, args.members, args.pending)
            with app.app_context(), sessions() as session:
                started = time.perf_counter()
                dry = dissolve_union(
                    session, admin, str(union_id), reason="企业注销", members_to=None, dry_run=True, now=utcnow()
                )
                session.rollback()
                dry_s = time.perf_counter() - started
                started = time.perf_counter()
                done = dissolve_union(
                    session, admin, str(union_id), reason="企业注销", members_to=None, dry_run=False, now=utcnow()
                )
                session.commit()
                real_s = time.perf_counter() - started
                assert (
                    (dry.members, dry.applications)
                    == (done.members, done.applications)
                    == (
                        args.members,
                        args.pending,
                    )
                )
                assert session.get(Union, union_id).accepting is False  # type: ignore[union-attr]  # seeded above
            per_k = real_s / max(1, args.members) * 1000
            print(f"{round_no:>5} {args.members:>8} {args.pending:>8} {dry_s:>10.2f} {real_s:>11.2f} {per_k:>17.2f}")


if __name__ == "__main__":
    main()
