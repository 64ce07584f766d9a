"""Rotating the data key: old values stay readable, `reencrypt` moves them to the newest key."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.auth.models import Person
from app.enrollment.models import Identity
from app.privacy import generate_key
from tests.conftest import VALID_ID, form

OLD, NEW, INDEX = generate_key(), generate_key(), generate_key()


@pytest.fixture
def app_config(app_config):
    return {**app_config, "data_encryption_keys": f"old:{OLD}", "blind_index_key": INDEX}


def test_rotation_then_reencrypt(make_app, client, session, nanjing, worker):
    assert client.post("/api/v1/applications", json=form(nanjing), headers=worker[1]).status_code == 201
    identity = session.scalars(sa.select(Identity)).one()
    assert identity.id_number_sealed.startswith("v1.old.")

    rotated = make_app(data_encryption_keys=f"new:{NEW},old:{OLD}")
    result = rotated.test_cli_runner().invoke(args=["reencrypt", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary == {"resealed": 3, "key_id": "new"}  # the phone, the ID number, the name

    session.expire_all()
    identity = session.scalars(sa.select(Identity)).one()
    person = session.scalars(sa.select(Person)).one()
    for sealed in (identity.id_number_sealed, identity.name_sealed, person.phone_sealed):
        assert sealed.startswith("v1.new.")

    # With the old key retired, everything still opens and the same ID number is still found.
    retired = make_app(data_encryption_keys=f"new:{NEW}")
    again = retired.test_cli_runner().invoke(args=["reencrypt"])
    assert json.loads(again.output.strip().splitlines()[-1])["resealed"] == 0
    repeat = retired.test_client().post("/api/v1/applications", json=form(nanjing), headers=worker[1])
    assert repeat.status_code == 409
    assert repeat.get_json()["code"] == "application_open"
    with retired.app_context():
        from app.privacy import keyring

        assert keyring().decrypt(identity.id_number_sealed, "identity.id_number") == VALID_ID
