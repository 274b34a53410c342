"""Follow-up questions made standalone without an LLM: a short follow-up borrows the previous
question's words, and one that names nothing new ("What else happened there?") stays on its topic."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.detail import word_forms
from bot.core.extractive import REFUSAL
from bot.core.keywords import name_like
from index.dictionary import QUESTION_WORDS
from index.language import detect_language
from index.normalizer import content_words, normalize, words

# Words that ask for "more" without naming a topic; a follow-up made only of these (and stopwords)
# refers back to the previous question, whose words then carry full weight in the search.
_GENERIC_RAW = """
    else more other others another happened happen happens happening going go tell anything something
    details detail next then now there here say said know new news latest update updates further
    besides anymore what's whats how's story
    دیگر دیگه دیگری چه چی چیز شد شده شدند اتفاق اتفاقی افتاد افتاده می‌افتد بیشتر بیش جزئیات توضیح
    بگو بگویید بگوید خبر خبری خبرهای تازه جدید بعد بعدش سپس آنجا اونجا اینجا آن‌جا این‌جا ماجرا ماجرای
    چطور چگونه است بود هست
    really true truly so exactly sure indeed right correct it its this that these those them they their
    any why when where who whom whose how what which yes no ok okay please also again well actually
    واقعا واقعاً درسته درست مطمئنی چند چقدر کسی کسانی باید اش هم همین همان این آن آنها اونها ایشان او
    کی کجا چرا کدام
"""
GENERIC = frozenset(normalize(w) for w in _GENERIC_RAW.split())
# Words that point back at something said before ("How much did *it* cost?", «هزینه‌*اش*»: the
# normalizer splits the suffix off).
_POINTERS_RAW = """
    it its they them their theirs there this that these those he she him his her hers
    اش اشان شان آن این او آنها اینها آنجا اونجا اینجا همین همان ایشان
"""
POINTERS = frozenset(normalize(w) for w in _POINTERS_RAW.split())
MAX_CARRIED = 8
LONG_ENOUGH = 6  # a follow-up with this many content words stands on its own
# A follow-up that borrowed words must still ask about the story it would be answered from: its own
# question this close to one of the story's paragraphs (cosine; small talk sits at 0.72–0.785 from any
# news paragraph, "When will they reopen?" after Tehran's schools at 0.84), lower across languages (where
# everything sits closer together: 0.72–0.74 off-topic, 0.75–0.80 on the story), or this share of its own
# words' weight found in the story. Measured on 109 two-turn conversations (a reviewer's; the bars were
# compared on all of them, so this is not a held-out number) over the samples, and over the samples with
# 120 Fars articles: off-topic follow-ups refused 0 → 12 of 14 on both, follow-ups on the story answered
# 90 → 88 and 85 → 80 of 95 (the losses: a new place named with no other word, "What about Rasht?", and
# questions whose words the story says otherwise: "Who helped the families?" / امدادرسانی به خانوارها).
FOLLOWUP_DENSE = 0.79
FOLLOWUP_DENSE_ACROSS = 0.745
FOLLOWUP_WORDS = 0.5
# A follow-up searched alone finds another story holding this much more of its own words' weight than the
# story its borrowed words found: it is a new question, not a follow-up ("What is Russia seeking in
# Tartus?" after questions on schools)
NEW_TOPIC_MARGIN = 0.3


@dataclass
class Followup:
    """The question to search and, when words were carried over, the follow-up's own words
    (`primary`, weighted above the carried ones); `primary` None weighs every word alike."""

    standalone: str
    primary: str | None = None
    said: str = ""  # for "What else…?": the previous answer, whose sentences are not repeated
    orphan: bool = False  # it points back at a refused question: there is nothing it can be about


def is_anaphoric(question: str) -> bool:
    """True for a follow-up that names no topic of its own ("What else happened there?", «دیگر چه شد؟»)."""
    return not [w for w in content_words(question) if w not in GENERIC]


def rewrite_followup(question: str, history: list[tuple[str, str]] | None) -> Followup:
    """Add the previous question's key words to a short follow-up (extractive mode)."""
    if not history:
        return Followup(question)
    own = content_words(question)
    if len(own) >= LONG_ENOUGH:
        return Followup(question)
    # the last question that was answered: a refused one established no topic to borrow from
    answered = [q for q, a in history if a.strip() not in REFUSAL.values()]
    if not answered:
        if history[-1][1].strip() in REFUSAL.values() and points_back(question):
            # "How much did it cost?" after a refused question (and nothing answered before it): "it" is
            # what the index does not hold, so searching the few words left ("cost") would answer about
            # some other story
            return Followup(question, orphan=True)
        return Followup(question)
    prev = answered[-1]
    carried = [w for w in dict.fromkeys(content_words(prev)) if w not in set(own)]
    if not carried:
        return Followup(question)
    if is_anaphoric(question):
        # the previous question is the whole topic: searched as asked (its words alone, with "else"
        # and "there" diluting them, pulled a follow-up about Tehran's schools to Gilan's)
        return Followup(f"{prev.rstrip()} {question}", said="\n".join(a for _, a in history))
    # "and in Karaj?": Karaj leads, the previous question's words follow at a lower weight
    return Followup(question + " " + " ".join(carried[:MAX_CARRIED]), primary=question)


def points_back(question: str) -> bool:
    """True for a short follow-up about a pronoun ("How much did it cost?", «هزینه‌اش چقدر بود؟»; a
    suffix written without a space, «جمعیتش», is not seen): at most one word of its own that names something."""
    # a name is a subject of its own: "What did Rouhani say about this?" is searched, not refused
    names = {w for w in name_like(question) if w.isascii()}
    return refers_back(question) and len(own_words(question)) <= 1 and not names & set(own_words(question))


def refers_back(question: str) -> bool:
    """True when a question holds a word pointing at something said before ("they", "it", «آن», «‌اش»)."""
    return bool(POINTERS & set(words(question)))


def may_change_topic(question: str, story_lang: str) -> bool:
    """Whether a follow-up may be a new question rather than one about the story so far (`story_lang`: its
    language): not when it points back ("When will *they* reopen?"), an English one only when it names
    someone or something (a capitalized word: "…in Tartus?", not "What caused the pollution?"), and a
    Persian one not over an English story (its words cannot be looked up in English: every English story
    would seem to lack them)."""
    if refers_back(question):
        return False
    if detect_language(question) == "en":
        return bool(set(name_like(question)) & set(own_words(question)))
    return story_lang != "en"


def own_words(question: str) -> list[str]:
    """A follow-up's words that name something ("students" in "How many students?")."""
    return [w for w in dict.fromkeys(content_words(question)) if w not in GENERIC and w not in QUESTION_WORDS]


def stays_on_topic(question: str, texts: list[str], similarity: float, df: Callable[[str], int], n_docs: int,
                   others: dict[str, list[str]], across: bool = False) -> bool:
    """Whether a follow-up whose search borrowed the previous question's words asks about the story found
    (`texts`, its article's paragraphs): its own question close to them (`similarity`, its best cosine with
    them; `across`: they are in the other language), or most of its own words' IDF weight found there, as
    written or as one of `others` (a word's transliterations and dictionary translations). Without this
    the borrowed words answer anything: "What is the capital of France?" after a question on Tehran's
    schools was answered with the schools."""
    if not own_words(question) or similarity >= (FOLLOWUP_DENSE_ACROSS if across else FOLLOWUP_DENSE):
        return True
    return coverage(question, texts, df, n_docs, others) >= FOLLOWUP_WORDS


def coverage(question: str, texts: list[str], df: Callable[[str], int], n_docs: int,
             others: dict[str, list[str]]) -> float:
    """The share of a follow-up's own words' IDF weight found in `texts` (a story's paragraphs), as
    written or as one of `others` (a word's transliterations and dictionary translations); 1 when it
    has no words of its own."""
    own = own_words(question)
    if not own:
        return 1.0
    forms: set[str] = set()
    for t in texts:
        forms |= word_forms(t)
    weight = {w: math.log(1 + n_docs / (1 + df(w))) for w in own}
    found = sum(v for w, v in weight.items() if w in forms or any(o in forms for o in others.get(w, [])))
    return found / (sum(weight.values()) or 1.0)
