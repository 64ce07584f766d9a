"""The ``liaison`` role: a department's reader of founding data of its sectors, refused everywhere else.

A liaison is created like any officer (API, console, CLI) with its sectors; it reads the
founding targets, cases and figures of those sectors inside its union's subtree, and every
other endpoint — each one that shows a person, and each one that changes anything —
answers it 403 ``forbidden``, as the contract has it for a principal without the right.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from app.auth.models import OfficerSector
from app.auth.tokens import issue_access_token

OFFICERS_URL = "/api/v1/officers"
PASSWORD = "correct-horse-battery"
# The endpoints a liaison may call (GET only): the founding data, filtered to its sectors.
LIAISON_READS = {
    "/api/v1/founding/targets",
    "/api/v1/founding/targets/<target_id>",
    "/api/v1/founding/cases",
    "/api/v1/founding/cases/<case_id>",
    "/api/v1/stats/founding",
    "/api/v1/stats/founding/unbuilt",
    "/api/v1/exports/founding.xlsx",
}


def _token_headers(app: Flask, officer_id: int) -> dict[str, str]:
    with app.test_request_context():
        token, _ = issue_access_token("officer", officer_id)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def liaison(app, client, session, tree, make_officer):
    """A liaison of the express and road-freight sectors on 南京市总工会, made by the city's admin in the API."""
    _, admin = make_officer(tree.nanjing, "admin")
    response = client.post(
        OFFICERS_URL,
        json={
            "username": "postal.liaison",
            "password": PASSWORD,
            "union_id": str(tree.nanjing.id),
            "role": "liaison",
            "sectors": ["express_delivery", "road_freight"],
            "name": "邮政管理局联络员",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return int(body["id"]), _token_headers(app, int(body["id"])), body


def test_an_admin_creates_a_liaison_with_its_sectors(client, session, tree, make_officer, liaison):
    officer_id, _, body = liaison
    assert body["role"] == "liaison"
    assert body["sectors"] == ["express_delivery", "road_freight"]
    stored = session.scalars(sa.select(OfficerSector.sector).where(OfficerSector.officer_id == officer_id)).all()
    assert sorted(stored) == ["express_delivery", "road_freight"]
    _, admin = make_officer(tree.nanjing, "admin")
    listed = client.get(OFFICERS_URL, headers=admin).get_json()["items"]
    assert {row["username"]: row["sectors"] for row in listed}["postal.liaison"] == ["express_delivery", "road_freight"]


@pytest.mark.parametrize(
    ("role", "sectors", "message"),
    [
        ("liaison", [], "联络员须至少绑定一个行业类别"),
        ("liaison", ["fishing"], "行业类别不在规定的范围内"),
        ("reviewer", ["express_delivery"], "只有联络员绑定行业类别"),
    ],
)
def test_sectors_go_with_the_liaison_role_only(client, tree, make_officer, role, sectors, message):
    _, admin = make_officer(tree.nanjing, "admin")
    response = client.post(
        OFFICERS_URL,
        json={"username": "someone", "password": PASSWORD, "union_id": str(tree.nanjing.id), "role": role,
              "sectors": sectors},
        headers=admin,
    )  # fmt: skip
    assert response.status_code == 422
    assert response.get_json()["errors"]["sectors"] == [message]


def test_a_liaison_signs_in_with_its_password(client, liaison):
    response = client.post("/api/v1/officers/login", json={"username": "postal.liaison", "password": PASSWORD})
    assert response.status_code == 200


def _concrete(rule: str) -> str:
    """The rule with each variable filled: the first choice of an ``any(…)``, else ``1``."""
    path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule)
    return re.sub(r"<[^>]+>", "1", path)


def _api_rules(app: Flask, method: str) -> list[str]:
    return sorted(
        {
            rule.rule
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/v1/") and method in (rule.methods or set())
        }
    )


def test_every_other_get_endpoint_refuses_a_liaison(app, client, liaison):
    """Walk every GET of the API: a liaison reads only founding data; what needs a right answers 403 forbidden."""
    _, headers, _ = liaison
    walked, refused = [], []
    for rule in _api_rules(app, "GET"):
        path = _concrete(rule)
        as_liaison = client.get(path, headers=headers)
        anonymous = client.get(path)
        walked.append(rule)
        if rule in LIAISON_READS:
            assert as_liaison.status_code in (200, 404, 422), (rule, as_liaison.get_json())
        elif anonymous.status_code == 401:
            refused.append(rule)
            assert as_liaison.status_code == 403, (rule, as_liaison.status_code)
            assert as_liaison.get_json()["code"] == "forbidden"
        else:  # a public page or document: the token changes nothing
            assert as_liaison.status_code == anonymous.status_code, rule
    assert {"/api/v1/review/applications", "/api/v1/audit", "/api/v1/stats/coverage"} <= set(walked)
    assert len(refused) > 25, refused


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_liaison_changes_nothing(app, client, session, liaison, method):
    """Every endpoint that changes something and needs a sign-in refuses a liaison, before reading the body."""
    _, headers, _ = liaison
    for rule in _api_rules(app, method):
        path = _concrete(rule)
        anonymous = client.open(path, method=method, json={})
        if anonymous.status_code != 401:
            continue  # public (OTP, sign-in, the worker's own paths answer their own errors)
        response = client.open(path, method=method, json={}, headers=headers)
        assert response.status_code == 403, (method, rule, response.status_code)
        assert response.get_json()["code"] == "forbidden"


def test_a_liaison_counts_only_its_sectors_in_its_subtree(client, tree, ledger, liaison):
    _, headers, _ = liaison
    by_sector = client.get("/api/v1/stats/founding", query_string={"by": "sector"}, headers=headers).get_json()
    assert by_sector["sectors"] == ["express_delivery", "road_freight"]
    assert [row["key"] for row in by_sector["items"]] == ["express_delivery", "road_freight"]
    total = by_sector["total"]
    # Nanjing's subtree: three express units (one in a joint union) and Gulou's road-freight firm.
    assert (total["targets"], total["with_union"], total["in_progress_total"]) == (4, 1, 3)
    by_union = client.get("/api/v1/stats/founding", query_string={"by": "union"}, headers=headers).get_json()
    assert by_union["total"] == total
    outside = client.get(
        "/api/v1/stats/founding", query_string={"by": "union", "union_id": tree.suzhou.id}, headers=headers
    )
    assert outside.status_code == 404
    units = client.get("/api/v1/stats/founding/unbuilt", headers=headers).get_json()["items"]
    assert [unit["name"] for unit in units] == ["宁城配", "玄武快递", "鼓楼货运"]


def test_a_liaison_reads_targets_and_cases_of_its_sectors_only(client, tree, ledger, liaison):
    _, headers, _ = liaison
    targets = client.get("/api/v1/founding/targets", query_string={"limit": 200}, headers=headers).get_json()
    assert sorted(t["name"] for t in targets["items"]) == sorted(
        ["宁城配", "玄武快递", "玄武联合", "鼓楼货运", "鼓楼旧"]
    )
    assert {t["sector"] for t in targets["items"]} == {"express_delivery", "road_freight"}
    law_firm = ledger["宁律所"]
    assert client.get(f"/api/v1/founding/targets/{law_firm.id}", headers=headers).status_code == 404
    suzhou = ledger["苏快递"]  # its sector, another subtree
    assert client.get(f"/api/v1/founding/targets/{suzhou.id}", headers=headers).status_code == 404
    mine = client.get(f"/api/v1/founding/targets/{ledger['宁城配'].id}", headers=headers)
    assert mine.status_code == 200 and mine.get_json()["name"] == "宁城配"

    cases = client.get("/api/v1/founding/cases", query_string={"limit": 200}, headers=headers).get_json()["items"]
    assert sorted(c["target"]["name"] for c in cases) == ["宁城配", "玄武快递", "玄武联合", "鼓楼货运"]
    hidden = client.get("/api/v1/founding/cases", query_string={"target_id": law_firm.id}, headers=headers)
    assert hidden.get_json()["items"] == []
    one = client.get(f"/api/v1/founding/cases/{cases[0]['id']}", headers=headers)
    assert one.status_code == 200
    # It may read a case, never move it.
    moved = client.post(
        f"/api/v1/founding/cases/{cases[0]['id']}/stage",
        json={"stage": "contacted"},
        headers={**headers, "If-Match": str(one.get_json()["version"])},
    )
    assert moved.status_code == 403 and moved.get_json()["code"] == "forbidden"


def test_the_cli_creates_a_liaison_with_its_sectors(runner, session, tree):
    args = ["create-officer", "--username", "cli.liaison", "--password", "a-long-password",
            "--union-id", str(tree.nanjing.id), "--role", "liaison",
            "--sector", "law_firm", "--sector", "accounting"]  # fmt: skip
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    officer_id = int(json.loads(result.output.strip().splitlines()[-1])["officer_id"])
    stored = session.scalars(sa.select(OfficerSector.sector).where(OfficerSector.officer_id == officer_id)).all()
    assert sorted(stored) == ["accounting", "law_firm"]
    refused = runner.invoke(args=[*args[:-4], "--username", "cli.liaison2"])
    assert refused.exit_code != 0 and "联络员须至少绑定一个行业类别" in refused.output
