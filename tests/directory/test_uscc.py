"""Unified social credit codes (GB 32100-2015) with real codes, valid and broken."""

from __future__ import annotations

import pytest

from app.directory.uscc import check_character, normalise_uscc, uscc_problem


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the worked example of GB 32100-2015
        "914403001922038216",  # 华为技术有限公司 (public record)
        "91440300708461136T",  # 深圳市腾讯计算机系统有限公司 (public record)
        "91110108551385082Q",  # 小米科技有限责任公司 (public record)
        "9132 0102 MA1X CN2D 8K",  # the demo's 迅驰速运南京分公司, spaced as people type it
        "91350100m000100y43",  # lower case
    ],
)
def test_valid_codes(code):
    assert uscc_problem(normalise_uscc(code)) is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("914403001922038217", "校验位不正确"),  # Huawei's with the check character changed
        ("91440300708461136X", "校验位不正确"),
        ("91350100M000100Y4", "须为 18 位"),
        ("91350100M000100Y433", "须为 18 位"),
        ("", "须为 18 位"),
        ("91350100M0001O0Y43", "不允许的字符"),  # the letter O is never used
        ("9135010OM000100Y43", "不允许的字符"),
        ("913501I0M000100Y43", "不允许的字符"),
        ("91ABCDEFM000100Y43", "第 3–8 位须为行政区划代码"),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "不允许的字符"),  # full-width digits
    ],
)
def test_invalid_codes_say_why(code, problem):
    assert problem in (uscc_problem(normalise_uscc(code)) or "")
    assert uscc_problem(normalise_uscc(code)) is not None


def test_check_character_of_the_standards_example():
    assert check_character("91350100M000100Y4") == "3"
