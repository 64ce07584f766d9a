"""GET /join-codes/{id}/wxacode.png against the fake WeChat server: scene = token, cached once, errors mapped."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.wrappers import Response

from app import create_app
from app.joincodes import service
from app.joincodes.models import WxaCode
from tests.fakes.wechat import wechat_error
from tests.joincodes.conftest import decode_png

PATH = "/wxa/getwxacodeunlimit"


@pytest.fixture
def app_config(app_config, fake_wechat):
    return {**app_config, **fake_wechat.settings()}


def _url(code) -> str:
    return f"/api/v1/join-codes/{code.id}/wxacode.png"


def _asked(png: bytes) -> list[str]:
    """What the fake was asked for: it draws ``wxacode|scene|page|env_version|width`` as a QR code."""
    return decode_png(png).text.split("|")


def test_mini_program_code_carries_the_token_as_scene_and_is_fetched_once(
    client, session, admin_headers, live_code, fake_wechat
):
    first = client.get(_url(live_code), headers=admin_headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.mimetype == "image/png"
    with Image.open(io.BytesIO(first.data)) as image:
        assert image.format == "PNG" and image.size == (1280, 1280)  # WeChat sent JPEG; we serve PNG
    assert _asked(first.data) == ["wxacode", live_code.token, "pages/join/index", "release", "1280"]

    again = client.get(_url(live_code), headers=admin_headers)
    assert again.status_code == 200 and again.data == first.data
    assert len(fake_wechat.calls(PATH)) == 1  # mini-program codes never expire: WeChat is asked once
    assert session.scalar(sa.select(sa.func.count()).select_from(WxaCode)) == 1

    not_modified = client.get(_url(live_code), headers={**admin_headers, "If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304


def test_the_cache_is_shared_by_every_process(app_config, admin_headers, live_code, fake_wechat, client):
    assert client.get(_url(live_code), headers=admin_headers).status_code == 200
    other = create_app(app_config)  # another worker: a fresh process-level state, the same database
    try:
        with other.test_client() as other_client:
            assert other_client.get(_url(live_code), headers=admin_headers).status_code == 200
    finally:
        other.extensions["ruhui.engine"].dispose()
    assert len(fake_wechat.calls(PATH)) == 1
    assert len(fake_wechat.calls("/cgi-bin/stable_token")) == 1  # and so is the access token


def test_codes_of_many_join_codes_share_one_access_token(client, session, directory, admin_headers, fake_wechat):
    codes = [service.create_join_code(session, s, created_by_id=None) for s in (directory.depot, directory.rider_point)]
    session.commit()
    for code in codes:
        assert client.get(_url(code), headers=admin_headers).status_code == 200
    assert len(fake_wechat.calls(PATH)) == 2
    assert len(fake_wechat.calls("/cgi-bin/stable_token")) == 1


def test_a_refused_access_token_is_renewed_and_the_call_repeated(client, admin_headers, live_code, fake_wechat):
    assert client.get(f"/api/v1/join-codes/{live_code.id}", headers=admin_headers).status_code == 200
    fake_wechat.revoke_tokens()  # e.g. refreshed by another system: WeChat answers 40001
    fake_wechat.current_token = None
    response = client.get(_url(live_code), headers=admin_headers)
    assert response.status_code == 200
    assert _asked(response.data)[1] == live_code.token


def test_trial_versions_skip_the_published_page_check(app_config, live_code, directory, fake_wechat, make_officer):
    _, headers = make_officer(directory.nanjing, "admin")
    trial = create_app(
        {**app_config, "join_miniprogram_page": "pages/new/join", "join_miniprogram_env_version": "trial"}
    )
    try:
        with trial.test_client() as client:
            response = client.get(_url(live_code), headers=headers)
    finally:
        trial.extensions["ruhui.engine"].dispose()
    assert response.status_code == 200
    assert _asked(response.data)[2:4] == ["pages/new/join", "trial"]


@pytest.mark.parametrize(
    ("wechat_answer", "status", "code"),
    [
        (wechat_error(41030, "invalid page"), 502, "wxacode_page_invalid"),
        (wechat_error(40169, "invalid length for scene, or the data is not json string"), 502, "wxacode_scene_invalid"),
        (wechat_error(40129, "invalid scene"), 502, "wxacode_scene_invalid"),
        (wechat_error(45009, "reach max api minute quota limit"), 503, "wxacode_rate_limited"),
        (wechat_error(-1, "system error"), 503, "wechat_unavailable"),
        (wechat_error(40097, "invalid args"), 502, "wxacode_failed"),
        (Response("<html>bad gateway</html>", status=502, content_type="text/html"), 503, "wechat_unavailable"),
        (Response(b"\xff\xd8 not really a jpeg", status=200, content_type="image/jpeg"), 503, "wechat_unavailable"),
        (
            Response('{"errcode": 0, "errmsg": "ok"}', status=200, content_type="application/json"),
            503,
            "wechat_unavailable",
        ),
    ],
)
def test_wechat_errors_become_clear_api_errors_and_nothing_is_cached(
    client, session, admin_headers, live_code, fake_wechat, wechat_answer, status, code
):
    fake_wechat.answer_next("POST", PATH, wechat_answer)
    response = client.get(_url(live_code), headers=admin_headers)
    assert response.status_code == status
    assert response.json["code"] == code and response.json["message"]
    if status == 503:
        assert int(response.headers["Retry-After"]) >= 1
    if code == "wxacode_rate_limited":
        assert response.headers["Retry-After"] == "60"
    assert session.scalar(sa.select(sa.func.count()).select_from(WxaCode)) == 0
    assert client.get(_url(live_code), headers=admin_headers).status_code == 200  # the next try succeeds


def test_the_real_page_check_of_the_fake(app_config, live_code, directory, fake_wechat, make_officer):
    _, headers = make_officer(directory.nanjing, "admin")
    unpublished = create_app({**app_config, "join_miniprogram_page": "pages/not/published"})
    try:
        with unpublished.test_client() as client:
            response = client.get(_url(live_code), headers=headers)
    finally:
        unpublished.extensions["ruhui.engine"].dispose()
    body = response.json
    assert response.status_code == 502 and body is not None and body["code"] == "wxacode_page_invalid"


def test_wechat_down_is_503(client, admin_headers, live_code, fake_wechat):
    fake_wechat.stop()
    response = client.get(_url(live_code), headers=admin_headers)
    assert response.status_code == 503 and response.json["code"] == "wechat_unavailable"


def test_without_wechat_settings_it_is_501(app_config, live_code, directory, make_officer):
    _, headers = make_officer(directory.nanjing, "admin")
    bare = create_app({**app_config, "wechat_app_id": "", "wechat_app_secret": ""})
    try:
        with bare.test_client() as client:
            response = client.get(_url(live_code), headers=headers)
    finally:
        bare.extensions["ruhui.engine"].dispose()
    body = response.json
    assert response.status_code == 501 and body is not None and body["code"] == "wechat_not_configured"


def test_dead_foreign_or_unknown_codes_never_reach_wechat(
    client, session, directory, admin_headers, make_officer, live_code, fake_wechat
):
    foreign = service.create_join_code(session, directory.suzhou_depot, created_by_id=None)
    service.revoke_join_code(session, live_code, revoked_by_id=None)
    session.commit()
    assert client.get(_url(live_code), headers=admin_headers).json["code"] == "join_code_revoked"
    assert client.get(_url(foreign), headers=admin_headers).status_code == 404
    assert client.get("/api/v1/join-codes/nope/wxacode.png", headers=admin_headers).status_code == 404
    _, reviewer = make_officer(directory.nanjing, "reviewer")
    assert client.get(_url(foreign), headers=reviewer).status_code == 403
    assert fake_wechat.calls(PATH) == []
