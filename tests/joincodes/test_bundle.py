"""GET /stations/qr.zip: many stations' QR PNGs for a print shop, streamed, within the officer's scope."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
import sqlalchemy as sa

from app.directory.models import Station
from app.joincodes import service
from app.joincodes.service import MAX_BUNDLE_STATIONS
from tests.joincodes.conftest import add_station, decode_png, join_code_url

URL = "/api/v1/stations/qr.zip"


@pytest.fixture
def codes(session, directory):
    """A live code for every station but the rider point; the Gulou depot's first code was rotated."""
    depot = service.create_join_code(session, directory.depot, created_by_id=None)
    old = service.create_join_code(session, directory.second_depot, created_by_id=None)
    second = service.rotate_join_code(session, old, officer_id=None)
    suzhou = service.create_join_code(session, directory.suzhou_depot, created_by_id=None)
    session.commit()
    return {"depot": depot, "second": second, "suzhou": suzhou, "rotated": old}


def _open(response) -> tuple[zipfile.ZipFile, list[dict[str, str]]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/zip"
    assert response.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert archive.testzip() is None
    manifest = archive.read("manifest.csv").decode("utf-8-sig")
    return archive, list(csv.DictReader(io.StringIO(manifest)))


def test_bundle_of_an_employer_holds_each_station_png(client, directory, admin_headers, codes):
    response = client.get(URL, query_string={"employer_id": directory.employer.id, "size": 300}, headers=admin_headers)
    assert "attachment" in response.headers["Content-Disposition"]
    archive, manifest = _open(response)
    pngs = sorted(name for name in archive.namelist() if name.endswith(".png"))
    assert pngs == sorted(
        [f"{directory.depot.id}-示例速运玄武点部.png", f"{directory.second_depot.id}-示例速运鼓楼点部.png"]
    )
    by_station = {row["station_id"]: row for row in manifest}
    for station, code in ((directory.depot, codes["depot"]), (directory.second_depot, codes["second"])):
        row = by_station[str(station.id)]
        assert row["status"] == "ok" and row["url"] == join_code_url(code.token)
        assert decode_png(archive.read(row["file"])).text == join_code_url(code.token)  # the newest live code


def test_bundle_of_a_region_lists_stations_without_a_code(client, directory, admin_headers, codes):
    archive, manifest = _open(client.get(URL, query_string={"region_code": "320102"}, headers=admin_headers))
    rows = {row["station_id"]: row["status"] for row in manifest}
    assert rows == {str(directory.depot.id): "ok", str(directory.rider_point.id): "no_live_code"}
    assert len([n for n in archive.namelist() if n.endswith(".png")]) == 1

    _, city = _open(client.get(URL, query_string={"region_code": "320100"}, headers=admin_headers))
    assert {row["station_id"] for row in city} == {
        str(s.id) for s in (directory.depot, directory.second_depot, directory.rider_point)
    }


def test_bundle_never_reaches_outside_the_scope(client, directory, admin_headers, codes):
    _, manifest = _open(client.get(URL, headers=admin_headers))
    assert str(directory.suzhou_depot.id) not in {row["station_id"] for row in manifest}
    outside = client.get(URL, query_string={"region_code": "320500"}, headers=admin_headers)
    assert outside.status_code == 404 and outside.json["code"] == "stations_not_found"
    foreign_union = client.get(URL, query_string={"union_id": directory.suzhou.id}, headers=admin_headers)
    assert foreign_union.status_code == 404 and foreign_union.json["code"] == "union_not_found"


def test_province_admin_bundles_by_union(client, directory, make_officer, codes):
    _, headers = make_officer(directory.province, "admin")
    _, manifest = _open(client.get(URL, query_string={"union_id": directory.suzhou.id}, headers=headers))
    assert [row["station_id"] for row in manifest] == [str(directory.suzhou_depot.id)]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"region_code": "999999"}, 422, "validation_error"),
        ({"region_code": "32"}, 422, "validation_error"),
        ({"size": 5}, 422, "validation_error"),
        ({"employer_id": "nope"}, 404, "stations_not_found"),
        ({"employer_id": "99999999999999999999999"}, 404, "stations_not_found"),
        ({"union_id": "x"}, 404, "union_not_found"),
    ],
)
def test_bad_filters(client, directory, admin_headers, codes, query, status, code):
    response = client.get(URL, query_string=query, headers=admin_headers)
    assert response.status_code == status
    assert response.json["code"] == code


def test_reviewers_cannot_bundle(client, directory, make_officer, codes):
    _, headers = make_officer(directory.nanjing, "reviewer")
    assert client.get(URL, headers=headers).status_code == 403


def test_names_cannot_become_formulas_or_paths(client, session, directory, admin_headers):
    station = add_station(session, directory.nanjing, '=HYPERLINK("x")/../站', "320102")
    service.create_join_code(session, station, created_by_id=None)
    session.commit()
    archive, manifest = _open(client.get(URL, query_string={"region_code": "320102"}, headers=admin_headers))
    row = next(r for r in manifest if r["station_id"] == str(station.id))
    assert row["station_name"].startswith("'=")
    assert "/" not in row["file"] and "\\" not in row["file"]  # one flat folder, whatever the name says
    assert row["file"] in archive.namelist()


def test_too_many_stations_is_refused_before_rendering(client, session, directory, admin_headers):
    session.execute(
        sa.insert(Station),
        [
            {"name": f"站点{i}", "union_id": directory.nanjing.id, "region_code": "320104", "occupation": "courier"}
            for i in range(MAX_BUNDLE_STATIONS + 1)
        ],
    )
    session.commit()
    response = client.get(URL, query_string={"region_code": "320104"}, headers=admin_headers)
    assert response.status_code == 422 and response.json["code"] == "too_many_stations"
