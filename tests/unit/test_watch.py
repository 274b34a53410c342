"""Which entries a feed took down, told from those that rolled off its end."""
from index.watch import taken_down

NEWEST_FIRST = [("e5", "2025-05-05"), ("e4", "2025-05-04"), ("e3", "2025-05-03"), ("e2", "2025-05-02")]


def listing(*ids):
    """Entries of NEWEST_FIRST and newer ones (e6, e7: dated after it), in the order given."""
    return [(aid, f"2025-05-0{aid[1]}") for aid in ids]


def test_entries_rolling_off_a_feeds_end_stay():
    assert taken_down(NEWEST_FIRST, listing("e7", "e6", "e5", "e4")) == set()
    assert taken_down(list(reversed(NEWEST_FIRST)), listing("e4", "e5", "e6")) == set()
    assert taken_down(NEWEST_FIRST, listing("e9", "e8", "e7", "e6")) == set()  # all rolled off at once


def test_an_entry_missing_while_an_older_one_is_listed_was_taken_down():
    assert taken_down(NEWEST_FIRST, listing("e6", "e5", "e3", "e2")) == {"e4"}
    assert taken_down(NEWEST_FIRST, listing("e5", "e3")) == {"e4"}  # e2 rolled off the end at the same time
    assert taken_down(NEWEST_FIRST, listing("e4", "e3", "e2")) == {"e5"}  # the newest one
    assert taken_down(list(reversed(NEWEST_FIRST)), listing("e2", "e3", "e4")) == {"e5"}


def test_an_entry_dated_like_the_oldest_listed_one_may_have_rolled_off():
    same_day_end = NEWEST_FIRST + [("e1", "2025-05-02")]
    assert taken_down(same_day_end, listing("e5", "e4", "e3", "e2")) == set()


def test_feeds_out_of_date_order_undated_or_of_one_day_are_not_judged():
    most_read = listing("e3", "e5", "e2", "e4")
    assert taken_down(most_read, listing("e3", "e2")) == set()
    assert taken_down(NEWEST_FIRST, listing("e2", "e5", "e3")) == set()  # an old entry moved to the top
    assert taken_down(NEWEST_FIRST, listing("e2", "e5", "e4", "e2")) == set()  # an old story featured on top too
    undated = [(aid, "") for aid, _ in NEWEST_FIRST]
    assert taken_down(undated, [("e5", ""), ("e2", "")]) == set()
    one_day = [(aid, "2025-05-05") for aid, _ in NEWEST_FIRST]
    assert taken_down(one_day, [("e5", "2025-05-05"), ("e2", "2025-05-05")]) == set()
    assert taken_down([], listing("e5", "e4")) == set()
