"""Personal data at rest, and the person helpers other features call."""

from __future__ import annotations

import pytest

from app.auth import service
from app.auth.access import Principal
from app.crypto import FieldCipher, UnreadableCiphertext
from app.errors import Unauthorized

PHONE = "13812345678"


def test_sealed_values_open_only_with_the_same_key_and_purpose():
    cipher = FieldCipher("k" * 40)
    sealed = cipher.seal("person.phone", PHONE)
    assert PHONE not in sealed and sealed.startswith("s1.")
    assert cipher.seal("person.phone", PHONE) != sealed  # a fresh nonce every time
    assert cipher.open("person.phone", sealed) == PHONE
    with pytest.raises(UnreadableCiphertext):
        cipher.open("person.id_number", sealed)  # bound to its column
    with pytest.raises(UnreadableCiphertext):
        FieldCipher("j" * 40).open("person.phone", sealed)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(UnreadableCiphertext):
        cipher.open("person.phone", tampered)
    with pytest.raises(UnreadableCiphertext):
        cipher.open("person.phone", "s9.AAAA")


def test_blind_index_is_stable_keyed_and_purpose_bound():
    one, other = FieldCipher("k" * 40), FieldCipher("j" * 40)
    assert one.blind_index("person.phone", PHONE) == one.blind_index("person.phone", PHONE)
    assert one.blind_index("person.phone", PHONE) != other.blind_index("person.phone", PHONE)
    assert one.blind_index("person.phone", PHONE) != one.blind_index("other", PHONE)
    assert len(one.blind_index("person.phone", PHONE)) == 64


def test_person_helpers(app, session):
    with app.test_request_context():
        person = service.find_or_create_person(session, PHONE)
        session.commit()
        assert service.find_or_create_person(session, PHONE).id == person.id
        found = service.find_person_by_phone(session, PHONE)
        assert found is not None and found.id == person.id
        assert service.find_person_by_phone(session, "13900000000") is None
        assert service.phone_of(person) == PHONE
        assert service.person_for(session, Principal(kind="worker", id=person.id)).id == person.id
        with pytest.raises(Unauthorized):
            service.person_for(session, Principal(kind="worker", id=person.id + 1000))
        with pytest.raises(Unauthorized):
            service.person_for(session, Principal(kind="officer", id=person.id))
