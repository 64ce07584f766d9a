"""One key derivation from SECRET_KEY (bytes unchanged: stored data and issued tokens still verify); one id parser."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.db import NO_SUCH_ID, parse_id
from app.privacy import Keyring, derive_key

SECRET = "a-secret-key-of-some-length-0123456789"


def _hmac(message: bytes) -> bytes:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).digest()


@pytest.mark.parametrize(
    ("purpose", "as_first_derived"),
    [
        # The formulas each key was derived with before there was one function, written out.
        ("jwt", _hmac(b"ruhui-jwt-v1")),
        ("data-key-dev", _hmac(b"ruhui-data-key-dev")),
        ("blind-index-dev", _hmac(b"ruhui-blind-index-dev")),
        ("otp-code-v1", _hmac(b"ruhui:otp-code-v1")),
        ("card", f"ruhui-card:{SECRET}".encode()),
    ],
)
def test_every_derived_key_keeps_its_bytes(purpose, as_first_derived):
    assert derive_key(SECRET, purpose) == as_first_derived


def test_the_development_keyring_and_purposes_are_distinct():
    ring = Keyring.derived_from(SECRET)
    assert ring.keys["dev"] == _hmac(b"ruhui-data-key-dev")
    assert ring.index_key == _hmac(b"ruhui-blind-index-dev")
    purposes = ["jwt", "data-key-dev", "blind-index-dev", "otp-code-v1", "card", "something-new"]
    assert len({derive_key(SECRET, purpose) for purpose in purposes}) == len(purposes)
    assert derive_key(SECRET, "something-new") == _hmac(b"ruhui:something-new")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        (42, 42),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", NO_SUCH_ID),  # beyond BIGINT
        ("0", NO_SUCH_ID),
        (0, NO_SUCH_ID),
        (-3, NO_SUCH_ID),
        ("-3", NO_SUCH_ID),
        ("", NO_SUCH_ID),
        ("4x", NO_SUCH_ID),
        ("٤٢", NO_SUCH_ID),  # Arabic-Indic digits are digits to str.isdigit, not ids
        ("00000000000000000042", NO_SUCH_ID),  # 20 characters
    ],
)
def test_parse_id_has_one_contract(raw, expected):
    assert parse_id(raw) == expected
    assert bool(parse_id(raw)) is (expected != NO_SUCH_ID)
