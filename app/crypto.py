"""Personal data at rest: field encryption (AES-256-GCM) and keyed blind indexes.

A phone number (and later an ID number) is stored twice: sealed, so it can be read
back to send an SMS or show it to an officer, and as a blind index (an HMAC under a
key of its own), so it can be found by equality without being readable. A database
dump alone reveals neither.

Keys are derived from ``SECRET_KEY`` with a label per purpose, so one secret feeds
several independent keys. ``SECRET_KEY`` therefore must not change once personal
data is stored: the blind indexes and the ``s1`` ciphertexts depend on it. Sealed
values carry their key id (``s1.<base64>``), so a later key can be added without
rewriting old rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

_KEY_ID = "s1"
_NONCE_BYTES = 12


class UnreadableCiphertext(Exception):
    """A sealed value that this key set cannot open (wrong key, tampered, or malformed)."""


def derive_key(secret_key: str, label: str) -> bytes:
    """A 256-bit key for one purpose, derived from the app's root secret."""
    return hmac.new(secret_key.encode(), f"ruhui:{label}".encode(), hashlib.sha256).digest()


class FieldCipher:
    """Seals and opens short text values; ``purpose`` binds a ciphertext to its column."""

    def __init__(self, secret_key: str) -> None:
        self._aead = {_KEY_ID: AESGCM(derive_key(secret_key, "field-encryption-v1"))}
        self._index_key = derive_key(secret_key, "blind-index-v1")

    def seal(self, purpose: str, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead[_KEY_ID].encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{_KEY_ID}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, purpose: str, token: str) -> str:
        kid, _, body = token.partition(".")
        aead = self._aead.get(kid)
        if aead is None:
            raise UnreadableCiphertext(f"unknown key id {kid!r}")
        try:
            raw = base64.urlsafe_b64decode(body)
            return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode()).decode()
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise UnreadableCiphertext("ciphertext does not open") from exc

    def blind_index(self, purpose: str, value: str) -> str:
        """A stable 64-hex-digit lookup key for ``value``; equal inputs give equal indexes."""
        return hmac.new(self._index_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def field_cipher() -> FieldCipher:
    """The cipher of the current app (built once per app)."""
    cipher = current_app.extensions.get("ruhui.field_cipher")
    if cipher is None:
        cipher = FieldCipher(current_app.extensions["ruhui.settings"].secret_key)
        current_app.extensions["ruhui.field_cipher"] = cipher
    assert isinstance(cipher, FieldCipher)
    return cipher
