"""Personal data at rest: AES-GCM encryption under rotatable keys, and keyed blind indexes.

A ciphertext is ``v1.<kid>.<nonce>.<ciphertext>`` (base64url parts), so every value
says which key sealed it; new values are sealed with the current (first-listed) key
and old ones stay readable until ``flask --app wsgi reencrypt`` moves them over.
A blind index is an HMAC of the normalised value: equal values find each other
without the database ever holding the value in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app

from app.config import ConfigError, Settings

_VERSION = "v1"


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class DecryptionError(Exception):
    """A ciphertext that no configured key opens (wrong key, tampering, unknown key id)."""


@dataclass(frozen=True)
class Keyring:
    keys: Mapping[str, bytes]  # kid → 32-byte AES key
    current_kid: str
    index_key: bytes

    @classmethod
    def parse(cls, data_keys: str, index_key: str) -> Keyring:
        """``data_keys`` is ``kid:base64key[,kid:base64key…]``, the current key first."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for entry in filter(None, (part.strip() for part in data_keys.split(","))):
            kid, sep, encoded = entry.partition(":")
            if not sep or not kid.isalnum():
                raise ValueError("each data key must be written kid:base64key, with an alphanumeric kid")
            key = _b64d(encoded.strip())
            if len(key) != 32:
                raise ValueError(f"data key {kid!r} must be 32 bytes (AES-256), base64-encoded")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise ValueError("at least one data key is needed")
        index = _b64d(index_key.strip())
        if len(index) < 32:
            raise ValueError("the blind-index key must be at least 32 bytes, base64-encoded")
        return cls(keys=keys, current_kid=order[0], index_key=index)

    @classmethod
    def derived_from(cls, secret_key: str) -> Keyring:
        """Development keys derived from SECRET_KEY (production sets its own)."""
        data = derive_key(secret_key, "data-key-dev")
        index = derive_key(secret_key, "blind-index-dev")
        return cls(keys={"dev": data}, current_kid="dev", index_key=index)

    def encrypt(self, plaintext: str, context: str) -> str:
        """Seal ``plaintext``; ``context`` (e.g. ``person.id_number``) is bound as associated data."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current_kid]).encrypt(nonce, plaintext.encode(), context.encode())
        return ".".join((_VERSION, self.current_kid, _b64e(nonce), _b64e(sealed)))

    def decrypt(self, token: str, context: str) -> str:
        """Open a sealed value. An erased one (``app.retention`` blanks it) is the empty string and opens to it."""
        if token == "":
            return ""
        try:
            version, kid, nonce, sealed = token.split(".")
            if version != _VERSION or kid not in self.keys:
                raise DecryptionError(f"no key {kid!r}")
            return AESGCM(self.keys[kid]).decrypt(_b64d(nonce), _b64d(sealed), context.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise DecryptionError("ciphertext does not open") from exc

    def key_id_of(self, token: str) -> str:
        return token.split(".")[1]

    def blind_index(self, value: str, context: str) -> str:
        """A stable keyed digest of ``value`` for equality look-ups (hex, 64 chars)."""
        return hmac.new(self.index_key, f"{context}\x00{value}".encode(), hashlib.sha256).hexdigest()


# The purposes whose keys were derived before this function existed, each with the message it
# was derived with then: what they protect (sealed data, blind indexes, signed tokens) must
# still open, so their bytes never change. Every other purpose derives from "ruhui:<purpose>".
_FIRST_MESSAGES = {
    "jwt": b"ruhui-jwt-v1",
    "data-key-dev": b"ruhui-data-key-dev",
    "blind-index-dev": b"ruhui-blind-index-dev",
}


def derive_key(secret_key: str, purpose: str) -> bytes:
    """The key for one purpose (``jwt``, ``otp-code-v1``, ``card``…), derived from the app's root secret.

    A 256-bit HMAC-SHA256 of the purpose under ``SECRET_KEY``, except ``card``: the
    member-card tokens were first signed with ``ruhui-card:<SECRET_KEY>`` itself (HS256
    hashes its key anyway), and a card shown at a gate must keep verifying.
    """
    if purpose == "card":
        return f"ruhui-card:{secret_key}".encode()
    message = _FIRST_MESSAGES.get(purpose, f"ruhui:{purpose}".encode())
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def generate_key() -> str:
    """A fresh base64url 32-byte key, for operators filling DATA_ENCRYPTION_KEYS."""
    return _b64e(os.urandom(32))


def init_keyring(app: Flask, settings: Settings) -> None:
    if settings.data_encryption_keys:
        try:
            keyring = Keyring.parse(settings.data_encryption_keys, settings.blind_index_key)
        except ValueError as exc:
            raise ConfigError(f"Refusing to start: {exc}.") from None
    else:
        keyring = Keyring.derived_from(settings.secret_key)
    app.extensions["ruhui.keyring"] = keyring


def keyring() -> Keyring:
    ring: Keyring = current_app.extensions["ruhui.keyring"]
    return ring
