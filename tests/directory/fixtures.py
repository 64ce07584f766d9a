"""Directory fixtures shared by the directory and routing tests: a small union tree, and makers for records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor
from app.directory import service
from app.directory.models import Employer, Station, Union
from app.directory.uscc import check_character


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
    nanjing = service.add_union(session, name="南京市总工会", kind="federation", region_code="320100", parent=province)
    xuanwu = service.add_union(session, name="玄武区总工会", kind="federation", region_code="320102", parent=nanjing)
    gulou = service.add_union(session, name="鼓楼区总工会", kind="federation", region_code="320106", parent=nanjing)
    suzhou = service.add_union(session, name="苏州市总工会", kind="federation", region_code="320500", parent=province)
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
        employer = service.create_employer(
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
        station = service.create_station(
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


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: ...`` then ``counter.count`` is the number of SQL statements run."""

    @dataclass
    class Counter:
        count: int = 0

    @contextmanager
    def counting() -> Iterator[Counter]:
        counter = Counter()
        engine = app.extensions["ruhui.engine"]

        def count(*_args: object, **_kwargs: object) -> None:
            counter.count += 1

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)

    return counting
