"""The issue's "done when", on the demo directory: every demo station has a code that works end to end."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.models import Officer
from app.auth.tokens import issue_access_token
from app.demo import DEMO_ADMIN_USERNAME, DEMO_STATIONS
from app.directory.models import Station
from app.joincodes.models import JoinCode
from tests.joincodes.conftest import decode_png, join_code_url


@pytest.fixture
def demo(app, runner, session):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    officer = session.scalars(sa.select(Officer).where(Officer.username == DEMO_ADMIN_USERNAME)).one()
    with app.test_request_context():
        token, _ = issue_access_token("officer", officer.id)
    rows = session.execute(
        sa.select(Station, JoinCode)
        .join(JoinCode, JoinCode.station_id == Station.id)
        .where(Station.external_code.in_([s.code for s in DEMO_STATIONS]))
    ).all()
    return {station.external_code: (station, code) for station, code in rows}, {"Authorization": f"Bearer {token}"}


def test_every_demo_station_has_exactly_one_code_and_seeding_again_adds_none(runner, session, demo):
    codes, _ = demo
    assert set(codes) == {s.code for s in DEMO_STATIONS}
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    count = session.scalar(sa.select(sa.func.count()).select_from(JoinCode))
    assert count == len(DEMO_STATIONS)


@pytest.mark.parametrize("demo_station", DEMO_STATIONS, ids=[s.code for s in DEMO_STATIONS])
def test_demo_code_decodes_opens_and_names_the_union_routing_explains(client, demo, demo_station):
    codes, headers = demo
    station, code = codes[demo_station.code]
    url = join_code_url(code.token)

    png = client.get(f"/api/v1/join-codes/{code.id}/qr.png", headers=headers)
    assert decode_png(png.data).text == url

    page = client.get(url.removeprefix("https://ruhui.example.cn"), headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert page.status_code == 200 and station.name in page.get_data(as_text=True)

    screen = client.get(f"/api/v1/join/{code.token}")
    assert screen.status_code == 200
    explained = client.get(
        "/api/v1/routing/explain",
        query_string={"station_id": str(station.id), "occupation": station.occupation},
        headers=headers,
    ).json
    preview = screen.json["union_preview"]
    assert preview == {**explained["union"], "rule": explained["rule"]}
    assert preview["name"] in page.get_data(as_text=True)
