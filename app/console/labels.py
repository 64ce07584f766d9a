"""The Chinese words the console shows for the contract's codes (statuses, rules, refusals)."""

from __future__ import annotations

from app.directory.vocabulary import EMPLOYMENT_FORMS, OCCUPATIONS, UNION_KIND_NAMES

APPLICATION_STATUS_NAMES = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "不予通过",
    "returned": "退回补充",
    "withdrawn": "已撤回",
}
ROUTE_RULE_NAMES = {
    "override": "指定规则",
    "enterprise": "企业工会",
    "industry": "行业工会",
    "regional": "区域工会",
    "fallback": "地方总工会兜底",
    "transfer": "转办",
    "dissolution": "工会撤销转办",
}
ACTION_NAMES = {"approve": "通过", "return": "退回补充", "reject": "不予通过"}
# Why a bulk row was (or would be) refused, in the officer's words.
REFUSAL_NAMES = {
    "application_not_found": "申请不存在或不在管辖范围内",
    "invalid_state": "不在待审核状态",
    "stale_version": "刚被其他工作人员处理",
    "already_member": "申请人已是会员",
    "conflict": "与现有数据冲突",
}
DUPLICATE_MATCH_NAMES = {"id_number": "身份证号相同", "phone": "手机号相同"}
# Reasons offered with a refusal; the officer may always write its own.
COMMON_REASONS = {
    "return": ("身份证号与姓名不一致，请核对后重新提交", "工作单位信息不完整，请补充", "职业与站点不符，请确认"),
    "reject": ("不属于本工会受理范围", "已是其他工会会员", "重复提交的申请"),
}

LABELS = {
    "status": APPLICATION_STATUS_NAMES,
    "rule": ROUTE_RULE_NAMES,
    "action": ACTION_NAMES,
    "refusal": REFUSAL_NAMES,
    "match": DUPLICATE_MATCH_NAMES,
    "occupation": OCCUPATIONS,
    "employment_form": EMPLOYMENT_FORMS,
    "union_kind": UNION_KIND_NAMES,
    "reasons": COMMON_REASONS,
}
