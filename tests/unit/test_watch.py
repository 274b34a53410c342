"""Which entries a feed took down, told from those that rolled off its end."""
from index.watch import retracted

NEWEST_FIRST = [("e5", "2025-05-05"), ("e4", "2025-05-04"), ("e3", "2025-05-03"), ("e2", "2025-05-02")]


def test_entries_rolling_off_a_feeds_end_stay():
    assert retracted(NEWEST_FIRST, {"e7", "e6", "e5", "e4"}) == set()
    oldest_first = list(reversed(NEWEST_FIRST))
    assert retracted(oldest_first, {"e4", "e5", "e6"}) == set()


def test_an_entry_between_listed_ones_was_taken_down():
    assert retracted(NEWEST_FIRST, {"e6", "e5", "e3", "e2"}) == {"e4"}
    assert retracted(NEWEST_FIRST, {"e5", "e3"}) == {"e4"}  # e2 rolled off the end at the same time


def test_the_newest_entry_of_a_dated_feed_was_taken_down():
    assert retracted(NEWEST_FIRST, {"e4", "e3", "e2"}) == {"e5"}
    assert retracted(list(reversed(NEWEST_FIRST)), {"e2", "e3", "e4"}) == {"e5"}


def test_undated_or_same_day_feeds_keep_both_ends():
    same_day = [(aid, "2025-05-05") for aid, _ in NEWEST_FIRST]
    assert retracted(same_day, {"e4", "e3"}) == set()
    undated = [(aid, "") for aid, _ in NEWEST_FIRST]
    assert retracted(undated, {"e5", "e2"}) == {"e4", "e3"}


def test_nothing_left_of_the_last_listing_removes_nothing():
    assert retracted(NEWEST_FIRST, {"x1", "x2"}) == set()
    assert retracted([], {"x1"}) == set()
