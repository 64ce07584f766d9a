"""Every HTML page sends a CSP with frame-ancestors, nosniff and a referrer policy; personal data is never cached."""

from __future__ import annotations

import pytest
from flask import Blueprint


def _assert_page_headers(response) -> None:
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors" in policy
    assert "script-src 'unsafe-inline'" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin", "strict-origin")


def test_the_landing_page_the_dead_page_the_poster_and_the_docs_send_page_headers(client, live_code, admin_headers):
    pages = [
        (f"/j/{live_code.token}", {}),
        ("/j/AAAAAAAAAAAAAAAAAAAAAA", {}),  # an unknown code's page
        (f"/api/v1/join-codes/{live_code.id}/poster", admin_headers),
        ("/api/docs", {}),
    ]
    for url, headers in pages:
        response = client.get(url, headers=headers)
        assert response.status_code in (200, 404), url
        _assert_page_headers(response)


def test_any_new_page_gets_them_without_asking(app, client):
    blueprint = Blueprint("probe_page", __name__)

    @blueprint.get("/probe-page")
    def probe_page():
        return "<!doctype html><p>你好</p>"

    app.register_blueprint(blueprint)
    _assert_page_headers(client.get("/probe-page"))


@pytest.mark.parametrize(
    ("method", "url", "signed_in"),
    [
        ("GET", "/api/v1/unions", True),
        ("GET", "/api/v1/audit", True),
        ("GET", "/api/v1/join-codes/{id}", True),
        ("GET", "/api/v1/me/applications", True),
        ("GET", "/api/v1/cards/not-a-card", False),
        ("POST", "/api/v1/officers/login", False),
        ("GET", "/api/v1/join/{token}", False),
    ],
)
def test_api_responses_are_never_stored(client, live_code, admin_headers, method, url, signed_in):
    url = url.format(id=live_code.id, token=live_code.token)
    body = {"username": "nobody", "password": "wrong-password"} if method == "POST" else None
    response = client.open(url, method=method, json=body, headers=admin_headers if signed_in else {})
    assert response.headers["Cache-Control"] == "no-store", (url, response.status_code)


def test_public_assets_stay_cacheable(client):
    with client.get("/api/docs/static/swagger-ui.css") as response:
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")
