"""bot/core/warming.py: background work waits while questions are answered, and stops when told."""
from __future__ import annotations

import threading

from bot.core.warming import InFlight, LatentWarmer


def _waiter(inflight: InFlight, stop: threading.Event) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def run() -> None:
        inflight.wait_idle(stop)
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def test_background_work_waits_for_every_question_in_flight():
    inflight, stop = InFlight(), threading.Event()
    inflight.wait_idle(stop)  # nothing in flight: returns at once
    with inflight.question():
        with inflight.question():
            thread, done = _waiter(inflight, stop)
            assert not done.wait(0.3)
        assert not done.wait(0.3)  # one question still being answered
    assert done.wait(5)
    thread.join(5)


def test_a_question_that_fails_still_ends_its_turn():
    inflight, stop = InFlight(), threading.Event()
    try:
        with inflight.question():
            raise ValueError("the answer failed")
    except ValueError:
        pass
    _, done = _waiter(inflight, stop)
    assert done.wait(5)


def test_a_stop_ends_the_wait_even_while_questions_run():
    inflight, stop = InFlight(), threading.Event()
    with inflight.question():
        _, done = _waiter(inflight, stop)
        assert not done.wait(0.2)
        stop.set()
        inflight.wake()
        assert done.wait(5)


def test_a_close_racing_the_start_never_fails():
    """A server that stops while warming is starting (a missing Telegram token: the process exits at
    once) must not fail in close(): it either joins the started thread or the thread never starts."""
    for _ in range(300):
        warmer = LatentWarmer(lambda: None, InFlight(), every=0.01)
        starter = threading.Thread(target=warmer.start)
        starter.start()
        warmer.close(5.0)
        starter.join(5)
        warmer.close(5.0)  # again, after the start surely ran
        assert warmer.thread is None or not warmer.thread.is_alive()
