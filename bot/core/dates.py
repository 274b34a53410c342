"""Dates for readers: Gregorian for English, Jalali with Persian digits for Persian (jdatetime)."""
from __future__ import annotations

from datetime import date

import jdatetime

from bot.errors import BadDate
from index.loaders.dates import parse_whole_date
from index.text import persian_digits

_FA_MONTHS = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی",
              "بهمن", "اسفند"]


def format_date(iso: str | None, lang: str) -> str:
    """'8 بهمن 1404' (Persian digits) for fa, '28 January 2026' for en; '' when unknown."""
    if not iso:
        return ""
    try:
        d = date.fromisoformat(iso)
    except ValueError:
        return iso
    if lang == "fa":
        j = jdatetime.date.fromgregorian(date=d)
        return persian_digits(f"{j.day} {_FA_MONTHS[j.month - 1]} {j.year}")
    return f"{d.day} {d.strftime('%B')} {d.year}"


def parse_user_date(value: str | None) -> str | None:
    """Parse a --since/--until value (Gregorian or Jalali, any digits) into ISO; BadDate if invalid."""
    if value is None or not str(value).strip():
        return None
    iso = parse_whole_date(str(value))
    if iso is None:
        raise BadDate(str(value))
    return iso
