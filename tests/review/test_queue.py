"""The officer's queue: scope, filters, deadlines and escalation, pagination, one query per page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.enrollment.models import Application
from tests.conftest import id_number
from tests.review.conftest import make_overdue

QUEUE = "/api/v1/review/applications"


def _ids(response):
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_an_officer_sees_only_its_subtree(client, nanjing, apply, make_officer):
    courier = apply()  # routed to the express-delivery union under the city
    rider = apply(code=nanjing.rider_code, occupation="food_delivery_rider")  # to Xuanwu's federation
    suzhou = apply(code=nanjing.suzhou_code)
    _, city = make_officer(nanjing.city, "reviewer")
    _, xuanwu = make_officer(nanjing.xuanwu, "reviewer")
    _, province = make_officer(nanjing.province, "viewer")

    assert set(_ids(client.get(QUEUE, headers=city))) == {courier["id"], rider["id"]}
    assert _ids(client.get(QUEUE, headers=xuanwu)) == [rider["id"]]
    assert set(_ids(client.get(QUEUE, headers=province))) == {courier["id"], rider["id"], suzhou["id"]}

    # Outside the subtree it does not exist, by id either.
    for path in (f"{QUEUE}/{suzhou['id']}", f"/api/v1/applications/{suzhou['id']}"):
        outside = client.get(path, headers=city)
        assert outside.status_code == 404
    decided = client.post(f"{QUEUE}/{courier['id']}/decision", json={"action": "approve"}, headers=xuanwu)
    assert decided.status_code == 404


def test_items_are_masked_and_flag_their_deadline(client, nanjing, apply, make_officer, session):
    created = apply(full_name="王小明")
    _, city = make_officer(nanjing.city, "reviewer")
    item = client.get(QUEUE, headers=city).get_json()["items"][0]
    assert item["name_masked"] == "王**"
    assert item["id_number_masked"].startswith("320102") and "*" in item["id_number_masked"]
    assert "full_name" not in item and "id_number" not in item
    assert item["overdue"] is False and item["escalated"] is False
    assert item["due_at"] > item["submitted_at"]

    make_overdue(session, created["id"])
    item = client.get(QUEUE, headers=city).get_json()["items"][0]
    assert item["overdue"] is True
    assert item["escalated"] is True  # routed to the express union below the city


def test_own_queue_holds_own_union_plus_escalated_overdue_from_below(client, nanjing, apply, make_officer, session):
    at_city = apply(code=nanjing.suzhou_code)  # routed to Suzhou: outside the city
    rider_fresh = apply(code=nanjing.rider_code, occupation="food_delivery_rider")
    rider_late = apply(code=nanjing.rider_code, occupation="food_delivery_rider")
    courier_late = apply()
    make_overdue(session, rider_late["id"])
    make_overdue(session, courier_late["id"])
    _, city = make_officer(nanjing.city, "reviewer")
    _, xuanwu = make_officer(nanjing.xuanwu, "reviewer")
    _, express = make_officer(nanjing.express, "reviewer")

    # The city federation has no applications of its own: its work list is what is late below it.
    assert set(_ids(client.get(QUEUE, query_string={"queue": "own"}, headers=city))) == {
        rider_late["id"],
        courier_late["id"],
    }
    assert set(_ids(client.get(QUEUE, query_string={"queue": "own"}, headers=xuanwu))) == {
        rider_fresh["id"],
        rider_late["id"],
    }
    own_express = client.get(QUEUE, query_string={"queue": "own"}, headers=express).get_json()["items"]
    assert [(i["id"], i["escalated"]) for i in own_express] == [(courier_late["id"], False)]
    assert set(_ids(client.get(QUEUE, query_string={"overdue": "true"}, headers=city))) == {
        rider_late["id"],
        courier_late["id"],
    }
    assert _ids(client.get(QUEUE, query_string={"overdue": "false"}, headers=xuanwu)) == [rider_fresh["id"]]
    assert at_city["id"] not in _ids(client.get(QUEUE, headers=city))


def test_the_own_queue_pages_through_both_halves_in_order(client, nanjing, apply, make_officer, session):
    """``own`` is read as two halves merged (the own union's, the overdue below): the pages interleave them."""
    made = []
    for at_city in (True, False, True, False, False, True):
        created = apply()  # routed to the express union, below the city
        if at_city:  # as if transferred to the city federation itself
            session.execute(
                sa.update(Application)
                .where(Application.id == int(created["id"]))
                .values(union_id=nanjing.city.id, union_path=nanjing.city.path)
            )
            session.commit()
        else:
            make_overdue(session, created["id"])  # escalated from below
        made.append(created["id"])
    apply(code=nanjing.rider_code, occupation="food_delivery_rider")  # below, not late: not in the city's own
    _, city = make_officer(nanjing.city, "reviewer")
    for sort, expected in (("newest", made[::-1]), ("oldest", made)):
        seen, cursor = [], None
        while True:
            query = {"queue": "own", "limit": 1, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = client.get(QUEUE, query_string=query, headers=city).get_json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == expected, sort


def test_filters(client, nanjing, apply, make_officer, session):
    courier = apply(full_name="李四")
    rider = apply(code=nanjing.rider_code, occupation="food_delivery_rider", full_name="赵六")
    _, city = make_officer(nanjing.city, "reviewer")
    cases = [
        ({"occupation": "courier"}, [courier["id"]]),
        ({"station_id": str(nanjing.rider_point.id)}, [rider["id"]]),
        ({"union_id": str(nanjing.express.id)}, [courier["id"]]),
        ({"union_id": str(nanjing.suzhou.id)}, []),
        ({"union_id": "not-a-number"}, []),
        ({"status": "approved"}, []),
        ({"status": "pending", "sort": "oldest"}, [courier["id"], rider["id"]]),
        ({"q": "李"}, [courier["id"]]),
        ({"q": id_number(2)}, [rider["id"]]),  # the second applicant's full ID number, by blind index
        ({"q": id_number(2).lower()}, [rider["id"]]),
        ({"q": id_number(9)}, []),
        ({"since": courier["submitted_at"], "sort": "oldest"}, [courier["id"], rider["id"]]),
        ({"until": courier["submitted_at"]}, []),
    ]
    for query, expected in cases:
        assert _ids(client.get(QUEUE, query_string=query, headers=city)) == expected, query


@pytest.mark.parametrize(
    "query",
    [
        {"status": "done"},
        {"occupation": "pilot"},
        {"limit": 0},
        {"limit": 201},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},  # no offset
        {"overdue": "maybe"},
        {"queue": "everything"},
        {"sort": "random"},
        {"cursor": "not-a-cursor"},
        {"q": "x" * 41},
    ],
)
def test_bad_queries_are_422(client, nanjing, make_officer, query):
    _, city = make_officer(nanjing.city, "reviewer")
    response = client.get(QUEUE, query_string=query, headers=city)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_workers_and_anonymous_cannot_read_the_queue(client, worker):
    assert client.get(QUEUE).status_code == 401
    assert client.get(QUEUE, headers=worker[1]).status_code == 403


def test_pages_stay_correct_while_applications_arrive(client, nanjing, apply, make_officer):
    first = [apply()["id"] for _ in range(5)]
    _, city = make_officer(nanjing.city, "reviewer")
    page1 = client.get(QUEUE, query_string={"limit": 2}, headers=city).get_json()
    late = apply()["id"]  # arrives between pages: newest, so it is not pushed into page 2
    seen = [i["id"] for i in page1["items"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = client.get(QUEUE, query_string={"limit": 2, "cursor": cursor}, headers=city).get_json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(reversed(first))
    assert late not in seen


@pytest.mark.parametrize("count", [3, 12])
def test_one_query_per_page(client, nanjing, apply, make_officer, count, count_queries):
    for n in range(count):
        if n % 2:
            apply(code=nanjing.rider_code, occupation="food_delivery_rider")
        else:
            apply(employment_form="contract")
    _, city = make_officer(nanjing.city, "reviewer")
    with count_queries() as statements:
        client.get(QUEUE, headers=city).close()
    touching_applications = [s for s in statements if "applications" in s]
    assert len(touching_applications) == 1
    # The officer and its union are loaded once to authorise; nothing grows with the page.
    assert len(statements) == 3


def test_unmasked_detail_for_reviewers_is_audited(client, nanjing, apply, make_officer, session):
    created = apply(full_name="张三丰")
    officer, reviewer = make_officer(nanjing.city, "reviewer")
    _, viewer = make_officer(nanjing.city, "viewer")

    detail = client.get(f"{QUEUE}/{created['id']}", headers=reviewer)
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["full_name"] == "张三丰"
    assert body["id_number"] == id_number(1)
    assert body["unmasked"] is True
    assert body["phone_masked"].startswith("137") and "*" in body["phone_masked"]
    assert detail.headers["ETag"] == f'"{body["version"]}"'

    masked = client.get(f"{QUEUE}/{created['id']}", headers=viewer).get_json()
    assert masked["full_name"] is None and masked["id_number"] is None and masked["unmasked"] is False

    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "application.view_unmasked")).all()
    assert [(e.actor_id, e.object_id) for e in events] == [(officer.id, created["id"])]
    assert "张三丰" not in str(events[0].details) and id_number(1) not in str(events[0].details)


@pytest.mark.parametrize("application_id", ["0", "abc", "9" * 30, "-1", "１"])
def test_unknown_ids_are_404(client, nanjing, make_officer, application_id):
    _, reviewer = make_officer(nanjing.city, "reviewer")
    assert client.get(f"{QUEUE}/{application_id}", headers=reviewer).status_code == 404
    decision = client.post(f"{QUEUE}/{application_id}/decision", json={"action": "approve"}, headers=reviewer)
    assert decision.status_code == 404
