"""Dates for readers (Gregorian for English, Jalali with Persian digits for Persian) and for search filters."""
from __future__ import annotations

from datetime import date

import jdatetime
import numpy as np

from bot.errors import BadDate
from index.loaders.dates import parse_whole_date
from index.snapshot import Snapshot
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


def passage_ages(snap: Snapshot) -> np.ndarray:
    """Age in years of every passage of `snap` (NaN when undated), computed once per snapshot."""
    ages = snap.cache.get("ages")
    if ages is None:
        days = (date.today().toordinal() - snap.day_ordinal).astype(np.float32)
        days[snap.day_ordinal <= 0] = np.nan
        ages = snap.cache.setdefault("ages", days / np.float32(365.25))
    return ages


def date_where(lo: int | None, hi: int | None) -> dict | None:
    """The Chroma `where` filter for dates from `lo` to `hi` (YYYYMMDD; undated passages out when bounded above)."""
    conds = []
    if lo:
        conds.append({"date_num": {"$gte": lo}})
    if hi:
        conds.append({"date_num": {"$lte": hi}})
        conds.append({"date_num": {"$gt": 0}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}
