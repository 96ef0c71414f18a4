"""Business dates are Vietnamese calendar dates: every deadline, year and "on" day is judged in Asia/Ho_Chi_Minh.

An event's business time (``occurred_at``) is an instant; which calendar day it falls on depends on the time zone.
06:30 on 01/12/2027 in Vietnam is 23:30 on 30/11/2027 in UTC: a duty due "trước ngày 01/12" is late either way,
whatever offset the caller sent. So no rule takes ``.date()`` of a datetime directly: it takes ``business_day``.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
"""Vietnam's time zone (UTC+07:00, no daylight saving)."""


def business_day(moment: datetime) -> date:
    """The Vietnamese calendar day of ``moment`` (a naive datetime is taken as Vietnam time)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(VN_TZ).date()


def now_vn() -> datetime:
    """The current instant, expressed in Vietnam time."""
    return datetime.now(VN_TZ)


def today_vn() -> date:
    """Today's date in Vietnam (not the server's, not UTC's)."""
    return now_vn().date()
