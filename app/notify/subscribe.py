"""The WeChat subscribe message that tells an applicant about a decision: the template's fields and limits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.clock import CHINA


def decision_message(*, template_id: str, page: str, phrase: str, union_name: str, at: dt.datetime) -> dict[str, Any]:
    """The ``params`` of ``enqueue_wechat`` for a decision: what happened, by which union, when (China time)."""
    return {
        "template_id": template_id,
        "page": page,
        # Subscribe-message values: phrase ≤ 5 characters, thing ≤ 20, time as 2026-01-31 17:30.
        "data": {
            "phrase1": {"value": phrase},
            "thing2": {"value": union_name[:20]},
            "time3": {"value": at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")},
        },
    }
