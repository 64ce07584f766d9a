"""A fuzzer over the whole OpenAPI document: whatever a client sends, the answer is never a 5xx.

Schemathesis generates requests (valid and invalid bodies, query strings, path
parameters and headers) for every operation of ``/api/openapi.json``, sent signed
out, as an admin officer and as a worker, on whichever database the suite runs.
It is bounded (``MAX_EXAMPLES`` per operation and principal, no shrinking, a fixed
seed) so that it fits in ``make test``: about a minute per database.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from app.auth import service as auth_service
from app.auth.tokens import issue_access_token
from app.directory import service as directory_service
from app.directory.models import Station
from app.joincodes import service as joincodes_service

MAX_EXAMPLES = 8
ROLES = ("signed_out", "admin", "worker")


@pytest.fixture
def app_config(app_config, fake_wechat):
    # WeChat configured (else its sign-in is a designed 501) and a budget that random sends cannot exhaust.
    return {**app_config, **fake_wechat.settings(), "sms_daily_budget": 1_000_000}


@pytest.fixture
def credentials(app, session, province) -> dict[str, dict[str, str]]:
    """Headers per principal, over a small directory that ids in generated paths may hit."""
    with app.app_context():
        officer = auth_service.create_officer(
            session,
            username="fuzz-admin",
            password="correct-horse-battery",
            name="测试",
            union_id=province.id,
            role="admin",
        )
        city = directory_service.add_union(
            session, name="南京市总工会", kind="federation", region_code="320100", parent=province
        )
        station = Station(name="玄武骑手驿站", union_id=city.id, region_code="320102", occupation="courier")
        session.add(station)
        session.flush()
        joincodes_service.create_join_code(session, station, created_by_id=officer.id)
        person = auth_service.find_or_create_person(session, "13912345678")
        session.commit()
        officer_token, _ = issue_access_token("officer", officer.id)
        worker_token, _ = issue_access_token("worker", person.id)
    return {
        "signed_out": {},
        "admin": {"Authorization": f"Bearer {officer_token}"},
        "worker": {"Authorization": f"Bearer {worker_token}"},
    }


def _strategy(operation: Any) -> st.SearchStrategy[Any]:
    """Valid requests (which reach the services) and invalid ones (which must be refused cleanly)."""
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))


def test_no_input_is_a_server_error(app, credentials):
    api_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    results = list(api_schema.get_all_operations())
    # An operation schemathesis cannot read is a broken document: fail on it rather than skip it.
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) > 40
    failures: list[str] = []
    sent = 0

    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_strategy(operation))
        def fuzz(case: Any) -> None:
            nonlocal sent
            generated = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            for role in ROLES:
                headers = {**generated, **credentials[role]}
                response = case.call(headers=headers)
                sent += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{role}: {case.method} {case.formatted_path} → {response.status_code}\n"
                        f"{case.as_curl_command(headers=headers)}\n{response.text[:300]}"
                    )

        fuzz()
    assert not failures, "\n\n".join(failures[:20])
    assert sent >= len(operations) * len(ROLES) * 2
