"""What the OpenAPI document calls a valid request, the API accepts.

Schemathesis generates requests from ``/api/openapi.json`` alone (positive data: every length, pattern, enum
and range the document states is respected) and sends them, as an admin officer and as a worker, to a demo
directory. A 422 (or a 400 ``bad_request``) then means a check the document does not state, so a client that
follows the document is refused: the fix is to declare the constraint in the schema, never to loosen the
check. Any other answer (a 404 for an id that does not exist, a 409, a 403) is fine here; whether anything
answers 5xx is the no-5xx fuzzer's question (issue 13), not this test's.

Bounded: a few examples per operation, derandomized, so it runs in well under a minute and the same way each time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok

from app.auth import service as auth_service
from app.auth.models import Officer
from app.auth.tokens import issue_access_token
from app.directory.models import Employer, Station, Union
from app.joincodes.models import JoinCode
from app.routing.models import RoutingRule

EXAMPLES = 12

# Refusals the document cannot state in JSON Schema, each checked on purpose and described in prose instead.
# Narrow: a field and the words of its message, so that any other refusal of that field still fails the test.
BEYOND_JSON_SCHEMA = {
    # A check character (mod 31 over the first 17): the pattern states the alphabet and the region digits.
    ("uscc", "校验位不正确"),
    # Relative to the clock: "in the future, at most ten years ahead".
    ("expires_at", "失效时间须晚于当前时间"),
    ("expires_at", "失效时间不能超过十年后"),
    # Between fields: since before until; one subject for a funnel; what an override rule matches; a reason to
    # reject or return.
    ("until", "结束时间须晚于开始时间"),
    ("_schema", "至多指定一个"),
    ("_schema", "须且只能指定站点"),
    ("occupation", "按区域设置的覆盖规则须指定职业"),
    ("reason", "不予通过或退回补充时须填写原因"),
    # A rebind proves two different numbers: the old and the new challenge must differ.
    ("new_challenge_id", "请分别向原手机号和新手机号获取验证码"),
    # What is stored: a union that exists in the officer's scope; a region inside the managing union's.
    ("union_id", "工会不存在"),
    ("region_code", "之内"),
}
# A CSV upload's content (encoding, header, rows) is not described by a multipart schema.
CONTENT_CHECKED = {"POST /api/v1/imports/{kind}", "POST /api/v1/imports/founding-targets"}
# What a worker may call; everything else is sent as the admin (a worker gets 403 before any parsing there).
WORKER_PREFIXES = ("/api/v1/applications", "/api/v1/me", "/api/v1/join", "/api/v1/cards", "/api/v1/auth")
BOTH = {"GET /api/v1/applications/{application_id}"}


@pytest.fixture
def demo(app, client, runner, session):
    """The demo directory, its admin's and a worker's bearer headers, and real values for path parameters."""
    seeded = runner.invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    username = json.loads(seeded.output.splitlines()[-1])["admin_username"]  # an admin of the demo's root union
    officer = session.scalars(sa.select(Officer).where(Officer.username == username)).one()
    with app.app_context():
        person = auth_service.find_or_create_person(session, "13912345678")
        session.commit()
        admin_token, _ = issue_access_token("officer", officer.id)
        worker_token, _ = issue_access_token("worker", person.id)
    admin = {"Authorization": f"Bearer {admin_token}"}
    worker = {"Authorization": f"Bearer {worker_token}"}
    codes = list(session.scalars(sa.select(JoinCode).order_by(JoinCode.id)))
    submitted = client.post(
        "/api/v1/applications",
        json={
            "join_token": codes[0].token,
            "full_name": "张三",
            "id_number": "11010519491231002X",
            "occupation": "courier",
            "employment_form": "platform",
            "consent_version": "2026-01",
        },
        headers=worker,
    )
    assert submitted.status_code == 201, submitted.get_json()

    def ids(model: Any) -> list[str]:
        return [str(number) for number in session.scalars(sa.select(model.id).order_by(model.id))]

    real = {
        "station_id": ids(Station),
        "code_id": [str(code.id) for code in codes],
        "token": [code.token for code in codes],
        "union_id": ids(Union),
        "employer_id": ids(Employer),
        "rule_id": ids(RoutingRule),
        "application_id": [submitted.get_json()["id"]],
    }
    return admin, worker, real


def _refusal(response: Any) -> list[tuple[str, str]] | None:
    """The (field, message) pairs of a refusal of well-formed data; ``None`` when the request was not refused."""
    if response.status_code not in (400, 422):
        return None
    body = json.loads(response.text)
    if response.status_code == 400 and body.get("code") != "bad_request":
        return None  # a decision about the data (otp_invalid, wechat_code_invalid), not about its shape
    errors = body.get("errors") or {"": [body.get("message", "")]}
    return [(field, str(message)) for field, messages in errors.items() for message in messages]


def _unstated(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (field, message)
        for field, message in pairs
        if not any(field == known and words in message for known, words in BEYOND_JSON_SCHEMA)
    ]


def _send_examples(operation: Any, headers: dict[str, str], real: dict[str, list[str]], refused: list[str]) -> None:
    """Send ``EXAMPLES`` generated requests to one operation; note each refusal the document does not state."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), pick=st.integers(min_value=0, max_value=10_000))
    def send(case: Any, pick: int) -> None:
        # Mostly real ids, so that the checks behind the lookup run too; sometimes the generated one.
        if pick % 4:
            for name in case.path_parameters or {}:
                if real.get(name):
                    case.path_parameters[name] = real[name][pick % len(real[name])]
        if case.query:
            # A cursor is "next_cursor of the previous page": one cannot be made up.
            case.query.pop("cursor", None)
        response = case.call(headers=headers)
        pairs = _refusal(response)
        unstated = _unstated(pairs) if pairs is not None else []
        if unstated:
            body = case.body if isinstance(case.body, dict | list | str) else None
            refused.append(
                f"{operation.label} → {response.status_code} {unstated} "
                f"(path {case.path_parameters}, query {case.query}, body {body!r:.300})"
            )

    send()


def test_requests_the_document_calls_valid_are_accepted(app, demo):
    admin, worker, real = demo
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    refused: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document itself is valid (test_health_docs)
        operation = result.ok()
        if operation.label in CONTENT_CHECKED:
            continue
        as_worker = operation.path.startswith(WORKER_PREFIXES)
        for headers in [admin, worker] if operation.label in BOTH else [worker if as_worker else admin]:
            _send_examples(operation, headers, real, refused)
    assert not refused, "documented as valid, refused:\n" + "\n".join(dict.fromkeys(refused))
