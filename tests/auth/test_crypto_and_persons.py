"""The person helpers other features call (sealing itself is tested in tests/foundation/test_privacy.py)."""

from __future__ import annotations

from app.auth import service
from app.auth.phones import phone_of

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
