"""Fixtures for join codes: a small directory with two scopes, admins, and QR decoding helpers."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image, ImageDraw

from app.directory import service as directory_service
from app.directory.models import Employer, Station, Union
from app.joincodes import service as joincodes_service
from app.joincodes.models import JoinCode

BASE_URL = "https://ruhui.example.cn"


@dataclass
class Directory:
    province: Union
    nanjing: Union
    suzhou: Union
    employer: Employer
    depot: Station  # Nanjing, Xuanwu, of the employer
    second_depot: Station  # Nanjing, Gulou, of the employer
    rider_point: Station  # Nanjing, Xuanwu, no employer
    suzhou_depot: Station  # outside the Nanjing admin's scope


def add_station(session, union, name, region_code, *, employer=None, occupation="courier", address=""):
    station = Station(
        name=name,
        union_id=union.id,
        region_code=region_code,
        occupation=occupation,
        address=address,
        employer_id=employer.id if employer else None,
    )
    session.add(station)
    session.flush()
    return station


@pytest.fixture
def directory(session, province) -> Directory:
    nanjing = directory_service.add_union(
        session, name="南京市总工会", kind="federation", region_code="320100", parent=province
    )
    suzhou = directory_service.add_union(
        session, name="苏州市总工会", kind="federation", region_code="320500", parent=province
    )
    employer = Employer(name="示例速运南京分公司", uscc="91320102MA1XXXXX0A", region_code="320102", union_id=nanjing.id)
    session.add(employer)
    session.flush()
    directory = Directory(
        province=province,
        nanjing=nanjing,
        suzhou=suzhou,
        employer=employer,
        depot=add_station(session, nanjing, "示例速运玄武点部", "320102", employer=employer, address="玄武区珠江路1号"),
        second_depot=add_station(session, nanjing, "示例速运鼓楼点部", "320106", employer=employer),
        rider_point=add_station(session, nanjing, "玄武骑手驿站", "320102", occupation="food_delivery_rider"),
        suzhou_depot=add_station(session, suzhou, "姑苏点部", "320508"),
    )
    session.commit()
    return directory


@pytest.fixture
def admin(directory, make_officer):
    """An admin of the Nanjing federation: its scope holds every station but the Suzhou one."""
    officer, headers = make_officer(directory.nanjing, "admin")
    return officer, headers


@pytest.fixture
def admin_headers(admin):
    return admin[1]


@pytest.fixture
def live_code(session, directory) -> JoinCode:
    code = joincodes_service.create_join_code(session, directory.depot, created_by_id=None)
    session.commit()
    return code


def join_code_url(token: str) -> str:
    return f"{BASE_URL}/j/{token}"


def scan_rows(session, code_id: int) -> list[Any]:
    from app.joincodes.models import JoinScan

    session.expire_all()
    return list(
        session.execute(
            sa.select(JoinScan.channel, JoinScan.device_hash, JoinScan.scanned_at)
            .where(JoinScan.join_code_id == code_id)
            .order_by(JoinScan.id)
        )
    )


def decode_png(data: bytes) -> zxingcpp.Barcode:
    """Decode a QR code from PNG bytes with a real decoder (ZXing C++)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        result = zxingcpp.read_barcode(image.convert("L"))
    assert result is not None, "no QR code found in the image"
    return result


_RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")


def rasterize_svg(svg: str, scale: int = 8) -> Image.Image:
    """Draw our QR SVG (a white rect and one path of 1-module-high runs) so a decoder can read it.

    It parses only the geometry the SVG declares, so a wrong viewBox, a lost run or a
    misplaced module shows up as an unreadable code.
    """
    root = ET.fromstring(svg)  # noqa: S314  # our own server's SVG in a test, not untrusted input
    ns = "{http://www.w3.org/2000/svg}"
    _, _, width, height = (int(v) for v in root.attrib["viewBox"].split())
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    path = root.find(f"{ns}path")
    assert path is not None
    d = path.attrib["d"]
    runs = _RUN.findall(d)
    assert "".join(f"M{x} {y}h{w}v1h-{w2}z" for x, y, w, w2 in runs) == d, "unexpected path syntax"
    for x, y, w, _ in runs:
        x0, y0 = int(x) * scale, int(y) * scale
        draw.rectangle([x0, y0, x0 + int(w) * scale - 1, y0 + scale - 1], fill=0)
    return image


def decode_svg(svg: str) -> zxingcpp.Barcode:
    result = zxingcpp.read_barcode(rasterize_svg(svg))
    assert result is not None, "no QR code found in the SVG"
    return result
