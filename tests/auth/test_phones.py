"""Only mainland mobile numbers a person can receive a code on are accepted."""

from __future__ import annotations

import pytest

from app.auth.phones import InvalidPhone, mask_phone, normalise_phone


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("13812345678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("19912345678", "19912345678"),
        ("14512345678", "14512345678"),  # 145 is a data-card range that does take SMS
    ],
)
def test_accepted_forms(raw, phone):
    assert normalise_phone(raw) == phone


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12812345678",  # second digit 2
        "10012345678",
        "23812345678",
        "+85213812345678",  # Hong Kong prefix
        "+1 138 1234 5678",
        "14012345678",  # IoT ranges
        "14112345678",
        "14412345678",
        "14612345678",
        "14812345678",
        "138１２３４５６７８",  # full-width digits
        "138.1234.5678",
        "861381234567",  # 86 + ten digits
    ],
)
def test_refused_forms(raw):
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_mask_shows_first_three_and_last_four():
    assert mask_phone("13812345678") == "138****5678"
