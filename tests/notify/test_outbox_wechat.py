"""Decision notices over WeChat: a subscribe message besides the SMS, for applicants who linked WeChat."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Request, Response

from app.auth.models import Person
from app.enrollment.models import Application
from app.notify import outbox
from app.notify.models import OutboxMessage
from tests.fakes.wechat import wechat_error, wechat_json

QUEUE = "/api/v1/review/applications"
TEMPLATE = "tmpl-decision-0001"


@pytest.fixture
def app_config(app_config, fake_wechat):
    return {**app_config, **fake_wechat.settings(), "wechat_decision_template_id": TEMPLATE}


@pytest.fixture
def subscribe_messages(fake_wechat):
    """What the fake WeChat accepted at ``subscribeMessage.send`` (43101 for the openid ``o-refuses``)."""
    sent: list[dict[str, object]] = []

    def subscribe_send(req: Request) -> Response:
        body = json.loads(req.data)
        if body.get("template_id") != TEMPLATE:
            return wechat_error(40037, "invalid template_id")
        if not body.get("touser"):
            return wechat_error(40003, "invalid openid")
        if body.get("touser") == "o-refuses":
            return wechat_error(43101, "user refuse to accept the msg")
        sent.append(body)
        return wechat_json({"errcode": 0, "errmsg": "ok", "msgid": 294402298110051942})

    fake_wechat.token_route("POST", "/cgi-bin/message/subscribe/send")(subscribe_send)
    return sent


def test_linked_users_also_get_a_subscribe_message_and_refusals_are_not_retried(
    app, client, session, nanjing, apply, make_officer, fake_aliyun, subscribe_messages
):
    linked, refusing, plain = apply(), apply(), apply()
    for created, openid in ((linked, "o-linked-user"), (refusing, "o-refuses")):
        person_id = session.get(Application, int(created["id"])).person_id
        session.execute(sa.update(Person).where(Person.id == person_id).values(wechat_openid=openid))
    session.commit()
    _, reviewer = make_officer(nanjing.city, "reviewer")
    for created in (linked, refusing, plain):
        response = client.post(f"{QUEUE}/{created['id']}/decision", json={"action": "approve"}, headers=reviewer)
        assert response.status_code == 200

    with app.app_context():
        report = outbox.run_until_idle(app.extensions["ruhui.sessionmaker"], policy=outbox.OutboxPolicy())
    assert (report.sent, report.retrying, report.dead) == (4, 0, 1)  # three SMS, one WeChat; 43101 is final
    assert [body["touser"] for body in subscribe_messages] == ["o-linked-user"]
    assert subscribe_messages[0]["data"]["phrase1"] == {"value": "已通过"}
    assert subscribe_messages[0]["page"] == "pages/applications/index"
    session.expire_all()
    dead = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.status == "dead")).all()
    assert [(m.channel, m.last_error) for m in dead] == [("wechat", "wechat:43101")]
    assert len(fake_aliyun.sent) == 3
