"""bot/core/dates.py: dates shown to readers and --since/--until values parsed."""
from __future__ import annotations

import pytest

from bot.core.dates import format_date, parse_user_date
from bot.errors import BadDate


def test_persian_readers_get_jalali_with_persian_digits() -> None:
    assert format_date("2026-01-28", "fa") == "۸ بهمن ۱۴۰۴"
    assert format_date("2025-03-21", "fa") == "۱ فروردین ۱۴۰۴"  # Nowruz


def test_english_readers_get_gregorian() -> None:
    assert format_date("2026-01-28", "en") == "28 January 2026"


def test_unknown_or_unparsable_dates() -> None:
    assert format_date(None, "fa") == format_date("", "en") == ""
    assert format_date("garbage", "fa") == "garbage"  # shown as stored rather than lost


def test_user_dates_in_either_calendar_and_any_digits() -> None:
    assert parse_user_date("2026-01-28") == "2026-01-28"
    assert parse_user_date("۱۴۰۴-۱۱-۰۸") == "2026-01-28"
    assert parse_user_date("1404-11-08") == "2026-01-28"
    assert parse_user_date(None) is None and parse_user_date("  ") is None


def test_a_bad_user_date_is_a_bilingual_error() -> None:
    with pytest.raises(BadDate) as err:
        parse_user_date("tomorrowish")
    assert "tomorrowish" in err.value.message("en") and "YYYY-MM-DD" in err.value.message("en")
    assert "tomorrowish" in err.value.message("fa") and "نامعتبر" in err.value.message("fa")


@pytest.mark.parametrize("value", ["2026-01-01xyz", "since 2026-01-01", "2026-01-01 or so", "1404-11-08!"])
def test_a_user_date_with_anything_around_it_is_refused(value: str) -> None:
    # a typo after a valid date must not silently filter by the date it happens to start with
    with pytest.raises(BadDate):
        parse_user_date(value)
    assert parse_user_date(" 11 آذر 1404 ") == "2025-12-02" and parse_user_date("December 14, 2025") == "2025-12-14"
