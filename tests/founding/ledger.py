"""A small founding ledger on the ``tree`` fixture's unions, built row by row (no import), for the figures' tests."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy.orm import Session

from app.clock import CHINA
from app.db import utcnow
from app.directory import service as directory_service
from app.directory.models import Employer, Union
from app.founding.models import FoundingCase, FoundingTarget
from tests.conftest import valid_uscc

_serials = itertools.count(5000)


def add_target(
    session: Session,
    keeper: Union,
    *,
    name: str,
    sector: str = "express_delivery",
    source: str = "market_regulation",
    region_code: str | None = None,
    headcount: int | None = 30,
    founded_on: dt.date | None = dt.date(2015, 6, 1),
    enterprise_union: bool = False,
    gone: bool = False,
) -> FoundingTarget:
    """A target kept by ``keeper``; with ``enterprise_union`` its employer has one (it is founded)."""
    region = region_code or keeper.region_code
    uscc = valid_uscc(next(_serials), region)
    employer = None
    if enterprise_union:
        employer = Employer(name=name, uscc=uscc, region_code=region, union_id=keeper.id)
        session.add(employer)
        session.flush()
        directory_service.add_union(
            session, name=f"{name}工会", kind="enterprise", region_code=region, parent=keeper, employer_id=employer.id
        )
    target = FoundingTarget(
        uscc=uscc,
        name=name,
        region_code=region,
        sector=sector,
        headcount=headcount,
        founded_on=founded_on,
        source=source,
        union_id=keeper.id,
        employer_id=employer.id if employer else None,
        gone=gone,
    )
    session.add(target)
    session.flush()
    return target


def add_case(
    session: Session,
    target: FoundingTarget,
    union: Union,
    stage: str,
    *,
    planned_by: dt.date | None = None,
    joint_union: Union | None = None,
) -> FoundingCase:
    case = FoundingCase(
        target_id=target.id,
        union_id=union.id,
        stage=stage,
        planned_by=planned_by,
        joint_union_id=joint_union.id if joint_union else None,
    )
    session.add(case)
    session.flush()
    return case


@pytest.fixture
def ledger(session, tree):
    """Targets kept on three levels, some founded, cases at several stages (three of them late)."""
    return build_ledger(session, tree)


def build_ledger(session, tree):
    """The ledger of the ``ledger`` fixture: the targets by name."""
    t = tree
    today = utcnow().astimezone(CHINA).date()
    late, later = today - dt.timedelta(days=3), today + dt.timedelta(days=30)
    made = {
        # kept by the province itself
        "省快递总部": add_target(session, t.province, name="省快递总部", headcount=400, enterprise_union=True),
        "省货运": add_target(session, t.province, name="省货运", sector="road_freight", source="commerce"),
        # Nanjing's own
        "宁城配": add_target(session, t.nanjing, name="宁城配", headcount=120, founded_on=dt.date(2010, 1, 1)),
        "宁律所": add_target(session, t.nanjing, name="宁律所", sector="law_firm", source="other", headcount=12),
        # Xuanwu
        "玄武快递": add_target(
            session, t.xuanwu, name="玄武快递", region_code="320102", headcount=80, founded_on=dt.date(2024, 1, 1)
        ),
        "玄武诊所": add_target(
            session,
            t.xuanwu,
            name="玄武诊所",
            sector="private_medical",
            source="health",
            headcount=None,
            enterprise_union=True,
        ),
        "玄武联合": add_target(session, t.xuanwu, name="玄武联合", headcount=9),
        # Gulou, and one that left its list
        "鼓楼货运": add_target(session, t.gulou, name="鼓楼货运", sector="road_freight", headcount=55),
        "鼓楼旧": add_target(session, t.gulou, name="鼓楼旧", gone=True, headcount=999),
        # Suzhou
        "苏快递": add_target(session, t.suzhou, name="苏快递", headcount=60, enterprise_union=True),
        "苏学校": add_target(session, t.suzhou, name="苏学校", sector="private_school", source="civil_affairs"),
    }
    add_case(session, made["宁城配"], t.nanjing, "preparing", planned_by=late)
    add_case(session, made["玄武快递"], t.xuanwu, "identified", planned_by=later)
    joint = directory_service.add_union(
        session, name="玄武区快递行业联合工会", kind="regional", region_code="320102", parent=t.xuanwu
    )
    add_case(session, made["玄武联合"], t.xuanwu, "joined_joint_union", joint_union=joint)
    add_case(session, made["宁律所"], t.xuanwu, "recruiting", planned_by=late)  # Xuanwu works a Nanjing target
    add_case(session, made["鼓楼货运"], t.gulou, "deferred", planned_by=late)  # paused, and late
    add_case(session, made["苏学校"], t.suzhou, "contacted")
    session.commit()
    return made
