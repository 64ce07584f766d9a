"""CSV imports: the encodings Excel writes in China, all rows or none, every bad row named, idempotent re-imports."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from app.directory.imports import IMPORT_MAX_BYTES
from app.directory.models import Employer, Station, Union
from tests.conftest import valid_uscc


@pytest.fixture
def admin(make_officer, tree):
    """An admin of 南京市总工会."""
    return make_officer(tree.nanjing, "admin")[1]


def upload(client, headers, kind, content: bytes | str, *, encoding="utf-8", filename="roster.csv"):
    """POST the file as a browser would (multipart). The body is built here because werkzeug's test
    client spools a large body to a temporary file that it never closes."""
    raw = content.encode(encoding) if isinstance(content, str) else content
    boundary = "----RuhuiTestBoundary7MA4YWxkTrZu0gW"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
    body = (head + "Content-Type: text/csv\r\n\r\n").encode() + raw + f"\r\n--{boundary}--\r\n".encode()
    return client.post(
        f"/api/v1/imports/{kind}",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )


def count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


STATIONS = (
    "external_code,name,region_code,occupation,address\n"
    "nj-s1,迅驰速运玄武营业部,320102,courier,玄武区中山路 81 号\n"
    'nj-s2,"骑士达配送鼓楼站（湖南路）",320106,food_delivery_rider,"鼓楼区湖南路 12 号, 一楼"\n'
)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b""), ("utf-16", b"")],
    ids=["utf-8", "utf-8 with BOM (Excel 'CSV UTF-8')", "gb18030 (Excel 'CSV' on Chinese Windows)", "utf-16"],
)
def test_stations_import_in_every_encoding_excel_writes(client, admin, session, encoding, prefix):
    response = upload(client, admin, "stations", prefix + STATIONS.encode(encoding))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"kind": "stations", "rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    stations = {s.external_code: s for s in session.scalars(sa.select(Station))}
    assert stations["nj-s1"].name == "迅驰速运玄武营业部"
    assert stations["nj-s2"].name == "骑士达配送鼓楼站（湖南路）"
    assert stations["nj-s2"].address == "鼓楼区湖南路 12 号, 一楼"
    assert stations["nj-s2"].occupation == "food_delivery_rider"


def test_chinese_headers_and_values_are_understood(client, admin, session, tree):
    content = (
        "编码,名称,类型,行政区划代码,上级编码,覆盖职业,受理入会\n"
        "nj-express,南京市快递行业工会联合会,行业工会,320100,,快递员、网约送餐员,是\n"
        "nj-park,南京市玄武区某园区联合工会,区域工会,320102,nj-express,,否\n"
    )
    response = upload(client, admin, "unions", content, encoding="gb18030")
    assert response.status_code == 200, response.get_json()
    express = session.scalars(sa.select(Union).where(Union.external_code == "nj-express")).one()
    park = session.scalars(sa.select(Union).where(Union.external_code == "nj-park")).one()
    assert express.kind == "industry" and express.occupations == ["courier", "food_delivery_rider"]
    assert express.parent_id == tree.nanjing.id  # no parent given: the importing admin's union
    assert park.path == f"{express.path}{park.id}/" and park.accepting is False


def test_a_file_with_one_bad_row_imports_nothing(client, admin, session):
    content = STATIONS + "nj-s3,某站点,320103,courier,\nnj-s4,某站点,320102,astronaut,\n"
    response = upload(client, admin, "stations", content)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert body["message"] == "有 2 行有误，未导入任何数据"
    assert body["errors"] == {
        "line 4": ["region_code：320103 不是有效的行政区划代码（GB/T 2260）"],
        "line 5": ["occupation：职业「astronaut」无效"],
    }
    assert count(session, Station) == 0


def test_every_bad_row_is_listed_with_its_line_and_all_its_problems(client, admin, session):
    content = (
        "external_code,name,uscc,region_code,parent_uscc\n"
        f"e1,好单位,{valid_uscc(1)},320102,\n"
        "e2,,914403001922038217,999999,\n"
        f"e3,出界单位,{valid_uscc(3)},320508,\n"
        f"e1,重复编码,{valid_uscc(4)},320102,\n"
        f"e5,缺总部,{valid_uscc(5)},320102,{valid_uscc(99)}\n"
    )
    response = upload(client, admin, "employers", content)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["line 3"] == [
        "name：此项为必填项",
        "uscc：统一社会信用代码校验位不正确",
        "region_code：999999 不是有效的行政区划代码（GB/T 2260）",
    ]
    assert errors["line 4"] == ["region_code：须在管理工会的区域（南京市）之内"]
    assert errors["line 5"] == ["编码 e1 与第 2 行重复"]
    assert errors["line 6"] == [f"统一社会信用代码为 {valid_uscc(99)} 的用人单位不存在"]
    assert "line 2" not in errors
    assert count(session, Employer) == 0


def test_reimporting_the_same_file_changes_nothing(client, admin, session):
    assert upload(client, admin, "stations", STATIONS).status_code == 200
    before = {s.external_code: (s.id, s.updated_at) for s in session.scalars(sa.select(Station))}
    again = upload(client, admin, "stations", "\ufeff" + STATIONS)
    assert again.status_code == 200
    assert again.get_json() == {"kind": "stations", "rows": 2, "created": 0, "updated": 0, "unchanged": 2}
    session.expire_all()
    assert {s.external_code: (s.id, s.updated_at) for s in session.scalars(sa.select(Station))} == before


def test_a_changed_row_updates_only_that_record(client, admin, session):
    assert upload(client, admin, "stations", STATIONS).status_code == 200
    changed = STATIONS.replace("玄武区中山路 81 号", "玄武区中山路 99 号")
    response = upload(client, admin, "stations", changed)
    assert response.get_json() == {"kind": "stations", "rows": 2, "created": 0, "updated": 1, "unchanged": 1}
    session.expire_all()
    assert (
        session.scalars(sa.select(Station.address).where(Station.external_code == "nj-s1")).one()
        == "玄武区中山路 99 号"
    )


def test_unions_may_come_before_their_parent_and_a_loop_is_refused(client, admin, session, tree):
    content = (
        "external_code,name,kind,region_code,parent_code\n"
        "shop,某店工会,regional,320102,park\n"
        "park,园区联合工会,regional,320102,xw\n"
        "xw,玄武区园区工会联合会,regional,320102,\n"
    )
    response = upload(client, admin, "unions", content)
    assert response.status_code == 200, response.get_json()
    unions = {u.external_code: u for u in session.scalars(sa.select(Union).where(Union.external_code.is_not(None)))}
    assert unions["shop"].path == f"{tree.nanjing.path}{unions['xw'].id}/{unions['park'].id}/{unions['shop'].id}/"

    loop = "external_code,name,kind,region_code,parent_code\na,甲,regional,320102,b\nb,乙,regional,320102,a\n"
    refused = upload(client, admin, "unions", loop)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"line 2": ["上级关系形成循环"], "line 3": ["上级关系形成循环"]}


def test_employers_with_their_hq_in_the_same_file(client, admin, session):
    content = (
        "external_code,name,uscc,region_code,parent_uscc\n"
        f"branch,迅驰南京分公司,{valid_uscc(2)},320102,{valid_uscc(1)}\n"
        f"hq,迅驰总部,{valid_uscc(1)},320106,\n"
    )
    response = upload(client, admin, "employers", content)
    assert response.status_code == 200, response.get_json()
    employers = {e.external_code: e for e in session.scalars(sa.select(Employer))}
    assert employers["branch"].parent_id == employers["hq"].id


def test_enterprise_unions_and_stations_refer_to_employers_by_uscc(client, admin, session, tree, make_employer):
    employer = make_employer(tree.xuanwu)
    unions = (
        "external_code,name,kind,region_code,parent_id,employer_uscc\n"
        f"xc-union,迅驰玄武工会,enterprise,320102,{tree.xuanwu.id},{employer.uscc}\n"
    )
    stations = f"external_code,name,region_code,occupation,employer_uscc\ns1,点部,320102,courier,{employer.uscc}\n"
    assert upload(client, admin, "unions", unions).status_code == 200
    assert upload(client, admin, "stations", stations).status_code == 200
    union = session.scalars(sa.select(Union).where(Union.external_code == "xc-union")).one()
    station = session.scalars(sa.select(Station).where(Station.external_code == "s1")).one()
    assert union.employer_id == employer.id and union.parent_id == tree.xuanwu.id
    assert station.employer_id == employer.id


def test_rows_cannot_reach_outside_the_scope(client, admin, session, tree, make_employer, make_station):
    their_employer = make_employer(tree.suzhou, region_code="320508")
    make_station(tree.suzhou, region_code="320508", external_code="sz-s1")
    content = (
        "external_code,name,region_code,occupation,employer_uscc\n"
        f"ok,点部,320102,courier,{their_employer.uscc}\n"
        "sz-s1,抢占苏州的站点,320102,courier,\n"
    )
    response = upload(client, admin, "stations", content)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "line 2": [f"统一社会信用代码为 {their_employer.uscc} 的用人单位不存在"],
        "line 3": ["编码 sz-s1 已被占用"],
    }
    session.expire_all()
    assert session.scalars(sa.select(Station.name).where(Station.external_code == "sz-s1")).one() == "测试站点"


@pytest.mark.parametrize(
    ("content", "key", "message"),
    [
        ("name,region_code,occupation\nX,320102,courier\n", "header", "缺少列「external_code」（或「编码」）"),
        (
            "external_code,name,region_code,occupation,colour\na,X,320102,courier,red\n",
            "header",
            "不认识的列「colour」",
        ),
        ("external_code,name,name,region_code,occupation\na,X,Y,320102,courier\n", "header", "列「name」重复"),
        ("external_code,name,region_code,occupation\n", "file", "文件中只有表头，没有数据行"),
        ("", "file", "文件中没有表头和数据行"),
        (b"external_code,name\n\xff\xfe\xfd\n", "file", "请将文件另存为 UTF-8 或 GB18030（GBK）编码的 CSV"),
        ('external_code,name,region_code,occupation\n"a,X,320102,courier\n', "file", "格式错误"),
        ("external_code,name,region_code,occupation\na,X\x00,320102,courier\n", "line 2", "name：不能包含控制字符"),
    ],
)
def test_files_that_cannot_be_read_are_422(client, admin, content, key, message):
    response = upload(client, admin, "stations", content)
    assert response.status_code == 422, response.get_json()
    assert message in " ".join(response.get_json()["errors"][key])


def test_a_request_without_a_file_is_422(client, admin):
    response = client.post("/api/v1/imports/stations", json={"file": "x"}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["errors"]["file"] == ["此项为必填项"]


def test_a_file_over_the_limit_is_413(client, admin, session):
    row = "s{},站点,320102,courier,地址\n"
    content = "external_code,name,region_code,occupation,address\n"
    content += "".join(row.format(i) for i in range(IMPORT_MAX_BYTES // len(row.encode()) + 10))
    response = upload(client, admin, "stations", content)
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"
    assert count(session, Station) == 0


def test_an_unknown_import_kind_is_404(client, admin):
    assert upload(client, admin, "officers", STATIONS).status_code == 404
