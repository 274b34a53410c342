"""bot/core/relevance.py: `first_positive` reads the sparse signal one passage at a time; `only_names_asked`
reads a question about names of the passages, however the name is written."""
from __future__ import annotations

import random

import pytest

from bot.core.relevance import first_positive, only_names_asked, question_names, short_share


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


PASSAGES = ["Schools in Karaj closed on Monday. Trucks would be barred from the city, officials said.",
            "Sepahan won after Nourbakhsh scored.", "The UN envoy met officials in Bogotá."]


@pytest.mark.parametrize("question,names", [
    ("Who is Saeed Nikzad?", {"saeed", "nikzad"}),
    ("Karaj: what happened there?", {"karaj"}),  # a first word the passages write as a name
    ('"Karaj": what happened there?', {"karaj"}),
    ("Trucks barred?", set()),  # a first word the passages write only at a sentence's start
    ("Schools closed?", set()),
    ("Officials blamed poaching?", set()),  # lower case inside the passages' sentences
    ("What did the UN say?", {"un"}),  # two capitals
    ("Where is Bogotá?", {"bogotá"}),
    ("According to Reuters, who won?", {"reuters"}),  # an opener is no name
    ("During what hours are trucks banned?", set()),
    ("Who scored?", set()),
])
def test_names_of_a_question(question, names):
    assert question_names(question, PASSAGES) == names


def test_a_first_word_is_no_name_without_passages_that_write_it_so():
    assert question_names("Nourbakhsh scored when?") == set()
    assert question_names("Nourbakhsh scored when?", PASSAGES) == {"nourbakhsh"}
    assert question_names("Nourbakhsh scored when?", ["NOURBAKHSH SCORED. Nourbakhsh left."]) == set()


@pytest.mark.parametrize("question,seen,asked", [
    ("Who is Saeed Nikzad?", {"saeed", "nikzad", "coach"}, True),
    ("How old is Saeed Nikzad?", {"saeed", "nikzad", "coach"}, False),  # the passages lack "old"
    ("Karaj: what happened there?", {"karaj", "smog"}, True),
    ("Hi, what about Karaj?", {"karaj"}, True),  # a greeting asks nothing
    ("Trucks barred?", {"trucks", "barred"}, False),  # every word there, but no name
    ("Where is Bogotá?", {"bogota"}, True),  # accents folded on either side
    ("Where is Bogota?", {"bogotá"}, True),
    ("WHO ELSE?", set(), False),  # capitals, but no name
    ("What did the UN say?", {"un"}, True),
    ("Who won the election?", {"won", "election"}, False),  # no name at all
])
def test_a_question_about_names_of_the_passages_only(question, seen, asked):
    assert only_names_asked(question, seen, PASSAGES) is asked


@pytest.mark.parametrize("question,share", [
    ("Sepahan's winning header?", 1.0),  # "winning" meets "winner", "header" "headed", by their first letters
    ("Karaj trucks barred?", 1.0),
    ("Book fair ticket price?", 0.5),  # book, fair there; ticket, price not
    ("Hi, Karaj?", 1.0),  # a greeting asks nothing
    ("How many trucks?", 1.0),  # "many" is the question's form, not what it asks
    ("Trucks ban?", 1.0),  # a word shorter than the prefix meets its longer forms ("barred"… "ban" → "banned")
    ("How many trucks were barred from the city on Monday morning by the officials?", 1.0),  # not terse
])
def test_the_share_of_a_terse_questions_words_in_the_passages(question, share):
    texts = PASSAGES + ["Sepahan clinched the title when Nourbakhsh headed in the winner.", "The book fair closed.",
                        "Fishing has been banned."]
    assert short_share(question, texts) == share
