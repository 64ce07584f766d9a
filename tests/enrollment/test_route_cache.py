"""A submit's routing decision is kept per process and worked out again as soon as the directory changes.

The decision for a station, an occupation and an employment form is the same for every worker until
an officer changes a union, an employer, a station, a routing rule or a join code; each such change
moves the directory version (``app.joincodes.resolved``). A change made in this process routes the
next application anew; one made by another process once the cache next checks the version (its clock
is moved here, never waited on).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from app.db import utcnow
from app.directory.models import Union
from app.joincodes.models import DirectoryChange
from app.joincodes.resolved import VERSION_CHECK_SECONDS
from app.routing.cache import CachedRoute, RouteCache, RoutedUnion
from app.routing.models import RoutingRule


def _statements(app):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(app.extensions["ruhui.engine"], "before_cursor_execute", record)
    return seen


def test_the_route_is_worked_out_once_and_again_after_a_directory_change(app, session, nanjing, apply):
    seen = _statements(app)
    first = apply()
    assert any("routing_rules" in s for s in seen), "the first submit at the station routes it"

    seen.clear()
    second = apply()
    assert second["union"] == first["union"]
    assert not any("routing_rules" in s for s in seen), "the next one is routed from the cache"
    assert second["route"]["reasons"] == first["route"]["reasons"]

    rule = RoutingRule(union_id=nanjing.suzhou.id, owner_union_id=nanjing.province.id, priority=1)
    rule.station_id = nanjing.depot.id
    session.add(rule)
    session.commit()

    seen.clear()
    third = apply()
    assert any("routing_rules" in s for s in seen), "a directory change routes the next submit anew"
    assert third["union"]["id"] == str(nanjing.suzhou.id)


def test_a_union_that_stops_accepting_gets_no_more_applications(session, nanjing, apply):
    first = apply()
    receiving = session.get(Union, int(first["union"]["id"]))
    receiving.accepting = False
    session.commit()
    assert apply()["union"]["id"] != first["union"]["id"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _change_from_another_process(session) -> None:
    """What another process's directory change leaves: a version row (this process's signal never fires)."""
    with session.get_bind().begin() as connection:
        connection.execute(sa.insert(DirectoryChange).values(changed_at=utcnow()))


ROUTE = CachedRoute(RoutedUnion(1, "南京市总工会", "federation", "/1/"), "fallback", ("兜底",))


def test_a_change_in_another_process_is_seen_once_the_version_is_checked(session, nanjing):
    clock = FakeClock()
    cache = RouteCache(clock=clock)
    key = (nanjing.depot.id, "courier", "platform")
    _, tag = cache.lookup(session, key)
    cache.store(key, ROUTE, tag)
    assert cache.lookup(session, key)[0] == ROUTE

    _change_from_another_process(session)
    clock.now += VERSION_CHECK_SECONDS / 2
    assert cache.lookup(session, key)[0] == ROUTE, "within the check interval the cached decision stands"
    clock.now += VERSION_CHECK_SECONDS / 2
    assert cache.lookup(session, key)[0] is None


def test_a_decision_worked_out_while_the_version_moved_is_not_kept(session, nanjing):
    cache = RouteCache(clock=FakeClock())
    key = (nanjing.depot.id, "courier", "platform")
    _, tag = cache.lookup(session, key)
    _change_from_another_process(session)
    cache.clock.now += VERSION_CHECK_SECONDS  # type: ignore[attr-defined]
    cache.lookup(session, (0, "courier", None))  # notices the new version
    cache.store(key, ROUTE, tag)
    assert cache.lookup(session, key)[0] is None
