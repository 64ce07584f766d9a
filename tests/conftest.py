"""Fixtures shared by more than one test directory; each directory's own live in its conftest.py.

One way to share a fixture: it is defined in a conftest.py (here when several directories
use it, else beside its tests) and pytest finds it by name. Tests never import fixtures,
and there is no other fixture module. Plain helpers that tests call (``form``,
``valid_uscc``, ``id_number`` …) are imported from the conftest that defines them.

The app runs on a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says
so). The schema is built once per run by the real Alembic migrations; every test then
starts from empty tables (rows are deleted after each test), so tests may commit, race
and use several connections just as the app does. A test marked ``postgres`` is skipped
on SQLite.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from app import create_app, migrate
from app.actors import Actor
from app.auth import service as auth_service
from app.auth.models import Officer, Person
from app.auth.phones import PHONE_PURPOSE
from app.auth.tokens import issue_access_token
from app.config import normalise_database_url
from app.db import Base, create_db_engine, utcnow
from app.directory import service as directory_service
from app.directory.models import Employer, Station, Union
from app.directory.uscc import check_character
from app.enrollment.models import Application, Identity, Membership
from app.enrollment.service import ID_NUMBER_CONTEXT, NAME_CONTEXT
from app.joincodes import service as joincodes_service
from app.joincodes.models import JoinCode
from app.stats.models import CoverageSummaryDelta
from tests.fakes.aliyun import FakeAliyunSms
from tests.fakes.servers import PrivatePostgres, PrivateRedis, postgres_bin
from tests.fakes.tencent import FakeTencentSms
from tests.fakes.wechat import FakeWeChat

# Seeded times are relative to the start of the run: "overdue" is judged against the real clock.
NOW = utcnow()


# ---------------------------------------------------------------- the app and its database


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return normalise_database_url(url) if url.startswith(("postgres://", "postgresql")) else None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A freshly migrated database for the whole run."""
    url = _postgres_url()
    if url is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        engine = create_db_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    return url


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Settings overrides; a test may change them before asking for ``app``."""
    return {
        "env": "test",
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "public_base_url": "https://ruhui.example.cn",
        "ratelimit_storage_uri": "memory://",
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    yield app
    app.extensions["ruhui.rate_limits"].close()
    engine = app.extensions["ruhui.engine"]
    with engine.begin() as connection:
        # Enterprise unions and employers refer to each other: cut that link before deleting either.
        connection.execute(sa.update(Union).values(employer_id=None))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        # Deleting the applications appended their (negative) coverage deltas on PostgreSQL: gone too.
        connection.execute(sa.delete(CoverageSummaryDelta))
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session of the test's own, for arranging data and checking what changed.

    No app context is held open around the test: each request the test makes pushes
    its own, as in production, so ``g`` (the principal, the request id, the request's
    database session) never leaks from one request into the next. Objects read here
    are not refreshed by requests: ``expire_all()`` before checking what changed.
    """
    own = app.extensions["ruhui.sessionmaker"]()
    try:
        yield own
    finally:
        own.close()


@pytest.fixture
def province(session: Session) -> Union:
    union = directory_service.add_union(session, name="江苏省总工会", kind="federation", region_code="320000")
    session.commit()
    return union


@pytest.fixture
def make_officer(app: Flask, session: Session):
    """``make_officer(union, role)`` → (officer, headers with a valid bearer token)."""
    counter = iter(range(1, 10_000))

    def make(
        union: Union, role: str = "admin", password: str = "correct-horse-battery"
    ) -> tuple[Officer, dict[str, str]]:
        officer = auth_service.create_officer(
            session,
            username=f"officer{next(counter)}",
            password=password,
            name="测试干部",
            union_id=union.id,
            role=role,
        )
        session.commit()
        with app.test_request_context():
            token, _ = issue_access_token("officer", officer.id)
        return officer, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def make_app(app_config: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """``make_app(**overrides)``: another app on the same database (another process, other settings)."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        made.append(create_app({**app_config, **overrides}))
        return made[-1]

    yield make
    for app in made:
        app.extensions["ruhui.rate_limits"].close()
        app.extensions["ruhui.engine"].dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.postgres`` tests need PostgreSQL: on SQLite they are skipped, saying why."""
    if _postgres_url() is not None:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); SQLite runs one writer at a time")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture
def count_queries(app: Flask):
    """``with count_queries() as queries: ...`` then ``queries`` holds the SQL statements run inside the block."""
    engine = app.extensions["ruhui.engine"]

    @contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []

        def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)

    return counting


# ---------------------------------------------------------------- fake providers, rate-limit storages, the clock
# To point the app at a fake, override ``app_config`` in the test module or directory:
#
#     @pytest.fixture
#     def app_config(app_config, fake_aliyun):
#         return {**app_config, **fake_aliyun.settings()}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def fake_aliyun() -> Iterator[FakeAliyunSms]:
    with FakeAliyunSms() as fake:
        yield fake


@pytest.fixture
def fake_tencent() -> Iterator[FakeTencentSms]:
    with FakeTencentSms() as fake:
        yield fake


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat() as fake:
        yield fake


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running PostgreSQL cluster of this test's own (stop and start it at will)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    with PrivatePostgres(bindir) as cluster:
        cluster.start()
        yield cluster


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A running redis-server of this test's own (stop and start it at will)."""
    with PrivateRedis() as server:
        server.start()
        yield server


@pytest.fixture(params=["memory", "redis"])
def ratelimit_backend(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Settings overrides for each rate-limit storage: in-process memory, and the real Redis.

    Redis keys carry a prefix unique to the test and are deleted afterwards (the
    Redis is shared: never FLUSHDB).
    """
    if request.param == "memory":
        yield {"ratelimit_storage_uri": "memory://"}
        return
    prefix = f"ruhui-test-{uuid.uuid4().hex[:12]}"
    yield {"ratelimit_storage_uri": REDIS_URL, "ratelimit_key_prefix": prefix}
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@dataclass
class Clock:
    """``time.time()`` plus an offset that only moves forward."""

    offset: float = 0.0

    def advance(self, seconds: float) -> None:
        assert seconds >= 0
        self.offset += seconds


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Move time forward for everything that reads ``time.time()``: the rate-limit storages
    (memory and Redis windows), ``app.db.utcnow`` (challenges, tokens) and the fake providers."""
    real_time = time.time
    moved = Clock()

    def moved_time() -> float:
        return real_time() + moved.offset

    with mock.patch("time.time", new=moved_time):
        yield moved


# ---------------------------------------------------------------- directory and routing: a small union tree


def valid_uscc(serial: int, region_code: str = "320102") -> str:
    """A fictional code with a correct GB 32100 check character."""
    body = f"91{region_code}MA{serial:07d}"
    return body + check_character(body)


@dataclass
class Tree:
    """江苏省 → 南京市 → 玄武区 / 鼓楼区, and 江苏省 → 苏州市 (all federations)."""

    province: Union
    nanjing: Union
    xuanwu: Union
    gulou: Union
    suzhou: Union

    @property
    def root_scope(self) -> Actor:
        return Actor.system(self.province.id, self.province.path)


@pytest.fixture
def tree(session: Session, province: Union) -> Tree:
    nanjing = directory_service.add_union(
        session, name="南京市总工会", kind="federation", region_code="320100", parent=province
    )
    xuanwu = directory_service.add_union(
        session, name="玄武区总工会", kind="federation", region_code="320102", parent=nanjing
    )
    gulou = directory_service.add_union(
        session, name="鼓楼区总工会", kind="federation", region_code="320106", parent=nanjing
    )
    suzhou = directory_service.add_union(
        session, name="苏州市总工会", kind="federation", region_code="320500", parent=province
    )
    session.commit()
    return Tree(province, nanjing, xuanwu, gulou, suzhou)


@pytest.fixture
def make_employer(session: Session, tree: Tree):
    serials = iter(range(1, 100_000))

    def make(
        union: Union | None = None,
        *,
        name: str = "测试快递有限公司",
        region_code: str | None = None,
        parent: Employer | None = None,
        external_code: str | None = None,
    ) -> Employer:
        union = union or tree.xuanwu
        region_code = region_code or union.region_code
        employer = directory_service.create_employer(
            session,
            tree.root_scope,
            name=name,
            uscc=valid_uscc(next(serials), region_code),
            region_code=region_code,
            parent_id=parent.id if parent else None,
            union_id=union.id,
            external_code=external_code,
        )
        session.commit()
        return employer

    return make


@pytest.fixture
def make_station(session: Session, tree: Tree):
    def make(
        union: Union | None = None,
        *,
        name: str = "测试站点",
        region_code: str | None = None,
        occupation: str = "courier",
        employer: Employer | None = None,
        external_code: str | None = None,
    ) -> Station:
        union = union or tree.xuanwu
        station = directory_service.create_station(
            session,
            tree.root_scope,
            name=name,
            region_code=region_code or union.region_code,
            occupation=occupation,
            address="测试路 1 号",
            employer_id=employer.id if employer else None,
            union_id=union.id,
            external_code=external_code,
        )
        session.commit()
        return station

    return make


# ---------------------------------------------------------------- enrollment, review, notify: workers who apply

VALID_ID = "11010519491231002X"
CONSENT = "2026-01"


@dataclass
class Nanjing:
    """A small Nanjing directory with a live join code per station (enrollment, review, notify)."""

    province: Union
    city: Union
    xuanwu: Union
    express: Union  # 南京市快递行业工会联合会
    suzhou: Union
    depot: Station  # a courier depot in Xuanwu of an employer with no union
    rider_point: Station  # a rider station with no employer
    suzhou_depot: Station
    code: JoinCode
    rider_code: JoinCode
    suzhou_code: JoinCode


@pytest.fixture
def nanjing(app, session, province) -> Nanjing:
    add = directory_service.add_union
    city = add(session, name="南京市总工会", kind="federation", region_code="320100", parent=province)
    xuanwu = add(session, name="玄武区总工会", kind="federation", region_code="320102", parent=city)
    express = add(
        session,
        name="南京市快递行业工会联合会",
        kind="industry",
        region_code="320100",
        parent=city,
        occupations=["courier"],
    )
    suzhou = add(session, name="苏州市总工会", kind="federation", region_code="320500", parent=province)
    employer = Employer(name="示例速运南京分公司", uscc="91320102MA1Y8K4X2C", region_code="320102", union_id=city.id)
    session.add(employer)
    session.flush()

    def station(name, union, region, occupation, employer_id=None):
        row = Station(
            name=name,
            union_id=union.id,
            region_code=region,
            occupation=occupation,
            address="测试地址",
            employer_id=employer_id,
        )
        session.add(row)
        session.flush()
        return row

    depot = station("示例速运玄武点部", city, "320102", "courier", employer.id)
    rider_point = station("玄武骑手驿站", xuanwu, "320102", "food_delivery_rider")
    suzhou_depot = station("姑苏点部", suzhou, "320508", "courier")
    with app.app_context():
        codes = [
            joincodes_service.create_join_code(session, s, created_by_id=None)
            for s in (depot, rider_point, suzhou_depot)
        ]
    session.commit()
    return Nanjing(province, city, xuanwu, express, suzhou, depot, rider_point, suzhou_depot, *codes)


@pytest.fixture
def make_worker(app, session):
    """``make_worker(phone)`` → (person, bearer headers) for a phone that has been proved."""

    def make(phone: str = "13912345678"):
        with app.app_context():
            person = auth_service.find_or_create_person(session, phone)
            session.commit()
            token, _ = issue_access_token("worker", person.id)
        return person, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def worker(make_worker):
    return make_worker()


def form(nanjing: Nanjing, **changes: Any) -> dict[str, Any]:
    body = {
        "join_token": nanjing.code.token,
        "full_name": "张三",
        "id_number": VALID_ID,
        "occupation": "courier",
        "employment_form": "platform",
        "consent_version": CONSENT,
    }
    body.update(changes)
    return body


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number(serial: int, region: str = "320102", birth: str = "19900101") -> str:
    """A valid resident ID number (GB 11643 checksum) for the n-th test applicant."""
    body = f"{region}{birth}{serial % 1000:03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


@pytest.fixture
def apply(client, nanjing, make_worker):
    """``apply(code=None, phone=None, **form changes)`` → the created application's JSON (a new worker each time)."""
    serials = itertools.count(1)

    def submit(code=None, phone=None, **changes):
        n = next(serials)
        _, headers = make_worker(phone or f"1371234{n:04d}")
        body = form(nanjing, id_number=id_number(n), **changes)
        if code is not None:
            body["join_token"] = code.token
        response = client.post("/api/v1/applications", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return submit


# ---------------------------------------------------------------- statistics and exports


@dataclass
class CoverageTree:
    """江苏省 → 南京市 (→ 玄武区 → 新街口街道, 秦淮区, 快递行业工会联合会), 苏州市 (→ 姑苏区)."""

    province: Union
    nanjing: Union
    xuanwu: Union
    xinjiekou: Union
    qinhuai: Union
    express: Union
    suzhou: Union
    gusu: Union
    depot: Station  # 玄武区, courier, of an employer without a union
    rider_point: Station  # 秦淮区, food delivery, no employer
    suzhou_point: Station  # 姑苏区
    employer: Employer

    def all(self) -> list[Union]:
        return [self.province, self.nanjing, self.xuanwu, self.xinjiekou, self.qinhuai, self.express]


@pytest.fixture
def coverage_tree(session, province) -> CoverageTree:
    """Unions on four levels, three stations and an employer (see ``CoverageTree``)."""
    add = directory_service.add_union
    nanjing = add(session, name="南京市总工会", kind="federation", region_code="320100", parent=province)
    xuanwu = add(session, name="玄武区总工会", kind="federation", region_code="320102", parent=nanjing)
    xinjiekou = add(session, name="新街口街道总工会", kind="federation", region_code="320102", parent=xuanwu)
    qinhuai = add(session, name="秦淮区总工会", kind="federation", region_code="320104", parent=nanjing)
    express = add(
        session, name="南京市快递行业工会联合会", kind="industry", region_code="320100", parent=nanjing,
        occupations=["courier"],
    )  # fmt: skip
    suzhou = add(session, name="苏州市总工会", kind="federation", region_code="320500", parent=province)
    gusu = add(session, name="姑苏区总工会", kind="federation", region_code="320508", parent=suzhou)
    employer = Employer(
        name='=HYPERLINK("x")速运', uscc="91320102MA1Y8K4X2C", region_code="320102", union_id=nanjing.id
    )
    session.add(employer)
    session.flush()

    def station(name: str, union: Union, region: str, occupation: str, employer_id: int | None = None) -> Station:
        row = Station(
            name=name, union_id=union.id, region_code=region, occupation=occupation, address="测试地址",
            employer_id=employer_id,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row

    depot = station("示例速运玄武点部", xuanwu, "320102", "courier", employer.id)
    rider_point = station("秦淮骑手驿站", qinhuai, "320104", "food_delivery_rider")
    suzhou_point = station("姑苏家政门店", gusu, "320508", "domestic_worker")
    session.commit()
    return CoverageTree(province, nanjing, xuanwu, xinjiekou, qinhuai, express, suzhou, gusu, depot, rider_point,
                suzhou_point, employer)  # fmt: skip


@pytest.fixture
def file_application(app, session):
    """``file_application(union, station, status=…, …)`` → an Application row (and a membership when approved)."""
    serial = itertools.count(1)
    ring = app.extensions["ruhui.keyring"]

    def make(
        union: Union,
        station: Station,
        *,
        status: str = "pending",
        occupation: str = "courier",
        employment_form: str = "platform",
        submitted_days_ago: float = 10,
        decided_after_days: float | None = None,
        due_in_days: float = 5,
        name: str = "张三",
        membership: str | None = "active",
        join_code_id: int | None = None,
        route_rule: str = "industry",
    ) -> Application:
        n = next(serial)
        phone = f"139{n:04d}0000"  # sealed for real: an unmasked export opens it
        person = Person(
            phone_index=f"phone-{n}", phone_sealed=ring.encrypt(phone, PHONE_PURPOSE), phone_masked="139****0000"
        )
        id_number = f"1101051949123{n:04d}X"[:18]
        identity = Identity(
            id_number_index=f"id-{n}",
            id_number_sealed=ring.encrypt(id_number, ID_NUMBER_CONTEXT),
            name_sealed=ring.encrypt(name, NAME_CONTEXT),
            name_masked=name[0] + "*" * (len(name) - 1),
            id_number_masked=id_number[:6] + "********" + id_number[-4:],
            birth_date=dt.date(1949, 12, 31),
            sex="female",
        )
        session.add(person)
        session.flush()
        identity.person_id = person.id  # bound to the phone that filed it
        session.add(identity)
        session.flush()
        submitted = NOW - dt.timedelta(days=submitted_days_ago)
        decided = None if decided_after_days is None else submitted + dt.timedelta(days=decided_after_days)
        application = Application(
            person_id=person.id,
            identity_id=identity.id,
            join_code_id=join_code_id,
            station_id=station.id,
            employer_id=station.employer_id,
            union_id=union.id,
            union_path=union.path,
            region_code=station.region_code,
            occupation=occupation,
            employment_form=employment_form,
            consent_version="2026-01",
            status=status,
            route_rule=route_rule,
            route_trace=[],
            submitted_at=submitted,
            decided_at=decided,
            due_at=NOW + dt.timedelta(days=due_in_days),
            member_no=f"M{n:08d}" if status == "approved" else None,
            # What grant_membership keeps: the granting application knows its membership is active.
            membership_active=status == "approved" and membership == "active",
        )
        session.add(application)
        session.flush()
        if status == "approved" and membership is not None:
            session.add(
                Membership(
                    identity_id=identity.id,
                    union_id=union.id,
                    application_id=application.id,
                    member_no=f"M{n:08d}",
                    status=membership,
                    since=decided or submitted,
                )
            )
        session.commit()
        return application

    return make
