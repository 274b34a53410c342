"""Which story a follow-up is answered from: with the words it borrowed from the conversation, or alone
as a new question; and whether it still asks about the story its search found (see bot/core/followup.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.followup import NEW_TOPIC_MARGIN, coverage, may_change_topic, own_words, stays_on_topic
from bot.core.options import SearchResult
from index.language import detect_language

if TYPE_CHECKING:
    from bot.core.qa import QA


def own_or_borrowed(qa: QA, borrowed: SearchResult, standalone: str, own: str, k: int | None,
                     since: str | None, until: str | None) -> tuple[SearchResult, str]:
    """A follow-up that borrowed the previous question's words is searched alone too, and answered
    alone when that finds a story holding clearly more of its own words (a new question in the
    conversation: "What is Russia seeking in Tartus?" after questions on schools was searched with the
    schools' words and refused, or answered with students), or the same story (the borrowed words only
    pull the ranking to other paragraphs); else with the borrowed words ("How many students?", "What
    about Rasht?"), when they stay on the story (`stays_on_topic`)."""
    alone = qa.retrieve(own, k, since, until)
    if qa.is_relevant(alone, own):
        if not borrowed.hits:
            return alone, own
        mine, theirs = _story(alone), _story(borrowed)
        if mine[0] == theirs[0]:
            return alone, own
        if may_change_topic(own, borrowed.snap.passage(theirs[1][0]).lang) and \
                _coverage(qa, alone, own, mine) >= _coverage(qa, borrowed, own, theirs) + NEW_TOPIC_MARGIN:
            return alone, own
    if qa.is_relevant(borrowed, standalone) and on_topic(qa, borrowed, own):
        return borrowed, standalone
    return alone, own


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
