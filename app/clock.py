"""Time as users see it: China Standard Time.

China keeps one offset all year (UTC+8, no daylight saving), so a fixed offset needs no
tz database. Deadlines, the SMS day budget, notices and exports all count in it.
"""

from __future__ import annotations

import datetime as dt

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")
