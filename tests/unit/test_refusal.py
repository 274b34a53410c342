"""bot/core/relevance.py `first_positive`: the English rule reads the sparse signal one passage at a time."""
from __future__ import annotations

import random

from bot.core.relevance import first_positive


def test_reading_until_sure_decides_as_the_whole_sum_does() -> None:
    rng = random.Random(5)
    stopped_early = 0
    for _ in range(2000):
        base, weight = rng.uniform(-12, 2), rng.uniform(1, 60)
        cosines = [rng.uniform(0, 0.45) for _ in range(3)]
        read: list[float] = []

        def lazily(values=cosines, log=read):
            for v in values:
                log.append(v)  # an encoder pass per passage: count them
                yield v

        decided, best, n = first_positive(base, weight, lazily())
        assert decided == (base + weight * max(cosines) > 0)
        assert n == len(read) and best == max(read)
        if not decided:
            assert n == 3  # a refusal has read every passage
        stopped_early += n < 3
    assert stopped_early > 100  # the admitting questions really stop before the third passage


def test_nothing_to_read_refuses() -> None:
    assert first_positive(5.0, 10.0, iter([])) == (False, -1.0, 0)
