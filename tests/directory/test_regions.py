"""GB/T 2260 regions: Jiangsu's list, validation and containment by code."""

from __future__ import annotations

import pytest

from app.directory import regions


def test_jiangsu_has_its_province_13_cities_and_95_county_level_divisions():
    jiangsu = [r for r in regions.all_regions().values() if r.code.startswith("32")]
    levels = [r.level for r in jiangsu]
    assert levels.count("province") == 1
    assert levels.count("city") == 13
    assert levels.count("county") == 95
    assert all(r.name and r.name == r.name.strip() and "\r" not in r.name for r in jiangsu)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("320000", True),
        ("320100", True),
        ("320102", True),  # 玄武区
        ("320583", True),  # 昆山市 (a county-level city)
        ("321324", True),  # 泗洪县
        ("320103", False),  # 白下区, merged into 秦淮区 in 2013
        ("320101", False),  # 市辖区 is not a place
        ("320211", True),  # 滨湖区
        ("320202", False),  # 崇安区, merged into 梁溪区 in 2015
        ("320613", True),  # 崇川区 since its 2020 merger with 港闸区
        ("320602", False),  # 崇川区's code before that merger
        ("320611", False),  # 港闸区, merged into 崇川区 in 2020
        ("999999", False),
        ("32010", False),
        ("3201022", False),
        ("abcdef", False),
        ("", False),
    ],
)
def test_region_codes_are_validated_against_the_list(code, valid):
    assert regions.is_valid_region_code(code) is valid


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("320000", "320102", True),
        ("320100", "320102", True),
        ("320102", "320102", True),
        ("320102", "320100", False),
        ("320500", "320102", False),
        ("320100", "320583", False),
    ],
)
def test_containment_follows_the_code(outer, inner, expected):
    assert regions.contains(outer, inner) is expected


def test_names():
    assert regions.full_name("320102") == "江苏省南京市玄武区"
    assert regions.display_name("320102") == "南京市玄武区"
    assert regions.display_name("320100") == "南京市"
    assert regions.display_name("320000") == "江苏省"
    assert regions.ancestors("320583") == ["320583", "320500", "320000"]
    assert set(regions.within("320100")) == {
        "320100",
        *(c for c in regions.all_regions() if c.startswith("3201") and c != "320100"),
    }


def test_another_province_is_added_by_dropping_in_its_file(tmp_path):
    shipped = (regions.DATA_DIR / "regions-jiangsu.tsv").read_bytes()
    (tmp_path / "regions-jiangsu.tsv").write_bytes(shipped)
    (tmp_path / "regions-zhejiang.tsv").write_text(
        "code\tname\tlevel\tparent\r\n330000\t浙江省\tprovince\t\r\n330100\t杭州市\tcity\t330000\r\n"
        "330106\t西湖区 \tcounty\t330100\r\n",
        encoding="utf-8",
    )
    loaded = regions.load_regions(tmp_path)
    assert loaded["330106"] == regions.Region("330106", "西湖区", "county", "330100")
    assert loaded.keys() >= regions.all_regions().keys()
    assert len(loaded) == len(regions.all_regions()) + 3


def test_a_malformed_region_file_is_refused(tmp_path):
    (tmp_path / "regions-bad.tsv").write_text("code\tname\tlevel\tparent\n33000\t浙江省\tprovince\t\n")
    with pytest.raises(ValueError, match="malformed"):
        regions.load_regions(tmp_path)
