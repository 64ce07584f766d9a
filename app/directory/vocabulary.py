"""The directory's fixed vocabularies (contract values and their Chinese names), free of any database code."""

from __future__ import annotations

UNION_KINDS = ("federation", "industry", "regional", "enterprise")

UNION_KIND_NAMES: dict[str, str] = {
    "federation": "地方总工会",
    "industry": "行业工会",
    "regional": "区域工会",
    "enterprise": "企业工会",
}

OCCUPATIONS: dict[str, str] = {
    "courier": "快递员",
    "truck_driver": "货车司机",
    "caregiver": "护工",
    "domestic_worker": "家政服务员",
    "mall_info_worker": "商场信息员",
    "food_delivery_rider": "网约送餐员",
    "real_estate_agent": "房产中介员",
    "security_guard": "保安员",
    "other": "其他",
}

EMPLOYMENT_FORMS: dict[str, str] = {
    "contract": "劳动合同",
    "dispatch": "劳务派遣",
    "platform": "平台/新就业形态",
    "self_employed": "个体",
    "other": "其他",
}
