"""Whether an answer's sentence is supported by the passages it cites (or could be attributed to): word
overlap, E5 similarity across or within a language, and the names and numbers it states."""
from __future__ import annotations

import re

import numpy as np

from bot.core.citations import content_words, lexical_support, repeats_question
from bot.core.figures import numbers_found
from index.embeddings import VectorEmbeddings
from index.language import detect_language
from index.normalizer import STOPWORDS, normalize, tokenize, words
from index.transliteration import skeleton_en, skeleton_fa

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
    joined = " ".join(texts)
    pool = set(words(joined))
    # a hyphenated name ("Deh-Kamar") is read as one word below, so the passages' spelling joined counts too,
    # but only as the same word: a prefix or skeleton of "alsudani" would let "Al-Sudairi" through
    merged = set(words(joined.replace("-", ""))) - pool
    skeletons = {sk for w in pool for sk in [skeleton_en(w) if w.isascii() else skeleton_fa(w)] if sk}
    for name in names:
        n = re.sub(r"'s$", "", normalize(name)).replace("'", "").replace("-", "")  # Iran's is Iran
        if n in pool or n in merged or any(p.startswith(n[:5]) for p in pool if len(n) >= 5 and p.isascii()):
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
