"""Real-name checks: names and resident ID numbers (GB 11643-1999), and how they are shown masked."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# Chinese characters (with the middle dot of minority and transliterated names: 买买提·艾力),
# or Latin letters and spaces for foreign-born residents. 2–30 characters.
_CHINESE_NAME = re.compile(
    r"^[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef]+(?:[·•．.][\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef]+)*$"
)
_LATIN_NAME = re.compile(r"^[A-Za-z]+(?: [A-Za-z]+)*$")
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


class IdentityError(ValueError):
    """A name or ID number that fails a rule; ``message`` is shown to the worker."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise_name(raw: str) -> str:
    """Validate a real name and return it tidied (outer spaces trimmed, one middle-dot form)."""
    name = " ".join(raw.split())
    name = re.sub(r"[•．.]", "·", name) if _CHINESE_NAME.match(name) else name
    if not 2 <= len(name) <= 30:
        raise IdentityError("姓名须为 2 到 30 个字符")
    if not (_CHINESE_NAME.match(name) or _LATIN_NAME.match(name)):
        raise IdentityError("姓名只能包含汉字、间隔号“·”或英文字母和空格")
    return name


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "male" | "female", from the parity of the sequence code

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_id_number(raw: str, today: dt.date) -> ResidentId:
    """Check an 18-character resident ID number and read its birth date and sex."""
    number = raw.strip().upper()
    if not _ID_SHAPE.match(number):
        raise IdentityError("身份证号码须为 18 位，最后一位可以是数字或 X")
    if number[:2] not in _PROVINCE_PREFIXES:
        raise IdentityError("身份证号码的地区码无效")
    try:
        birth_date = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentityError("身份证号码中的出生日期无效") from None
    if birth_date > today or birth_date.year < 1900:
        raise IdentityError("身份证号码中的出生日期无效")
    if check_character(number[:17]) != number[17]:
        raise IdentityError("身份证号码校验位错误，请核对后重新输入")
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return ResidentId(number=number, birth_date=birth_date, sex=sex)


# Province-level codes of GB/T 2260 (first two digits). A worker registered anywhere in China
# may work in Jiangsu, so the ID's region is checked against every province, not just ours.
_PROVINCE_PREFIXES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    }
)


def mask_name(name: str) -> str:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``, ``John Smith`` → ``J*********``."""
    return name[0] + "*" * (len(name) - 1) if name else ""


def mask_id_number(number: str) -> str:
    """``11010519491231002X`` → ``110105********002X``: region kept, birth date hidden."""
    return number[:6] + "*" * 8 + number[14:] if len(number) == 18 else "*" * len(number)
