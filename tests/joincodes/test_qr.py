"""QR images of a join code: a real decoder reads the URL back; sizes are bounded; reprints hit the ETag."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from app.joincodes import service
from tests.joincodes.conftest import decode_png, decode_svg, join_code_url


@pytest.mark.parametrize("size", [100, 600, 1999, 4000])
def test_png_decodes_to_the_code_url(client, admin_headers, live_code, size):
    response = client.get(
        f"/api/v1/join-codes/{live_code.id}/qr.png", query_string={"size": size}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.size == (size, size)
    result = decode_png(response.data)
    assert result.text == join_code_url(live_code.token)
    assert result.ec_level == "H"  # survives a scuffed sticker


def test_png_keeps_a_quiet_zone(client, admin_headers, live_code):
    response = client.get(
        f"/api/v1/join-codes/{live_code.id}/qr.png", query_string={"size": 490}, headers=admin_headers
    )
    with Image.open(io.BytesIO(response.data)) as image:
        gray = image.convert("L")
        pixels = [[gray.getpixel((x, y)) for x in range(490)] for y in range(490)]
        # 49 modules of 10 px (41 + 4 each side): the outer 40 px on every side are white.
        border = [pixels[y][x] for x in range(490) for y in (*range(40), *range(450, 490))]
        border += [pixels[y][x] for y in range(490) for x in (*range(40), *range(450, 490))]
    assert set(border) == {255}


def test_default_size(client, admin_headers, live_code):
    response = client.get(f"/api/v1/join-codes/{live_code.id}/qr.png", headers=admin_headers)
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.size == (600, 600)


@pytest.mark.parametrize("size", ["99", "4001", "100000000000000000000", "-5", "abc", "1e3", ""])
@pytest.mark.parametrize("kind", ["png", "svg"])
def test_absurd_sizes_are_422(client, admin_headers, live_code, size, kind):
    response = client.get(f"/api/v1/join-codes/{live_code.id}/qr.{kind}?size={size}", headers=admin_headers)
    assert response.status_code == 422
    assert response.json["code"] == "validation_error" and "size" in response.json["errors"]


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_reprint_is_answered_from_the_etag(client, admin_headers, live_code, kind):
    url = f"/api/v1/join-codes/{live_code.id}/qr.{kind}"
    first = client.get(url, query_string={"size": 300}, headers=admin_headers)
    etag = first.headers["ETag"]
    assert "max-age" in first.headers["Cache-Control"]
    again = client.get(url, query_string={"size": 300}, headers={**admin_headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other_size = client.get(url, query_string={"size": 301}, headers={**admin_headers, "If-None-Match": etag})
    assert other_size.status_code == 200 and other_size.headers["ETag"] != etag


def test_etag_changes_with_the_public_base_url(app_config, live_code, directory, make_officer):
    from app import create_app

    _, headers = make_officer(directory.nanjing, "admin")
    etags = []
    for base in ("https://ruhui.example.cn", "https://join.example.org"):
        other = create_app({**app_config, "public_base_url": base})
        with other.test_client() as client:
            response = client.get(f"/api/v1/join-codes/{live_code.id}/qr.png", headers=headers)
            assert decode_png(response.data).text == f"{base}/j/{live_code.token}"
            etags.append(response.headers["ETag"])
        other.extensions["ruhui.engine"].dispose()
    assert etags[0] != etags[1]


def test_svg_decodes_to_the_code_url(client, admin_headers, live_code):
    response = client.get(
        f"/api/v1/join-codes/{live_code.id}/qr.svg", query_string={"size": 512}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)  # noqa: S314  # our own server's SVG in a test, not untrusted input
    assert root.attrib["width"] == "512" and root.attrib["height"] == "512"
    assert decode_svg(response.get_data(as_text=True)).text == join_code_url(live_code.token)


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_dead_codes_are_not_printed(client, session, admin_headers, live_code, kind):
    service.revoke_join_code(session, live_code, revoked_by_id=None)
    session.commit()
    response = client.get(f"/api/v1/join-codes/{live_code.id}/qr.{kind}", headers=admin_headers)
    assert response.status_code == 410 and response.json["code"] == "join_code_revoked"
