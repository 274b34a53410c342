"""Follow-up questions made standalone without an LLM: a short follow-up borrows the previous
question's words, and one that names nothing new ("What else happened there?") stays on its topic."""
from __future__ import annotations

from dataclasses import dataclass

from index.normalizer import content_words, normalize

# Words that ask for "more" without naming a topic; a follow-up made only of these (and stopwords)
# refers back to the previous question, whose words then carry full weight in the search.
_GENERIC_RAW = """
    else more other others another happened happen happens happening going go tell anything something
    details detail next then now there here say said know new news latest update updates further
    besides anymore what's whats how's story
    دیگر دیگه دیگری چه چی چیز شد شده شدند اتفاق اتفاقی افتاد افتاده می‌افتد بیشتر بیش جزئیات توضیح
    بگو بگویید بگوید خبر خبری خبرهای تازه جدید بعد بعدش سپس آنجا اونجا اینجا آن‌جا این‌جا ماجرا ماجرای
    چطور چگونه است بود هست
"""
GENERIC = frozenset(normalize(w) for w in _GENERIC_RAW.split())
MAX_CARRIED = 8
LONG_ENOUGH = 6  # a follow-up with this many content words stands on its own


@dataclass
class Followup:
    """The question to search and, when words were carried over, the follow-up's own words
    (`primary`, weighted above the carried ones); `primary` None weighs every word alike."""

    standalone: str
    primary: str | None = None
    said: str = ""  # for "What else…?": the previous answer, whose sentences are not repeated


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
    prev = history[-1][0]
    carried = [w for w in dict.fromkeys(content_words(prev)) if w not in set(own)]
    if not carried:
        return Followup(question)
    if is_anaphoric(question):
        # the previous question is the whole topic: searched as asked (its words alone, with "else"
        # and "there" diluting them, pulled a follow-up about Tehran's schools to Gilan's)
        return Followup(f"{prev.rstrip()} {question}", said="\n".join(a for _, a in history))
    # "and in Karaj?": Karaj leads, the previous question's words follow at a lower weight
    return Followup(question + " " + " ".join(carried[:MAX_CARRIED]), primary=question)
