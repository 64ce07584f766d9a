"""The demo directory loaded by ``seed-demo``: a fictional slice of Jiangsu.

Nanjing, Suzhou and a corner of Wuxi, with unions of every kind and 23 stations of
fictional courier, food-delivery, housekeeping, care and security companies, placed
so that every routing rule fires somewhere (``DEMO_STATIONS`` names the rule and the
union each station routes to; a test holds the demo to it). Company names and credit
codes are invented (the codes carry valid GB 32100 check characters).

Loading is idempotent: every record has a ``demo-…`` external code and is created
only when absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor
from app.auth import service as auth_service
from app.directory import service
from app.directory.models import Employer, Station, Union
from app.joincodes import service as joincodes_service
from app.routing import service as routing_service
from app.routing.models import RoutingRule

DEMO_ADMIN_USERNAME = "demo-admin"
DEMO_ADMIN_PASSWORD = "demo-admin-2026"  # noqa: S105  # the documented demo login, seeded only by seed-demo
PROVINCE = "demo-js"


@dataclass(frozen=True)
class DemoUnion:
    code: str
    name: str
    kind: str
    region_code: str
    parent: str
    occupations: tuple[str, ...] = ()
    employer: str | None = None
    accepting: bool = True


@dataclass(frozen=True)
class DemoEmployer:
    code: str
    name: str
    uscc: str
    region_code: str
    managed_by: str
    parent: str | None = None


@dataclass(frozen=True)
class DemoStation:
    code: str
    name: str
    region_code: str
    address: str
    occupation: str
    employer: str | None
    managed_by: str
    # What the routing should say for the station's default occupation: the rule and the union's code.
    expected_rule: str
    expected_union: str


FEDERATIONS = (
    DemoUnion("demo-nj", "南京市总工会", "federation", "320100", PROVINCE),
    DemoUnion("demo-nj-xw", "南京市玄武区总工会", "federation", "320102", "demo-nj"),
    DemoUnion("demo-nj-qh", "南京市秦淮区总工会", "federation", "320104", "demo-nj"),
    DemoUnion("demo-nj-jy", "南京市建邺区总工会", "federation", "320105", "demo-nj"),
    DemoUnion("demo-nj-gl", "南京市鼓楼区总工会", "federation", "320106", "demo-nj"),
    DemoUnion("demo-nj-qx", "南京市栖霞区总工会", "federation", "320113", "demo-nj"),
    DemoUnion("demo-sz", "苏州市总工会", "federation", "320500", PROVINCE),
    DemoUnion("demo-sz-gs", "苏州市姑苏区总工会", "federation", "320508", "demo-sz"),
    DemoUnion("demo-sz-wz", "苏州市吴中区总工会", "federation", "320506", "demo-sz"),
)

EMPLOYERS = (
    DemoEmployer("demo-e-xc", "迅驰速运有限公司", "91320508MA1XCQ7K4K", "320508", "demo-sz"),
    DemoEmployer("demo-e-xc-nj", "迅驰速运有限公司南京分公司", "91320102MA1XCN2D8K", "320102", "demo-nj", "demo-e-xc"),
    DemoEmployer("demo-e-xc-wx", "迅驰速运有限公司无锡分公司", "91320213MA1XCW5H3P", "320213", PROVINCE, "demo-e-xc"),
    DemoEmployer("demo-e-aj", "安捷物流集团有限公司", "91320105MA1AJ06L2Q", "320105", "demo-nj-jy"),
    DemoEmployer(
        "demo-e-aj-sz", "安捷物流集团有限公司苏州分公司", "91320506MA1AJ8TM5H", "320506", "demo-sz", "demo-e-aj"
    ),
    DemoEmployer("demo-e-sb", "南京顺邦快递服务有限公司", "91320104MA1TB3QF6G", "320104", "demo-nj-qh"),
    DemoEmployer("demo-e-jd", "金盾保安服务有限公司", "91320102MA1JD9GB1Q", "320102", "demo-nj-xw"),
    DemoEmployer("demo-e-kn", "康宁护理服务（苏州）有限公司", "91320508MA1KN4HL7R", "320508", "demo-sz-gs"),
    DemoEmployer("demo-e-ax", "安心家政服务有限公司", "91320506MA1AX2JA9Y", "320506", "demo-sz-wz"),
    DemoEmployer("demo-e-lj", "邻家家政服务有限公司", "91320508MA1LJ7JY3N", "320508", "demo-sz-gs"),
    DemoEmployer("demo-e-jh", "家和家政服务（南京）有限公司", "91320102MA1JH5JW8D", "320102", "demo-nj-xw"),
    DemoEmployer("demo-e-qs", "骑士达配送服务有限公司", "91320104MA1QT6PD21", "320104", "demo-nj-qh"),
)

UNIONS = (
    DemoUnion("demo-nj-express", "南京市快递行业工会联合会", "industry", "320100", "demo-nj", ("courier",)),
    DemoUnion("demo-nj-jy-express", "南京市建邺区快递行业工会", "industry", "320105", "demo-nj-jy", ("courier",)),
    DemoUnion(
        "demo-nj-food",
        "南京市网约送餐行业工会（筹）",
        "industry",
        "320100",
        "demo-nj",
        ("food_delivery_rider",),
        accepting=False,
    ),
    DemoUnion("demo-nj-xjk", "南京市玄武区新街口商圈楼宇联合工会", "regional", "320102", "demo-nj-xw"),
    DemoUnion("demo-nj-hnl", "南京市鼓楼区湖南路商圈联合工会", "regional", "320106", "demo-nj-gl"),
    DemoUnion(
        "demo-xc-nj",
        "迅驰速运有限公司南京分公司工会",
        "enterprise",
        "320100",
        "demo-nj-express",
        employer="demo-e-xc-nj",
    ),
    DemoUnion("demo-sz-care", "苏州市护理服务行业工会", "industry", "320500", "demo-sz", ("caregiver",)),
    DemoUnion("demo-xc", "迅驰速运有限公司工会", "enterprise", "320500", "demo-sz", employer="demo-e-xc"),
    DemoUnion("demo-aj", "安捷物流集团有限公司工会", "enterprise", "320000", PROVINCE, employer="demo-e-aj"),
)

DEMO_STATIONS = (
    # Nanjing
    DemoStation("demo-s01", "迅驰速运南京玄武营业部", "320102", "玄武区中山路 81 号",
                "courier", "demo-e-xc-nj", "demo-nj-xw", "enterprise", "demo-xc-nj"),
    DemoStation("demo-s02", "迅驰速运南京鼓楼点部", "320106", "鼓楼区中央路 205 号",
                "courier", "demo-e-xc-nj", "demo-nj-gl", "enterprise", "demo-xc-nj"),
    DemoStation("demo-s03", "迅驰速运南京江宁点部", "320115", "江宁区双龙大道 1100 号",
                "courier", "demo-e-xc-nj", "demo-nj", "enterprise", "demo-xc-nj"),
    DemoStation("demo-s04", "顺邦快递秦淮夫子庙网点", "320104", "秦淮区平江府路 36 号",
                "courier", "demo-e-sb", "demo-nj-qh", "industry", "demo-nj-express"),
    DemoStation("demo-s05", "安捷物流南京建邺分拨中心", "320105", "建邺区江东中路 300 号",
                "truck_driver", "demo-e-aj", "demo-nj-jy", "enterprise", "demo-aj"),
    DemoStation("demo-s06", "顺邦快递建邺河西网点", "320105", "建邺区庐山路 168 号",
                "courier", "demo-e-sb", "demo-nj-jy", "industry", "demo-nj-jy-express"),
    DemoStation("demo-s07", "湖南路社区快递驿站", "320106", "鼓楼区湖南路 12 号",
                "courier", None, "demo-nj-gl", "override", "demo-nj-hnl"),
    DemoStation("demo-s08", "金盾保安新街口项目部", "320102", "玄武区汉中路 2 号",
                "security_guard", "demo-e-jd", "demo-nj-xw", "regional", "demo-nj-xjk"),
    DemoStation("demo-s09", "家和家政玄武门店", "320102", "玄武区珠江路 99 号",
                "domestic_worker", "demo-e-jh", "demo-nj-xw", "regional", "demo-nj-xjk"),
    DemoStation("demo-s10", "骑士达配送玄武站", "320102", "玄武区洪武北路 55 号",
                "food_delivery_rider", "demo-e-qs", "demo-nj-xw", "regional", "demo-nj-xjk"),
    DemoStation("demo-s11", "骑士达配送秦淮站", "320104", "秦淮区中华路 420 号",
                "food_delivery_rider", "demo-e-qs", "demo-nj-qh", "fallback", "demo-nj-qh"),
    DemoStation("demo-s12", "骑士达配送栖霞站", "320113", "栖霞区仙林大道 10 号",
                "food_delivery_rider", "demo-e-qs", "demo-nj-qx", "override", "demo-nj-express"),
    DemoStation("demo-s13", "金盾保安江宁项目部", "320115", "江宁区胜太路 58 号",
                "security_guard", "demo-e-jd", "demo-nj", "fallback", "demo-nj"),
    DemoStation("demo-s14", "康宁护理鼓楼服务站", "320106", "鼓楼区北京西路 20 号",
                "caregiver", "demo-e-kn", "demo-nj-gl", "regional", "demo-nj-hnl"),
    # Suzhou
    DemoStation("demo-s15", "迅驰速运苏州姑苏营业部", "320508", "姑苏区人民路 1500 号",
                "courier", "demo-e-xc", "demo-sz-gs", "enterprise", "demo-xc"),
    DemoStation("demo-s16", "安捷物流苏州吴中分拨点", "320506", "吴中区东吴北路 88 号",
                "truck_driver", "demo-e-aj-sz", "demo-sz-wz", "enterprise", "demo-aj"),
    DemoStation("demo-s17", "康宁护理苏州姑苏服务站", "320508", "姑苏区十全街 66 号",
                "caregiver", "demo-e-kn", "demo-sz-gs", "industry", "demo-sz-care"),
    DemoStation("demo-s18", "安心家政苏州吴中门店", "320506", "吴中区宝带西路 18 号",
                "domestic_worker", "demo-e-ax", "demo-sz-wz", "override", "demo-sz-care"),
    DemoStation("demo-s19", "邻家家政苏州姑苏门店", "320508", "姑苏区干将西路 9 号",
                "domestic_worker", "demo-e-lj", "demo-sz-gs", "fallback", "demo-sz-gs"),
    DemoStation("demo-s20", "骑士达配送苏州相城站", "320507", "相城区活力岛路 3 号",
                "food_delivery_rider", "demo-e-qs", "demo-sz", "fallback", "demo-sz"),
    DemoStation("demo-s21", "金盾保安苏州吴中项目部", "320506", "吴中区苏蠡路 77 号",
                "security_guard", "demo-e-jd", "demo-sz-wz", "fallback", "demo-sz-wz"),
    # Wuxi: no union there yet, so everything reaches the province (the blind spots to close)
    DemoStation("demo-s22", "迅驰速运无锡梁溪点部", "320213", "梁溪区解放南路 700 号",
                "courier", "demo-e-xc-wx", PROVINCE, "fallback", PROVINCE),
    DemoStation("demo-s23", "骑士达配送无锡新吴站", "320214", "新吴区长江路 16 号",
                "food_delivery_rider", "demo-e-qs", PROVINCE, "fallback", PROVINCE),
)  # fmt: skip


@dataclass(frozen=True)
class DemoRule:
    union: str
    priority: int
    note: str
    station: str | None = None
    employer: str | None = None
    region_code: str | None = None
    occupation: str | None = None


RULES = (
    DemoRule("demo-nj-hnl", 10, "驿站位于湖南路商圈，由商圈联合工会就近服务", station="demo-s07"),
    DemoRule(
        "demo-sz-care",
        10,
        "经苏州市总工会协调，安心家政的家政服务员由护理服务行业工会吸纳",
        employer="demo-e-ax",
        occupation="domestic_worker",
    ),
    DemoRule(
        "demo-nj-express",
        5,
        "网约送餐行业工会筹建期间，栖霞区骑手暂由快递行业工会联合会吸纳",
        region_code="320113",
        occupation="food_delivery_rider",
    ),
)


def load_demo(session: Session) -> dict[str, Any]:
    """Create whatever of the demo directory is missing; return a summary."""
    province = service.ensure_root_federation(session, name="江苏省总工会", region_code="320000")
    scope = Actor.system(province.id, province.path)
    loader = _Loader(session, scope, {PROVINCE: province.id})
    for union in FEDERATIONS:
        loader.union(union)
    for employer in EMPLOYERS:
        loader.employer(employer)
    for union in UNIONS:
        loader.union(union)
    for station in DEMO_STATIONS:
        loader.station(station)
    for rule in RULES:
        loader.rule(rule)
    demo_stations = sa.select(Station.id).where(Station.external_code.in_([s.code for s in DEMO_STATIONS]))
    joincodes_service.ensure_live_codes(session, station_ids=session.scalars(demo_stations).all())
    if auth_service.find_officer(session, DEMO_ADMIN_USERNAME) is None:
        auth_service.create_officer(
            session,
            username=DEMO_ADMIN_USERNAME,
            password=DEMO_ADMIN_PASSWORD,
            name="演示管理员",
            union_id=province.id,
            role="admin",
        )
    return {
        "root_union_id": str(province.id),
        "admin_username": DEMO_ADMIN_USERNAME,
        "unions": 1 + len(FEDERATIONS) + len(UNIONS),
        "employers": len(EMPLOYERS),
        "stations": len(DEMO_STATIONS),
        "override_rules": len(RULES),
    }


@dataclass
class _Loader:
    session: Session
    scope: Actor
    unions: dict[str, int]

    def _existing(self, model: type[Union | Employer | Station], code: str) -> int | None:
        return self.session.scalar(sa.select(model.id).where(model.external_code == code))

    def union(self, demo: DemoUnion) -> None:
        existing = self._existing(Union, demo.code)
        if existing is None:
            existing = service.create_union(
                self.session,
                self.scope,
                name=demo.name,
                kind=demo.kind,
                parent_id=self.unions[demo.parent],
                region_code=demo.region_code,
                occupations=list(demo.occupations),
                employer_id=self._employer_id(demo.employer),
                accepting=demo.accepting,
                external_code=demo.code,
            ).id
        self.unions[demo.code] = existing

    def employer(self, demo: DemoEmployer) -> None:
        if self._existing(Employer, demo.code) is None:
            service.create_employer(
                self.session,
                self.scope,
                name=demo.name,
                uscc=demo.uscc,
                region_code=demo.region_code,
                parent_id=self._employer_id(demo.parent),
                union_id=self.unions[demo.managed_by],
                external_code=demo.code,
            )

    def station(self, demo: DemoStation) -> None:
        if self._existing(Station, demo.code) is None:
            service.create_station(
                self.session,
                self.scope,
                name=demo.name,
                region_code=demo.region_code,
                address=demo.address,
                occupation=demo.occupation,
                employer_id=self._employer_id(demo.employer),
                union_id=self.unions[demo.managed_by],
                external_code=demo.code,
            )

    def rule(self, demo: DemoRule) -> None:
        union_id = self.unions[demo.union]
        station_id = self._existing(Station, demo.station) if demo.station else None
        employer_id = self._employer_id(demo.employer)
        same = sa.select(RoutingRule.id).where(
            RoutingRule.union_id == union_id,
            RoutingRule.station_id.is_(None) if station_id is None else RoutingRule.station_id == station_id,
            RoutingRule.employer_id.is_(None) if employer_id is None else RoutingRule.employer_id == employer_id,
            RoutingRule.region_code.is_(None)
            if demo.region_code is None
            else RoutingRule.region_code == demo.region_code,
        )
        if self.session.scalar(same) is None:
            routing_service.create_rule(
                self.session,
                self.scope,
                union_id=union_id,
                priority=demo.priority,
                station_id=station_id,
                employer_id=employer_id,
                region_code=demo.region_code,
                occupation=demo.occupation,
                note=demo.note,
            )

    def _employer_id(self, code: str | None) -> int | None:
        if code is None:
            return None
        employer_id = self._existing(Employer, code)
        assert employer_id is not None, f"demo employer {code} is listed after its use"
        return employer_id
