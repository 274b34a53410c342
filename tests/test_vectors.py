"""Exact dense search over the snapshot's vectors, and keyword search of articles without a body."""
import shutil

import numpy as np

from bot.core.retrieval import HybridSearcher, SearchOptions
from index.store import PassageStore

from .conftest import SAMPLES, build_store, make_settings
from .test_ingest import reingest

QUESTIONS = ["Why were schools closed in Tehran?", "هلال احمر گیلان به چند خانوار امدادرسانی کرد؟",
             "When does the river water reach Khaju bridge?"]


def brute_force(store, snap, vector, k):
    """The true nearest live passages, from every vector Chroma holds."""
    got = store.collection.get(include=["embeddings"])
    rows = np.asarray(got["embeddings"], np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    sims = rows @ (vector / np.linalg.norm(vector))
    pairs = [(snap.position(pid), float(s)) for pid, s in zip(got["ids"], sims, strict=True)]
    return sorted(((p, s) for p, s in pairs if p is not None), key=lambda x: (-x[1], x[0]))[:k]


def test_dense_search_is_the_exact_nearest_and_chroma_search_stays_above_the_limit(sample_store, embedder):
    snap = sample_store.snapshot()
    approx = PassageStore(make_settings(sample_store.settings.data_dir, exact_dense_max=0), embedder)
    for q in QUESTIONS:
        vec = embedder.encode_query(q)
        exact = sample_store.dense_search(snap, vec, 10)
        truth = brute_force(sample_store, snap, vec, 10)
        assert [p for p, _ in exact] == [p for p, _ in truth]
        assert np.allclose([s for _, s in exact], [s for _, s in truth], atol=1e-5)
        # above the limit Chroma's HNSW answers; on a small index it agrees with the exact search
        hnsw = approx.dense_search(approx.snapshot(), vec, 10)
        assert [p for p, _ in hnsw][:3] == [p for p, _ in exact][:3]
    assert sample_store._vectors.active and not approx._vectors.active  # each took its own path
    # a mask (date filter) is applied before the k best are taken, not after
    vec = embedder.encode_query(QUESTIONS[0])
    mask = snap.alive.copy()
    first = sample_store.dense_search(snap, vec, 3)[0][0]
    mask[first] = False
    masked = sample_store.dense_search(snap, vec, 3, mask=mask)
    assert first not in [p for p, _ in masked] and len(masked) == 3
    sims = sample_store.similarities(snap, vec, [p for p, _ in masked])
    assert all(abs(sims[p] - s) < 1e-6 for p, s in masked)


def test_dense_vectors_follow_a_replaced_article(tmp_path, embedder):
    """The vector matrix grows with each snapshot: a changed article's new passages are found,
    its replaced ones never come back."""
    samples_copy = tmp_path / "articles"
    shutil.copytree(SAMPLES, samples_copy)
    store, _ = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    vec = embedder.encode_query("How long will Tehran schools stay closed?")
    first = store.snapshot()
    before = store.dense_search(first, vec, 5)
    f = samples_copy / "tehran-air-quality-en.md"
    paras = f.read_text().split("\n\n")
    f.write_text("\n\n".join(paras[:-1] + ["Tehran schools will stay closed for nine more days, the governor said."]))
    reingest(store, [samples_copy])
    snap = store.snapshot()
    after = store.dense_search(snap, vec, 5)
    assert snap.text(after[0][0]).startswith("Tehran schools will stay closed for nine more days")
    assert all(snap.alive[p] for p, _ in after)
    assert after != before
    assert [p for p, _ in after] == [p for p, _ in brute_force(store, snap, vec, 5)]
    # the new snapshot's vectors were read when it was published; a search still holding the one
    # before reads the same (grown) buffer and still finds the passages that were live for it
    assert "vectors" in snap.cache
    assert store.dense_search(first, vec, 5) == before


def test_dense_search_moves_to_chroma_when_the_index_outgrows_the_limit(tmp_path, embedder):
    samples_copy = tmp_path / "articles"
    shutil.copytree(SAMPLES, samples_copy)
    store, _ = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    limit = store.snapshot().n_alive
    store = PassageStore(make_settings(tmp_path / "data", exact_dense_max=limit), embedder)
    vec = embedder.encode_query("Why were schools closed in Tehran?")
    exact = store.dense_search(store.snapshot(), vec, 3)
    assert store._vectors.active
    (samples_copy / "lithium.md").write_text("title: Lithium brine found under a Bolivian salt flat\n\n"
                                             "Engineers found lithium brine under the Uyuni salt flat.\n")
    reingest(store, [samples_copy])
    assert store.snapshot().n_alive > limit
    hnsw = store.dense_search(store.snapshot(), vec, 3)
    assert not store._vectors.active  # the matrix is dropped, Chroma's search answers
    assert [p for p, _ in hnsw] == [p for p, _ in exact]


def test_an_article_without_a_body_is_found_by_its_title(tmp_path, embedder):
    """An article whose whole text is its dateline ("Fars News Agency:") is its title: keyword search
    reads the title for it (the dense side embeds passages with their title already)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "bodyless.md").write_text("title: Lithium brine found under the Uyuni salt flat\n\nFars News Agency:\n")
    (src / "other.md").write_text(
        "title: Ferry timetable changes for the winter\n\n"
        "The harbour master said salt spray and storms delay the ferries between the islands every winter.\n")
    store, rep = build_store(tmp_path / "data", embedder, [str(src)])
    assert rep.added == 2
    for q in ("lithium brine Uyuni", "Uyuni"):  # words found in no passage's text, only in the title
        for mode in ("bm25", "hybrid"):
            res = HybridSearcher(store).search(q, SearchOptions(mode=mode))
            assert res.hits and res.snap.passage(res.hits[0].pos).title.startswith("Lithium brine"), (q, mode)


TOPICS = ["ferry timetable harbour storms", "wheat harvest after spring rain", "football match ends with a late goal",
          "oil export prices rise", "new metro line opens", "hospital beds for winter flu", "earthquake damages villages",
          "school exams postponed", "bank interest rates cut", "museum shows ancient coins", "river flood warning",
          "airport runway repaired"]


def test_dense_search_through_a_compaction_and_on_the_snapshot_before_it(tmp_path, embedder, monkeypatch):
    """A compaction renumbers positions: the new snapshot gets its own vector matrix, and a search
    still holding the snapshot from before keeps reading the old one."""
    import index.store as store_module

    from .test_concurrency import meta

    monkeypatch.setattr(store_module, "COMPACT_DEAD", (10, 0.25))  # small sizes for a small test
    store = PassageStore(make_settings(tmp_path / "data"), embedder, create=True)

    def put(names, version):
        for aid in names:
            i = int(aid[1:])
            texts = [f"{TOPICS[i]}, report {version}", f"More on {TOPICS[i]} ({version})."]
            store.upsert([f"{aid}-p{j}" for j in range(2)], embedder.encode_passages(texts), texts,
                         [meta(aid, j, 2, t, version) for j, t in enumerate(texts)])
        store.commit_articles({aid: [f"{aid}-p{j}" for j in range(2)] for aid in names})

    put([f"c{i}" for i in range(12)], "v0")
    store.refresh()
    old = store.snapshot()
    vec = embedder.encode_query("Who scored the late goal in the football match?")
    assert old.id(store.dense_search(old, vec, 1)[0][0]).startswith("c2-")
    put([f"c{i}" for i in range(3)], "v1")  # 6 passages masked
    store.commit_articles(drop=["c5", "c6"])  # 4 more: 10 of 30 positions masked → compacted
    store.refresh()
    new = store.snapshot()
    assert new.size == new.n_alive == 20
    assert "vectors" in new.cache  # carried over from the snapshot before, not read at the next search
    top = store.dense_search(new, vec, 20)
    assert new.text(top[0][0]).endswith("report v1") or "(v1)" in new.text(top[0][0])
    assert [p for p, _ in top] == [p for p, _ in brute_force(store, new, vec, 20)]
    # the snapshot from before the compaction still searches its own positions
    before = store.dense_search(old, vec, 1)
    assert old.id(before[0][0]).startswith("c2-") and "v0" in old.text(before[0][0])


def test_a_server_reads_the_vectors_before_its_first_question(tmp_path, embedder):
    """`khabar serve` and the Telegram bot warm up in the background: the vector matrix and the English
    bank's mean are ready before the first question; with nothing indexed yet, warming just gives up."""
    from bot.core.qa import QA

    empty = QA(make_settings(tmp_path / "nothing"), embedder=embedder)
    empty.warm().join(60)  # IndexMissing is logged, not raised
    empty.close()
    store, _ = build_store(tmp_path / "data", embedder, [str(SAMPLES)])
    qa = QA(store.settings, embedder=embedder)
    assert qa.warm().join(120) is None
    snap = qa.store().snapshot()
    assert "vectors" in snap.cache and qa.searcher()._english_mean is not None
    ans = qa.answer("Why were schools closed in Tehran?")
    assert not ans.refused and snap is qa.store().snapshot()
    qa.close()
