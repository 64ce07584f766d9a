"""The /j/{token} landing page a phone camera opens (app/web), and the printable A4 poster."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import pytest

from app.joincodes import service
from app.joincodes.models import JoinCode
from tests.joincodes.conftest import decode_svg, join_code_url, scan_rows


class _Collector(HTMLParser):
    """Collects every URL-bearing attribute and the text, to check what a page would load."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [value or "" for name, value in attrs if name in ("src", "href", "action", "srcset")]

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def test_landing_page_shows_the_station_and_how_to_continue(client, session, live_code):
    response = client.get(f"/j/{live_code.token}")
    assert response.status_code == 200
    assert response.mimetype == "text/html" and response.mimetype_params["charset"] == "utf-8"
    html = response.get_data(as_text=True)
    page = _parse(html)
    assert '<html lang="zh-CN">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "示例速运玄武点部" in html and "示例速运南京分公司" in html
    assert "南京市总工会" in html  # the union the routing engine picks for couriers here
    # The join goes on in this browser: the phone number is asked right here.
    assert '<label for="phone">手机号</label>' in html and "获取验证码" in html
    # Nothing from another host: the only script is the app's own file; the hotline is a tel: link.
    assert all(url.startswith(("/", "tel:")) for url in page.urls)
    assert "/web/static/web.js" in page.urls and "link" not in page.tags
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_landing_page_counts_a_web_scan_and_one_device_per_browser(client, session, live_code):
    first = client.get(f"/j/{live_code.token}")
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    client.get(f"/j/{live_code.token}")  # the test client sends the cookie back: the same device, not counted again
    rows = scan_rows(session, live_code.id)
    assert [channel for channel, _, _ in rows] == ["web"]
    assert rows[0][1] is not None


def test_landing_page_head_is_not_counted(client, session, live_code):
    assert client.head(f"/j/{live_code.token}").status_code == 200
    assert scan_rows(session, live_code.id) == []


@pytest.mark.parametrize(
    ("arrange", "status", "headline"),
    [
        ("unknown", 404, "没有找到这个入会码"),
        ("malformed", 404, "没有找到这个入会码"),
        ("revoked", 410, "这个入会码已停用"),
        ("expired", 410, "这个入会码已过期"),
    ],
)
def test_dead_or_wrong_tokens_get_a_friendly_page_with_the_right_status(
    client, session, directory, live_code, arrange, status, headline
):
    import datetime as dt

    token = live_code.token
    if arrange == "unknown":
        token = service.new_token()
    elif arrange == "malformed":
        token = "not a token!"
    elif arrange == "revoked":
        service.revoke_join_code(session, live_code, revoked_by_id=None)
        session.commit()
    else:
        live_code.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.commit()
    response = client.get(f"/j/{token}")
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert headline in html and "示例速运" not in html
    assert scan_rows(session, live_code.id) == []


def test_pages_escape_names(client, session, directory, admin_headers):
    directory.depot.name = "<script>alert(1)</script>站"
    session.commit()
    code = service.create_join_code(session, directory.depot, created_by_id=None)
    session.commit()
    for url, headers in ((f"/j/{code.token}", {}), (f"/api/v1/join-codes/{code.id}/poster", admin_headers)):
        html = client.get(url, headers=headers).get_data(as_text=True)
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;站" in html


def test_poster_is_an_a4_page_with_a_working_qr_and_three_steps(client, admin_headers, live_code):
    response = client.get(f"/api/v1/join-codes/{live_code.id}/poster", headers=admin_headers)
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert re.search(r"@page\s*{\s*size:\s*A4", html)
    assert "示例速运玄武点部" in html and join_code_url(live_code.token) in html
    assert "受理工会：南京市总工会" in html
    page = _parse(html)
    assert page.tags.count("li") == 3 and "script" not in page.tags and not page.urls
    svg = re.search(r"<svg .*?</svg>", html, re.DOTALL)
    assert svg is not None
    assert decode_svg(svg.group(0)).text == join_code_url(live_code.token)


def test_poster_shows_the_expiry_in_beijing_time(client, session, directory, admin_headers):
    import datetime as dt

    code = JoinCode(
        station_id=directory.depot.id,
        token=service.new_token(),
        expires_at=dt.datetime(2099, 6, 30, 20, 0, tzinfo=dt.UTC),  # 04:00 on 1 July in Beijing
    )
    session.add(code)
    session.commit()
    html = client.get(f"/api/v1/join-codes/{code.id}/poster", headers=admin_headers).get_data(as_text=True)
    assert "有效期至 2099-07-01" in html


def test_poster_of_a_dead_code_is_410(client, session, admin_headers, live_code):
    service.revoke_join_code(session, live_code, revoked_by_id=None)
    session.commit()
    response = client.get(f"/api/v1/join-codes/{live_code.id}/poster", headers=admin_headers)
    assert response.status_code == 410 and response.json["code"] == "join_code_revoked"


def test_landing_page_links_to_the_mini_program_when_wechat_is_configured(app_config, live_code):
    from urllib.parse import parse_qs, urlsplit

    from app import create_app

    configured = create_app({**app_config, "wechat_app_id": "wx0123456789abcdef", "wechat_app_secret": "s" * 32})
    try:
        with configured.test_client() as client:
            html = client.get(f"/j/{live_code.token}").get_data(as_text=True)
    finally:
        configured.extensions["ruhui.engine"].dispose()
    links = [url for url in _parse(html).urls if url.startswith("weixin:")]
    assert len(links) == 1
    link = urlsplit(links[0])
    assert (link.scheme, link.netloc, link.path) == ("weixin", "dl", "/business/")
    assert parse_qs(link.query) == {
        "appid": ["wx0123456789abcdef"],
        "path": ["pages/join/index"],
        "query": [f"token={live_code.token}"],
        "env_version": ["release"],
    }
    assert "%3D" in link.query  # the query is URL-encoded inside the scheme, as WeChat requires


_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_kept_landing_page_gives_each_browser_its_own_csrf_token(app, live_code):
    first, second = app.test_client(), app.test_client()
    pages = [c.get(f"/j/{live_code.token}").get_data(as_text=True) for c in (first, second, first)]
    tokens = [_CSRF_FIELD.findall(page) for page in pages]
    assert all(len(found) == 1 for found in tokens)
    assert tokens[0] != tokens[1]  # the second browser was served the kept page, with its own token
    assert all("\x00" not in page for page in pages)
    assert [page.replace(found[0], "") for page, found in zip(pages, tokens, strict=True)].count(
        pages[0].replace(tokens[0][0], "")
    ) == 3  # otherwise the very same page
    # Each token works only with its own browser's device cookie.
    refused = second.post("/signin", data={"csrf_token": tokens[0][0], "phone": "13800138000"})
    assert refused.status_code == 400 and "页面已过期" in refused.get_data(as_text=True)
    accepted = first.post("/signin", data={"csrf_token": tokens[0][0], "phone": "13800138000"})
    assert accepted.status_code != 400


def test_a_scan_writes_no_session_and_its_token_is_bound_to_the_device_cookie(app, live_code, monkeypatch):
    browser = app.test_client()
    landing = browser.get(f"/j/{live_code.token}")
    cookies = {c.split("=", 1)[0]: c for c in landing.headers.getlist("Set-Cookie")}
    assert list(cookies) == ["ruhui_device"]  # no session cookie: nothing was signed into one
    assert "HttpOnly" in cookies["ruhui_device"] and "SameSite=Lax" in cookies["ruhui_device"]
    (token,) = _CSRF_FIELD.findall(landing.get_data(as_text=True))
    phone = {"phone": "13800138000"}
    # A tampered token, one from another device, a stale one, none at all: each refused, nothing sent.
    stamp, _, mac = token.partition(".")
    for bad in (f"{stamp}.{mac[:-2]}AA", "zz." + mac, "", "x" * 200):
        refused = browser.post("/signin", data={"csrf_token": bad, **phone})
        assert refused.status_code == 400 and "页面已过期" in refused.get_data(as_text=True), bad
    stranger = app.test_client()
    stranger.set_cookie("ruhui_device", "another-device")
    assert stranger.post("/signin", data={"csrf_token": token, **phone}).status_code == 400
    assert app.test_client().post("/signin", data={"csrf_token": token, **phone}).status_code == 400  # no cookie
    issued = int(stamp, 16)
    monkeypatch.setattr("app.web.pages.time.time", lambda: issued + 3601)
    assert browser.post("/signin", data={"csrf_token": token, **phone}).status_code == 400  # an hour old
    monkeypatch.undo()
    accepted = browser.post("/signin", data={"csrf_token": token, **phone})
    assert accepted.status_code != 400
    # A repeat scan keeps the device's cookie (no new Set-Cookie) and serves a token that works the same.
    again = browser.get(f"/j/{live_code.token}")
    assert again.headers.getlist("Set-Cookie") == []


def test_past_its_bound_the_landing_page_is_rendered_but_not_kept(app, session, live_code, monkeypatch):
    from app.joincodes.resolved import current_resolve_cache
    from app.web import pages

    monkeypatch.setattr(pages, "LANDING_PAGES_KEPT", 0)
    client = app.test_client()
    assert "欢迎加入工会" in client.get(f"/j/{live_code.token}").get_data(as_text=True)
    with app.app_context():
        kept, _ = current_resolve_cache().lookup(session, live_code.token)
    assert kept is not None and "landing" not in kept.rendered
    monkeypatch.setattr(pages, "LANDING_PAGES_KEPT", 5_000)
    assert "欢迎加入工会" in client.get(f"/j/{live_code.token}").get_data(as_text=True)
    with app.app_context():
        kept, _ = current_resolve_cache().lookup(session, live_code.token)
    assert kept is not None and "landing" in kept.rendered


def test_each_new_browser_gets_its_own_random_device_id_kept_for_a_year(app, live_code):
    seen = set()
    for _ in range(150):  # more than one batch of ids drawn from the OS at once
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        cookie = app.test_client().get(f"/j/{live_code.token}").headers["Set-Cookie"]
        value = cookie.split(";", 1)[0].removeprefix("ruhui_device=")
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", value), cookie  # 16 random bytes, as token_urlsafe(16)
        seen.add(value)
        assert "Max-Age=31536000" in cookie
        stamp = re.search(r"Expires=([^;]+)", cookie)
        assert stamp is not None, cookie
        expires = parsedate_to_datetime(stamp.group(1))
        assert dt.timedelta(days=365) <= expires - before <= dt.timedelta(days=365, seconds=5)
    assert len(seen) == 150
