"""One index, many processes: concurrent writers, readers that follow them without blocking or mixing
snapshots, incremental BM25 equal to a fresh bm25s build, and snapshots saved as segments."""
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import bm25s
import httpx
import numpy as np
import pytest
import scipy.sparse as sp

from bot.core.qa import QA
from bot.core.retrieval import HybridSearcher, SearchOptions
from index import segments
from index.commitlog import Record
from index.normalizer import tokenize
from index.snapshot import Snapshot
from index.store import PassageStore

from .conftest import ROOT, SAMPLES, make_settings, stop_process
from .localhttp import free_port, wait_http
from .test_scale import chroma_server, khabar  # noqa: F401 - fixture

WORDS = ("harbour ferry island morning evening timetable storm winter bridge river station airport "
         "market bazaar school hospital museum library stadium festival garden mountain desert "
         "village factory railway tunnel highway port dam lake forest").split()


def write_corpus(directory: Path, prefix: str, n: int, seed: int = 0) -> None:
    """`n` small articles whose texts name their own article (so a search can find each)."""
    rnd = random.Random(seed)
    directory.mkdir(parents=True)
    for i in range(n):
        w = rnd.sample(WORDS, 6)
        (directory / f"{prefix}{i:03d}.txt").write_text(
            f" date 2025-03-{1 + i % 28:02d} The {w[0]} of {prefix}town{i} reopened after the {w[1]} and {w[2]} "
            f"works, officials in {prefix}town{i} said on Monday.\n\n"
            f"Residents of {prefix}town{i} expect the {w[3]} and the {w[4]} to bring visitors back before the "
            f"{w[5]} season.")


def meta(aid: str, j: int, n: int, text: str, version: str = "v0") -> dict:
    return {"article_id": aid, "title": aid, "date": "2025-01-01", "date_num": 20250101, "url": "", "source": "test",
            "lang": "en", "paragraph": j + 1, "part": 0, "start": 0, "end": len(text), "content_hash": version,
            "norm_hash": aid + version, "n_passages": n}


def put_articles(store: PassageStore, names: list[str], vec: np.ndarray, version: str = "v0",
                 extra_words: int = 0, rnd: random.Random | None = None) -> None:
    """Store two passages per article with the store's own write API, then commit them."""
    put = {}
    for aid in names:
        ids = [f"{aid}-p{j}" for j in range(2)]
        texts = []
        for j in range(2):
            rare = " ".join("".join(rnd.choice("bcdfgklmnprstvz") + rnd.choice("aeiou") for _ in range(4))
                            for _ in range(extra_words)) if extra_words else ""
            texts.append(f"{aid} paragraph {j} version {version} mentions {WORDS[j]} {rare}")
        store.upsert(ids, np.tile(vec, (2, 1)), texts, [meta(aid, j, 2, t, version) for j, t in enumerate(texts)])
        put[aid] = ids
    store.commit_articles(put)


# ---- BM25 equivalence ------------------------------------------------------------------------------
def test_incremental_bm25_equals_a_fresh_bm25s_build():
    rnd = random.Random(7)
    vocab = [f"w{i}" for i in range(300)] + ["تهران", "رشت", "اصفهان", "بازار", "پل"]
    texts = {}
    for a in range(120):
        for j in range(rnd.randint(1, 4)):
            texts[f"a{a}-{j}"] = " ".join(rnd.choice(vocab[: 50 + a * 2]) for _ in range(rnd.randint(0, 40)))
    arts: dict[str, list[str]] = {}
    for pid in texts:
        arts.setdefault(pid.split("-")[0], []).append(pid)
    store = {pid: (t, {"article_id": pid.split("-")[0], "paragraph": int(pid.split("-")[1]) + 1, "part": 0,
                       "date": "2024-05-01", "date_num": 20240501, "norm_hash": pid.split("-")[0]})
             for pid, t in texts.items()}
    fetch = lambda ids: {i: store[i] for i in ids if i in store}  # noqa: E731
    enc = lambda ws: np.ones((len(ws), 3), np.float32)  # noqa: E731 - the lexicon is not scored here
    snap, seq, names = Snapshot.empty("log"), 0, list(arts)
    for k in range(0, len(names), 7):
        seq += 1
        snap = snap.with_batch(snap.build_batch([Record(seq, {a: arts[a] for a in names[k:k + 7]}, [])], fetch, enc))
    # replace some articles (new text under the same ids) and remove others
    for pid in list(store)[::5]:
        store[pid] = (store[pid][0] + " w1 w2 extra", store[pid][1])
    seq += 1
    snap = snap.with_batch(snap.build_batch(
        [Record(seq, {a: arts[a] for a in names[::3]}, names[1::11])], fetch, enc))
    live = snap.live_positions()
    assert snap.n_articles == len(set(names) - set(names[1::11]) | set(names[::3]))
    ref = bm25s.BM25(k1=1.2, b=0.75)
    ref.index([tokenize(t) or ["\u2400"] for t in snap.texts(live)], show_progress=False)
    s = ref.scores
    m = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], len(s["indptr"]) - 1))
    for _ in range(40):
        w = {t: rnd.choice([1.0, 0.4]) for t in rnd.sample(vocab, 5)}
        cols = [(ref.vocab_dict[t], x) for t, x in w.items() if t in ref.vocab_dict]
        want = np.asarray(m[:, [c for c, _ in cols]] @ np.array([x for _, x in cols], np.float32)).ravel() \
            if cols else np.zeros(len(live))
        got = snap.lexical.scores(w)
        assert np.allclose(got[live], want, atol=1e-4)
        assert not got[~snap.alive].any()
    for t in vocab:
        col = ref.vocab_dict.get(t)
        assert snap.lexical.df(t) == (int(s["indptr"][col + 1] - s["indptr"][col]) if col is not None else 0)


# ---- readers never mix snapshots, never wait ------------------------------------------------------
def test_search_across_swaps_never_mixes_snapshots(tmp_path, embedder):
    store = PassageStore(make_settings(tmp_path / "data"), embedder, create=True)
    vec = embedder.encode_passages(["paragraph version mentions harbour"])[0]
    put_articles(store, [f"art{i}" for i in range(20)], vec)
    store.refresh()
    reader = PassageStore(make_settings(tmp_path / "data"), embedder)
    searcher = HybridSearcher(reader)
    stop, problems, searches, seen = threading.Event(), [], [0], set()

    def hammer():
        while not stop.is_set():
            res = searcher.search("paragraph version mentions harbour", SearchOptions(k=10, per_article=2))
            snap = res.snap
            seen.add(snap.seq)
            for h in res.hits:
                pid, text, m = snap.id(h.pos), snap.text(h.pos), snap.meta(h.pos)
                if not (text.startswith(pid.split("-p")[0] + " ") and m["article_id"] == pid.split("-p")[0]
                        and f"version {m['content_hash']} " in text and snap.alive[h.pos]):
                    problems.append((pid, text, m))
            searches[0] += 1

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    expected = {f"art{i}" for i in range(20)}
    try:
        for k in range(1, 13):
            # rewrite the texts of some articles under the same passage ids, drop one, add two
            changed = [f"art{i}" for i in range(k % 5, 20, 5)] + [f"new{k}a", f"new{k}b"]
            put_articles(store, changed, vec, version=f"v{k}")
            store.commit_articles(drop=[f"art{(k * 3) % 20}"])
            expected = (expected | set(changed)) - {f"art{(k * 3) % 20}"}
            reader.refresh()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not problems, problems[:3]
    assert searches[0] > 0 and len(seen) > 1  # searches did run across several swaps
    store.refresh()
    assert reader.snapshot().n_articles == store.snapshot().n_articles == len(expected)
    assert set(reader.snapshot().articles()) == expected


def test_a_request_never_waits_for_a_refresh(tmp_path, embedder):
    settings = make_settings(tmp_path / "data", refresh_seconds=0.0)
    store = PassageStore(settings, embedder, create=True)
    vec = embedder.encode_passages(["harbour ferry"])[0]
    put_articles(store, ["first"], vec)
    store.refresh()
    qa = QA(settings, store=PassageStore(settings, embedder))
    before = qa.store().snapshot().seq
    if qa._refreshing is not None:  # the refresh that call started (nothing new yet) must not take the bulk's turn
        qa._refreshing.join(60)
    # another writer commits articles full of new words: applying them embeds thousands of words
    writer = PassageStore(settings, embedder)
    put_articles(writer, [f"bulk{i}" for i in range(30)], vec, extra_words=10, rnd=random.Random(3))
    ans = qa.answer("Which paragraph mentions the harbour?")
    refreshing = qa._refreshing
    assert refreshing is not None and refreshing.is_alive(), "the request waited for the refresh"
    assert ans.contexts and all(c.article_id == "first" for c in ans.contexts)
    refreshing.join(120)
    assert qa.store().snapshot().seq > before and qa.store().snapshot().n_articles == 31
    assert any(c.article_id.startswith("bulk") for c in qa.answer("bulk12 paragraph version").contexts)


# ---- snapshots are saved as segments and reopened --------------------------------------------------
def test_snapshot_is_saved_incrementally_and_reopened(tmp_path, embedder):
    settings = make_settings(tmp_path / "data")
    store = PassageStore(settings, embedder, create=True)
    vec = embedder.encode_passages(["x"])[0]
    for k in range(20):
        put_articles(store, [f"s{k}"], vec)
        store.refresh()
    store.commit_articles(drop=["s3"])
    store.refresh()
    d = store.snapshot_dir
    segs = [p for p in d.iterdir() if p.is_dir()]
    assert 1 <= len(segs) <= 6  # merged as they grow, not one directory per commit
    again = PassageStore(settings, embedder)
    a, b = store.snapshot(), again.snapshot()
    assert b.seq == a.seq and b.n_articles == 19 == a.n_articles
    assert [b.id(p) for p in b.live_positions()] == [a.id(p) for p in a.live_positions()]
    assert b.texts(b.live_positions()) == a.texts(a.live_positions())
    assert b.lexical.scores({"s7": 1.0}).argmax() == a.lexical.scores({"s7": 1.0}).argmax()
    assert b.position("s3-p0") is None and b.id(b.position("s4-p1")) == "s4-p1"
    # the lexicon's word vectors are shared through Chroma: the reopened store embedded none itself
    assert store._words.count() > 0 and again._words is None
    # a damaged segment file: the next process rebuilds from the log and saves a readable snapshot
    next(p for p in d.iterdir() if p.is_dir()).joinpath("p_docs.npy").write_bytes(b"damaged")
    assert PassageStore(settings, embedder).snapshot().n_articles == 19
    assert PassageStore(settings, embedder)._lineage == segments.read_manifest(d)["lineage"]


def test_masked_passages_are_compacted_away(tmp_path, embedder, monkeypatch):
    import index.store as store_module

    monkeypatch.setattr(store_module, "COMPACT_DEAD", (10, 0.25))  # small sizes for a small test
    settings = make_settings(tmp_path / "data")
    store = PassageStore(settings, embedder, create=True)
    vec = embedder.encode_passages(["x"])[0]
    put_articles(store, [f"c{i}" for i in range(12)], vec)
    store.refresh()
    put_articles(store, [f"c{i}" for i in range(3)], vec, version="v1")  # 6 passages masked
    store.commit_articles(drop=["c5", "c6"])  # 4 more: 10 of 28 positions masked → compacted
    store.refresh()
    snap = store.snapshot()
    assert snap.size == snap.n_alive == 20 and snap.n_articles == 10
    assert "version v1" in snap.text(snap.position("c1-p0")) and snap.position("c5-p0") is None
    again = PassageStore(settings, embedder).snapshot()
    assert again.size == 20 and again.texts(range(20)) == snap.texts(range(20))
    assert again.lexical.scores({"c7": 1.0}).argmax() == snap.position("c7-p0") or \
        again.lexical.scores({"c7": 1.0}).argmax() == snap.position("c7-p1")


# ---- processes ----------------------------------------------------------------------------------
def _env(**kw):
    return {**os.environ, "KHABAR_REFRESH_SECONDS": "0.5", "KHABAR_RATE_LIMIT_PER_MINUTE": "1000", **kw}


def _two_concurrent_ingests(tmp_path, env_a, env_b):
    write_corpus(tmp_path / "halfA", "alpha", 12, seed=1)
    write_corpus(tmp_path / "halfB", "beta", 12, seed=2)
    cmds = [[sys.executable, "-m", "bot", "index", "add", "-q", str(tmp_path / h)] for h in ("halfA", "halfB")]
    procs = [subprocess.Popen(c, cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c, e in zip(cmds, (env_a, env_b), strict=True)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0 and "added 12" in out, out + err


def test_three_ingests_into_a_new_data_dir_at_once(tmp_path):
    """The first open of a new directory creates Chroma's database and collections: three processes
    doing it at once failed about one round in three ("database is locked", "table collections already
    exists", "Collection [khabar] already exists"), losing their batch."""
    for h, seed in (("a", 1), ("b", 2), ("c", 3)):
        write_corpus(tmp_path / h, h + "x", 2, seed=seed)
    for round_ in range(3):
        env = _env(KHABAR_DATA_DIR=str(tmp_path / f"data{round_}"))
        procs = [subprocess.Popen([sys.executable, "-m", "bot", "index", "add", "-q", str(tmp_path / h)], cwd=ROOT,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for h in ("a", "b", "c")]
        for p in procs:
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0 and "added 2" in out, (round_, out + err)
        stats = khabar("index", "stats", "--json", env=env)
        assert '"articles": 6' in stats.stdout, stats.stdout + stats.stderr


def test_a_store_opens_where_no_lock_file_can_be_made(tmp_path):
    """A data dir the lock file cannot be made in (read-only; here its parent is a file) opens without
    the lock: nobody can be creating a store there."""
    from index.chroma import opening

    (tmp_path / "file").write_text("x")
    entered = []
    with opening(make_settings(tmp_path / "file" / "data")):
        entered.append(True)
    assert entered and not (tmp_path / "file" / "data").exists()


def test_two_concurrent_ingests_and_a_server_see_every_article(tmp_path):
    data = tmp_path / "data"
    env = _env(KHABAR_DATA_DIR=str(data))
    first = khabar("index", "add", "-q", str(SAMPLES), env=env)
    assert first.returncode == 0 and "added 6" in first.stdout, first.stdout + first.stderr
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/health")
        assert httpx.get(url + "/api/health", timeout=60).json()["articles"] == 6
        _two_concurrent_ingests(tmp_path, env, env)
        stats = khabar("index", "stats", "--json", env=env)
        assert '"articles": 30' in stats.stdout, stats.stdout + stats.stderr
        ask = khabar("ask", "--json", "What reopened in alphatown3?", env=env)
        assert "alphatown3" in ask.stdout
        deadline = time.time() + 60
        while httpx.get(url + "/api/health", timeout=60).json()["articles"] != 30:
            assert time.time() < deadline, "the server never saw both ingests"
            time.sleep(0.5)
        r = httpx.post(url + "/api/ask", json={"question": "What reopened in betatown7?"}, timeout=60).json()
        assert any("betatown7" in c["text"] for c in r["contexts"]), r
    finally:
        stop_process(server)


def test_two_concurrent_ingests_through_a_chroma_server_and_two_workers(tmp_path, chroma_server):  # noqa: F811
    base = _env(KHABAR_CHROMA_URL=chroma_server)
    env = {i: {**base, "KHABAR_DATA_DIR": str(tmp_path / f"proc{i}")} for i in range(4)}
    first = khabar("index", "add", "-q", str(SAMPLES), env=env[0])
    assert first.returncode == 0 and "added 6" in first.stdout, first.stdout + first.stderr
    workers, urls = [], []
    try:
        for i in (2, 3):
            port = free_port()
            workers.append(subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=ROOT,
                                            env=env[i], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_http(url + "/api/health")
        _two_concurrent_ingests(tmp_path, env[0], env[1])
        for url in urls:
            deadline = time.time() + 60
            while httpx.get(url + "/api/health", timeout=60).json()["articles"] != 30:
                assert time.time() < deadline, f"{url} never saw both ingests"
                time.sleep(0.5)
            for q, word in (("What reopened in alphatown5?", "alphatown5"), ("What reopened in betatown9?", "betatown9")):
                r = httpx.post(url + "/api/ask", json={"question": q}, timeout=60).json()
                assert any(word in c["text"] for c in r["contexts"]), r
        stats = khabar("index", "stats", "--json", env=env[1])
        assert '"articles": 30' in stats.stdout
    finally:
        for w in workers:
            stop_process(w)


@pytest.mark.parametrize("exact_dense_max", [200_000, 0], ids=["exact", "chroma-hnsw"])
def test_an_embedded_reader_finds_another_processs_passages_by_vector(tmp_path, embedder, exact_dense_max):
    """Embedded Chroma keeps its vector index per process: once the reader applied another process's
    commit, dense search must find the new passages and their vectors must be readable (before the
    fix: the query missed them and reading their vectors raised "Error finding id") — with the exact
    search's own matrix and with Chroma's search."""
    from .conftest import build_store

    store, _ = build_store(tmp_path / "data", embedder, [str(SAMPLES)], exact_dense_max=exact_dense_max)
    before = store.snapshot()
    store.dense_search(before, embedder.encode_query("Why were schools closed?"), 3)  # vectors loaded here
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "lithium.md").write_text(
        "title: Lithium brine found under a Bolivian salt flat\n\n"
        "Engineers found lithium brine under the Uyuni salt flat in Bolivia, the mining ministry said.\n\n"
        "The brine lies forty metres deep and could be pumped within three years, according to the survey.\n")
    env = {**os.environ, "KHABAR_DATA_DIR": str(tmp_path / "data")}
    add = khabar("index", "add", "-q", str(tmp_path / "new"), env=env)
    assert add.returncode == 0 and "added 1" in add.stdout, add.stdout + add.stderr
    assert store.refresh()
    snap = store.snapshot()
    q = embedder.encode_query("Where was lithium brine found in Bolivia?")
    top = store.dense_search(snap, q, 3)
    assert top and snap.passage(top[0][0]).title.startswith("Lithium brine")
    aid = snap.passage(top[0][0]).article_id
    new = list(snap.article_positions(aid))
    assert set(store.similarities(snap, q, new)) == set(new)
    answer = QA(store.settings, store=store).answer("Where was lithium brine found in Bolivia?")
    assert not answer.refused and any(c.title.startswith("Lithium brine") for c in answer.citations)
