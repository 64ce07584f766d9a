"""The operator's commands."""

from __future__ import annotations

import json

import sqlalchemy as sa

from app.auth.models import Officer
from app.auth.passwords import verify_password
from app.directory.models import Union


def test_bootstrap_creates_root_federation_and_admin_once(runner, session):
    args = ["bootstrap", "--union-name", "南京市总工会", "--region-code", "320100"]
    args += ["--username", "root", "--password", "a-long-password"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    ids = json.loads(first.output.strip().splitlines()[-1])
    assert set(ids) == {"union_id", "officer_id"}

    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.output.strip().splitlines()[-1]) == ids

    union = session.get(Union, int(ids["union_id"]))
    officer = session.get(Officer, int(ids["officer_id"]))
    assert union.kind == "federation" and union.parent_id is None and union.path == f"/{union.id}/"
    assert officer.role == "admin" and officer.union_id == union.id
    assert verify_password(officer.password_hash, "a-long-password")
    assert session.scalar(sa.select(sa.func.count()).select_from(Union)) == 1


def test_bootstrap_refuses_bad_input_and_changes_nothing(runner, session):
    result = runner.invoke(
        args=[
            "bootstrap",
            "--union-name",
            "X",
            "--region-code",
            "999999",
            "--username",
            "u",
            "--password",
            "long-enough-pw",
        ]
    )
    assert result.exit_code != 0
    assert "行政区划" in result.output
    short = runner.invoke(
        args=["bootstrap", "--union-name", "X", "--region-code", "320000", "--username", "u", "--password", "short"]
    )
    assert short.exit_code != 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Union)) == 0


def test_seed_demo_loads_once(runner, session):
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    count = session.scalar(sa.select(sa.func.count()).select_from(Union))
    assert count >= 1
    second = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "not loaded" in second.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Union)) == count
