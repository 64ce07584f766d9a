"""``GET /routing/explain`` on the demo directory: each station lands where a Jiangsu union officer expects.

The demo (``seed-demo``) places 23 stations so that every rule fires; this test
holds the demo to the rule and union written beside each station, and checks that
the trace reads as sentences an officer would accept.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.models import Officer
from app.auth.tokens import issue_access_token
from app.demo import DEMO_ADMIN_USERNAME, DEMO_STATIONS, PROVINCE
from app.directory.models import Employer, Station, Union
from app.routing.models import RoutingRule
from app.routing.service import route_station, union_summary


@pytest.fixture
def demo(app, runner, session):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    unions = {u.external_code: u for u in session.scalars(sa.select(Union))}
    unions[PROVINCE] = session.scalars(sa.select(Union).where(Union.parent_id.is_(None))).one()
    stations = {s.external_code: s for s in session.scalars(sa.select(Station))}
    officer = session.scalars(sa.select(Officer).where(Officer.username == DEMO_ADMIN_USERNAME)).one()
    with app.test_request_context():
        token, _ = issue_access_token("officer", officer.id)
    return unions, stations, {"Authorization": f"Bearer {token}"}


def test_every_rule_fires_for_some_demo_station():
    assert {station.expected_rule for station in DEMO_STATIONS} == {
        "override",
        "enterprise",
        "industry",
        "regional",
        "fallback",
    }
    assert len(DEMO_STATIONS) >= 20


@pytest.mark.parametrize("demo_station", DEMO_STATIONS, ids=[s.code for s in DEMO_STATIONS])
def test_explain_answers_each_demo_station_as_expected(client, demo, demo_station):
    unions, stations, headers = demo
    station = stations[demo_station.code]
    response = client.get(
        "/api/v1/routing/explain",
        query_string={"station_id": str(station.id), "occupation": demo_station.occupation},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    expected = unions[demo_station.expected_union]
    assert body["union"] == {"id": str(expected.id), "name": expected.name, "kind": expected.kind}
    assert body["rule"] == demo_station.expected_rule
    assert body["blind_spot"] is (demo_station.expected_rule == "fallback")
    assert body["station"]["name"] == demo_station.name
    assert body["reasons"] == [step["reason"] for step in body["trace"]]
    chosen = [step for step in body["trace"] if step["outcome"] == "chosen"]
    assert len(chosen) == 1 and chosen[0]["union"] == body["union"]
    assert expected.name in chosen[0]["reason"]
    for step in body["trace"]:
        assert set(step) <= {"rule", "union", "outcome", "reason", "override_rule_id"}
        assert step["reason"].endswith(("。", "）"))


SENTENCES = {
    "demo-s01": [
        "没有适用于该站点和职业的覆盖规则。",
        "站点所属单位「迅驰速运有限公司南京分公司」建有企业工会「迅驰速运有限公司南京分公司工会」，"
        "其区域（南京市）包含站点所在地（南京市玄武区），且正在受理入会申请。",
        "已有隶属关系更近的企业工会「迅驰速运有限公司南京分公司工会」，不再考虑上级单位「迅驰速运有限公司」的"
        "「迅驰速运有限公司工会」。",
    ],
    "demo-s10": [
        "没有适用于该站点和职业的覆盖规则。",
        "站点所属单位「骑士达配送服务有限公司」尚未建立企业工会。",
        "行业工会「南京市网约送餐行业工会（筹）」覆盖网约送餐员，但目前暂停受理入会申请。",
        "区域工会「南京市玄武区新街口商圈楼宇联合工会」的区域（南京市玄武区）包含站点所在地（南京市玄武区），"
        "且正在受理入会申请。",
    ],
    "demo-s16": [
        "没有适用于该站点和职业的覆盖规则。",
        "站点所属单位「安捷物流集团有限公司苏州分公司」没有可受理的企业工会，由其上级单位「安捷物流集团有限公司」"
        "的企业工会「安捷物流集团有限公司工会」受理：该工会的区域（江苏省）包含站点所在地（苏州市吴中区）。",
    ],
    "demo-s13": [
        "没有适用于该站点和职业的覆盖规则。",
        "站点所属单位「金盾保安服务有限公司」尚未建立企业工会。",
        "没有覆盖保安员、且区域包含站点所在地（南京市江宁区）的行业工会。",
        "没有区域包含站点所在地（南京市江宁区）的街区、园区、楼宇或市场工会。",
        "南京市江宁区没有登记地方总工会。",
        "站点所在地（南京市江宁区）没有可受理的企业、行业或区域工会，由南京市的地方总工会「南京市总工会」兜底受理；"
        "此处为建会盲区，宜就近建立工会。",
    ],
}


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_the_trace_reads_as_an_officer_would_write_it(client, demo, code):
    _, stations, headers = demo
    station = stations[code]
    body = client.get(
        "/api/v1/routing/explain",
        query_string={"station_id": str(station.id), "occupation": station.occupation},
        headers=headers,
    ).get_json()
    assert body["reasons"] == SENTENCES[code]


def test_the_workers_occupation_is_routed_not_the_stations_default(client, demo):
    _, stations, headers = demo
    food_station = stations["demo-s10"]  # a food-delivery station in 玄武区
    body = client.get(
        "/api/v1/routing/explain",
        query_string={"station_id": str(food_station.id), "occupation": "courier", "employment_form": "platform"},
        headers=headers,
    ).get_json()
    assert (body["rule"], body["union"]["name"]) == ("industry", "南京市快递行业工会联合会")
    assert body["occupation"] == "courier" and body["employment_form"] == "platform"


@pytest.mark.parametrize(
    "query",
    [
        {"occupation": "courier"},
        {"station_id": "1"},
        {"station_id": "1", "occupation": "astronaut"},
        {"station_id": "1", "occupation": "courier", "employment_form": "slavery"},
    ],
)
def test_explain_validates_its_query(client, demo, query):
    _, _, headers = demo
    response = client.get("/api/v1/routing/explain", query_string=query, headers=headers)
    assert response.status_code == 422


def test_explain_for_unknown_stations_is_404(client, demo):
    _, _, headers = demo
    for station_id in ("999999", "abc"):
        response = client.get(
            "/api/v1/routing/explain", query_string={"station_id": station_id, "occupation": "courier"}, headers=headers
        )
        assert response.status_code == 404


def test_seed_demo_twice_adds_nothing(runner, demo, session):
    def counts():
        return [
            session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Union, Employer, Station, RoutingRule, Officer)
        ]

    before = counts()
    assert before == [19, 12, 23, 3, 1]
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts() == before


def test_route_station_and_union_summary_for_other_features(demo, session):
    unions, stations, _ = demo
    decision = route_station(session, stations["demo-s22"], "courier", "contract")
    assert decision.is_blind_spot and decision.union_id == unions[PROVINCE].id
    assert decision.union_ref() == union_summary(session, decision.union_id)
    assert union_summary(session, decision.union_id) == {
        "id": str(unions[PROVINCE].id),
        "name": "江苏省总工会",
        "kind": "federation",
    }
