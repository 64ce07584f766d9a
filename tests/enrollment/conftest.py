"""Fixtures for enrollment: a small Nanjing directory, a live join code and signed-in workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.auth import service as auth_service
from app.auth.tokens import issue_access_token
from app.directory import service as directory_service
from app.directory.models import Employer, Station, Union
from app.joincodes import service as joincodes_service
from app.joincodes.models import JoinCode

VALID_ID = "11010519491231002X"
CONSENT = "2026-01"


@dataclass
class Nanjing:
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
