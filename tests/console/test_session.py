"""Signing in and out of the console: the API's lockouts, the cookie, CSRF, the idle timeout, roles and scope."""

from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEvent
from tests.console.support import PASSWORD, csrf_of, post_form, sign_in


def test_an_officer_signs_in_and_lands_on_the_queue_with_an_http_only_cookie(client, nanjing, make_account):
    officer = make_account(nanjing.city)
    response = sign_in(client, officer.username)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/review")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    queue = client.get("/console/review")
    assert queue.status_code == 200
    assert officer.name in queue.get_data(as_text=True)


def test_a_wrong_password_is_refused_and_audited_like_the_api(client, session, nanjing, make_account):
    officer = make_account(nanjing.city)
    response = sign_in(client, officer.username, "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/console/review").status_code == 302
    actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["officer.login_failed"]


def test_five_failures_lock_the_username_for_the_console_as_for_the_api(client, nanjing, make_account):
    officer = make_account(nanjing.city)
    for _ in range(5):
        assert sign_in(client, officer.username, "not-the-password").status_code == 401
    locked = sign_in(client, officer.username)  # even the right password now
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    api = client.post("/api/v1/officers/login", json={"username": officer.username, "password": PASSWORD})
    assert api.status_code == 429


def test_every_post_needs_the_pages_csrf_token(client, nanjing, make_account):
    officer = make_account(nanjing.city)
    refused = client.post("/console/login", data={"username": officer.username, "password": PASSWORD})
    assert refused.status_code == 400
    assert "页面已过期" in refused.get_data(as_text=True)
    assert sign_in(client, officer.username).status_code == 302
    forged = client.post("/console/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert client.get("/console/review").status_code == 200  # still signed in


def test_the_json_api_needs_no_csrf_token(client, nanjing, make_account):
    officer = make_account(nanjing.city)
    response = client.post("/api/v1/officers/login", json={"username": officer.username, "password": PASSWORD})
    assert response.status_code == 200


def test_signing_out_forgets_the_officer(client, nanjing, make_account):
    officer = make_account(nanjing.city)
    sign_in(client, officer.username)
    response = post_form(client, "/console/review", "/console/logout")
    assert response.status_code == 302
    after = client.get("/console/review")
    assert after.status_code == 302
    assert "/console/login" in after.headers["Location"]


def test_half_an_hour_idle_signs_the_officer_out(client, nanjing, make_account, clock):
    officer = make_account(nanjing.city)
    sign_in(client, officer.username)
    clock.advance(29 * 60)
    assert client.get("/console/review").status_code == 200  # activity restarts the half hour
    clock.advance(29 * 60)
    assert client.get("/console/review").status_code == 200
    clock.advance(31 * 60)
    expired = client.get("/console/review?status=returned")
    assert expired.status_code == 302
    assert "next=/console/review?status%3Dreturned" in expired.headers["Location"]
    login = client.get(expired.headers["Location"])
    assert "长时间未操作" in login.get_data(as_text=True)


def test_a_deactivated_account_is_out_at_its_next_click(client, session, nanjing, make_account):
    officer = make_account(nanjing.city)
    sign_in(client, officer.username)
    officer.active = False
    session.commit()
    assert client.get("/console/review").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client, nanjing, make_account):
    officer = make_account(nanjing.city)
    page = client.get("/console/login?next=/console/codes")
    token = csrf_of(page.get_data(as_text=True))
    data = {"username": officer.username, "password": PASSWORD, "csrf_token": token}
    inside = client.post("/console/login", data={**data, "next": "/console/stats"})
    assert inside.headers["Location"].endswith("/console/stats")
    client.get("/console/login")  # signed in: the login page sends on
    post_form(client, "/console/review", "/console/logout")
    token = csrf_of(client.get("/console/login").get_data(as_text=True))
    outside = client.post("/console/login", data={**data, "csrf_token": token, "next": "//evil.example/console/"})
    assert outside.headers["Location"].endswith("/console/review")


def test_pages_for_admins_are_refused_to_a_reviewer(client, nanjing, signed_in):
    signed_in(nanjing.city, "reviewer")
    for page in ("/console/codes", "/console/imports", "/console/audit", "/console/officers"):
        response = client.get(page)
        assert response.status_code == 403
        assert "没有权限" in response.get_data(as_text=True)


def test_an_unknown_console_address_is_the_consoles_own_not_found_page(client, nanjing, signed_in):
    signed_in(nanjing.city)
    response = client.get("/console/no-such-page")
    assert response.status_code == 404
    assert "没有找到" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"
