"""The server the mini-program's tests (``*.test.js`` here) talk to, started by their jest globalSetup.

``python -m tests.miniprogram.rig`` serves this app on a free port of 127.0.0.1 — a fresh SQLite
database migrated by the real migrations, a small Nanjing directory with join codes (live, revoked,
expired), an admin officer, the console SMS gateway and the fake WeChat server of the Python tests —
and beside it a control port for what a test needs from outside the app: the SMS a phone received,
WeChat's ``wx.login`` and ``getPhoneNumber`` codes (issued by the fake WeChat server), and a real QR
decoder (ZXing C++) for what the card shows. It prints one JSON line with the addresses and the
tokens, and runs until its standard input closes (jest's teardown closes it; so does jest dying).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import zxingcpp
from PIL import Image
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from app import create_app, migrate
from app.auth import service as auth_service
from app.db import utcnow
from app.directory import service as directory_service
from app.directory.models import Employer, Station
from app.joincodes import service as joincodes_service
from app.joincodes.models import JoinCode
from tests.fakes.wechat import FakeWeChat

OFFICER = {"username": "mp-admin", "password": "mini-program-admin-2026"}


class _Quiet(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class SmsInbox(logging.Handler):
    """The console SMS gateway's log lines: what each phone would have received."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.texts: dict[str, list[str]] = {}
        self.texts_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        phone = getattr(record, "phone", None)
        if phone:
            with self.texts_lock:
                self.texts.setdefault(str(phone), []).append(str(getattr(record, "text", "")))

    def last_code(self, phone: str) -> str | None:
        with self.texts_lock:
            texts = self.texts.get(phone, [])
        match = re.search(r"\d{6}", texts[-1]) if texts else None
        return match.group(0) if match else None


_ROW = re.compile(r"M0 (\d+)\.5((?:m\d+ 0h\d+)+)")
_RUN = re.compile(r"m(\d+) 0h(\d+)")


def rasterize_rows(svg: str, scale: int = 8) -> Image.Image:
    """Draw the mini-program card's SVG (one stroked line per row: ``M0 y.5`` then ``m dx 0 h len`` runs)."""
    size_match = re.search(r'viewBox="0 0 (\d+) \d+"', svg)
    assert size_match is not None, "not the card's SVG"
    size = int(size_match.group(1))
    image = Image.new("L", (size * scale, size * scale), 255)
    pixels = image.load()
    assert pixels is not None
    for row in _ROW.finditer(svg):
        y, x = int(row.group(1)), 0
        for run in _RUN.finditer(row.group(2)):
            x += int(run.group(1))
            for module in range(x, x + int(run.group(2))):
                for dy in range(scale):
                    for dx in range(scale):
                        pixels[module * scale + dx, y * scale + dy] = 0
            x += int(run.group(2))
    return image


def seed(app: Any) -> dict[str, str]:
    """The directory the tests join through; returns the join tokens by name."""
    session = app.extensions["ruhui.sessionmaker"]()
    add = directory_service.add_union
    province = add(session, name="江苏省总工会", kind="federation", region_code="320000")
    city = add(session, name="南京市总工会", kind="federation", region_code="320100", parent=province)
    add(session, name="玄武区总工会", kind="federation", region_code="320102", parent=city)
    add(
        session,
        name="南京市快递行业工会联合会",
        kind="industry",
        region_code="320100",
        parent=city,
        occupations=["courier"],
    )
    employer = Employer(name="示例速运南京分公司", uscc="91320102MA1Y8K4X2C", region_code="320102", union_id=city.id)
    session.add(employer)
    session.flush()
    depot = Station(
        name="示例速运玄武点部",
        union_id=city.id,
        region_code="320102",
        occupation="courier",
        address="中山路 1 号",
        employer_id=employer.id,
    )
    riders = Station(
        name="玄武骑手驿站",
        union_id=city.id,
        region_code="320102",
        occupation="food_delivery_rider",
        address="珠江路 2 号",
    )
    session.add_all([depot, riders])
    session.flush()
    with app.app_context():
        live = joincodes_service.create_join_code(session, depot, created_by_id=None)
        rider = joincodes_service.create_join_code(session, riders, created_by_id=None)
        revoked = joincodes_service.create_join_code(session, depot, created_by_id=None)
        joincodes_service.revoke_join_code(session, revoked, revoked_by_id=None)
        expired = joincodes_service.create_join_code(
            session, depot, created_by_id=None, expires_at=utcnow() + dt.timedelta(hours=1)
        )
        auth_service.create_officer(session, name="入会测试管理员", union_id=province.id, role="admin", **OFFICER)
    session.flush()
    session.execute(
        sa.update(JoinCode).where(JoinCode.id == expired.id).values(expires_at=utcnow() - dt.timedelta(minutes=1))
    )
    session.commit()
    tokens = {"depot": live.token, "riders": rider.token, "revoked": revoked.token, "expired": expired.token}
    session.close()
    return tokens


def control_app(wechat: FakeWeChat, inbox: SmsInbox) -> Any:
    def respond(body: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def application(environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_json(silent=True) or {}
        if request.path == "/sms":
            code = inbox.last_code(request.args.get("phone", ""))
            response = respond({"code": code}) if code else respond({"error": "no SMS to that phone"}, 404)
        elif request.path == "/wechat/login-code":
            response = respond({"code": wechat.login_code(openid=body.get("openid"))})
        elif request.path == "/wechat/phone-code":
            response = respond({"code": wechat.phone_code(str(body.get("phone", "")))})
        elif request.path == "/decode-svg":
            result = zxingcpp.read_barcode(rasterize_rows(str(body.get("svg", ""))))
            response = respond({"text": result.text if result else None})
        else:
            response = respond({"error": "unknown"}, 404)
        return response(environ, start_response)

    return application


def serve(wsgi: Any) -> BaseWSGIServer:
    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _LateApp:
    """The app is made once its server's port (its PUBLIC_BASE_URL) is known."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ruhui-miniprogram-"))
    database_url = f"sqlite:///{workdir / 'rig.sqlite3'}"
    migrate.upgrade(database_url)
    with FakeWeChat() as wechat:
        inbox = SmsInbox()
        sms_log = logging.getLogger("ruhui.sms.console")
        sms_log.addHandler(inbox)
        sms_log.setLevel(logging.INFO)
        sms_log.propagate = False  # the codes are read over the control port, not printed in the test output
        late = _LateApp()
        server = serve(late)
        base = f"http://127.0.0.1:{server.server_port}"
        late.app = create_app(
            {
                "env": "test",
                "database_url": database_url,
                "secret_key": "mini-program-rig-secret-key-0123456789abcdef",
                "public_base_url": base,
                "ratelimit_storage_uri": "memory://",
                "log_level": "WARNING",
                **wechat.settings(),
            }
        )
        tokens = seed(late.app)
        control = serve(control_app(wechat, inbox))
        sys.stdout.write(
            json.dumps(
                {
                    "base": base,
                    "api": f"{base}/api/v1",
                    "control": f"http://127.0.0.1:{control.server_port}",
                    "tokens": tokens,
                    "officer": OFFICER,
                }
            )
            + "\n"
        )
        sys.stdout.flush()
        sys.stdin.read()  # until jest closes the pipe
        server.shutdown()
        control.shutdown()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
