"""bot/plumbing/ratelimit.py: the in-process sliding one-minute window per client."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from bot.plumbing import ratelimit
from bot.plumbing.ratelimit import WINDOW_SECONDS, RateLimiter


class Clock:
    """A monotonic clock the test moves by hand (the window is a minute long)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=c.monotonic))
    return c


def test_allows_up_to_the_limit_per_client(clock: Clock) -> None:
    limiter = RateLimiter(3)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # another client has its own window
    assert len(limiter) == 2


def test_the_window_slides(clock: Clock) -> None:
    limiter = RateLimiter(2)
    assert limiter.allow("a")
    clock.now += 30
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now += WINDOW_SECONDS - 30 + 0.1  # the first request left the window, the second did not
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now += WINDOW_SECONDS + 1
    assert limiter.allow("a") and limiter.allow("a")


def test_refused_requests_do_not_count(clock: Clock) -> None:
    limiter = RateLimiter(1)
    assert limiter.allow("a")
    for _ in range(10):
        clock.now += 5
        assert not limiter.allow("a")
    clock.now += 10.1  # 60.1 s after the only accepted request
    assert limiter.allow("a")


def test_zero_means_unlimited(clock: Clock) -> None:
    limiter = RateLimiter(0)
    assert all(limiter.allow("a") for _ in range(1000))
    assert len(limiter) == 0


def test_idle_clients_are_forgotten_past_max_keys(clock: Clock) -> None:
    limiter = RateLimiter(5, max_keys=3)
    for k in "abc":
        limiter.allow(k)
    clock.now += WINDOW_SECONDS + 1
    limiter.allow("d")
    limiter.allow("e")  # over max_keys: the idle a, b, c go
    assert len(limiter) == 2
    assert all(limiter.allow(k) for k in "abc")  # and start afresh


def test_threads_share_one_limit() -> None:
    limiter = RateLimiter(50)
    allowed: list[bool] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(25):
            ok = limiter.allow("shared")
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 200 and sum(allowed) == 50
