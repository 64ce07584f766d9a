"""The routing engine on hand-built snapshots: one table per rule and per tie-break, no database."""

from __future__ import annotations

import pytest

from app.routing.engine import (
    CHOSEN,
    NOT_APPLICABLE,
    PASSED_OVER,
    RULES,
    DirectorySnapshot,
    EmployerFacts,
    NoUnionAvailable,
    OverrideRule,
    RouteDecision,
    StationFacts,
    UnionFacts,
    route,
)

# Regions: 320000 江苏省 ⊃ 320100 南京市 ⊃ 320102 玄武区, 320106 鼓楼区; 320500 苏州市 ⊃ 320508 姑苏区;
# 320200 无锡市 ⊃ 320213 梁溪区.
PROVINCE_FED = UnionFacts(1, "江苏省总工会", "federation", "320000")
NANJING_FED = UnionFacts(2, "南京市总工会", "federation", "320100")
XUANWU_FED = UnionFacts(3, "玄武区总工会", "federation", "320102")
FEDERATIONS = (PROVINCE_FED, NANJING_FED, XUANWU_FED)

HQ = EmployerFacts(100, "迅驰速运有限公司", "320508")
BRANCH = EmployerFacts(101, "迅驰速运有限公司南京分公司", "320102", parent_id=100)
DEPOT = EmployerFacts(102, "迅驰速运玄武点部", "320102", parent_id=101)
EMPLOYERS = (HQ, BRANCH, DEPOT)

STATION = StationFacts(500, "玄武营业部", "320102", employer_id=101, occupation="courier")
NO_EMPLOYER = StationFacts(501, "社区驿站", "320102", occupation="courier")


def union(
    id: int,
    kind: str,
    region: str,
    *,
    occupations: tuple[str, ...] = (),
    employer: int | None = None,
    accepting: bool = True,
) -> UnionFacts:
    return UnionFacts(id, f"工会{id}", kind, region, frozenset(occupations), employer, accepting)


def couriers(id: int, region: str, *, accepting: bool = True) -> UnionFacts:
    """An industry union for couriers."""
    return union(id, "industry", region, occupations=("courier",), accepting=accepting)


def decide(
    unions: tuple[UnionFacts, ...],
    station: StationFacts = STATION,
    occupation: str = "courier",
    rules: tuple[OverrideRule, ...] = (),
    employers: tuple[EmployerFacts, ...] = EMPLOYERS,
) -> RouteDecision:
    decision = route(DirectorySnapshot.of(unions=unions, employers=employers, rules=rules), station, occupation)
    assert_trace_is_coherent(decision)
    return decision


def assert_trace_is_coherent(decision: RouteDecision) -> None:
    """One chosen step, for the decision's union and rule; rules appear in order; every step says why in Chinese."""
    chosen = [step for step in decision.trace if step.outcome == CHOSEN]
    assert len(chosen) == 1
    assert (chosen[0].union_id, chosen[0].rule) == (decision.union_id, decision.rule)
    order = [RULES.index(step.rule) for step in decision.trace]
    assert order == sorted(order)
    assert all(step.rule == decision.rule for step in decision.trace[decision.trace.index(chosen[0]) :])
    for step in decision.trace:
        assert step.outcome in (CHOSEN, PASSED_OVER, NOT_APPLICABLE)
        assert any("\u4e00" <= char <= "\u9fff" for char in step.reason), step.reason
        if step.outcome == NOT_APPLICABLE:
            assert step.union_id is None
        elif step.union_id is None:  # the count of candidates left out of the trace
            assert step.outcome == PASSED_OVER and "排序更靠后" in step.reason
    assert decision.reasons == [step.reason for step in decision.trace]
    assert decision.is_blind_spot == (decision.rule == "fallback")


# --- rule 1: overrides ----------------------------------------------------------------------------------------------

ENTERPRISE = union(10, "enterprise", "320100", employer=101)
INDUSTRY = couriers(20, "320100")
REGIONAL = union(30, "regional", "320102")
TARGET_A = union(40, "regional", "320106")
TARGET_B = union(41, "regional", "320106")
PAUSED_TARGET = union(42, "regional", "320106", accepting=False)
EVERYTHING = (*FEDERATIONS, ENTERPRISE, INDUSTRY, REGIONAL, TARGET_A, TARGET_B, PAUSED_TARGET)


@pytest.mark.parametrize(
    ("case", "rules", "station", "occupation", "expected"),
    [
        ("a station rule beats the enterprise union", (OverrideRule(1, 40, station_id=500),), STATION, "courier", 40),
        (
            "higher priority wins",
            (OverrideRule(1, 40, priority=1, station_id=500), OverrideRule(2, 41, priority=9, station_id=500)),
            STATION,
            "courier",
            41,
        ),
        (
            "same priority: a station rule beats a region rule",
            (
                OverrideRule(1, 41, region_code="320102", occupation="courier"),
                OverrideRule(2, 40, station_id=500),
            ),
            STATION,
            "courier",
            40,
        ),
        (
            "same priority and subject: the lowest rule id",
            (OverrideRule(7, 41, station_id=500), OverrideRule(3, 40, station_id=500)),
            STATION,
            "courier",
            40,
        ),
        (
            "same priority: the smaller region wins",
            (
                OverrideRule(1, 41, region_code="320000", occupation="courier"),
                OverrideRule(2, 40, region_code="320102", occupation="courier"),
            ),
            STATION,
            "courier",
            40,
        ),
        (
            "an employer rule on the HQ covers its branches",
            (OverrideRule(1, 40, employer_id=100),),
            STATION,
            "courier",
            40,
        ),
        (
            "a rule for the union on pause is passed over for the next one",
            (OverrideRule(1, 42, priority=9, station_id=500), OverrideRule(2, 41, priority=1, station_id=500)),
            STATION,
            "courier",
            41,
        ),
    ],
)
def test_override_rules(case, rules, station, occupation, expected):
    decision = decide(EVERYTHING, station=station, occupation=occupation, rules=rules)
    assert (decision.rule, decision.union_id) == ("override", expected), case


@pytest.mark.parametrize(
    ("case", "rules", "expected_rule"),
    [
        ("another station's rule", (OverrideRule(1, 40, station_id=999),), "enterprise"),
        ("another occupation's rule", (OverrideRule(1, 40, station_id=500, occupation="caregiver"),), "enterprise"),
        ("a region rule elsewhere", (OverrideRule(1, 40, region_code="320500", occupation="courier"),), "enterprise"),
        ("an unrelated employer's rule", (OverrideRule(1, 40, employer_id=777),), "enterprise"),
        ("only a paused target", (OverrideRule(1, 42, station_id=500),), "enterprise"),
    ],
)
def test_override_rules_that_do_not_apply(case, rules, expected_rule):
    decision = decide(EVERYTHING, rules=rules)
    assert decision.rule == expected_rule, case
    assert decision.trace[0].rule == "override"


def test_override_trace_says_which_rule_and_why_the_others_lost():
    rules = (
        OverrideRule(5, 40, priority=3, station_id=500, note="驿站由商圈工会就近服务"),
        OverrideRule(6, 41, priority=1, station_id=500),
    )
    decision = decide(EVERYTHING, rules=rules)
    first, second = decision.trace[:2]
    assert first.outcome == CHOSEN and first.override_rule_id == 5
    assert first.reason == (
        "管理员设置的覆盖规则 #5（优先级 3）：站点「玄武营业部」的入会申请交由「工会40」受理。"
        "（备注：驿站由商圈工会就近服务）"
    )
    assert second.outcome == PASSED_OVER and "优先级低于已采用的覆盖规则 #5" in second.reason


# --- rule 2: enterprise unions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "unions", "station", "expected"),
    [
        ("an enterprise union beats an industry union", (ENTERPRISE, INDUSTRY), STATION, ("enterprise", 10)),
        (
            "a non-accepting enterprise union is passed over",
            (union(10, "enterprise", "320100", employer=101, accepting=False), INDUSTRY),
            STATION,
            ("industry", 20),
        ),
        (
            "a branch with no union falls to its HQ's union when that union's region contains the station",
            (union(11, "enterprise", "320000", employer=100), INDUSTRY),
            STATION,
            ("enterprise", 11),
        ),
        (
            "…but not when the HQ union's region does not contain the station",
            (union(11, "enterprise", "320500", employer=100), INDUSTRY),
            STATION,
            ("industry", 20),
        ),
        (
            "…and then to the fallback when nothing else is there",
            (union(11, "enterprise", "320500", employer=100),),
            STATION,
            ("fallback", 3),
        ),
        (
            "the nearest union in the chain wins over the HQ's",
            (union(11, "enterprise", "320000", employer=100), union(12, "enterprise", "320100", employer=101)),
            StationFacts(502, "点部", "320102", employer_id=102),
            ("enterprise", 12),
        ),
        (
            "the station's own employer's union must contain the station too",
            (union(12, "enterprise", "320106", employer=101), union(11, "enterprise", "320000", employer=100)),
            STATION,
            ("enterprise", 11),
        ),
        ("a station without an employer skips the rule", (ENTERPRISE, INDUSTRY), NO_EMPLOYER, ("industry", 20)),
    ],
)
def test_enterprise_rule(case, unions, station, expected):
    decision = decide((*FEDERATIONS, *unions), station=station)
    assert (decision.rule, decision.union_id) == expected, case


@pytest.mark.parametrize(
    ("case", "unions", "expected"),
    [
        (
            "two unions of one employer: the more specific region",
            (union(13, "enterprise", "320100", employer=101), union(14, "enterprise", "320102", employer=101)),
            14,
        ),
        (
            "two unions of one employer and one region: the lowest id",
            (union(16, "enterprise", "320100", employer=101), union(15, "enterprise", "320100", employer=101)),
            15,
        ),
    ],
)
def test_enterprise_tie_breaks(case, unions, expected):
    assert decide((*FEDERATIONS, *unions)).union_id == expected, case


def test_enterprise_trace_explains_the_hq_union_that_does_not_cover_the_branch():
    decision = decide((*FEDERATIONS, union(11, "enterprise", "320500", employer=100)))
    step = next(step for step in decision.trace if step.rule == "enterprise")
    assert step.outcome == PASSED_OVER and step.union_id == 11
    assert step.reason == (
        "上级单位「迅驰速运有限公司」的企业工会「工会11」的区域（苏州市）不包含站点所在地（南京市玄武区），"
        "不能受理该分支机构的职工。"
    )


def test_an_employer_loop_does_not_hang_the_engine():
    looped = (EmployerFacts(100, "甲", "320102", parent_id=101), EmployerFacts(101, "乙", "320102", parent_id=100))
    decision = decide((*FEDERATIONS, union(10, "enterprise", "320000", employer=100)), employers=looped)
    assert (decision.rule, decision.union_id) == ("enterprise", 10)


# --- rule 3: industry unions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "unions", "occupation", "expected"),
    [
        (
            "a district industry union beats the city one",
            (couriers(20, "320100"), couriers(21, "320102")),
            "courier",
            ("industry", 21),
        ),
        (
            "the city one beats the province one",
            (couriers(22, "320000"), couriers(20, "320100")),
            "courier",
            ("industry", 20),
        ),
        (
            "same region: the lowest id",
            (couriers(25, "320100"), couriers(24, "320100")),
            "courier",
            ("industry", 24),
        ),
        (
            "a paused district union is passed over for the city one",
            (
                union(21, "industry", "320102", occupations=("courier",), accepting=False),
                couriers(20, "320100"),
            ),
            "courier",
            ("industry", 20),
        ),
        (
            "an industry union for another occupation does not apply",
            (union(20, "industry", "320100", occupations=("caregiver",)), REGIONAL),
            "courier",
            ("regional", 30),
        ),
        (
            "an industry union of another city does not apply",
            (couriers(26, "320500"), REGIONAL),
            "courier",
            ("regional", 30),
        ),
        (
            "the worker's occupation counts, not the station's default",
            (couriers(20, "320100"), union(27, "industry", "320100", occupations=("security_guard",))),
            "security_guard",
            ("industry", 27),
        ),
    ],
)  # fmt: skip
def test_industry_rule(case, unions, occupation, expected):
    decision = decide((*FEDERATIONS, *unions), station=NO_EMPLOYER, occupation=occupation)
    assert (decision.rule, decision.union_id) == expected, case


def test_industry_trace_says_why_the_city_union_lost():
    city = couriers(20, "320100")
    district = couriers(21, "320102")
    decision = decide((*FEDERATIONS, city, district), station=NO_EMPLOYER)
    chosen, passed = (step for step in decision.trace if step.rule == "industry")
    assert (
        chosen.reason
        == "行业工会「工会21」覆盖快递员，其区域（南京市玄武区）包含站点所在地（南京市玄武区），且正在受理入会申请。"
    )
    assert (
        passed.reason
        == "行业工会「工会20」的区域（南京市）比选定的「工会21」（南京市玄武区）大，区域更具体的工会优先。"
    )


# --- rule 4: regional unions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "unions", "expected"),
    [
        ("an industry union beats a regional one", (INDUSTRY, REGIONAL), ("industry", 20)),
        ("a regional union beats the fallback", (REGIONAL,), ("regional", 30)),
        ("more specific region", (union(31, "regional", "320100"), union(32, "regional", "320102")), ("regional", 32)),
        ("same region: low id", (union(34, "regional", "320102"), union(33, "regional", "320102")), ("regional", 33)),
        (
            "a paused regional union is passed over",
            (union(32, "regional", "320102", accepting=False), union(31, "regional", "320100")),
            ("regional", 31),
        ),
        ("a regional union elsewhere does not apply", (union(35, "regional", "320106"),), ("fallback", 3)),
    ],
)  # fmt: skip
def test_regional_rule(case, unions, expected):
    decision = decide((*FEDERATIONS, *unions), station=NO_EMPLOYER)
    assert (decision.rule, decision.union_id) == expected, case


# --- rule 5: fallback -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "federations", "expected"),
    [
        ("the district federation first", FEDERATIONS, 3),
        ("no district federation: the city's", (PROVINCE_FED, NANJING_FED), 2),
        ("no district or city federation: the province's", (PROVINCE_FED,), 1),
        (
            "a paused district federation: the city's",
            (PROVINCE_FED, NANJING_FED, UnionFacts(3, "玄武区总工会", "federation", "320102", accepting=False)),
            2,
        ),
        (
            "two federations of the district: the lowest id",
            (*FEDERATIONS, UnionFacts(9, "玄武区某街道总工会", "federation", "320102")),
            3,
        ),
        ("a federation of another district does not apply", (PROVINCE_FED, union(8, "federation", "320106")), 1),
    ],
)
def test_fallback_rule(case, federations, expected):
    decision = decide(federations, station=NO_EMPLOYER)
    assert (decision.rule, decision.union_id) == ("fallback", expected), case
    assert decision.is_blind_spot


def test_fallback_trace_walks_district_city_province():
    wuxi = StationFacts(503, "梁溪点部", "320213", occupation="courier")
    decision = decide(FEDERATIONS, station=wuxi)
    assert [(step.rule, step.outcome) for step in decision.trace] == [
        ("override", NOT_APPLICABLE),
        ("enterprise", NOT_APPLICABLE),
        ("industry", NOT_APPLICABLE),
        ("regional", NOT_APPLICABLE),
        ("fallback", NOT_APPLICABLE),
        ("fallback", NOT_APPLICABLE),
        ("fallback", CHOSEN),
    ]
    assert decision.reasons[4:] == [
        "无锡市梁溪区没有登记地方总工会。",
        "无锡市没有登记地方总工会。",
        "站点所在地（无锡市梁溪区）没有可受理的企业、行业或区域工会，由江苏省的地方总工会「江苏省总工会」兜底受理；"
        "此处为建会盲区，宜就近建立工会。",
    ]


def test_no_accepting_federation_at_all_raises_with_the_trace():
    paused = tuple(UnionFacts(u.id, u.name, u.kind, u.region_code, accepting=False) for u in FEDERATIONS)
    with pytest.raises(NoUnionAvailable) as raised:
        route(DirectorySnapshot.of(unions=paused), NO_EMPLOYER, "courier")
    assert [step.outcome for step in raised.value.trace if step.rule == "fallback"] == [PASSED_OVER] * 3


def test_decision_serialises_as_the_explain_endpoint_shows_it():
    decision = decide((*FEDERATIONS, ENTERPRISE))
    body = decision.as_json()
    assert body["union"] == {"id": "10", "name": "工会10", "kind": "enterprise"}
    assert body["rule"] == "enterprise" and body["blind_spot"] is False
    assert body["trace"][0] == {
        "rule": "override",
        "union": None,
        "outcome": "not_applicable",
        "reason": "没有适用于该站点和职业的覆盖规则。",
    }
    assert body["trace"][1]["union"] == {"id": "10", "name": "工会10", "kind": "enterprise"}


def test_the_decision_is_deterministic_whatever_the_snapshot_order():
    unions = (
        *FEDERATIONS,
        couriers(24, "320100"),
        couriers(23, "320100"),
    )
    first = decide(unions, station=NO_EMPLOYER)
    second = decide(tuple(reversed(unions)), station=NO_EMPLOYER)
    assert first == second and first.union_id == 23


def test_a_crowded_district_keeps_the_trace_short():
    crowd = tuple(union(100 + index, "regional", "320102") for index in range(40))
    decision = decide((*FEDERATIONS, *crowd), station=NO_EMPLOYER)
    regional = [step for step in decision.trace if step.rule == "regional"]
    assert decision.union_id == 100
    assert [step.union_id for step in regional] == [100, 101, 102, 103, None]
    assert regional[-1].reason == "另有 36 个同样适用的区域工会排序更靠后，未予采用。"


# --- an override rule stays inside the subtree of the admin who made it (issue 13) ----------------------------------

XUANWU_PATH = "/1/2/3/"
GULOU_STATION = StationFacts(502, "鼓楼营业部", "320106", occupation="courier", union_path="/1/2/4/")
XUANWU_STATION = StationFacts(503, "玄武营业部", "320102", occupation="courier", union_path="/1/2/3/9/")
XUANWU_OWNED = UnionFacts(3, "玄武区总工会", "federation", "320102", path=XUANWU_PATH)
GULOU_FED = UnionFacts(4, "鼓楼区总工会", "federation", "320106", path="/1/2/4/")
CITYWIDE = OverrideRule(
    7, 3, region_code="320100", occupation="courier", owner_path=XUANWU_PATH, owner_name="玄武区总工会"
)


def test_a_rule_passes_over_a_station_managed_outside_its_subtree():
    decision = decide((PROVINCE_FED, NANJING_FED, XUANWU_OWNED, GULOU_FED), station=GULOU_STATION, rules=(CITYWIDE,))
    assert (decision.rule, decision.union_id) == ("fallback", 4)
    step = decision.trace[0]
    assert (step.rule, step.outcome, step.override_rule_id) == ("override", PASSED_OVER, 7)
    assert step.reason == (
        "覆盖规则 #7（优先级 0）由「玄武区总工会」设置，"
        "但站点「鼓楼营业部」不在「玄武区总工会」及其下级工会的管理范围内，跳过该规则。"
    )


def test_a_rule_still_captures_inside_its_subtree_and_not_a_target_that_left_it():
    inside = decide((PROVINCE_FED, NANJING_FED, XUANWU_OWNED), station=XUANWU_STATION, rules=(CITYWIDE,))
    assert (inside.rule, inside.union_id) == ("override", 3)

    moved_away = UnionFacts(40, "已划出的工会", "regional", "320102", path="/1/2/4/40/")
    rule = OverrideRule(8, 40, station_id=503, owner_path=XUANWU_PATH, owner_name="玄武区总工会")
    decision = decide((*FEDERATIONS, moved_away), station=XUANWU_STATION, rules=(rule,))
    assert decision.rule != "override"
    assert decision.trace[0].outcome == PASSED_OVER
    assert (
        decision.trace[0].reason
        == "覆盖规则 #8（优先级 0）指定的「已划出的工会」已不在「玄武区总工会」之下，跳过该规则。"
    )


def test_an_outside_rule_is_named_as_such_even_after_another_rule_was_chosen():
    own = OverrideRule(9, 3, priority=5, station_id=502, owner_path="/1/2/", owner_name="南京市总工会")
    decision = decide(
        (PROVINCE_FED, NANJING_FED, XUANWU_OWNED, GULOU_FED), station=GULOU_STATION, rules=(own, CITYWIDE)
    )
    assert (decision.rule, decision.union_id) == ("override", 3)
    assert [step.override_rule_id for step in decision.trace] == [9, 7]
    assert "管理范围内" in decision.trace[1].reason
