"""Reading typed values off a submitted form, Vietnamese style (``95,5``; ``25/11/2026``), with the error text a
person sees beside the field; and the business time a form states."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, time

from services.kernel.vntime import VN_TZ, now_vn, today_vn

from .forms import FormErrors

_DAY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
BUSINESS_HOUR = 9  # a past day stated on a form is taken at 09:00 Vietnam time


def text(form: Mapping[str, str], name: str) -> str:
    """The field's text, NFC, trimmed ('' when absent)."""
    return unicodedata.normalize("NFC", str(form.get(name) or "")).strip()


def lines(form: Mapping[str, str], name: str) -> list[str]:
    """The non-empty lines of a text area."""
    return [line.strip() for line in text(form, name).splitlines() if line.strip()]


def number(form: Mapping[str, str], name: str, errors: FormErrors, label: str) -> float | None:
    """A number typed as ``95,5``, ``95.5`` or ``1.234,5`` (None when empty; an error when not a number)."""
    raw = text(form, name).replace(" ", "").replace("\u00a0", "")
    if not raw:
        return None
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        errors.add(name, f"{label}: “{text(form, name)}” không phải là số (ví dụ 95 hoặc 95,5).", "NOT_A_NUMBER")
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors.add(name, f"{label}: giá trị không hợp lệ.", "NOT_A_NUMBER")
        return None
    return value


def day(form: Mapping[str, str], name: str, errors: FormErrors, label: str, required: bool = False) -> date | None:
    """A date typed as ``dd/mm/yyyy`` (or ISO ``yyyy-mm-dd``)."""
    raw = text(form, name)
    if not raw:
        if required:
            errors.add(name, f"Hãy nhập {label.lower()} (ngày/tháng/năm, ví dụ 20/12/2026).", "REQUIRED")
        return None
    found = _DAY.match(raw)
    iso = _ISO.match(raw)
    try:
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
    except ValueError:
        pass
    errors.add(name, f"{label}: “{raw}” không phải là ngày hợp lệ (ngày/tháng/năm, ví dụ 20/12/2026).", "NOT_A_DATE")
    return None


def business_time(on: date | None) -> datetime:
    """When a form's action happened: now for today (or no date), else 09:00 Vietnam time of the stated day."""
    if on is None or on == today_vn():
        return now_vn()
    return datetime.combine(on, time(BUSINESS_HOUR), tzinfo=VN_TZ)


def not_after_today(on: date | None, name: str, errors: FormErrors, label: str) -> None:
    """A document cannot be dated in the future."""
    if on is not None and on > today_vn():
        errors.add(name, f"{label} không được sau ngày hôm nay.", "DATE_IN_FUTURE")
