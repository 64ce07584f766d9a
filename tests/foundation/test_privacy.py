"""Encryption at rest and blind indexes."""

from __future__ import annotations

import pytest

from app.config import ConfigError
from app.privacy import DecryptionError, Keyring, generate_key

ID = "11010519491231002X"


def _ring(keys: str) -> Keyring:
    return Keyring.parse(keys, generate_key())


def test_round_trip_with_context_and_random_nonce():
    ring = _ring(f"a1:{generate_key()}")
    first, second = ring.encrypt(ID, "person.id_number"), ring.encrypt(ID, "person.id_number")
    assert first != second
    assert ID not in first
    assert first.startswith("v1.a1.")
    assert ring.decrypt(first, "person.id_number") == ID


def test_ciphertext_moved_to_another_column_does_not_open():
    ring = _ring(f"a1:{generate_key()}")
    sealed = ring.encrypt(ID, "person.id_number")
    with pytest.raises(DecryptionError):
        ring.decrypt(sealed, "person.name")


def test_tampering_is_detected():
    ring = _ring(f"a1:{generate_key()}")
    version, kid, nonce, body = ring.encrypt(ID, "c").split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(DecryptionError):
        ring.decrypt(".".join((version, kid, nonce, flipped)), "c")


def test_rotation_keeps_old_values_readable_and_seals_with_the_newest():
    old_key, new_key = generate_key(), generate_key()
    old = Keyring.parse(f"k1:{old_key}", generate_key())
    sealed_before = old.encrypt(ID, "c")
    rotated = Keyring.parse(f"k2:{new_key},k1:{old_key}", generate_key())
    assert rotated.decrypt(sealed_before, "c") == ID
    assert rotated.key_id_of(rotated.encrypt(ID, "c")) == "k2"
    retired = Keyring.parse(f"k2:{new_key}", generate_key())
    with pytest.raises(DecryptionError):
        retired.decrypt(sealed_before, "c")


def test_blind_index_is_stable_keyed_and_context_bound():
    index_key = generate_key()
    ring = Keyring.parse(f"k1:{generate_key()}", index_key)
    again = Keyring.parse(f"k9:{generate_key()}", index_key)
    other = Keyring.parse(f"k1:{generate_key()}", generate_key())
    assert ring.blind_index(ID, "id") == again.blind_index(ID, "id")
    assert ring.blind_index(ID, "id") != other.blind_index(ID, "id")
    assert ring.blind_index(ID, "id") != ring.blind_index(ID, "phone")
    assert ID not in ring.blind_index(ID, "id")


@pytest.mark.parametrize("keys", ["", "k1", "k1:" + "A" * 10, "bad kid:" + "A" * 43, ","])
def test_malformed_keys_are_refused(keys):
    with pytest.raises(ValueError, match="key"):
        Keyring.parse(keys, generate_key())


def test_app_refuses_to_start_with_malformed_keys(app_config):
    from app import create_app

    with pytest.raises(ConfigError):
        create_app({**app_config, "data_encryption_keys": "k1:short", "blind_index_key": generate_key()})
