"""Names and resident ID numbers as GB 11643 and our users need them."""

from __future__ import annotations

import datetime as dt

import pytest

from app.directory.regions import is_valid_region_code
from app.enrollment.identity import (
    IdentityError,
    check_character,
    mask_id_number,
    mask_name,
    normalise_name,
    parse_id_number,
)

TODAY = dt.date(2026, 11, 28)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        ("  欧阳娜娜 ", "欧阳娜娜"),
        ("买买提·艾力", "买买提·艾力"),
        ("买买提•艾力", "买买提·艾力"),
        ("John  Smith", "John Smith"),
        ("𠮷野家", "𠮷野家"),
    ],
)
def test_valid_names(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    "raw", ["张", "", "张3", "张 三", "John3", "·张三", "张三·", "a" * 31, "Zhang·三", "<b>李</b>"]
)
def test_invalid_names(raw):
    with pytest.raises(IdentityError):
        normalise_name(raw)


def test_the_contract_example_id_is_valid_and_read():
    resident = parse_id_number("11010519491231002X", TODAY)
    assert resident.number == "11010519491231002X"
    assert resident.birth_date == dt.date(1949, 12, 31)
    assert resident.sex == "female"
    assert resident.age_on(TODAY) == 76


def test_an_id_number_keeps_the_region_code_it_was_issued_with():
    # 崇川区 was 320602 until its 2020 merger (now 320613); numbers issued there stay valid for life.
    assert not is_valid_region_code("320602")
    resident = parse_id_number("32060219850317004" + check_character("32060219850317004"), TODAY)
    assert resident.birth_date == dt.date(1985, 3, 17)


def test_lower_case_x_is_normalised():
    assert parse_id_number("11010519491231002x", TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("110105194912310021", "校验位"),
        ("11010519491231002", "18 位"),
        ("1101051949123100211", "18 位"),
        ("11010519491231002Y", "18 位"),
        ("99010519491231002X", "地区码"),
        ("110105194902300020", "出生日期"),  # 30 February
        ("110105203001010010", "出生日期"),  # born in the future
    ],
)
def test_invalid_id_numbers(raw, complaint):
    with pytest.raises(IdentityError, match=complaint):
        parse_id_number(raw, TODAY)


@pytest.mark.parametrize(("sequence", "sex"), [("123", "male"), ("124", "female")])
def test_sex_follows_the_parity_of_the_seventeenth_digit(sequence, sex):
    first17 = "32010220000101" + sequence
    resident = parse_id_number(first17 + check_character(first17), TODAY)
    assert resident.sex == sex
    assert resident.birth_date == dt.date(2000, 1, 1)


def test_age_turns_on_the_birthday():
    first17 = "32010220101128123"
    resident = parse_id_number(first17 + check_character(first17), TODAY)
    assert resident.age_on(TODAY) == 16
    assert resident.age_on(TODAY - dt.timedelta(days=1)) == 15


@pytest.mark.parametrize(
    ("function", "value", "masked"),
    [
        (mask_name, "张三", "张*"),
        (mask_name, "欧阳娜娜", "欧***"),
        (mask_id_number, "11010519491231002X", "110105********002X"),
    ],
)
def test_masking(function, value, masked):
    assert function(value) == masked
