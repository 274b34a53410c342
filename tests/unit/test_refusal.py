"""bot/core/relevance.py: `first_positive` reads the sparse signal one passage at a time; `only_names_asked`
reads a question about names of the passages, however the name is written."""
from __future__ import annotations

import random

import pytest

from bot.core.relevance import first_positive, only_names_asked, question_names


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


@pytest.mark.parametrize("question,names", [
    ("Who is Saeed Nikzad?", {"saeed", "nikzad"}),
    ("Nourbakhsh scored when?", {"nourbakhsh"}),  # a name opening the question
    ("What did the UN say?", {"un"}),  # two capitals
    ("Where is Bogotá?", {"bogotá"}),
    ("According to Reuters, who won?", {"reuters"}),  # an opener is no name
    ("During what hours are trucks banned?", set()),
    ("Who scored?", set()),
])
def test_names_of_a_question(question, names):
    assert question_names(question) == names


@pytest.mark.parametrize("question,seen,asked", [
    ("Who is Saeed Nikzad?", {"saeed", "nikzad", "coach"}, True),
    ("How old is Saeed Nikzad?", {"saeed", "nikzad", "coach"}, False),  # the passages lack "old"
    ("Karaj: what happened there?", {"karaj", "smog"}, True),
    ("Where is Bogotá?", {"bogota"}, True),  # accents folded on either side
    ("Where is Bogota?", {"bogotá"}, True),
    ("WHO ELSE?", set(), False),  # capitals, but no name
    ("What did the UN say?", {"un"}, True),
    ("Who won the election?", {"won", "election"}, False),  # no name at all
])
def test_a_question_about_names_of_the_passages_only(question, seen, asked):
    assert only_names_asked(question, seen) is asked
