"""Which story a follow-up is answered from: with the words it borrowed from the conversation, or alone
as a new question; and whether it still asks about the story its search found (see bot/core/followup.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.followup import (
    NEW_TOPIC_MARGIN,
    coverage,
    may_change_topic,
    own_words,
    refers_back,
    stays_on_topic,
)
from bot.core.options import SearchResult
from index.language import detect_language

if TYPE_CHECKING:
    from bot.core.qa import QA


def own_or_borrowed(qa: QA, borrowed: SearchResult, standalone: str, own: str, k: int | None,
                    since: str | None, until: str | None) -> tuple[SearchResult, str]:
    """A follow-up that borrowed the previous question's words is searched alone too, and answered
    alone when that finds the same story (the borrowed words only pull the ranking to other paragraphs),
    a story holding clearly more of its own words while it names something (a new question in the
    conversation: "What is Russia seeking in Tartus?" after questions on schools was searched with the
    schools' words and refused), or when the borrowed words found a story holding none of them; else with
    the borrowed words ("How many students?", "What about Rasht?") when they stay on the story
    (`stays_on_topic`), and refused when they do not — unless it names something, then it is a new
    question, refused or answered as one would be. A follow-up that points back ("How much did it
    cost?") after borrowed words that found a story holding none of them is refused."""
    alone = qa.retrieve(own, k, since, until)
    if not borrowed.hits:
        return alone, own
    theirs = _story(borrowed)
    story_lang = borrowed.snap.passage(theirs[1][0]).lang
    carried = standalone[len(own):]  # rewrite_followup appends the borrowed words to the question
    # Persian words are not looked up in English (no dictionary that way): an English story would seem to lack them
    if not (story_lang == "en" and detect_language(carried) == "fa") and \
            _coverage(qa, borrowed, carried, theirs) == 0.0:
        # the borrowed words found a story holding none of them: they kept no topic
        if refers_back(own):  # "How much did it cost?" after the schools is about the schools: refused
            borrowed.relevant[standalone] = False
            return borrowed, standalone
        return alone, own  # "What happened in Isfahan?" after the sturgeon: a new question
    new_topic = may_change_topic(own, story_lang)
    if qa.is_relevant(alone, own):
        mine = _story(alone)
        if mine[0] == theirs[0]:
            return alone, own
        if new_topic and _coverage(qa, alone, own, mine) >= _coverage(qa, borrowed, own, theirs) + NEW_TOPIC_MARGIN:
            return alone, own
    if qa.is_relevant(borrowed, standalone) and on_topic(qa, borrowed, own):
        return borrowed, standalone
    if new_topic:
        return alone, own
    # about the story ("When will they reopen?", "What caused it?"), which does not hold it: refused
    borrowed.relevant[standalone] = False
    return borrowed, standalone


def _story(result: SearchResult) -> tuple[str, list[int]]:
    """The best hit's article and all of its paragraphs' positions: the story an answer would quote."""
    first = result.snap.passage(result.hits[0].pos)
    return first.article_id, [int(p) for p in result.snap.article_positions(first.article_id)]


def _others(qa: QA, result: SearchResult, words_: list[str], own: str) -> dict[str, list[str]]:
    """Each word's other-script spellings (transliterations) and dictionary translations."""
    others = {w: list(c) for w, c in result.snap.lexical.transliterations(words_).items()}
    for en, fa in qa.searcher().translations(own):
        others.setdefault(en, []).extend(fa)
    return others


def _coverage(qa: QA, result: SearchResult, own: str, story: tuple[str, list[int]]) -> float:
    """How much of a follow-up's own words' weight the story holds (`followup.coverage`)."""
    snap = result.snap
    return coverage(own, snap.texts(story[1]), snap.lexical.df, snap.lexical.n_alive,
                    _others(qa, result, own_words(own), own))


def on_topic(qa: QA, result: SearchResult, own: str) -> bool:
    """Whether a follow-up that borrowed words asks about what its search found (`stays_on_topic`)."""
    snap = result.snap
    words_ = own_words(own)
    if not words_ or not result.hits:
        return True
    # the story the answer would quote: the best hit's article, all of it (not the other top passages,
    # which the follow-up's own words pull in from unrelated articles)
    _, story = _story(result)
    across = snap.passage(story[0]).lang != detect_language(own)
    sims = qa.store().similarities(snap, qa.embedder.encode_query(own), story)
    return stays_on_topic(own, snap.texts(story), max(sims.values(), default=0.0),
                          snap.lexical.df, snap.lexical.n_alive, _others(qa, result, words_, own), across=across)
