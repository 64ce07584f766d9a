"""Officer accounts: sign-in, lockout, and admins managing accounts within their subtree."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.auth.models import Officer
from app.auth.passwords import verify_password
from app.directory import service as directory_service

LOGIN_URL = "/api/v1/officers/login"
OFFICERS_URL = "/api/v1/officers"
PASSWORD = "correct-horse-battery"


def login(client, username, password=PASSWORD, ip="127.0.0.1"):
    return client.post(LOGIN_URL, json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": ip})


@pytest.fixture
def city(session, province):
    union = directory_service.add_union(
        session, name="南京市总工会", kind="federation", region_code="320100", parent=province
    )
    session.commit()
    return union


@pytest.fixture
def other_city(session, province):
    union = directory_service.add_union(
        session, name="苏州市总工会", kind="federation", region_code="320500", parent=province
    )
    session.commit()
    return union


# --- sign-in ------------------------------------------------------------------


def test_officer_signs_in_and_the_token_works(client, province, make_officer):
    officer, _ = make_officer(province, "admin")
    response = login(client, officer.username)
    assert response.status_code == 200
    tokens = response.get_json()
    assert tokens["expires_in"] == 1800 and tokens["token_type"] == "Bearer"
    listed = client.get(OFFICERS_URL, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert listed.status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("known", "wrong-password-123"), ("nobody-here", PASSWORD), ("KNOWN", PASSWORD)],
)
def test_wrong_credentials_are_login_failed(client, session, province, make_officer, username, password):
    officer, _ = make_officer(province, "admin")
    officer.username = "known"
    session.commit()
    response = login(client, username, password)
    assert response.status_code == 401
    assert response.get_json()["code"] == "login_failed"


def test_inactive_officer_cannot_sign_in(client, session, province, make_officer):
    officer, _ = make_officer(province, "admin")
    officer.active = False
    session.commit()
    assert login(client, officer.username).get_json()["code"] == "login_failed"


def test_deactivated_officer_token_stops_working(client, session, province, make_officer):
    officer, headers = make_officer(province, "admin")
    officer.active = False
    session.commit()
    assert client.get(OFFICERS_URL, headers=headers).status_code == 401


class TestLockout:
    """Five failures in fifteen minutes lock the username, on memory and on Redis."""

    @pytest.fixture
    def app_config(self, app_config, ratelimit_backend):
        return {**app_config, **ratelimit_backend}

    def test_five_failures_lock_the_username_even_for_the_right_password(self, client, province, make_officer, clock):
        officer, _ = make_officer(province, "admin")
        for _ in range(5):
            assert login(client, officer.username, "wrong-password-123").status_code == 401
            clock.advance(60)
        locked = login(client, officer.username)
        assert locked.status_code == 429
        assert locked.get_json()["code"] == "login_locked"
        retry_after = int(locked.headers["Retry-After"])
        assert 15 * 60 - 5 * 60 - 2 <= retry_after <= 15 * 60 - 5 * 60 + 1
        clock.advance(retry_after + 1)  # the oldest failure left the window
        assert login(client, officer.username).status_code == 200

    def test_lock_is_per_username(self, client, province, make_officer):
        victim, _ = make_officer(province, "admin")
        bystander, _ = make_officer(province, "admin")
        for _ in range(5):
            login(client, victim.username, "wrong-password-123")
        assert login(client, victim.username).status_code == 429
        assert login(client, bystander.username).status_code == 200

    def test_unknown_usernames_lock_too(self, client):
        for _ in range(5):
            assert login(client, "ghost", "wrong-password-123").status_code == 401
        assert login(client, "ghost", "wrong-password-123").status_code == 429

    def test_success_forgives_earlier_failures(self, client, province, make_officer):
        officer, _ = make_officer(province, "admin")
        for _ in range(4):
            login(client, officer.username, "wrong-password-123")
        assert login(client, officer.username).status_code == 200
        for _ in range(4):
            assert login(client, officer.username, "wrong-password-123").status_code == 401
        assert login(client, officer.username).status_code == 200

    def test_one_address_gets_twenty_attempts_in_fifteen_minutes(self, client, clock):
        for n in range(20):
            assert login(client, f"spray{n}", "wrong-password-123", ip="203.0.113.9").status_code == 401
        refused = login(client, "spray-next", "wrong-password-123", ip="203.0.113.9")
        assert refused.status_code == 429
        assert refused.get_json()["code"] == "login_locked"
        assert login(client, "spray-next", "wrong-password-123", ip="203.0.113.10").status_code == 401
        clock.advance(15 * 60 + 1)
        assert login(client, "spray-next", "wrong-password-123", ip="203.0.113.9").status_code == 401

    def test_an_office_address_counts_only_failed_sign_ins(self, client, province, make_officer):
        """15 good and 5 bad sign-ins behind one office address used to lock everyone out (issue 13)."""
        officers = [make_officer(province, "reviewer")[0] for _ in range(5)]
        office = "198.51.100.7"
        for round_ in range(3):
            for officer in officers:
                assert login(client, officer.username, ip=office).status_code == 200, round_
        for officer in officers:
            assert login(client, officer.username, "wrong-password-123", ip=office).status_code == 401
        for officer in officers:
            assert login(client, officer.username, ip=office).status_code == 200
        # Failures still add up to the address's limit.
        for n in range(15):
            assert login(client, f"spray{n}", "wrong-password-123", ip=office).status_code == 401
        assert login(client, officers[0].username, ip=office).status_code == 429


# --- accounts -----------------------------------------------------------------


def test_admin_creates_an_officer_in_its_subtree(client, session, province, city, make_officer):
    _, headers = make_officer(province, "admin")
    response = client.post(
        OFFICERS_URL,
        json={"username": "nj.reviewer", "password": "a-long-password", "union_id": str(city.id), "role": "reviewer"},
        headers=headers,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "nj.reviewer" and body["role"] == "reviewer" and body["active"] is True
    assert body["union_id"] == str(city.id) and body["union"] == {
        "id": str(city.id),
        "name": "南京市总工会",
        "kind": "federation",
    }
    assert isinstance(body["id"], str) and "password" not in json.dumps(body)
    created = session.get(Officer, int(body["id"]))
    assert verify_password(created.password_hash, "a-long-password")
    assert login(client, "nj.reviewer", "a-long-password").status_code == 200


def test_admin_cannot_create_outside_its_subtree(client, session, city, other_city, make_officer):
    _, headers = make_officer(city, "admin")
    for union_id in (str(other_city.id), str(city.parent_id), "999999", "abc", "1" * 30):
        response = client.post(
            OFFICERS_URL,
            json={"username": "sz.admin", "password": "a-long-password", "union_id": union_id, "role": "admin"},
            headers=headers,
        )
        assert response.status_code == 422, union_id
        assert response.get_json()["errors"] == {"union_id": ["工会不存在"]}
    assert session.scalar(sa.select(sa.func.count()).select_from(Officer)) == 1


@pytest.mark.parametrize("role", ["reviewer", "viewer"])
def test_only_admins_manage_accounts(client, province, make_officer, role):
    _, headers = make_officer(province, role)
    assert client.get(OFFICERS_URL, headers=headers).status_code == 403
    response = client.post(
        OFFICERS_URL,
        json={"username": "x.y.z", "password": "a-long-password", "union_id": str(province.id), "role": "viewer"},
        headers=headers,
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_auth_is_checked_before_the_body(client):
    response = client.post(OFFICERS_URL, data="{not json", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "short"}, "password"),
        ({"username": "a b"}, "username"),
        ({"username": "ab"}, "username"),
        ({"username": "用户"}, "username"),
        ({"role": "superuser"}, "role"),
        ({"union_id": 5}, "union_id"),
        ({"password": "x" * 129}, "password"),
        ({"name": "\u0000"}, "name"),
    ],
)
def test_bad_account_fields_are_422(client, province, make_officer, body, field):
    _, headers = make_officer(province, "admin")
    valid = {"username": "new.one", "password": "a-long-password", "union_id": str(province.id), "role": "viewer"}
    response = client.post(OFFICERS_URL, json={**valid, **body}, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_username_must_be_unique(client, province, make_officer):
    officer, headers = make_officer(province, "admin")
    response = client.post(
        OFFICERS_URL,
        json={
            "username": officer.username,
            "password": "a-long-password",
            "union_id": str(province.id),
            "role": "viewer",
        },
        headers=headers,
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "username_taken"


def test_admin_lists_officers_of_its_subtree_only(client, province, city, other_city, make_officer):
    nanjing_admin, headers = make_officer(city, "admin")
    nanjing_reviewers = [make_officer(city, "reviewer")[0] for _ in range(3)]
    make_officer(other_city, "reviewer")
    make_officer(province, "admin")

    seen: list[str] = []
    cursor = None
    while True:
        response = client.get(
            OFFICERS_URL, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert response.status_code == 200
        page = response.get_json()
        seen += [item["id"] for item in page["items"]]
        assert all(item["union"]["name"] == "南京市总工会" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = sorted((str(o.id) for o in [nanjing_admin, *nanjing_reviewers]), key=int, reverse=True)
    assert seen == expected


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "!!!"}])
def test_bad_list_queries_are_422(client, province, make_officer, query):
    _, headers = make_officer(province, "admin")
    assert client.get(OFFICERS_URL, query_string=query, headers=headers).status_code == 422


def test_create_officer_command(runner, session, city):
    result = runner.invoke(
        args=[
            "create-officer",
            "--username",
            "cli.admin",
            "--password",
            "a-long-password",
            "--union-id",
            str(city.id),
            "--role",
            "admin",
        ]
    )
    assert result.exit_code == 0, result.output
    officer_id = int(json.loads(result.output.strip().splitlines()[-1])["officer_id"])
    officer = session.get(Officer, officer_id)
    assert officer.username == "cli.admin" and officer.role == "admin" and officer.union_id == city.id
    assert officer.name == "cli.admin"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--union-id", "999999"], "does not exist"),
        (["--password", "short"], "密码"),
        (["--username", "cli.admin"], "用户名已被使用"),
    ],
)
def test_create_officer_command_refuses_bad_input(runner, session, city, args, complaint):
    base = {"--username": "cli.other", "--password": "a-long-password", "--union-id": str(city.id), "--role": "viewer"}
    runner.invoke(
        args=[
            "create-officer",
            "--username",
            "cli.admin",
            "--password",
            "a-long-password",
            "--union-id",
            str(city.id),
            "--role",
            "admin",
        ]
    )
    options = dict(base)
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = runner.invoke(args=["create-officer", *[x for pair in options.items() for x in pair]])
    assert result.exit_code != 0
    assert complaint in result.output
