"""Fixtures for statistics and exports: a union tree and a factory of applications in any state."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest

from app.auth.models import Person
from app.auth.phones import PHONE_PURPOSE
from app.db import utcnow
from app.directory import service as directory_service
from app.directory.models import Employer, Station, Union
from app.enrollment.models import Application, Identity, Membership
from app.enrollment.service import ID_NUMBER_CONTEXT, NAME_CONTEXT

# Seeded times are relative to the start of the run: "overdue" is judged against the real clock.
NOW = utcnow()


@dataclass
class Tree:
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
def tree(session, province) -> Tree:
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
    return Tree(province, nanjing, xuanwu, xinjiekou, qinhuai, express, suzhou, gusu, depot, rider_point,
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
        phone = f"139{n:04d}0000"
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
        session.add_all([person, identity])
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
