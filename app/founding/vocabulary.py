"""Founding's fixed vocabularies: department sources, sectors, stages (contract values and their Chinese names)."""

from __future__ import annotations

# The departments whose lists are imported (the policy annex), and ``derived``: a target Ruhui found itself
# (an employer or a blind-spot station whose workers joined without a union of their own, 以入会促建会).
IMPORT_SOURCES: dict[str, str] = {
    "market_regulation": "市场监管部门",
    "health": "卫生健康部门",
    "commerce": "商务部门",
    "postal": "邮政管理部门",
    "civil_affairs": "民政部门",
    "other": "其他",
}
TARGET_SOURCES: dict[str, str] = {**IMPORT_SOURCES, "derived": "入会数据发现"}

# The new economic and social organisations the annex names, plus ``other``.
SECTORS: dict[str, str] = {
    "internet": "互联网企业",
    "express_delivery": "快递企业",
    "food_delivery": "外卖配送企业",
    "road_freight": "道路货运企业",
    "security_service": "保安服务企业",
    "domestic_service": "家政服务企业",
    "care_service": "护理服务机构",
    "real_estate_agency": "房地产中介机构",
    "private_school": "民办学校",
    "private_medical": "民营医疗机构",
    "law_firm": "律师事务所",
    "accounting": "会计师事务所",
    "agriculture": "农业企业和合作社",
    "dev_zone_enterprise": "开发区企业",
    "social_org": "社会组织",
    "other": "其他",
}

# The sector a derived target gets from the occupation of the workers who revealed it.
SECTOR_OF_OCCUPATION: dict[str, str] = {
    "courier": "express_delivery",
    "truck_driver": "road_freight",
    "caregiver": "care_service",
    "domestic_worker": "domestic_service",
    "food_delivery_rider": "food_delivery",
    "real_estate_agent": "real_estate_agency",
    "security_guard": "security_service",
}

# 摸排 → 宣传动员 → 筹备组报上级批复 → 发展会员 → 会员（代表）大会 → 上级批复选举结果 → 法人资格登记 → 运行
STAGE_ORDER: tuple[str, ...] = (
    "identified",
    "contacted",
    "preparing",
    "recruiting",
    "congress_held",
    "election_approved",
    "registered",
    "active",
)
EXITS: tuple[str, ...] = ("joined_joint_union", "not_applicable", "deferred")
STAGES: tuple[str, ...] = (*STAGE_ORDER, *EXITS)
# A case in one of these is over: no further step (``deferred`` may resume).
CLOSED_STAGES: tuple[str, ...] = ("active", "joined_joint_union", "not_applicable")
OPEN_STAGES: tuple[str, ...] = tuple(stage for stage in STAGES if stage not in CLOSED_STAGES)

STAGE_NAMES: dict[str, str] = {
    "identified": "已摸排",
    "contacted": "已宣传动员",
    "preparing": "筹备组已批复",
    "recruiting": "发展会员",
    "congress_held": "已召开会员（代表）大会",
    "election_approved": "选举结果已批复",
    "registered": "已取得法人资格登记",
    "active": "已建会运行",
    "joined_joint_union": "已加入联合基层工会",
    "not_applicable": "不具备建会条件",
    "deferred": "暂缓",
}

CASE_SOURCES = ("officer", "derived")
