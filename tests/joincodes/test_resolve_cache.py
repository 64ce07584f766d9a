"""What a code resolves to is cached per process and forgotten when the directory changes.

Every kind of change that a scan's answer depends on (a union, an employer, a station, a routing
rule, the code itself) moves the directory version in its own transaction; a change made in this
process is seen by the next scan, and one made by another process once the cache next checks the
version (at most ``VERSION_CHECK_SECONDS`` later: the cache's clock is moved here, never waited on).
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.db import utcnow
from app.directory.models import Employer, Station, Union
from app.joincodes import resolved, service
from app.joincodes.models import DirectoryChange, JoinCode, JoinScan
from app.routing.models import RoutingRule


def _screen(client, token):
    response = client.get(f"/api/v1/join/{token}")
    return response.status_code, response.get_json()


def _version(session) -> int:
    session.expire_all()
    return resolved.directory_version(session)


def _rename_union(session, directory):
    session.get(Union, directory.nanjing.id).name = "南京市总工会（新名）"


def _close_union(session, directory):
    session.get(Union, directory.nanjing.id).accepting = False


def _rename_employer(session, directory):
    session.get(Employer, directory.employer.id).name = "示例速运（新名）"


def _rename_station(session, directory):
    session.get(Station, directory.depot.id).name = "示例速运玄武点部（迁址）"


def _add_rule(session, directory):
    rule = RoutingRule(union_id=directory.suzhou.id, owner_union_id=directory.province.id, priority=1)
    rule.station_id = directory.depot.id
    session.add(rule)


def _revoke(session, directory):
    code = session.scalars(sa.select(JoinCode).where(JoinCode.station_id == directory.depot.id)).one()
    service.revoke_join_code(session, code, revoked_by_id=None)  # an UPDATE statement, not a unit of work


def _expire_soon(session, directory):
    code = session.scalars(sa.select(JoinCode).where(JoinCode.station_id == directory.depot.id)).one()
    code.expires_at = utcnow() - dt.timedelta(seconds=1)


CHANGES = {
    "union renamed": _rename_union,
    "union stops accepting": _close_union,
    "employer renamed": _rename_employer,
    "station renamed": _rename_station,
    "routing rule added": _add_rule,
    "code revoked": _revoke,
    "code expiry changed": _expire_soon,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_every_kind_of_directory_change_is_seen_by_the_next_scan(client, session, directory, live_code, change):
    status, before = _screen(client, live_code.token)
    assert status == 200
    assert _screen(client, live_code.token) == (200, before), "answered again, from the cache"
    version = _version(session)

    change(session, directory)
    session.commit()

    assert _version(session) > version, "the change moved the directory version in its transaction"
    # The truth, resolved without any cache, next to what the next scan shows.
    session.expire_all()
    truth = service.resolve_token(session, live_code.token)
    status, after = _screen(client, live_code.token)
    if truth.code.status_at(utcnow()) != "active":
        assert status == 410
        return
    assert status == 200
    assert after != before
    assert after["station"]["name"] == truth.station.name
    assert (after["employer"] or {}).get("name") == (truth.employer.name if truth.employer else None)
    assert (after["union_preview"] or {}).get("name") == (truth.union.name if truth.union else None)


def test_a_scan_or_an_application_does_not_move_the_version(client, session, live_code):
    version = _version(session)
    for n in range(3):
        assert client.get(f"/api/v1/join/{live_code.token}", headers={"X-Device-Id": f"phone-{n}"}).status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(JoinScan)) == 3
    assert _version(session) == version


def test_a_bulk_delete_statement_moves_the_version(session, directory):
    version = _version(session)
    session.execute(sa.delete(RoutingRule).where(RoutingRule.station_id == directory.depot.id))
    session.commit()
    assert _version(session) > version


def test_a_change_rolled_back_leaves_the_version(session, directory):
    version = _version(session)
    session.get(Station, directory.depot.id).name = "不会保存的名字"
    session.flush()
    session.rollback()
    assert _version(session) == version


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _change_from_another_process(session, code_id: int) -> None:
    """What another app process's revocation leaves in the database: the row changed and a version row.

    Written on a plain connection, so this process's sessions (and their local signal) never see it.
    """
    with session.get_bind().begin() as connection:
        connection.execute(sa.update(JoinCode).where(JoinCode.id == code_id).values(revoked_at=utcnow()))
        connection.execute(sa.insert(DirectoryChange).values(changed_at=utcnow()))


def test_a_revocation_in_another_process_is_seen_once_the_version_is_checked(session, live_code):
    clock = FakeClock()
    cache = resolved.ResolveCache(clock=clock)
    assert service.resolve_token(session, live_code.token, cache).code.status_at(utcnow()) == "active"
    assert len(cache) == 1

    _change_from_another_process(session, live_code.id)
    session.expire_all()

    clock.now += resolved.VERSION_CHECK_SECONDS / 2
    stale = service.resolve_token(session, live_code.token, cache)
    assert stale.code.status_at(utcnow()) == "active", "within the check interval the cached answer stands"

    clock.now += resolved.VERSION_CHECK_SECONDS / 2
    fresh = service.resolve_token(session, live_code.token, cache)
    assert fresh.code.status_at(utcnow()) == "revoked"
    assert resolved.VERSION_CHECK_SECONDS < 1, "a revoked code stops answering within a second"


def test_an_answer_computed_while_the_version_moved_is_not_kept(session, live_code):
    cache = resolved.ResolveCache(clock=FakeClock())
    _, tag = cache.lookup(session, live_code.token)
    answer = service.resolve_token(session, live_code.token)
    _change_from_another_process(session, live_code.id)
    cache.clock.now += resolved.VERSION_CHECK_SECONDS  # type: ignore[attr-defined]
    cache.lookup(session, "another-token")  # notices the new version
    cache.store(live_code.token, answer, tag)
    assert cache.lookup(session, live_code.token)[0] is None


def test_the_web_landing_page_of_a_revoked_code_says_so_at_once(client, session, directory, live_code):
    assert client.get(f"/j/{live_code.token}").status_code == 200
    _revoke(session, directory)
    session.commit()
    assert client.get(f"/j/{live_code.token}").status_code == 410
