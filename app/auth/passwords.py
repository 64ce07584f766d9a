"""Password hashing with argon2id (argon2-cffi's tuned defaults; its cheapest profile under test)."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def use_test_profile(enabled: bool) -> None:
    """Under ``RUHUI_ENV=test`` hash with argon2's CHEAPEST profile: 0.2 s per officer adds minutes to the suite.

    Hashes carry their own parameters, so either hasher verifies the other's hashes.
    """
    global _hasher, _dummy_hash
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if enabled else PasswordHasher()
    _dummy_hash = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_hash() -> str:
    """Verified against when a username is unknown, so a miss costs as long as a hit."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("ruhui-timing-equaliser")
    return _dummy_hash
