"""index/lexical.py: BM25 scores equal a hand computation and a fresh bm25s build, whatever sequence of
additions and deletions produced the index; segments merge logarithmically; spellings rank by likeness."""
from __future__ import annotations

import math

import numpy as np
import pytest

from index.commitlog import Record
from index.lexical import K1, B, LexicalIndex, Postings, Vocabulary, add_tiered, rank_spellings
from index.normalizer import tokenize
from index.snapshot import Snapshot

from .fakes import HashEmbedder

DOCS = [["apple", "banana", "apple"], ["banana", "cherry"], ["cherry", "date", "egg", "fig"]]


def _index(docs: list[list[str]], alive: list[bool] | None = None) -> LexicalIndex:
    """A LexicalIndex over token lists, in one segment, as a snapshot would hold it."""
    vocab = Vocabulary()
    trip = [(vocab.add(t), d, doc.count(t)) for d, doc in enumerate(docs) for t in dict.fromkeys(doc)]
    tids, ds, tfs = (np.array(x, np.int32) for x in zip(*trip, strict=True))
    live = np.array(alive or [True] * len(docs))
    df = np.zeros(len(vocab), np.int32)
    for tid, d, _ in trip:
        df[tid] += int(live[d])
    doclen = np.array([len(d) for d in docs], np.int32)
    return LexicalIndex(vocab, [Postings.from_triples(tids, ds, tfs)], df, doclen, live, int(live.sum()),
                        int(doclen[live].sum()))


def _bm25(tf: int, df: int, n: int, dl: int, avgdl: float) -> float:
    """BM25 of one term in one passage, by the textbook formula (Lucene idf)."""
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf / (tf + K1 * (1 - B + B * dl / avgdl))


def test_scores_equal_a_hand_computation() -> None:
    lex = _index(DOCS)
    assert (K1, B) == (1.2, 0.75)
    avgdl = 9 / 3
    got = lex.scores({"banana": 1.0})
    assert got == pytest.approx([_bm25(1, 2, 3, 3, avgdl), _bm25(1, 2, 3, 2, avgdl), 0.0], rel=1e-6)
    assert got[0] == pytest.approx(math.log(1.6) / 2.2, rel=1e-6)  # written out: idf log(1+1.5/2.5), tf/(tf+1.2)
    two = lex.scores({"apple": 1.0, "cherry": 1.0})
    assert two == pytest.approx([_bm25(2, 1, 3, 3, avgdl), _bm25(1, 2, 3, 2, avgdl), _bm25(1, 2, 3, 4, avgdl)],
                                rel=1e-6)


def test_weights_scale_each_term() -> None:
    lex = _index(DOCS)
    plain = lex.scores({"apple": 1.0, "cherry": 1.0})
    weighted = lex.scores({"apple": 0.5, "cherry": 2.0})
    apple, cherry = lex.scores({"apple": 1.0}), lex.scores({"cherry": 1.0})
    assert weighted == pytest.approx(0.5 * apple + 2.0 * cherry, rel=1e-6)
    assert plain == pytest.approx(apple + cherry, rel=1e-6)
    assert not lex.scores({"unknown": 1.0}).any()


def test_scores_equal_bm25s() -> None:
    import bm25s

    vocab = {t: i for i, t in enumerate(dict.fromkeys(t for d in DOCS for t in d))}
    ref = bm25s.BM25(k1=K1, b=B, method="lucene")
    ref.index(bm25s.tokenization.Tokenized(ids=[[vocab[t] for t in d] for d in DOCS], vocab=vocab),
              show_progress=False)
    lex = _index(DOCS)
    for q in (["banana"], ["apple", "cherry"], ["egg", "fig", "banana"]):
        assert lex.scores(dict.fromkeys(q, 1.0)) == pytest.approx(ref.get_scores(q), rel=1e-5)


def test_masked_passages_score_zero_and_leave_the_statistics() -> None:
    lex = _index(DOCS, alive=[True, False, True])
    assert lex.df("banana") == 1 and lex.df("cherry") == 1 and lex.n_alive == 2
    got = lex.scores({"cherry": 1.0})
    # as if the index held only passages 0 and 2: n = 2, avgdl = (3 + 4) / 2
    assert got == pytest.approx([0.0, 0.0, _bm25(1, 1, 2, 4, 3.5)], rel=1e-6)


def test_an_empty_index_scores_nothing() -> None:
    lex = LexicalIndex(Vocabulary(), [], np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, bool), 0, 0)
    assert lex.scores({"x": 1.0}).shape == (0,)
    assert lex.transliterations(["tartus"]) == {}


# ---- through real snapshots: additions, replacements and deletions ----------------------------------
TEXTS = {
    "a1": ["Water reached Khaju Bridge in Isfahan", "Farmers in Isfahan waited for the water"],
    "a2": ["Schools in Rasht closed because of snow", "Snow also closed the roads of Gilan"],
    "a3": ["Oil prices rose in Tehran markets", "پایگاه طرطوس در سوریه"],
}


def _apply(snap: Snapshot, seq: int, put: dict[str, list[str]], drop: list[str] | None = None) -> Snapshot:
    texts = {f"{aid}-{i}": (t, {"paragraph": i + 1, "part": 0, "article_id": aid})
             for aid, paras in put.items() for i, t in enumerate(paras)}
    rec = Record(seq, {aid: [f"{aid}-{i}" for i in range(len(p))] for aid, p in put.items()}, drop or [])
    batch = snap.build_batch([rec], lambda pids: {p: texts[p] for p in pids}, HashEmbedder().encode_queries)
    return snap.with_batch(batch)


def _live_scores(snap: Snapshot, query: str) -> dict[str, float]:
    scores = snap.lexical.scores(dict.fromkeys(tokenize(query), 1.0))
    return {snap.text(int(p)): float(scores[p]) for p in snap.live_positions() if scores[p] > 0}


@pytest.mark.parametrize("query", ["water Isfahan", "snow closed roads", "Rasht schools", "طرطوس", "oil Tehran"])
def test_incremental_scores_equal_a_fresh_build(query: str) -> None:
    grown = _apply(Snapshot.empty("u"), 1, {"a1": TEXTS["a1"], "a2": TEXTS["a2"]})
    grown = _apply(grown, 2, {"a3": TEXTS["a3"]})
    changed = ["Snow closed schools in Rasht again", "The roads of Gilan reopened"]
    grown = _apply(grown, 3, {"a2": changed}, drop=["a1"])  # replace a2, delete a1
    fresh = _apply(Snapshot.empty("v"), 1, {"a2": changed, "a3": TEXTS["a3"]})
    assert grown.n_alive == fresh.n_alive == 4 and grown.size == 8
    assert not grown.lexical.scores(dict.fromkeys(tokenize(query), 1.0))[~grown.alive].any()  # replaced, deleted
    want = _live_scores(fresh, query)
    got = _live_scores(grown, query)
    assert got.keys() == want.keys()
    for text, score in want.items():
        assert got[text] == pytest.approx(score, rel=1e-5), text


def test_add_tiered_keeps_few_segments_and_every_posting() -> None:
    segments: list[Postings] = []
    for i in range(64):
        seg = Postings.from_triples(np.array([i % 5], np.int32), np.array([i], np.int32), np.array([1], np.int32))
        segments = add_tiered(segments, seg)
        assert len(segments) <= math.floor(math.log2(i + 1)) + 1
    assert sum(s.size for s in segments) == 64
    merged = Postings.merge(segments)
    docs, tfs = merged.lookup(3)
    assert docs.tolist() == [i for i in range(64) if i % 5 == 3] and set(tfs.tolist()) == {1}
    assert merged.lookup(99)[0].size == 0


def test_transliterations_find_the_other_script() -> None:
    snap = _apply(Snapshot.empty("u"), 1, {"a3": TEXTS["a3"], "a1": TEXTS["a1"]})
    assert snap.lexical.transliterations(["tartus"]) == {"tartus": ["طرطوس"]}
    assert snap.lexical.transliterations(["خواجو"]) == {"خواجو": ["khaju"]}
    assert snap.lexical.transliterations(["rasht", "سوریه"]) == {}  # not indexed in the other script


def test_rank_spellings_keeps_only_the_most_alike() -> None:
    df = {"دلواری": 2, "دلار": 50}.get
    assert rank_spellings("delvari", ["دلار", "دلواری"], df, 3) == ["دلواری"]
    assert rank_spellings("delvari", ["دلواری"], df, 3) == ["دلواری"]


def test_nearest_many_ranks_each_vector_like_nearest_within_its_script() -> None:
    """The lexicon's words nearest to several vectors at once: one product per block, the same ranking
    and similarities as asking vector by vector, only the asked script, and nothing from an empty lexicon."""
    from index.lexicon import Lexicon, block

    rng = np.random.default_rng(7)
    terms = [f"w{i}" for i in range(30)] + [f"ک{i}واژه" for i in range(30)]
    vecs = rng.normal(size=(60, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    tids = np.arange(60)
    blocks = [block(terms, tids[:40], vecs[:40]), block(terms, tids[40:], vecs[40:])]
    lex = Lexicon(terms, blocks, wdf=np.full(60, 3), n_docs=1000)  # every word mid-frequency
    asks = vecs[[0, 35, 59]] + 0.01
    for script in ("en", "fa"):
        many = lex.nearest_many(asks, script, k=5)
        single = [lex.nearest(v, script, k=5) for v in asks]
        assert [[w for w, _ in near] for near in many] == [[w for w, _ in near] for near in single]
        assert np.allclose([[s for _, s in near] for near in many], [[s for _, s in near] for near in single])
        for near in many:
            assert len(near) == 5 and all((w[0] == "w") == (script == "en") for w, _ in near)
            assert [s for _, s in near] == sorted((s for _, s in near), reverse=True)
    assert lex.nearest_many(asks, "en", k=1)[1][0][0] != "w0"  # vector 35 is a Persian word's own
    assert lex.nearest_many(asks, "fa", k=1)[1][0][0] == terms[35]
    assert Lexicon(terms, [], wdf=np.zeros(60), n_docs=0).nearest_many(asks, "fa") == [[], [], []]
