"""Reply deadlines: unions promise applicants an answer within N working days."""

from __future__ import annotations

import datetime as dt

from app.clock import CHINA


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The moment ``days`` working days (Monday–Friday, China time) after ``start``.

    Public holidays and the weekend working days China swaps for them are not modelled:
    the State Council publishes them yearly, and a deadline one or two days early errs
    on the applicant's side.
    """
    local = start.astimezone(CHINA)
    remaining = days
    while remaining > 0:
        local += dt.timedelta(days=1)
        if local.weekday() < 5:
            remaining -= 1
    return local.astimezone(dt.UTC)
