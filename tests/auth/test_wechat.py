"""WeChat sign-in and the WeChat client, against the local fake WeChat server."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Response

from app.auth.models import Person
from app.auth.tokens import decode_access_token
from app.db import utcnow
from app.directory.models import Station
from app.joincodes import service as joincodes_service
from app.joincodes.models import ScanSignIn
from app.notify.models import WeChatAccessToken
from app.notify.wechat import wechat_client
from tests.auth.support import sign_in_by_sms
from tests.fakes.wechat import wechat_error

WECHAT_URL = "/api/v1/auth/wechat"
PHONE = "13812345678"
TOKEN_PATH = "/cgi-bin/stable_token"
PHONE_PATH = "/wxa/business/getuserphonenumber"


@pytest.fixture
def app_config(app_config, fake_wechat):
    return {**app_config, **fake_wechat.settings()}


def sign_in(client, code, phone_code=None):
    body = {"code": code} if phone_code is None else {"code": code, "phone_code": phone_code}
    return client.post(WECHAT_URL, json=body)


def person_of(app, tokens) -> int:
    with app.test_request_context():
        return int(decode_access_token(tokens["access_token"])["sub"])


def test_first_sign_in_needs_a_phone(client, fake_wechat, session):
    response = sign_in(client, fake_wechat.login_code())
    assert response.status_code == 409
    assert response.get_json()["code"] == "phone_required"
    assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_phone_code_proves_the_number_and_links_the_account(app, client, fake_wechat, session):
    response = sign_in(client, fake_wechat.login_code("o-alice", "u-alice"), fake_wechat.phone_code(PHONE))
    assert response.status_code == 200
    person = session.get(Person, person_of(app, response.get_json()))
    assert person.wechat_openid == "o-alice" and person.wechat_unionid == "u-alice"
    assert person.phone_masked == "138****5678"

    again = sign_in(client, fake_wechat.login_code("o-alice"))  # later visits: the code alone
    assert again.status_code == 200
    assert person_of(app, again.get_json()) == person.id


def test_wechat_joins_the_person_who_proved_the_phone_by_sms(app, client, inbox, fake_wechat, session):
    by_sms = sign_in_by_sms(client, inbox, PHONE)
    by_wechat = sign_in(client, fake_wechat.login_code("o-bob"), fake_wechat.phone_code(PHONE)).get_json()
    assert person_of(app, by_sms) == person_of(app, by_wechat)
    assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


def test_link_moves_when_the_wechat_account_proves_another_number(app, client, fake_wechat, session):
    first = sign_in(client, fake_wechat.login_code("o-carol"), fake_wechat.phone_code(PHONE)).get_json()
    second = sign_in(client, fake_wechat.login_code("o-carol"), fake_wechat.phone_code("13987654321")).get_json()
    old, new = session.get(Person, person_of(app, first)), session.get(Person, person_of(app, second))
    assert old.id != new.id
    assert old.wechat_openid is None and new.wechat_openid == "o-carol"


@pytest.mark.parametrize(
    ("arrange", "status", "code"),
    [
        (lambda fake: "never-issued", 400, "wechat_code_invalid"),
        (lambda fake: fake.login_code(), 200, None),
    ],
)
def test_login_codes(client, fake_wechat, arrange, status, code):
    response = sign_in(client, arrange(fake_wechat), fake_wechat.phone_code(PHONE))
    assert response.status_code == status
    if code:
        assert response.get_json()["code"] == code


def test_a_login_code_is_single_use(client, fake_wechat):
    code = fake_wechat.login_code()
    assert sign_in(client, code, fake_wechat.phone_code(PHONE)).status_code == 200
    reused = sign_in(client, code, fake_wechat.phone_code(PHONE))
    assert reused.status_code == 400
    assert reused.get_json()["code"] == "wechat_code_invalid"


def test_an_invalid_phone_code_is_wechat_code_invalid(client, fake_wechat, session):
    response = sign_in(client, fake_wechat.login_code(), "not-a-phone-code")
    assert response.status_code == 400
    assert response.get_json()["code"] == "wechat_code_invalid"
    assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_a_foreign_number_is_refused(client, fake_wechat):
    response = sign_in(client, fake_wechat.login_code(), fake_wechat.phone_code("91234567", country_code="852"))
    assert response.status_code == 422
    assert "phone_code" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("path", "errcode", "status", "code"),
    [
        ("/sns/jscode2session", -1, 503, "wechat_unavailable"),  # system busy
        ("/sns/jscode2session", 45011, 503, "wechat_unavailable"),  # per-user minute quota
        ("/sns/jscode2session", 40226, 400, "wechat_code_invalid"),  # user blocked as high-risk
        ("/sns/jscode2session", 40163, 400, "wechat_code_invalid"),
        (PHONE_PATH, -1, 503, "wechat_unavailable"),
        (PHONE_PATH, 45011, 503, "wechat_unavailable"),
        (PHONE_PATH, 40029, 400, "wechat_code_invalid"),
        (TOKEN_PATH, 40125, 503, "wechat_unavailable"),  # our secret is wrong: operators must act
        (TOKEN_PATH, 45009, 503, "wechat_unavailable"),
    ],
)
def test_wechat_errors_map_to_the_contract(client, fake_wechat, path, errcode, status, code):
    method = "GET" if path.startswith("/sns") else "POST"
    fake_wechat.answer_next(method, path, wechat_error(errcode, "scripted"))
    response = sign_in(client, fake_wechat.login_code(), fake_wechat.phone_code(PHONE))
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == code
    if status == 503:
        assert "Retry-After" in response.headers


@pytest.mark.parametrize(
    "answer",
    [
        Response("<html>502 Bad Gateway</html>", status=502, content_type="text/html"),
        Response("{not json", status=200, content_type="application/json"),
        Response("[]", status=200, content_type="application/json"),
        Response(json.dumps({"session_key": "k"}), status=200, content_type="text/plain"),  # no openid
    ],
)
def test_broken_answers_are_wechat_unavailable(client, fake_wechat, answer):
    fake_wechat.answer_next("GET", "/sns/jscode2session", answer)
    response = sign_in(client, fake_wechat.login_code())
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat_unavailable"


def test_unreachable_wechat_is_wechat_unavailable(make_app, fake_wechat):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    response = sign_in(make_app(wechat_api_base=dead).test_client(), "any-code")
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat_unavailable"


def test_not_configured_is_501(make_app):
    client = make_app(wechat_app_id="", wechat_app_secret="").test_client()
    response = sign_in(client, "any-code")
    assert response.status_code == 501
    assert response.get_json()["code"] == "wechat_not_configured"


# --- the access token ---------------------------------------------------------


def test_access_token_is_fetched_once_and_shared_by_every_process(app, make_app, client, fake_wechat, session):
    for _ in range(3):
        assert sign_in(client, fake_wechat.login_code(), fake_wechat.phone_code(PHONE)).status_code == 200
    other_process = make_app()
    assert (
        sign_in(other_process.test_client(), fake_wechat.login_code(), fake_wechat.phone_code(PHONE)).status_code == 200
    )
    assert len(fake_wechat.stable_token_calls) == 1
    row = session.get(WeChatAccessToken, fake_wechat.app_id)
    assert fake_wechat.current_token not in row.access_token_sealed  # sealed at rest
    with app.app_context():
        assert wechat_client().access_token() == fake_wechat.current_token


def test_access_token_is_renewed_five_minutes_before_it_expires(app, fake_wechat, clock):
    with app.app_context():
        first = wechat_client().access_token()
        clock.advance(7200 - 301)
        assert wechat_client().access_token() == first
        clock.advance(2)  # now inside the last five minutes
        second = wechat_client().access_token()
    assert second != first
    assert [call["force_refresh"] for call in fake_wechat.stable_token_calls] == [False, False]
    assert fake_wechat.tokens[first] > 0  # the old one was not killed


def test_revoked_token_is_renewed_and_the_call_retried_once(app, client, fake_wechat):
    with app.app_context():
        stale = wechat_client().access_token()
    fake_wechat.revoke_tokens()  # someone forced a refresh elsewhere: WeChat answers 40001
    response = sign_in(client, fake_wechat.login_code(), fake_wechat.phone_code(PHONE))
    assert response.status_code == 200
    assert [call["force_refresh"] for call in fake_wechat.stable_token_calls] == [False, False]
    assert fake_wechat.current_token != stale
    assert len(fake_wechat.calls(PHONE_PATH)) == 2


def test_refused_token_still_handed_out_is_force_refreshed(app, client, fake_wechat):
    with app.app_context():
        stale = wechat_client().access_token()
    fake_wechat.refuse_current_token()
    response = sign_in(client, fake_wechat.login_code(), fake_wechat.phone_code(PHONE))
    assert response.status_code == 200
    # Normal mode kept answering the refused token, so a forced refresh was the way out.
    assert [call["force_refresh"] for call in fake_wechat.stable_token_calls] == [False, False, True]
    assert fake_wechat.current_token != stale


def test_expired_token_is_renewed_without_forcing(app, client, fake_wechat):
    with app.app_context():
        wechat_client().access_token()
    fake_wechat.expire_tokens()  # WeChat answers 42001; stable_token hands out a new one
    assert sign_in(client, fake_wechat.login_code(), fake_wechat.phone_code(PHONE)).status_code == 200
    assert [call["force_refresh"] for call in fake_wechat.stable_token_calls] == [False, False]


def test_a_token_refused_twice_is_wechat_unavailable(client, fake_wechat):
    for _ in range(2):
        fake_wechat.answer_next("POST", PHONE_PATH, wechat_error(40001, "invalid credential"))
    response = sign_in(client, fake_wechat.login_code(), fake_wechat.phone_code(PHONE))
    assert response.status_code == 503
    assert len(fake_wechat.calls(PHONE_PATH)) == 2  # one retry, not a loop


def test_another_process_renewal_is_picked_up_from_the_cache(app, make_app, fake_wechat, clock):
    with app.app_context():
        wechat_client().access_token()
    fake_wechat.revoke_tokens()
    other = make_app()
    with other.app_context():
        # The other process learns of the rejection first and renews (forcing).
        wechat_client().call("POST", PHONE_PATH, json={"code": fake_wechat.phone_code(PHONE)})
    calls_before = len(fake_wechat.stable_token_calls)
    with app.app_context():
        reply = wechat_client().call("POST", PHONE_PATH, json={"code": fake_wechat.phone_code(PHONE)})
    assert reply.data is not None and reply.data["errcode"] == 0
    assert len(fake_wechat.stable_token_calls) == calls_before  # read from the shared cache


def test_new_endpoints_are_one_call_away(app, fake_wechat):
    """How a later feature adds an API (here: a mini-program code, answered as an image)."""
    png = b"\x89PNG\r\n\x1a\nfake"

    @fake_wechat.token_route("POST", "/wxa/getwxacodeunlimit")
    def _wxacode(request):
        assert json.loads(request.get_data())["scene"] == "abc"
        return Response(png, content_type="image/png")

    with app.app_context():
        reply = wechat_client().call("POST", "wxa/getwxacodeunlimit", json={"scene": "abc"})
    assert reply.content == png and reply.content_type == "image/png" and reply.data is None


def test_cached_token_expiry_is_kept_as_utc(app, fake_wechat, session):
    with app.app_context():
        wechat_client().access_token()
    row = session.get(WeChatAccessToken, fake_wechat.app_id)
    assert row.expires_at.tzinfo is not None
    assert dt.timedelta(seconds=7190) < row.expires_at - utcnow() <= dt.timedelta(seconds=7200)


def test_a_wechat_sign_in_after_a_scan_counts_for_that_code(app, client, fake_wechat, session, province):
    station = Station(
        name="测试点部", union_id=province.id, region_code="320102", occupation="courier", address="某路1号"
    )
    session.add(station)
    session.flush()
    with app.app_context():
        code = joincodes_service.create_join_code(session, station, created_by_id=None)
    session.commit()
    device = {"X-Device-Id": "phone-w"}
    assert client.get(f"/api/v1/join/{code.token}", headers=device).status_code == 200

    proved = client.post(
        WECHAT_URL, json={"code": fake_wechat.login_code("o-w"), "phone_code": fake_wechat.phone_code(PHONE)},
        headers=device,
    )  # fmt: skip
    again = client.post(WECHAT_URL, json={"code": fake_wechat.login_code("o-w")}, headers=device)
    elsewhere = client.post(WECHAT_URL, json={"code": fake_wechat.login_code("o-w")}, headers={"X-Device-Id": "pc"})

    assert proved.status_code == again.status_code == elsewhere.status_code == 200
    person = person_of(app, proved.get_json())
    rows = session.execute(sa.select(ScanSignIn.join_code_id, ScanSignIn.person_id, ScanSignIn.method)).all()
    assert rows == [(code.id, person, "wechat"), (code.id, person, "wechat")]  # not the device that never scanned
