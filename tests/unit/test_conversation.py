"""bot/plumbing/conversation.py: histories bounded in turns, characters, count and idle time."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from bot.plumbing import conversation
from bot.plumbing.conversation import Conversations, bound_turn, bound_turns


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    c = SimpleNamespace(now=500.0)
    monkeypatch.setattr(conversation, "time", SimpleNamespace(monotonic=lambda: c.now))
    return c


def test_bound_turn_gives_the_question_first() -> None:
    assert bound_turn("q" * 10, "a" * 10, 15) == ("q" * 10, "a" * 5)
    assert bound_turn("q" * 20, "a" * 10, 15) == ("q" * 15, "")


def test_bound_turns_keeps_the_newest_that_fit() -> None:
    turns = [("q1", "a1"), ("q2", "a2"), ("q3", "a3")]
    assert bound_turns(turns, 2, 100) == [("q2", "a2"), ("q3", "a3")]
    assert bound_turns(turns, 5, 8) == [("q2", "a2"), ("q3", "a3")]
    assert bound_turns([("q" * 50, "a" * 50)], 5, 8) == [("q" * 50, "a" * 50)]  # the last one always stays
    assert bound_turns(turns, 0, 100) == []


def test_history_per_conversation(clock: SimpleNamespace) -> None:
    conv = Conversations(turns=2, chars=100)
    conv.add("c1", "Why did schools close?", "Snow.")
    conv.add("c1", "And in Karaj?", "Open.")
    conv.add("c1", "What else?", "Traffic.")
    conv.add("c2", "Oil?", "Up.")
    assert conv.history("c1") == [("And in Karaj?", "Open."), ("What else?", "Traffic.")]
    assert conv.history("c2") == [("Oil?", "Up.")]
    assert conv.history("unknown") == [] and conv.history(None) == []


def test_a_history_is_a_copy(clock: SimpleNamespace) -> None:
    conv = Conversations()
    conv.add("c", "q", "a")
    conv.history("c").append(("x", "y"))
    assert conv.history("c") == [("q", "a")]


def test_no_id_no_memory_and_reset_forgets(clock: SimpleNamespace) -> None:
    conv = Conversations()
    conv.add(None, "q", "a")
    conv.add("", "q", "a")
    assert len(conv) == 0
    conv.add("c", "q", "a")
    conv.reset("c")
    conv.reset(None)
    assert conv.history("c") == [] and len(conv) == 0


def test_idle_conversations_expire(clock: SimpleNamespace) -> None:
    conv = Conversations(ttl_seconds=60)
    conv.add("c", "q1", "a1")
    clock.now += 59
    assert conv.history("c") == [("q1", "a1")]
    conv.add("c", "q2", "a2")  # activity renews the clock
    clock.now += 59
    assert len(conv.history("c")) == 2
    clock.now += 61
    assert conv.history("c") == [] and len(conv) == 0
    conv.add("d", "q", "a")
    clock.now += 61
    conv.add("d", "new", "start")  # an expired history is not continued
    assert conv.history("d") == [("new", "start")]


def test_the_least_recently_used_conversation_is_evicted(clock: SimpleNamespace) -> None:
    conv = Conversations(max_conversations=2)
    conv.add("a", "q", "a")
    conv.add("b", "q", "b")
    conv.add("a", "q2", "a2")  # a is now the most recent
    conv.add("c", "q", "c")
    assert conv.history("b") == [] and conv.history("a") and conv.history("c")
    assert len(conv) == 2


def test_threads_add_without_losing_turns() -> None:
    conv = Conversations(turns=1000, chars=10**6)

    def talk(i: int) -> None:
        for j in range(50):
            conv.add("shared", f"q{i}-{j}", "a")

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(conv.history("shared")) == 200
