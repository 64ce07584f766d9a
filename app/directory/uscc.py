"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

An 18-character code: registration authority (1), organisation type (1), the
registering region's GB/T 2260 code (6 digits), the organisation code (9) and a
check character. Letters I, O, Z, S and V are never used, so the alphabet has 31
characters, each worth its index; the check character makes
``sum(value × weight)`` a multiple of 31.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_VALUES = {char: value for value, char in enumerate(ALPHABET)}


def normalise_uscc(raw: str) -> str:
    """Upper-case and strip spaces: what people type is often ``9132 0102 ...`` in lower case."""
    return "".join(raw.split()).upper()


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (which must be in the alphabet)."""
    total = sum(_VALUES[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why ``code`` (already normalised) is not a valid USCC, in Chinese; ``None`` when it is."""
    if len(code) != LENGTH:
        return f"统一社会信用代码须为 {LENGTH} 位"
    if any(char not in _VALUES for char in code):
        return "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）"
    if not code[2:8].isdigit():
        return "统一社会信用代码第 3–8 位须为行政区划代码"
    if check_character(code[:17]) != code[17]:
        return "统一社会信用代码校验位不正确"
    return None
