"""Citation markers in generated answers: parse every form, drop dangling ones, renumber, check support."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bot.core.figures import numbers_found
from index.embeddings import VectorEmbeddings
from index.language import detect_language
from index.normalizer import STOPWORDS, normalize, tokenize, words
from index.text import DIGIT, HARD_STOP, STOP, ascii_digits, persian_share, split_sentences
from index.transliteration import skeleton_en, skeleton_fa

# [1]  [1, 2]  [1][2]  [۱]  [۱، ۲]  [1;2]  [1-3]  【1】
MARKER = re.compile(rf"[\[【]\s*({DIGIT}+(?:\s*(?:[,،;]|-|–)\s*{DIGIT}+)*)\s*[\]】]")


def marker_numbers(group: str) -> list[int]:
    """The source numbers inside one marker's brackets (ranges expanded)."""
    out: list[int] = []
    for part in re.split(r"\s*[,،;]\s*", ascii_digits(group)):
        if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
            a, b = (int(x) for x in re.split(r"\s*[-–]\s*", part))
            out.extend(range(a, b + 1) if 0 < b - a < 20 else [a, b])
        elif part.strip().isdigit():
            out.append(int(part))
    return out


@dataclass
class Claim:
    """One sentence of a generated answer and the sources it cites (original numbers)."""

    text: str
    sources: list[int]

    def marked(self) -> str:
        """The sentence with its markers after it, as `split_claims` reads it back."""
        return " ".join([self.text, *(f"[{n}]" for n in self.sources)])


# A link, an HTML tag or a markdown link/image in a reply sentence is not something a news passage
# supports, and a channel may render it (Telegram makes URLs clickable): such a sentence is dropped.
_MARKUP = re.compile(r"https?://|\bwww\.|<\s*/?\s*[a-zA-Z!][^>]*>|\]\(|!\[", re.I)


def visible(text: str) -> str:
    """`text` without control and format characters (bidi overrides, zero-width spaces, escape
    codes), which the checks never see (normalization removes them) and a reader must not either;
    whitespace and the zero-width non-joiner (part of Persian spelling) stay."""
    return "".join(ch if ch.isspace() or ch == "\u200c" or unicodedata.category(ch) not in ("Cc", "Cf")
                   else "" for ch in text)


def split_claims(text: str) -> list[Claim]:
    """Split an answer into sentences with their markers; a marker opening a sentence belongs to
    the sentence before it ("… است. [1] بعدی")."""
    claims: list[Claim] = []
    text = re.sub(rf"({HARD_STOP})\s*(?=[\[【])", r"\1 ", visible(text))  # "پایان.[1]" → "پایان. [1]"
    for s, e in split_sentences(text):
        sent = text[s:e]
        lead = re.match(r"^(\s*" + MARKER.pattern + r")+", sent)
        if lead and claims:
            claims[-1].sources += [n for m in MARKER.finditer(lead.group(0)) for n in marker_numbers(m.group(1))]
            sent = sent[lead.end():]
        nums = [n for m in MARKER.finditer(sent) for n in marker_numbers(m.group(1))]
        body = without_markers(sent)
        if body:
            claims.append(Claim(body, nums))
    return claims


FOREIGN_SHARE = 0.8  # a sentence this much in the other script is in the other language


def foreign(sentence: str, lang: str) -> bool:
    """Whether `sentence` is written in the other language than `lang`: almost all its letters in the
    other script, over a few words — an English sentence naming a Persian title («…») or a Persian one
    naming "Samsung Electronics", and a one-word answer ("Tartus."), are not."""
    if len(sentence.split()) < 4 or not any(ch.isalpha() for ch in sentence):
        return False
    share = persian_share(sentence)
    return share >= FOREIGN_SHARE if lang == "en" else share <= 1 - FOREIGN_SHARE


def keep_language(text: str, lang: str) -> tuple[str, int]:
    """`text` without its sentences in another language than `lang`, and how many there were: a small
    model copies a Persian source sentence into an English answer (a whole answer in the wrong language
    is retried first); unchanged when every sentence is in `lang`."""
    claims = split_claims(flatten_markdown(text))
    kept = [c for c in claims if not foreign(c.text, lang)]
    if len(kept) == len(claims):
        return text, 0
    return " ".join(c.marked() for c in kept), len(claims) - len(kept)


def content_words(text: str) -> set[str]:
    """The normalized words of `text` that are not stopwords."""
    return {w for w in words(text) if w not in STOPWORDS}


def says_something(sentence: str) -> bool:
    """Whether `sentence` has a word a passage could state: not only stopwords and single letters
    ("The [1].", "It [1].", "X [1]."); a figure counts ("It was 5 [1].")."""
    return any(len(w) > 1 or w.isdigit() for w in content_words(sentence))


def repeats_question(sentence: str, asked: set[str]) -> bool:
    """Whether `sentence` only repeats the question's words (`asked`, its `content_words`): small
    models answer "Which project does he expect to open?" with "He expects the project to open."
    (Titles do not count: a news title is often the passage's own first sentence.)"""
    said = content_words(sentence)
    return bool(asked) and bool(said) and said <= asked


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words found in the passage (normalized)."""
    words = {t for t in tokenize(sentence) if " " not in t}
    if not words:
        return 1.0
    ptoks = set(tokenize(passage))
    return len(words & ptoks) / len(words)


@dataclass
class CheckedAnswer:
    """A renumbered answer: text with [n] markers, the sources used (original numbers, in new order)."""

    text: str
    used: list[int]
    dropped: int
    dangling: int
    cited: int  # sentences that carried at least one valid marker
    attributed: list[int] = field(default_factory=list)  # sources (original numbers) only added by attribution
    attributed_sentences: int = 0
    no_answer: bool = False  # the model said the sources do not answer the question


def check_answer(text: str, sources: list[str], supported: Callable[[str, list[str]], bool],
                 keep_uncited: bool = False, attribute: Callable[[str], list[int]] | None = None,
                 citable: set[int] | None = None, strength: Callable[[str, int], float] | None = None
                 ) -> CheckedAnswer:
    """Keep supported sentences with their sources; renumber markers in order of first use.

    `sources[i]` is the text of source i+1; `supported(sentence, [texts]) -> bool` decides support.
    Markers pointing to no source are dropped. A sentence its markers' sources support keeps them
    (of several, those whose source supports it on its own, if any does).
    Otherwise, when `attribute(sentence) -> [source numbers]` is given, the sentence is attributed to
    the sources that support it (a small model often writes no marker, or the wrong one), and kept
    only if one does. Uncited, unattributed sentences are removed unless `keep_uncited`.
    `citable` (source numbers; None = all): only these may be cited — markers to other sources are
    treated as wrong (the sentence may still be attributed to a citable one).
    `strength(sentence, source number)`: of several markers that each support the sentence on its own,
    only the strongest is kept (one claim, one paragraph); markers that support it only together stay.
    """
    claims = split_claims(flatten_markdown(text))
    n = len(sources)
    order: dict[int, int] = {}
    by_model: set[int] = set()
    by_attribution: set[int] = set()
    out: list[str] = []
    dropped = dangling = cited = attributed_sentences = 0
    no_answer = False
    for c in claims:
        valid = list(dict.fromkeys(x for x in c.sources if 1 <= x <= n))
        dangling += len([x for x in c.sources if not 1 <= x <= n])
        # "… [1]", "The [1]." (no word a passage could support), or a link or markup: nothing to show
        if not says_something(c.text) or _MARKUP.search(c.text):
            dropped += 1
            continue
        if valid:
            cited += 1
        valid = [x for x in valid if citable is None or x in citable]
        if valid and supported(c.text, [sources[x - 1] for x in valid]):
            if len(valid) > 1:  # "… [1][4]": keep the markers whose passage supports it on its own
                alone = [x for x in valid if supported(c.text, [sources[x - 1]])]
                if len(alone) > 1 and strength is not None:
                    # a small model marks every passage of an article ("… three zones [1][2][3]"), and
                    # each passes the loose support check; the one that states it best is the citation
                    power = {x: strength(c.text, x) for x in alone}
                    alone = [x for x in alone if power[x] >= max(power.values())]
                valid = alone or valid  # only together: a sentence joining two passages keeps both
            by_model.update(valid)
        else:
            if is_no_answer(c.text):
                no_answer = True
                dropped += 1
                continue
            found = [x for x in (attribute(c.text) if attribute else [])
                     if 1 <= x <= n and (citable is None or x in citable)]
            if not found:
                if not valid and keep_uncited:
                    out.append(c.text)
                else:
                    dropped += 1
                continue
            valid = found
            by_attribution.update(found)
            attributed_sentences += 1
        marks = "".join(f"[{order.setdefault(x, len(order) + 1)}]" for x in valid)
        out.append(f"{c.text} {marks}")
    return CheckedAnswer(" ".join(out), list(order), dropped, dangling, cited,
                         [x for x in order if x in by_attribution and x not in by_model],
                         attributed_sentences, no_answer)


# "the articles do not say", "no information", "پیدا نکردم", "اشاره‌ای نشده" … (matched on normalized text)
_NO_ANSWER = re.compile(
    r"(\b(do|does|did)\s*(not|n't)\s+(say|mention|contain|provide|specify|state|include|discuss|answer)"
    r"|\bno\s+(information|mention|details?|answer)\b|\bnot\s+(mentioned|specified|stated|provided|available)"
    r"|\b(cannot|can't|could\s*not|couldn't|unable\s+to)\s+(find|answer|determine)"
    r"|چیزی\s*نمی\s*گوی|اطلاعاتی\s*(در|وجود|نیست|ندار)|ذکر\s*نشده|اشاره\s*ای\s*نشده|اشاره\s*نشده"
    r"|پیدا\s*نکرد|نمی\s*توان\s*پاسخ|پاسخی\s*(در|وجود|نیست))")


def is_no_answer(sentence: str) -> bool:
    """True for a sentence saying the sources hold no answer ("the articles do not say …")."""
    return bool(_NO_ANSWER.search(normalize(sentence).replace("\u200c", " ")))


_BULLET = re.compile(rf"^\s*(?:[-*•+–]|\(?{DIGIT}{{1,2}}[.)\-:]|\(?[a-zA-Z][.)])\s+")
_LABEL = re.compile(r"^\s*(?:\*\*|__)([^*_\n]{1,60})(?:\*\*|__)\s*[:：]?\s*")
_PREFIX = re.compile(r"^\s*(?:answer|final answer|response|پاسخ|جواب)\s*[:：]\s*", re.I)
_SECTION_END = re.compile(r"^\s*(?:#+\s*)?(?:sources?|references?|citations?|منابع|منبع)\s*[:：]?\s*$", re.I)
_END = re.compile(STOP + r"\s*$")


def flatten_markdown(text: str) -> str:
    """Turn list and heading output into plain sentences before the checks: bullets and numbering
    removed, headings and bold labels dropped, each item ended as a sentence, an echoed
    "Sources:" block cut off."""
    lines: list[str] = []
    for raw in text.replace("\r", "").split("\n"):
        line = raw.strip()
        if not line or line.startswith("```") or re.fullmatch(r"[-=*_|: ]{3,}", line):
            continue
        if _SECTION_END.match(line) and lines:
            break
        heading = line.startswith("#")
        line = _PREFIX.sub("", re.sub(r"^#+\s*", "", line))
        line = _BULLET.sub("", line)
        label = _LABEL.match(line)
        if label:
            rest = line[label.end():]
            line = rest if rest.strip() else label.group(1)
            heading = heading or not rest.strip()
        line = re.sub(r"(\*\*|__|\*|`)", "", line).strip()
        body = MARKER.sub("", line).strip()
        # a heading: marked as one, or a short line ending in a colon with no source number
        if not body or heading and not MARKER.search(line) or body.endswith((":", "：")) and len(body.split()) <= 8 \
                and not MARKER.search(line):
            continue
        if not _END.search(body):
            line = line.rstrip(":： ") + "."
        lines.append(line)
    return " ".join(lines)


def without_markers(text: str) -> str:
    """The text as shown, without its citation markers (not normalized; no space before punctuation)."""
    return re.sub(r"\s+([.!?؟،,;:])", r"\1", " ".join(MARKER.sub(" ", text).split()))


def strip_markers(text: str) -> str:
    """The answer without citation markers (for language checks)."""
    return normalize(MARKER.sub(" ", text))


# A sentence is supported when half its content words are in its sources, or, across languages
# (an English sentence citing a Persian paragraph), when its embedding is this close; same-language
# paraphrases need a higher bar (e5 puts unrelated same-language texts near 0.8).
LEXICAL_SUPPORT = 0.5
DENSE_SUPPORT_CROSS = 0.80
DENSE_SUPPORT_SAME = 0.88


class SupportCheck:
    """Decides which of an answer's source passages support a sentence: normalized word overlap, or
    E5 similarity (stricter within a language). Passage vectors are computed once per answer."""

    def __init__(self, embedder: VectorEmbeddings, passages: list[str], headers: list[str] | None = None,
                 citable: set[int] | None = None, question: str = ""):
        self.embedder = embedder
        # the question's words: a sentence that only repeats them says nothing
        self._asked = content_words(question)
        self.passages = passages
        # title and date of each passage: names and numbers found there count too
        self.headers = headers or [""] * len(passages)
        # source numbers (1-based) attribution may choose; None = all
        self.citable = citable
        self._langs = [detect_language(p) for p in passages]
        self._vecs: np.ndarray | None = None
        self._anchor_cache: dict[int, set[str]] = {}

    def _similarities(self, sentence: str) -> np.ndarray:
        if self._vecs is None:
            self._vecs = self.embedder.encode_passages(self.passages)
        return self._vecs @ self.embedder.encode_query(sentence)

    def _bar(self, sentence: str, i: int) -> float:
        return DENSE_SUPPORT_SAME if self._langs[i] == detect_language(sentence) else DENSE_SUPPORT_CROSS

    def supported(self, sentence: str, texts: list[str]) -> bool:
        """Whether the cited `texts` (some of the passages) together support `sentence`."""
        facts = texts + [self.headers[i] for i, p in enumerate(self.passages) if p in texts]
        if not (names_found(sentence, facts) and numbers_found(sentence, facts)):
            return False
        if self.echoes(sentence):
            return False
        # words count in the passage only: a sentence built on the title's words ("158 kg of hashish"
        # from "158 kg of drugs seized") is not supported by the passage
        if lexical_support(sentence, " ".join(texts)) >= LEXICAL_SUPPORT:
            return True
        idx = [i for i, p in enumerate(self.passages) if p in texts]
        sims = self._similarities(sentence)
        return any(sims[i] >= self._bar(sentence, i) for i in idx)

    def attribute(self, sentence: str) -> list[int]:
        """The source number (1-based) of the passage that best supports `sentence`, or [] if none does.

        Stricter than `supported`, since no model chose the passage: across languages E5 puts any
        sentence near 0.78-0.81 to any passage, so the passage must also be the sentence's closest
        and share a name (by consonant skeleton) or a number with it, or be clearly close (≥ 0.83)."""
        if len({t for t in tokenize(sentence) if " " not in t}) < 2:
            return []  # "Yes.", "Answer:": nothing to attribute
        sims = self._similarities(sentence)
        lang = detect_language(sentence)
        top = int(sims.argmax()) if len(sims) else -1
        best, best_strength = None, 0.0
        for i, p in enumerate(self.passages):
            if self.citable is not None and i + 1 not in self.citable:
                continue
            if not (names_found(sentence, [p, self.headers[i]]) and numbers_found(sentence, [p, self.headers[i]])):
                continue
            if self.echoes(sentence):
                continue
            lex = lexical_support(sentence, p)
            if self._langs[i] == lang:
                ok = lex >= LEXICAL_SUPPORT or sims[i] >= DENSE_SUPPORT_SAME
            else:
                ok = sims[i] >= DENSE_SUPPORT_CROSS and i == top and (
                    sims[i] >= DENSE_ATTRIBUTE_CROSS or bool(anchors(sentence) & self._anchors(i)))
            strength = self.strength(sentence, i + 1)
            if ok and (best is None or strength > best_strength):
                best, best_strength = i, strength
        return [] if best is None else [best + 1]

    def strength(self, sentence: str, n: int) -> float:
        """How strongly source `n` (1-based) supports `sentence`: its word overlap plus how far its E5
        similarity clears the support bar."""
        i = n - 1
        return lexical_support(sentence, self.passages[i]) + float(self._similarities(sentence)[i]
                                                                   - self._bar(sentence, i))

    def echoes(self, sentence: str) -> bool:
        """Whether `sentence` only repeats the question's words (`repeats_question`)."""
        return repeats_question(sentence, self._asked)

    def _anchors(self, i: int) -> set[str]:
        if i not in self._anchor_cache:
            self._anchor_cache[i] = anchors(self.passages[i])
        return self._anchor_cache[i]


DENSE_ATTRIBUTE_CROSS = 0.83


_NOT_NAMES = set("january february march april may june july august september october november december "
                 "monday tuesday wednesday thursday friday saturday sunday".split())
# The common nouns and titles inside English names are translated, not transliterated: "Khaju Bridge" is
# پل خواجو, "Guardian Council" شورای نگهبان. Only the name's own words must be found in the passage.
_NAME_PARTS = set("bridge river dam lake sea gulf island islands mountain mountains province county city village "
                  "district street square road port airport station park stadium mosque shrine university school "
                  "hospital council committee ministry organization organisation company bank agency office "
                  "department foundation institute center centre club team party assembly court parliament "
                  "guards corps army forces police navy republic islamic national supreme leader president "
                  "governor mayor general director chief head deputy secretary spokesman ambassador commander "
                  "minister imam ayatollah sheikh prayer relief seminary festival cup league championship".split())


def sentence_names(sentence: str) -> list[str]:
    """Capitalized Latin words that do not open the sentence: the names an English sentence states (of a
    name with a word of its own, "Khaju Bridge", that word; "Supreme Court" alone, both)."""
    toks = list(re.finditer(r"[A-Za-z][A-Za-z'-]+", sentence))
    names = [m for m in toks[1:] if m.group()[0].isupper() and len(m.group()) > 2
             and normalize(m.group()) not in STOPWORDS and m.group().lower() not in _NOT_NAMES]
    runs: list[list[str]] = []  # names written next to each other are one name
    for prev, m in zip([None, *names], names, strict=False):
        if prev is not None and not sentence[prev.end():m.start()].strip():
            runs[-1].append(m.group())
        else:
            runs.append([m.group()])
    out = []
    for run in runs:
        own = [t for t in run if t.lower() not in _NAME_PARTS]
        out += own or run
    return out


def names_found(sentence: str, texts: list[str]) -> bool:
    """Whether every name an English sentence states is in the passages, in either script (by
    consonant skeleton: Tartus/طرطوس, Moscow/مسکو). Small models carry names over from the
    one-shot example or invent them ("… the airport in Ardabil"); E5 similarity does not notice."""
    names = sentence_names(sentence)
    if not names:
        return True
    pool = set(words(" ".join(texts)))
    skeletons = {sk for w in pool for sk in [skeleton_en(w) if w.isascii() else skeleton_fa(w)] if sk}
    for name in names:
        n = re.sub(r"'s$", "", normalize(name)).replace("'", "").replace("-", "")  # Iran's is Iran
        if n in pool or any(p.startswith(n[:5]) for p in pool if len(n) >= 5 and p.isascii()):
            continue
        sk = skeleton_en(re.sub(r"[^a-z]", "", n))
        if not sk:
            continue
        if not any(x == sk or len(x) >= 3 and (x.startswith(sk) or sk.startswith(x)) for x in skeletons):
            return False
    return True


def anchors(text: str) -> set[str]:
    """Script-independent traces of a text: numbers, and consonant skeletons of its words (names
    such as Tartus/طرطوس share one), for matching a sentence to a passage in another language."""
    out = set()
    for w in words(text):
        if w.isdigit():
            if len(w) >= 2:
                out.add(w)
        elif w not in STOPWORDS and len(w) > 3:
            sk = skeleton_en(w) if w.isascii() else skeleton_fa(w)
            if sk:
                out.add("~" + sk)
    return out
