"""Helpers for the sign-in tests: read the console gateway's codes, ask for codes, verify them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app.auth.phones import normalise_phone

OTP_URL = "/api/v1/auth/otp"
VERIFY_URL = "/api/v1/auth/otp/verify"


class ConsoleInbox:
    """The SMS messages the console gateway wrote to stderr, as a developer would read them."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.messages: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        for line in self.capsys.readouterr().err.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("logger") == "ruhui.sms.console":
                    self.messages.append(record)
        return self.messages

    def code_for(self, phone: str) -> str:
        """The code in the newest message to ``phone``."""
        phone = normalise_phone(phone)
        texts = [m["text"] for m in self.read() if m["phone"] == phone]
        assert texts, f"no SMS to {phone} in the console log"
        match = re.search(r"(?<!\d)(\d{6})(?!\d)", texts[-1])
        assert match is not None
        return match.group(1)


def request_code(client: Any, phone: str, ip: str = "127.0.0.1") -> Any:
    return client.post(OTP_URL, json={"phone": phone}, environ_base={"REMOTE_ADDR": ip})


def verify(client: Any, challenge_id: str, code: str) -> Any:
    return client.post(VERIFY_URL, json={"challenge_id": challenge_id, "code": code})


def sign_in_by_sms(client: Any, inbox: ConsoleInbox, phone: str) -> dict[str, Any]:
    """The whole phone sign-in; returns the tokens."""
    challenge = request_code(client, phone)
    assert challenge.status_code == 202, challenge.get_json()
    response = verify(client, challenge.get_json()["challenge_id"], inbox.code_for(phone))
    assert response.status_code == 200, response.get_json()
    tokens: dict[str, Any] = response.get_json()
    return tokens
