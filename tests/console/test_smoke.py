"""Every console page renders for an admin (a template error would be a 500), and loads nothing from another host."""

import re

import pytest

PAGES = [
    "/console/review",
    "/console/review/{application}",
    "/console/codes",
    "/console/codes/stations/{depot}",
    "/console/directory/unions",
    "/console/directory/stations",
    "/console/directory/employers",
    "/console/directory/unions/new",
    "/console/directory/stations/{depot}",
    "/console/imports",
    "/console/rules",
    "/console/rules/explain?station_id={depot}&occupation=courier",
    "/console/stats",
    "/console/stats?by=union",
    "/console/stats?by=station",
    "/console/stats/blind-spots",
    "/console/stats/funnel",
    "/console/exports",
    "/console/audit",
    "/console/officers",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_chinese(client, nanjing, apply, signed_in, page):
    application = apply()
    signed_in(nanjing.city, "admin")
    response = client.get(page.format(application=application["id"], depot=nanjing.depot.id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', html)  # nothing from another host
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/console/static/console.js" defer>']
