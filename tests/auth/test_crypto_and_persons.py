"""The person helpers other features call (sealing itself is tested in tests/foundation/test_privacy.py)."""

from __future__ import annotations

import pytest

from app.actors import Actor
from app.auth import service
from app.auth.phones import phone_of
from app.errors import Unauthorized

PHONE = "13812345678"


def test_person_helpers(app, session):
    with app.test_request_context():
        person = service.find_or_create_person(session, PHONE)
        session.commit()
        assert service.find_or_create_person(session, PHONE).id == person.id
        found = service.find_person_by_phone(session, PHONE)
        assert found is not None and found.id == person.id
        assert service.find_person_by_phone(session, "13900000000") is None
        assert phone_of(person) == PHONE
        assert service.person_for(session, Actor(kind="worker", id=person.id)).id == person.id
        with pytest.raises(Unauthorized):
            service.person_for(session, Actor(kind="worker", id=person.id + 1000))
        with pytest.raises(Unauthorized):
            service.person_for(session, Actor(kind="officer", id=person.id))
