"""Mainland China mobile numbers: the one shape we accept, how one is shown, and how a stored one is read.

Small on purpose: the outbox worker reads a person's number through ``phone_of``
without loading the auth service.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from app.privacy import keyring

if TYPE_CHECKING:
    from app.auth.models import Person

PHONE_PURPOSE = "person.phone"  # the blind-index and sealing purpose of a mobile number

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")  # [0-9], not \d, which also matches non-ASCII digits
_SEPARATORS = re.compile(r"[\s-]+")
# Data-only (IoT) ranges: no SMS for people arrives there.
_IOT_PREFIXES = ("140", "141", "144", "146", "148")


class InvalidPhone(ValueError):
    """Not a mainland mobile number a person can receive a code on."""


def normalise_phone(raw: str) -> str:
    """``+86 138-1234-5678`` → ``13812345678``; anything else raises ``InvalidPhone``."""
    phone = _SEPARATORS.sub("", raw)
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if not _MOBILE.fullmatch(phone) or phone.startswith(_IOT_PREFIXES):
        raise InvalidPhone(raw)
    return phone


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``, the only way a number is shown."""
    return f"{phone[:3]}****{phone[-4:]}"


def phone_of(person: Person) -> str:
    """The person's full mobile number (to send an SMS; never to log or show unmasked)."""
    return keyring().decrypt(person.phone_sealed, PHONE_PURPOSE)
