"""Scans are counted within bounds, and the code is always answered (issue 13, item 5)."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.joincodes import service
from tests.joincodes.conftest import scan_rows

CAP = Settings.scans_counted_per_address_hour


@pytest.fixture
def app_config(app_config, ratelimit_backend):
    return {**app_config, **ratelimit_backend}


def _resolve(client, token, device=None, ip="203.0.113.20"):
    headers = {"X-Device-Id": device} if device is not None else {}
    return client.get(f"/api/v1/join/{token}", headers=headers, environ_base={"REMOTE_ADDR": ip})


def test_forged_device_ids_from_one_address_are_counted_up_to_the_cap(client, session, live_code):
    statuses = [_resolve(client, live_code.token, device=f"forged-{n}").status_code for n in range(300)]
    assert statuses == [200] * 300, "the worker is always answered"
    assert len(scan_rows(session, live_code.id)) == CAP < 300
    # Another address still counts.
    assert _resolve(client, live_code.token, device="honest-phone", ip="198.51.100.30").status_code == 200
    assert len(scan_rows(session, live_code.id)) == CAP + 1


def test_one_device_counts_once_per_code_in_the_window(client, session, directory, live_code, clock):
    other = service.create_join_code(session, directory.second_depot, created_by_id=None)
    session.commit()
    for _ in range(5):
        assert _resolve(client, live_code.token, device="phone-A").status_code == 200
    assert _resolve(client, other.token, device="phone-A").status_code == 200
    assert len(scan_rows(session, live_code.id)) == 1
    assert len(scan_rows(session, other.id)) == 1
    clock.advance(service.SCAN_DEVICE_WINDOW.item.get_expiry() + 1)
    assert _resolve(client, live_code.token, device="phone-A").status_code == 200
    assert len(scan_rows(session, live_code.id)) == 2


def test_the_landing_page_counts_within_the_same_bounds(client, session, live_code):
    for n in range(CAP + 20):
        client.delete_cookie("ruhui_device", path="/")  # a fresh browser each time
        response = client.get(f"/j/{live_code.token}", environ_base={"REMOTE_ADDR": "203.0.113.21"})
        assert response.status_code == 200, n
    assert len(scan_rows(session, live_code.id)) == CAP
    for _ in range(3):  # one browser reloading
        client.get(f"/j/{live_code.token}", environ_base={"REMOTE_ADDR": "198.51.100.31"})
    assert len(scan_rows(session, live_code.id)) == CAP + 1
