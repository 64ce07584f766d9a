"""A courier's whole journey on the demo directory: scan, prove the phone, apply, land with the right union."""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa

from app.demo import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME
from app.directory.models import Station


def test_new_phone_goes_from_scan_to_pending_with_the_expected_union(client, runner, session, caplog):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    station = session.scalars(sa.select(Station).where(Station.name == "顺邦快递秦淮夫子庙网点")).one()

    # The depot's admin prints a join code for the station.
    login = client.post(
        "/api/v1/officers/login", json={"username": DEMO_ADMIN_USERNAME, "password": DEMO_ADMIN_PASSWORD}
    )
    assert login.status_code == 200
    admin = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    issued = client.post(f"/api/v1/stations/{station.id}/join-codes", json={}, headers=admin)
    assert issued.status_code == 201
    token = issued.get_json()["token"]
    explained = client.get(
        "/api/v1/routing/explain", query_string={"station_id": station.id, "occupation": "courier"}, headers=admin
    ).get_json()

    # The courier scans it: the mini-program's first screen in one round trip.
    screen = client.get(f"/api/v1/join/{token}")
    assert screen.status_code == 200
    preview = screen.get_json()["union_preview"]
    assert preview["name"] == explained["union"]["name"] == "南京市快递行业工会联合会"

    # Proves the phone by SMS (the console gateway logs the code in development).
    with caplog.at_level(logging.INFO, logger="ruhui.sms.console"):
        challenge = client.post("/api/v1/auth/otp", json={"phone": "+86 139-0000-1234"})
    assert challenge.status_code == 202
    text = next(r.text for r in caplog.records if r.name == "ruhui.sms.console")
    code = re.search(r"\d{6}", text).group(0)  # type: ignore[union-attr]
    tokens = client.post(
        "/api/v1/auth/otp/verify", json={"challenge_id": challenge.get_json()["challenge_id"], "code": code}
    )
    assert tokens.status_code == 200
    worker = {"Authorization": f"Bearer {tokens.get_json()['access_token']}"}

    # Fills in the one form.
    submitted = client.post(
        "/api/v1/applications",
        json={
            "join_token": token,
            "full_name": "王小明",
            "id_number": "11010519491231002X",
            "occupation": "courier",
            "employment_form": "platform",
            "consent_version": screen.get_json()["consent"]["version"],
        },
        headers={**worker, "Idempotency-Key": "journey-0001"},
    )
    assert submitted.status_code == 201
    application = submitted.get_json()
    assert application["status"] == "pending"
    assert application["union"]["name"] == preview["name"]
    assert application["route"]["rule"] == explained["rule"]

    mine = client.get("/api/v1/me/applications", headers=worker).get_json()
    assert [item["id"] for item in mine["items"]] == [application["id"]]
