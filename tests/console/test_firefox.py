"""Firefox ESR reach: the sign-in, the queue and a detail in Debian's Firefox ESR (puppeteer-core over WebDriver BiDi).

Playwright's own Firefox is a patched build that would have to be downloaded; the stock
Firefox ESR speaks WebDriver BiDi, which puppeteer-core (npm, pinned in package-lock.json)
drives. ``make firefox`` installs firefox-esr; the script is tests/console/firefox.mjs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.console.support import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("firefox.mjs")
FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")


def test_an_officer_signs_in_and_opens_the_queue_and_a_detail_in_firefox_esr(
    live_server, nanjing, apply, make_account, tmp_path
):
    if not Path(FIREFOX).exists():
        pytest.fail(f"Firefox ESR is missing at {FIREFOX}: `make firefox` installs it (apt-get install firefox-esr)")
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "puppeteer-core").exists():
        pytest.fail("node and puppeteer-core are needed: `make install-dev` (npm ci)")
    first, second = apply(), apply()
    officer = make_account(nanjing.city, "reviewer")
    shots = Path(os.environ.get("CONSOLE_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(  # noqa: S603  # our own script, with arguments the test made
        [node, str(SCRIPT), live_server, officer.username, PASSWORD, second["id"], str(shots)],
        cwd=ROOT,
        env={**os.environ, "FIREFOX": FIREFOX, "HOME": str(tmp_path), "MOZ_HEADLESS": "1"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])

    assert seen["version"].startswith("firefox/")
    assert seen["loginUrl"] == "/console/login"
    assert seen["queueUrl"] == "/console/review"
    assert seen["queueHeading"] == "入会申请审核"
    assert seen["navReview"] == "审核"
    assert len(seen["queueRows"]) == 2 and all("张*" in row for row in seen["queueRows"])
    assert seen["tickAllShown"], "console.js did not run in Firefox ESR"
    assert seen["detailUrl"] == f"/console/review/{second['id']}"
    assert seen["detailHeading"] == f"入会申请 #{second['id']}：待审核"
    assert "为什么分到这个工会" in seen["detailSections"] and "作出决定" in seen["detailSections"]
    assert seen["decisionButtons"] == ["通过", "退回补充", "不予通过"]
    assert seen["layout"] == "grid"
    assert seen["errors"] == []
    assert first["id"] != second["id"]
