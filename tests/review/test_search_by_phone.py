"""Officers find an applicant in the queue by the full mobile number, matched through its blind index."""

from __future__ import annotations

QUEUE = "/api/v1/review/applications"


def _ids(client, headers, q):
    response = client.get(QUEUE, query_string={"q": q}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_the_queue_is_searched_by_a_full_phone_number(client, nanjing, apply, make_officer):
    first = apply(phone="13812345678")
    second = apply(phone="13912345678", code=nanjing.rider_code, occupation="food_delivery_rider")
    outside = apply(phone="13712345678", code=nanjing.suzhou_code)
    _, city = make_officer(nanjing.city, "reviewer")
    assert _ids(client, city, "13812345678") == [first["id"]]
    assert _ids(client, city, " +86 139-1234-5678 ") == [second["id"]]  # written as people write it
    assert _ids(client, city, "13612345678") == []  # nobody applied from that number
    assert _ids(client, city, "13712345678") == []  # outside the city's subtree
    assert _ids(client, city, "1381234") == []  # a fragment matches nothing: numbers are only stored sealed
    _, province = make_officer(nanjing.province, "viewer")
    assert _ids(client, province, "13712345678") == [outside["id"]]
