"""Union founding (建会): a department's list and its difference, cases through their stages, founded means
routed, rehoming what came before, joint unions, the automatic trigger, and racing stage changes."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.directory import service as directory_service
from app.directory.models import Employer, Union
from app.enrollment.models import Application, Membership
from app.founding.models import FoundingCase, FoundingCaseStep, FoundingTarget
from app.founding.vocabulary import STAGE_ORDER
from app.routing.models import RoutingRule
from tests.conftest import form, id_number, valid_uscc

IMPORT = "/api/v1/imports/founding-targets"
TARGETS = "/api/v1/founding/targets"
CASES = "/api/v1/founding/cases"
EMPLOYER_USCC = valid_uscc(900)  # given to 示例速运南京分公司 of the ``nanjing`` fixture (see ``admin``)


def upload(client, headers, content: bytes, *, source="market_regulation"):
    """POST the CSV and the source as a browser's form does (multipart)."""
    boundary = "----RuhuiFoundingBoundary0x7MA4YWxk"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\n{source}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="list.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return client.post(
        IMPORT,
        input_stream=io.BytesIO(b"".join(parts)),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )


def count(session, model, *where):
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture
def admin(nanjing, session, make_officer):
    """An admin of 南京市总工会, the union managing the employer and its depot (whose USCC is made valid)."""
    session.execute(sa.update(Employer).where(Employer.id == nanjing.depot.employer_id).values(uscc=EMPLOYER_USCC))
    session.commit()
    return make_officer(nanjing.city, "admin")[1]


# ---------------------------------------------------------------- the department's list


A, B, C = valid_uscc(101), valid_uscc(102), valid_uscc(103)

FIRST_LIST = (
    "统一社会信用代码,名称,行政区划代码,行业类别,从业人数,成立日期,地址,行业代码\n"
    f"{EMPLOYER_USCC},示例速运南京分公司,320102,快递企业,120,2015-03-01,玄武区中山路 1 号,6021\n"
    f"{A},玄武明德学校,320102,private_school,60,2010-09-01,,\n"
    f"{B},鼓楼仁心诊所,320106,民营医疗机构,12,2022-05-20,,\n"
    f"{C},秦淮安保服务有限公司,320104,security_service,300,,,\n"
)
# The same source a month later: C gone, B's headcount changed, the rest as before (English headers, BOM).
SECOND_LIST = (
    "uscc,name,region_code,sector,headcount,founded_on,address,industry_code\n"
    f"{EMPLOYER_USCC},示例速运南京分公司,320102,express_delivery,120,2015-03-01,玄武区中山路 1 号,6021\n"
    f"{A},玄武明德学校,320102,private_school,60,2010-09-01,,\n"
    f"{B},鼓楼仁心诊所,320106,private_medical,18,2022-05-20,,\n"
)


def test_a_department_list_then_its_next_month(client, session, nanjing, admin):
    first = upload(client, admin, FIRST_LIST.encode("gb18030"))  # Excel's plain "CSV" on a Chinese Windows
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {
        "source": "market_regulation",
        "rows": 4,
        "created": 4,
        "changed": 0,
        "gone": 0,
        "unchanged": 0,
    }
    targets = {t.uscc: t for t in session.scalars(sa.select(FoundingTarget))}
    employer = targets[EMPLOYER_USCC]
    assert employer.employer_id is not None  # linked to the employer with the same USCC
    assert targets[B].sector == "private_medical" and targets[B].headcount == 12
    assert targets[B].headcount_source == "market_regulation"

    second = upload(client, admin, b"\xef\xbb\xbf" + SECOND_LIST.encode())
    assert second.status_code == 200, second.get_json()
    assert second.get_json() == {
        "source": "market_regulation",
        "rows": 3,
        "created": 0,
        "changed": 1,
        "gone": 1,
        "unchanged": 2,
    }
    session.expire_all()
    assert count(session, FoundingTarget) == 4  # gone is marked, never deleted
    gone = client.get(TARGETS, headers=admin).get_json()["items"]
    by_uscc = {item["uscc"]: item for item in gone}
    assert by_uscc[C]["gone"] is True and by_uscc[B]["gone"] is False
    assert by_uscc[B]["headcount"] == 18
    assert by_uscc[EMPLOYER_USCC]["employer_id"] == str(employer.employer_id)
    assert by_uscc[EMPLOYER_USCC]["union"] is None

    # Filters: headcount at least N, the sector, the region (and the regions within it), the source.
    big = client.get(TARGETS, query_string={"min_headcount": 100}, headers=admin).get_json()["items"]
    assert {item["uscc"] for item in big} == {EMPLOYER_USCC, C}
    medical = client.get(TARGETS, query_string={"sector": "private_medical"}, headers=admin).get_json()["items"]
    assert [item["uscc"] for item in medical] == [B]
    in_city = client.get(TARGETS, query_string={"region_code": "320100"}, headers=admin).get_json()["items"]
    assert len(in_city) == 4
    listed = client.get(TARGETS, query_string={"source": "market_regulation"}, headers=admin).get_json()["items"]
    assert C not in {item["uscc"] for item in listed}
    page = client.get(TARGETS, query_string={"limit": 3}, headers=admin).get_json()
    rest = client.get(TARGETS, query_string={"limit": 3, "cursor": page["next_cursor"]}, headers=admin).get_json()
    assert len(page["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    one = client.get(f"{TARGETS}/{by_uscc[A]['id']}", headers=admin)
    assert one.status_code == 200 and one.get_json()["name"] == "玄武明德学校"

    # The same list again changes nothing.
    again = upload(client, admin, SECOND_LIST.encode()).get_json()
    assert (again["created"], again["changed"], again["gone"], again["unchanged"]) == (0, 0, 0, 3)


def test_a_list_with_bad_rows_stores_nothing_and_names_each_line(client, session, nanjing, admin):
    bad_uscc = A[:-1] + ("0" if A[-1] != "0" else "1")
    content = (
        "uscc,name,region_code,sector,headcount\n"
        f"{A},玄武明德学校,320102,private_school,60\n"
        f"{bad_uscc},错码单位,320102,other,5\n"
        f"{B},未知行业单位,320106,钢铁,abc\n"
        f"{A},重复单位,320102,other,1\n"
    )
    response = upload(client, admin, content.encode())
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"line 3", "line 4", "line 5"}
    assert any("校验位" in message for message in errors["line 3"])
    assert len(errors["line 4"]) == 2  # the sector and the headcount
    assert count(session, FoundingTarget) == 0
    assert upload(client, admin, b"uscc,name\n", source="market_regulation").status_code == 422
    assert upload(client, admin, content.encode(), source="tax").status_code == 422


def test_officers_see_only_their_subtree(client, session, nanjing, admin, make_officer):
    assert upload(client, admin, FIRST_LIST.encode()).status_code == 200
    _, suzhou = make_officer(nanjing.suzhou, "admin")
    assert client.get(TARGETS, headers=suzhou).get_json()["items"] == []
    target_id = session.scalars(sa.select(FoundingTarget.id)).first()
    assert client.get(f"{TARGETS}/{target_id}", headers=suzhou).status_code == 404
    opened = client.post(CASES, json={"target_id": str(target_id), "union_id": str(nanjing.city.id)}, headers=admin)
    assert opened.status_code == 201
    assert client.get(f"{CASES}/{opened.get_json()['id']}", headers=suzhou).status_code == 404
    refused = client.post(CASES, json={"target_id": str(target_id), "union_id": str(nanjing.suzhou.id)}, headers=suzhou)
    assert refused.status_code == 404
    _, viewer = make_officer(nanjing.city, "viewer")
    assert client.get(CASES, headers=viewer).status_code == 200
    assert (
        client.post(f"{CASES}/{opened.get_json()['id']}/stage", json={"stage": "contacted"}, headers=viewer).status_code
        == 403
    )


# ---------------------------------------------------------------- a case through every stage; founded means routed


def _target_id(client, admin, session) -> str:
    assert upload(client, admin, FIRST_LIST.encode()).status_code == 200
    target = session.scalars(sa.select(FoundingTarget).where(FoundingTarget.uscc == EMPLOYER_USCC)).one()
    return str(target.id)


def _move(client, headers, case, stage, **body):
    return client.post(
        f"{CASES}/{case['id']}/stage",
        json={"stage": stage, **body},
        headers={**headers, "If-Match": f'"{case["version"]}"'},
    )


def test_a_case_through_every_stage_founds_a_union_that_routing_uses_and_rehome_moves_the_rest(
    client, session, nanjing, admin, apply, file_application
):
    # Before the union: couriers of the depot go to the express industry union (rule 3).
    pending = [apply() for _ in range(2)]
    assert {p["union"]["id"] for p in pending} == {str(nanjing.express.id)}
    member_application = file_application(nanjing.express, nanjing.depot, status="approved")
    member = session.scalars(sa.select(Membership).where(Membership.application_id == member_application.id)).one()

    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).date().isoformat()
    created = client.post(
        CASES,
        json={
            "target_id": _target_id(client, admin, session),
            "union_id": str(nanjing.city.id),
            "planned_by": yesterday,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    case = created.get_json()
    assert case["stage"] == "identified" and case["overdue"] is True and case["version"] == 1
    assert case["target"]["uscc"] == EMPLOYER_USCC and case["union"]["id"] == str(nanjing.city.id)
    assert (
        client.post(
            CASES, json={"target_id": case["target"]["id"], "union_id": str(nanjing.city.id)}, headers=admin
        ).get_json()["code"]
        == "case_open"
    )

    # Steps are taken in order: skipping one is refused, so is a stale version.
    skipped = _move(client, admin, case, "preparing")
    assert skipped.status_code == 409 and skipped.get_json()["code"] == "invalid_transition"
    stale = _move(client, admin, {**case, "version": 7}, "contacted")
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale_version"

    union_uscc = "81" + valid_uscc(500)[2:17]
    from app.directory.uscc import check_character

    union_uscc += check_character(union_uscc)
    documents = {"preparing": "玄工复〔2026〕12号", "election_approved": "玄工复〔2026〕31号", "registered": union_uscc}
    for stage in STAGE_ORDER[1:]:
        body = {"note": f"到{stage}"}
        if stage in documents:
            body["document_no"] = documents[stage]
        response = _move(client, admin, case, stage, **body)
        assert response.status_code == 200, (stage, response.get_json())
        assert response.headers["ETag"] == f'"{response.get_json()["version"]}"'
        case = response.get_json()
    assert case["stage"] == "active" and case["overdue"] is False
    assert [step["stage"] for step in case["history"]] == list(STAGE_ORDER)
    assert case["history"][6]["document_no"] == union_uscc and case["registered_uscc"] == union_uscc
    founded = case["founded_union"]
    assert founded["kind"] == "enterprise"
    union = session.get(Union, int(founded["id"]))
    assert union.accepting and union.parent_id == nanjing.city.id and union.employer_id == nanjing.depot.employer_id
    assert count(session, AuditEvent, AuditEvent.object_type == "founding_case") == len(STAGE_ORDER)
    assert case["target"]["union"]["id"] == founded["id"]
    assert (
        client.get(TARGETS, query_string={"has_union": "true"}, headers=admin).get_json()["items"][0]["uscc"]
        == EMPLOYER_USCC
    )
    assert _move(client, admin, case, "deferred").get_json()["code"] == "invalid_transition"  # finished

    # From this moment a courier of the depot goes to the new union, by rule 2.
    fresh = apply()
    assert fresh["union"]["id"] == founded["id"]
    assert session.get(Application, int(fresh["id"])).route_rule == "enterprise"

    # The rehome: counts first, then the move, in one go.
    dry = client.post(f"{CASES}/{case['id']}/rehome", json={"dry_run": True}, headers=admin)
    assert dry.status_code == 200 and dry.get_json() == {"applications": 2, "members": 1, "dry_run": True}
    session.expire_all()
    assert {session.get(Application, int(p["id"])).union_id for p in pending} == {nanjing.express.id}

    done = client.post(f"{CASES}/{case['id']}/rehome", json={"dry_run": False}, headers=admin)
    assert done.get_json() == {"applications": 2, "members": 1, "dry_run": False}
    session.expire_all()
    for p in pending:
        moved = session.get(Application, int(p["id"]))
        assert moved.union_id == union.id and moved.union_path == union.path
        assert moved.route_trace[-1]["by"] == "transfer" and moved.route_trace[-1]["union"]["id"] == founded["id"]
    assert session.get(Membership, member.id).status == "transferred_out"
    now_member = session.scalars(
        sa.select(Membership).where(Membership.identity_id == member.identity_id, Membership.status == "active")
    ).one()
    assert now_member.union_id == union.id and now_member.member_no == member.member_no
    again = client.post(f"{CASES}/{case['id']}/rehome", json={"dry_run": False}, headers=admin).get_json()
    assert (again["applications"], again["members"]) == (0, 0)


def test_joined_joint_union_ties_the_stations_to_it(client, session, nanjing, admin, apply):
    joint = directory_service.add_union(
        session, name="玄武区新业态联合工会", kind="regional", region_code="320102", parent=nanjing.city
    )
    session.commit()
    before = apply()  # to the express industry union, while the unit has no union
    case = client.post(
        CASES, json={"target_id": _target_id(client, admin, session), "union_id": str(nanjing.city.id)}, headers=admin
    ).get_json()
    early = client.post(f"{CASES}/{case['id']}/rehome", json={"dry_run": True}, headers=admin)
    assert early.status_code == 409 and early.get_json()["code"] == "invalid_transition"
    missing = _move(client, admin, case, "joined_joint_union")
    assert missing.status_code == 422 and "joint_union_id" in missing.get_json()["errors"]
    case = _move(client, admin, case, "contacted").get_json()
    joined = _move(client, admin, case, "joined_joint_union", joint_union_id=str(joint.id), note="人数不足 25 人")
    assert joined.status_code == 200, joined.get_json()
    body = joined.get_json()
    assert body["stage"] == "joined_joint_union" and body["joint_union"]["id"] == str(joint.id)
    rules = session.scalars(sa.select(RoutingRule)).all()
    assert [(r.station_id, r.union_id) for r in rules] == [(nanjing.depot.id, joint.id)]
    assert body["target"]["union"]["id"] == str(joint.id)
    routed = apply()
    assert routed["union"]["id"] == str(joint.id)
    assert session.get(Application, int(routed["id"])).route_rule == "override"
    rehome = f"{CASES}/{body['id']}/rehome"
    assert client.post(rehome, json={}, headers=admin).status_code == 422  # the dry run is asked for, not assumed
    assert client.post(rehome, json={"dry_run": True}, headers=admin).get_json()["applications"] == 1
    assert client.post(rehome, json={"dry_run": False}, headers=admin).get_json()["applications"] == 1
    session.expire_all()
    assert session.get(Application, int(before["id"])).union_id == joint.id


# ---------------------------------------------------------------- 以入会促建会: the automatic trigger


def test_the_trigger_opens_one_case_at_exactly_the_threshold(client, session, nanjing, admin, apply, file_application):
    # 23 members at the depot, then two applications: the 25th person opens the case (the default threshold).
    for _ in range(23):
        file_application(nanjing.express, nanjing.depot, status="approved")
    apply()
    assert count(session, FoundingCase) == 0  # 24 people: not yet
    apply()
    assert count(session, FoundingCase) == 1
    apply()  # the 26th: still one case
    assert count(session, FoundingCase) == 1

    items = client.get(CASES, headers=admin).get_json()["items"]
    assert len(items) == 1
    case = items[0]
    assert case["stage"] == "identified" and case["source"] == "derived"
    assert case["figures"] == {"members": 23, "open_applications": 2, "people": 25, "threshold": 25}
    assert case["union"]["id"] == str(nanjing.city.id)  # the union managing the employer
    assert case["target"]["uscc"] == EMPLOYER_USCC and case["target"]["source"] == "derived"
    assert case["target"]["sector"] == "express_delivery"
    assert case["history"][0]["officer_id"] is None
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "founding_case.open")).all()
    assert [(e.actor_kind, e.details["people"]) for e in events] == [("system", 25)]


def test_a_place_whose_case_fired_costs_later_submits_nothing(
    client, session, nanjing, apply, file_application, make_worker, count_queries
):
    for _ in range(24):
        file_application(nanjing.express, nanjing.depot, status="approved")
    apply()  # the 25th person: the case opens
    with count_queries() as seeing:
        apply()  # the gate finds it fired (and this process remembers)
    assert any("founding_cases" in s for s in seeing) and not any("INSERT INTO founding" in s for s in seeing)
    _, headers = make_worker("13712349999")
    with count_queries() as after:
        response = client.post("/api/v1/applications", json=form(nanjing, id_number=id_number(999)), headers=headers)
    assert response.status_code == 201
    assert not [s for s in after if "founding_cases" in s or "SAVEPOINT" in s], after
    assert count(session, FoundingCase) == 1


def test_a_submit_below_the_threshold_pays_the_gate_alone(client, session, nanjing, make_worker, count_queries):
    _, headers = make_worker("13712340001")
    with count_queries() as seeing:  # the first person at the depot: far from 25
        response = client.post("/api/v1/applications", json=form(nanjing, id_number=id_number(1)), headers=headers)
    assert response.status_code == 201
    gates = [s for s in seeing if "founding_cases" in s]
    assert len(gates) == 1 and gates[0].lstrip().startswith("SELECT"), seeing
    assert not [s for s in seeing if "SAVEPOINT" in s], seeing
    assert count(session, FoundingCase) == 0


def test_an_application_filed_from_the_worker_form_counts_toward_the_trigger_too(
    app, session, nanjing, file_application, make_worker
):
    for _ in range(24):
        file_application(nanjing.express, nanjing.depot, status="approved")
    person, _ = make_worker("13712340001")
    browser = app.test_client()
    with browser.session_transaction() as cookie:
        cookie["worker_person_id"] = person.id
    page = browser.get(f"/j/{nanjing.code.token}/apply").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|nonce|consent_version)" value="([^"]+)"', page))
    filed = browser.post(
        f"/j/{nanjing.code.token}/apply",
        data={
            **fields,
            "full_name": "王小明",
            "id_number": id_number(1),
            "occupation": "courier",
            "employment_form": "platform",
            "consent": "1",
        },
    )
    assert filed.status_code == 303, filed.get_data(as_text=True)
    # The 25th person, through the page: the case opens, as through the API.
    cases = session.scalars(sa.select(FoundingCase)).all()
    assert [(c.source, c.figures["people"]) for c in cases] == [("derived", 25)]


def test_a_blind_spot_station_seen_by_enough_workers_opens_a_case_of_its_own(
    app, client, session, nanjing, admin, apply, file_application
):
    for _ in range(24):
        file_application(nanjing.xuanwu, nanjing.rider_point, occupation="food_delivery_rider", route_rule="fallback")
    assert count(session, FoundingCase) == 0
    rider = apply(code=nanjing.rider_code, occupation="food_delivery_rider")
    assert session.get(Application, int(rider["id"])).route_rule == "fallback"
    case = session.scalars(sa.select(FoundingCase)).one()
    target = session.get(FoundingTarget, case.target_id)
    assert case.trigger_key == f"station:{nanjing.rider_point.id}" and case.union_id == nanjing.xuanwu.id
    assert target.uscc is None and target.station_id == nanjing.rider_point.id and target.sector == "food_delivery"
    assert case.figures["workers_seen"] == 25
    apply(code=nanjing.rider_code, occupation="food_delivery_rider")
    assert count(session, FoundingCase) == 1


def test_no_trigger_below_a_configured_threshold_or_when_off(app_config, make_app, session, nanjing, file_application):
    from app.founding import trigger

    for _ in range(4):
        file_application(nanjing.express, nanjing.depot, status="approved")
    application = file_application(nanjing.express, nanjing.depot)
    assert trigger.after_submission(session, application, threshold=0, now=dt.datetime.now(dt.UTC)) is None
    assert trigger.after_submission(session, application, threshold=6, now=dt.datetime.now(dt.UTC)) is None
    opened = trigger.after_submission(session, application, threshold=5, now=dt.datetime.now(dt.UTC))
    assert opened is not None and opened.figures["people"] == 5
    session.commit()
    assert trigger.after_submission(session, application, threshold=5, now=dt.datetime.now(dt.UTC)) is None
    assert count(session, FoundingCaseStep) == 1


# ---------------------------------------------------------------- racing stage changes


def test_racing_stage_changes_end_in_one(app, client, session, nanjing, admin, make_officer):
    case = client.post(
        CASES, json={"target_id": _target_id(client, admin, session), "union_id": str(nanjing.city.id)}, headers=admin
    ).get_json()
    officers = [admin] + [make_officer(nanjing.city, "admin")[1] for _ in range(3)]
    barrier = threading.Barrier(len(officers))
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def move(headers):
        own = app.test_client()
        barrier.wait()
        response = own.post(
            f"{CASES}/{case['id']}/stage", json={"stage": "contacted"}, headers={**headers, "If-Match": "1"}
        )
        with lock:
            results.append((response.status_code, response.get_json().get("code")))

    threads = [threading.Thread(target=move, args=(headers,)) for headers in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=lambda r: r[0]) == [(200, None)] + [(409, "stale_version")] * (len(officers) - 1)
    session.expire_all()
    assert count(session, FoundingCaseStep) == 2  # opened, contacted: once
    assert session.scalars(sa.select(FoundingCase.version)).one() == 2


def test_the_cron_sweep_opens_what_scans_alone_reached_once(runner, session, nanjing, file_application):
    from app.joincodes.models import JoinScan

    # 25 devices scanned the rider station's code (a blind spot); 2 of them applied.
    for n in range(25):
        session.add(JoinScan(join_code_id=nanjing.rider_code.id, device_hash=f"device-{n}", channel="web"))
    session.commit()
    for _ in range(2):
        file_application(nanjing.xuanwu, nanjing.rider_point, occupation="food_delivery_rider", route_rule="fallback")
    result = runner.invoke(args=["founding-trigger"])
    assert result.exit_code == 0, result.output
    assert '"opened": 1' in result.output
    case = session.scalars(sa.select(FoundingCase)).one()
    assert case.figures["workers_seen"] == 25 and case.figures["people"] == 2
    again = runner.invoke(args=["founding-trigger"])
    assert '"opened": 0' in again.output
    assert count(session, FoundingCase) == 1


def _drive(client, headers, case, stages):
    for stage in stages:
        body = {"document_no": _union_uscc()} if stage == "registered" else {}
        response = _move(client, headers, case, stage, **body)
        assert response.status_code == 200, (stage, response.get_json())
        case = response.get_json()
    return case


def _union_uscc() -> str:
    from app.directory.uscc import check_character

    body = "81" + valid_uscc(501)[2:17]
    return body + check_character(body)


def test_a_deferred_case_resumes_where_it_left(client, session, nanjing, admin):
    case = client.post(
        CASES, json={"target_id": _target_id(client, admin, session), "union_id": str(nanjing.city.id)}, headers=admin
    ).get_json()
    case = _drive(client, admin, case, ["contacted", "preparing", "deferred"])
    assert case["stage"] == "deferred"
    wrong = _move(client, admin, case, "recruiting")
    assert wrong.status_code == 409 and wrong.get_json()["allowed"] == [
        "preparing",
        "joined_joint_union",
        "not_applicable",
    ]
    case = _drive(client, admin, case, ["preparing", "recruiting", "not_applicable"])
    assert case["stage"] == "not_applicable" and case["overdue"] is False
    assert _move(client, admin, case, "identified").get_json()["code"] == "invalid_transition"
    # Closed: a new case may be opened for the target again.
    again = client.post(
        CASES, json={"target_id": case["target"]["id"], "union_id": str(nanjing.city.id)}, headers=admin
    )
    assert again.status_code == 201


def test_active_registers_the_employer_when_the_directory_has_none(client, session, nanjing, admin):
    assert upload(client, admin, FIRST_LIST.encode()).status_code == 200
    school = session.scalars(sa.select(FoundingTarget).where(FoundingTarget.uscc == A)).one()
    assert school.employer_id is None
    case = client.post(CASES, json={"target_id": str(school.id), "union_id": str(nanjing.city.id)}, headers=admin)
    case = _drive(client, admin, case.get_json(), STAGE_ORDER[1:])
    union = session.get(Union, int(case["founded_union"]["id"]))
    employer = session.get(Employer, union.employer_id)
    assert (employer.uscc, employer.name, employer.union_id) == (A, "玄武明德学校", nanjing.city.id)
    assert union.name == "玄武明德学校工会委员会" and union.region_code == "320102"
    assert case["target"]["employer_id"] == str(employer.id)
