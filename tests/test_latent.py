"""Passages' sparse latent terms kept beside the index: the encoder's own terms, read without an encoder
pass, warmed by servers in the background and by `khabar index warm`, several processes at once."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np

from bot.core.qa import QA
from index.embeddings import E5Embeddings
from index.latent import LatentStore, warm_latents
from index.store import PassageStore

from .conftest import ROOT, SAMPLES, build_store, make_settings
from .test_concurrency import write_corpus

TEXTS = ["Russia wants a naval base in Tartus.", "روسیه در طرطوس پایگاه دریایی می‌خواهد.",
         "Schools in Rasht closed because of the smog."]


def _live(store: PassageStore) -> list[str]:
    snap = store.snapshot()
    return list(dict.fromkeys(snap.texts(np.flatnonzero(snap.alive))))


def _same(a, b) -> bool:
    return all(np.array_equal(x[0], y[0]) and np.allclose(x[1], y[1], atol=1e-6) for x, y in zip(a, b, strict=True))


def test_kept_terms_are_the_encoders_own_and_cost_no_pass(tmp_path, embedder):
    keep = LatentStore(tmp_path / "latent.sqlite3", embedder.name)
    fresh = embedder.latent_terms(TEXTS, remember=False)
    before = embedder.latent_passes
    first = embedder.latent_terms(TEXTS, keep, remember=False)  # computed and written
    assert embedder.latent_passes - before == 3 and keep.count() == 3
    again = embedder.latent_terms(TEXTS, keep, remember=False)
    assert embedder.latent_passes - before == 3  # read from disk: no encoder pass
    assert _same(fresh, first) and _same(fresh, again)
    # another process (a new connection and embedder name check) reads the same rows
    other = LatentStore(tmp_path / "latent.sqlite3", embedder.name)
    assert set(other.get_many(TEXTS)) == set(TEXTS)
    # an edited passage or another embedder is not served stale terms
    assert other.missing([TEXTS[0] + " Updated."]) == [TEXTS[0] + " Updated."]
    assert LatentStore(tmp_path / "latent.sqlite3", "st:other").missing(TEXTS) == TEXTS
    assert other.prune(TEXTS[:1]) == 2 and other.count() == 1


def test_a_broken_or_unwritable_file_costs_passes_not_answers(tmp_path, embedder):
    bad = tmp_path / "latent.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    keep = LatentStore(bad, embedder.name)
    terms = embedder.latent_terms(TEXTS, keep, remember=False)
    assert _same(terms, embedder.latent_terms(TEXTS, remember=False))
    assert keep.get_many(TEXTS) == {} and keep.put_many(zip(TEXTS, terms, strict=True)) == 0
    assert keep.count() == 0 and keep.prune([]) == 0
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    nowhere = LatentStore(blocked / "latent.sqlite3", embedder.name)  # its directory is a file
    assert nowhere.missing(TEXTS) == TEXTS and nowhere.put_many(zip(TEXTS, terms, strict=True)) == 0


def test_warming_keeps_every_live_passage_and_prunes_removed_ones(tmp_path, embedder):
    from index.ingest import remove_articles

    store, _ = build_store(tmp_path / "idx", embedder, [str(SAMPLES)])
    keep = store.latents
    assert keep is not None and keep.path.parent == tmp_path / "idx"
    live = _live(store)
    seen: list[tuple[int, int]] = []
    assert warm_latents(store.snapshot(), embedder, keep, progress=lambda d, t: seen.append((d, t))) == len(live)
    assert keep.count() == len(live) and seen[-1] == (len(live), len(live))
    assert warm_latents(store.snapshot(), embedder, keep) == 0  # nothing left to do
    gone = store.snapshot().passage(0).article_id
    remove_articles(store, [gone])
    store.refresh()
    warm_latents(store.snapshot(), embedder, keep, min_dead=0)
    assert keep.count() == len(_live(store)) < len(live)


def test_a_first_english_ask_reads_the_kept_terms(tmp_path, embedder):
    """An off-topic English question reads the latent terms of its question and three passages (refusal
    reads all three): once kept, only the question's own is computed, and the answer is the same."""
    store, _ = build_store(tmp_path / "idx", embedder, [str(SAMPLES)])
    question = "Which glue is best for mending a broken ceramic mug?"
    answers, passes = [], []
    for _ in range(2):  # a fresh process each time: nothing remembered in memory
        fresh = E5Embeddings()
        qa = QA(store.settings, store=PassageStore(store.settings, fresh))
        answers.append(qa.answer(question))
        passes.append(fresh.latent_passes)
    assert answers[0].refused and answers[1].refused
    assert passes == [4, 1]  # the first ask kept the passages' terms it computed


def test_a_server_warms_in_the_background_and_stops(tmp_path, embedder):
    store, _ = build_store(tmp_path / "idx", embedder, [str(SAMPLES)])
    qa = QA(store.settings, store=store)
    qa.warm().join(60)
    keep = store.latents
    assert keep is not None
    deadline = time.monotonic() + 120
    while keep.count() < len(_live(store)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert keep.count() == len(_live(store))
    qa.close()
    assert not any(t.name == "khabar-latent" and t.is_alive() for t in threading.enumerate())
    off = QA(make_settings(tmp_path / "idx", latent_warm=False), store=store)
    off.warm().join(60)
    assert not any(t.name == "khabar-latent" for t in threading.enumerate())  # KHABAR_LATENT_WARM=false


def test_two_warmers_and_an_ingest_at_once(tmp_path, embedder):
    """Two `khabar index warm` processes and an ingest on one index at the same time: every process
    succeeds, and afterwards every live passage's kept terms are the encoder's own."""
    env = {**os.environ, "KHABAR_DATA_DIR": str(tmp_path / "idx")}
    first = subprocess.run([sys.executable, "-m", "bot", "index", "add", "-q", str(SAMPLES)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    write_corpus(tmp_path / "more", "gamma", 10, seed=3)
    cmds = [["index", "warm"], ["index", "warm"], ["index", "add", "-q", str(tmp_path / "more")]]
    procs = [subprocess.Popen([sys.executable, "-m", "bot", *c], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for c in cmds]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, out + err
    assert all("kept in" in out for out, _ in outs[:2]) and "added 10" in outs[2][0]
    store = PassageStore(make_settings(tmp_path / "idx"), embedder)
    keep = store.latents
    assert keep is not None
    warm_latents(store.snapshot(), embedder, keep)  # the ingest's passages, if neither warmer saw them
    live = _live(store)
    assert keep.count() == len(live) and any("gammatown" in t for t in live)
    kept = keep.get_many(live)
    assert _same([kept[t] for t in live], embedder.latent_terms(live, remember=False))
