"""Which entries a feed took down, told from those that rolled off its ends (`khabar index watch --prune`)."""
from index.watch import taken_down


def listing(*days):
    """Entries named by their day of May 2025 ("e5" dated 2025-05-05), in the order given."""
    return [(f"e{d}", f"2025-05-{d:02d}") for d in days]


NEWEST_FIRST = listing(9, 8, 7, 6, 5, 4)


def test_entries_rolling_off_a_feeds_ends_stay():
    assert taken_down(NEWEST_FIRST, listing(11, 10, 9, 8, 7, 6)) == set()
    assert taken_down(list(reversed(NEWEST_FIRST)), listing(6, 7, 8, 9, 10)) == set()
    assert taken_down(NEWEST_FIRST, listing(15, 14, 13, 12)) == set()  # all rolled off at once
    assert taken_down(NEWEST_FIRST, listing(8, 7, 6, 5, 4)) == set()  # the newest: could be a stale copy


def test_an_entry_inside_the_window_was_taken_down():
    assert taken_down(NEWEST_FIRST, listing(9, 8, 6, 5, 4)) == {"e7"}
    assert taken_down(NEWEST_FIRST, listing(10, 9, 8, 6, 5, 3)) == {"e7"}  # with a new entry and a backfilled one
    assert taken_down(list(reversed(NEWEST_FIRST)), listing(4, 5, 6, 8, 9)) == {"e7"}


def test_an_entry_next_to_an_end_may_have_rolled_past_a_pinned_one():
    pinned = listing(9, 8, 7, 6) + [("old", "1970-01-01")]
    assert taken_down(pinned, listing(10, 9, 8, 7) + [("old", "1970-01-01")]) == set()


def test_feeds_that_are_not_a_window_in_date_order_are_not_judged():
    assert taken_down(listing(7, 9, 5, 8, 6, 4), listing(7, 9, 8, 6, 4)) == set()  # most read
    assert taken_down(NEWEST_FIRST, listing(5, 9, 8, 6, 4)) == set()  # an old entry moved to the top
    assert taken_down(NEWEST_FIRST, listing(9, 8, 6, 10, 5, 4)) == set()  # a new entry among the old ones
    assert taken_down(NEWEST_FIRST, listing(9, 9, 8, 6, 5, 4)) == set()  # a story listed twice
    undated = [(aid, "") for aid, _ in NEWEST_FIRST]
    assert taken_down(undated, [e for e in undated if e[0] != "e7"]) == set()
    assert taken_down([], listing(5, 4)) == set()


def test_a_list_of_one_days_stories_is_no_window():
    one_day = [(f"s{i}", "2025-05-05") for i in range(6)]
    assert taken_down(one_day, one_day[:2] + one_day[3:] + [("s9", "2025-05-05")]) == set()


def test_the_missing_entry_is_dated_between_its_neighbours():
    same_day_as_neighbours = listing(9, 8) + [("x", "2025-05-07"), ("y", "2025-05-07"), ("z", "2025-05-07")] \
        + listing(5, 4)
    assert taken_down(same_day_as_neighbours, [e for e in same_day_as_neighbours if e[0] != "y"]) == set()
