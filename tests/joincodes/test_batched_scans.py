"""Counted scans written in batches (SCAN_FLUSH_MS): every scan within the bounds is written, once, at the flush.

The app's scan log is given an interval no test reaches, so nothing is written until the test
flushes it (``flush``), exits (``flush_all``, what ``atexit`` and gunicorn's ``worker_exit`` call)
or fills a batch (``SCAN_FLUSH_ROWS``). No timed assertion: the flushes are called, not waited for.
"""

from __future__ import annotations

import pytest

from app.config import Settings
from app.joincodes import scanlog, service
from tests.joincodes.conftest import scan_rows

CAP = Settings.scans_counted_per_address_hour
NEVER_MS = 3_600_000  # the writer thread's interval: an hour, so only the test's flushes write


@pytest.fixture
def app_config(app_config, ratelimit_backend):
    return {**app_config, **ratelimit_backend, "scan_flush_ms": NEVER_MS}


def _resolve(client, token, device=None, ip="203.0.113.20"):
    headers = {"X-Device-Id": device} if device is not None else {}
    return client.get(f"/api/v1/join/{token}", headers=headers, environ_base={"REMOTE_ADDR": ip})


def _scan_log(app) -> scanlog.ScanLog:
    scan_log = app.extensions["ruhui.scan_log"]
    assert isinstance(scan_log, scanlog.ScanLog)
    return scan_log


def test_scans_are_written_at_the_flush_each_once(app, client, session, live_code):
    for n in range(25):
        assert _resolve(client, live_code.token, device=f"phone-{n}", ip=f"203.0.113.{n}").status_code == 200
    assert scan_rows(session, live_code.id) == [], "queued, not yet written"
    assert _scan_log(app).flush() == 25
    rows = scan_rows(session, live_code.id)
    assert len(rows) == 25
    assert {row.channel for row in rows} == {"miniprogram"}
    assert len({row.device_hash for row in rows}) == 25
    assert _scan_log(app).flush() == 0
    assert len(scan_rows(session, live_code.id)) == 25, "a second flush writes nothing again"


def test_a_batch_keeps_the_bounds_a_device_once_an_address_up_to_its_cap(app, client, session, directory, live_code):
    other = service.create_join_code(session, directory.second_depot, created_by_id=None)
    session.commit()
    for _ in range(5):
        assert _resolve(client, live_code.token, device="phone-A", ip="198.51.100.7").status_code == 200
    assert _resolve(client, other.token, device="phone-A", ip="198.51.100.7").status_code == 200
    for n in range(CAP + 30):
        assert _resolve(client, live_code.token, device=f"forged-{n}").status_code == 200
    _scan_log(app).flush()
    assert len(scan_rows(session, other.id)) == 1
    # phone-A once, and the forging address up to its cap.
    assert len(scan_rows(session, live_code.id)) == 1 + CAP


def test_the_landing_page_is_queued_and_written_like_a_resolve(app, client, session, live_code):
    for n in range(3):
        client.delete_cookie("ruhui_device", path="/")
        assert client.get(f"/j/{live_code.token}", environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}).status_code == 200
    _scan_log(app).flush()
    assert [row.channel for row in scan_rows(session, live_code.id)] == ["web"] * 3


def test_queued_scans_are_written_when_the_process_exits(app, client, session, live_code):
    for n in range(7):
        _resolve(client, live_code.token, device=f"phone-{n}", ip=f"203.0.113.{n}")
    assert scan_rows(session, live_code.id) == []
    scanlog.flush_all()  # what atexit (and gunicorn's worker_exit) runs
    assert len(scan_rows(session, live_code.id)) == 7


def test_a_full_batch_is_written_without_waiting_for_the_interval(make_app, ratelimit_backend, session, live_code):
    app = make_app(**ratelimit_backend, scan_flush_ms=NEVER_MS, scan_flush_rows=4)
    client = app.test_client()
    for n in range(4):
        _resolve(client, live_code.token, device=f"phone-{n}", ip=f"203.0.113.{n}")
    scan_log = _scan_log(app)
    # The fourth scan woke the writer; closing it waits for that write (and writes anything left).
    scan_log.close()
    assert scan_log.written == 4
    assert len(scan_rows(session, live_code.id)) == 4


def test_a_sign_in_right_after_a_queued_scan_is_attributed_to_its_code(app, client, session, live_code):
    from app.joincodes.models import ScanSignIn

    _resolve(client, live_code.token, device="phone-Z")
    assert scan_rows(session, live_code.id) == []
    attribution = service.sign_in_attribution("phone-Z", app.config["SECRET_KEY"])
    with app.app_context():
        from app.auth import service as auth_service

        person = auth_service.find_or_create_person(session, "13812345678")
        sign_in = attribution(session, person.id, "sms")
        session.commit()
    assert isinstance(sign_in, ScanSignIn)
    assert sign_in.join_code_id == live_code.id
    _scan_log(app).flush()
    assert len(scan_rows(session, live_code.id)) == 1


def test_a_scan_of_a_code_deleted_before_the_flush_does_not_hold_up_the_others(app, client, session, directory):
    from app.joincodes.models import JoinCode

    kept = service.create_join_code(session, directory.depot, created_by_id=None)
    gone = service.create_join_code(session, directory.second_depot, created_by_id=None)
    session.commit()
    _resolve(client, gone.token, device="phone-1")
    _resolve(client, kept.token, device="phone-2")
    session.delete(session.get(JoinCode, gone.id))
    session.commit()
    assert _scan_log(app).flush() == 1
    assert len(scan_rows(session, kept.id)) == 1


def test_a_batchs_hits_are_the_ones_a_scan_in_its_request_sees(make_app, ratelimit_backend, session, live_code):
    """The batch's one call to the counters writes the keys ``limits`` reads: a scan counted per request
    (SCAN_FLUSH_MS=0) after a batch sees its device's hit and its address's count, and so does the batch after it."""
    if ratelimit_backend["ratelimit_storage_uri"] == "memory://":
        pytest.skip("two apps share their counters only through Redis")
    batched = make_app(**ratelimit_backend, scan_flush_ms=NEVER_MS)
    client = batched.test_client()
    _resolve(client, live_code.token, device="phone-B", ip="198.51.100.9")
    for n in range(CAP - 1):
        _resolve(client, live_code.token, device=f"fill-{n}", ip="198.51.100.9")
    assert _scan_log(batched).flush() == CAP
    # Read back through ``limits``' own moving window (its key names, not the batch script's).
    limits = batched.extensions["ruhui.rate_limits"]
    address_limit = service.ScanCounting(limits, "", "", CAP).address_limit
    assert limits.check([(address_limit, "198.51.100.9")]) is not None
    assert limits.check([(address_limit, "198.51.100.10")]) is None
    at_once = make_app(**ratelimit_backend, scan_flush_ms=0).test_client()
    _resolve(at_once, live_code.token, device="phone-B", ip="198.51.100.10")  # a repeat of its device: not counted
    _resolve(at_once, live_code.token, device="phone-C", ip="198.51.100.9")  # its address is at the cap
    _resolve(at_once, live_code.token, device="phone-D", ip="198.51.100.10")  # counted
    assert len(scan_rows(session, live_code.id)) == CAP + 1
    _resolve(client, live_code.token, device="phone-D", ip="198.51.100.11")  # the per-request hit, seen by a batch
    assert _scan_log(batched).flush() == 0
