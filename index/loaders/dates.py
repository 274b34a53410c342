"""Date parsing for loaders: ISO, RFC 822, Jalali, and dates encoded in news URLs."""
from __future__ import annotations

import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime

import jdatetime

from ..normalizer import normalize

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
# "11 آذر 1404": a Jalali day, month name and year, as Persian sites write them
_JALALI_MONTHS = tuple(normalize(m) for m in (  # matched in normalized text (آذر → اذر)
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"))
_JALALI_NAMED = re.compile(r"(\d{1,2})\s*(" + "|".join(_JALALI_MONTHS) + r")(?:\s*ماه)?\s*(\d{4})")
# "14 December 2025", "December 14, 2025", "14 Dec 2025": English month names, as text headers write them
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})\b", re.I)
_MONTH_DAY = re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.I)
_URL_DATE = re.compile(r"/(20\d{2}|19\d{2})/(\d{1,2})/(\d{1,2})/")
# Fars News ids start with a Jalali date: yymmdd (10 digits, 13yy) or yyyymmdd (14 digits).
_FARS_ID = re.compile(r"farsnews\.(?:ir|com)/news/(\d{10}|\d{14})(?:/|$)")


def to_gregorian(y: int, m: int, d: int) -> date | None:
    """Return the Gregorian date for y-m-d, reading years before 1700 as Jalali (e.g. 1404-11-08)."""
    try:
        if y < 1700:
            return jdatetime.date(y, m, d).togregorian()
        return date(y, m, d)
    except ValueError:
        return None


def parse_date(value: object) -> str | None:
    """Parse a date in ISO, RFC 822 or Jalali form (any digits; "11 آذر 1404", "December 14, 2025" too) into ISO
    YYYY-MM-DD, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.utcfromtimestamp(float(value)).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    text = normalize(str(value))
    m = _ISO.search(text)
    if m:
        d = to_gregorian(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return d.isoformat() if d else None
    m = _JALALI_NAMED.search(text)
    if m:
        d = to_gregorian(int(m.group(3)), _JALALI_MONTHS.index(m.group(2)) + 1, int(m.group(1)))
        return d.isoformat() if d else None
    try:
        return parsedate_to_datetime(str(value)).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    raw = str(value)
    if m := _DAY_MONTH.search(raw):
        day, month, year = int(m.group(1)), m.group(2).lower(), int(m.group(3))
    elif m := _MONTH_DAY.search(raw):
        month, day, year = m.group(1).lower(), int(m.group(2)), int(m.group(3))
    else:
        return None
    try:
        return date(year, _MONTHS.index(month) + 1, day).isoformat()
    except ValueError:
        return None


def parse_whole_date(value: str) -> str | None:
    """`parse_date` for a value that must be a date and nothing else ("2026-01-01", "11 آذر 1404",
    "December 14, 2025"): a user's --since/--until, where trailing junk is a typo, not a date in a text."""
    text, raw = normalize(value).strip(), value.strip()
    if any(p.fullmatch(text) for p in (_ISO, _JALALI_NAMED)) \
            or any(p.fullmatch(raw) for p in (_DAY_MONTH, _MONTH_DAY)):
        return parse_date(value)
    return None


def date_from_url(url: str | None) -> str | None:
    """Guess an article's date from its URL (/2024/05/01/ paths, Fars News ids), or None."""
    if not url:
        return None
    m = _URL_DATE.search(url)
    if m:
        d = to_gregorian(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return d.isoformat() if d else None
    m = _FARS_ID.search(url)
    if m:
        digits = m.group(1)
        if len(digits) == 10:
            y, mo, day = 1300 + int(digits[:2]), int(digits[2:4]), int(digits[4:6])
        else:
            y, mo, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
        if not 1380 <= y <= 1420:  # Fars News began in 1382; other ids are not dates
            return None
        g = to_gregorian(y, mo, day)
        return g.isoformat() if g else None
    return None
