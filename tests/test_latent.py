"""Passages' sparse latent terms kept beside the index: the encoder's own terms, read without an encoder
pass, warmed by servers in the background and by `khabar index warm`, several processes at once."""
from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from bot.core.qa import QA
from index.embeddings import E5Embeddings
from index.errors import LatentsNotKept
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
    keep = LatentStore(tmp_path / "latent.sqlite3", embedder.latent_fingerprint)
    fresh = embedder.latent_terms(TEXTS, remember=False)
    before = embedder.latent_passes
    first = embedder.latent_terms(TEXTS, keep, remember=False)  # computed and written
    assert embedder.latent_passes - before == 3 and keep.count() == 3
    again = embedder.latent_terms(TEXTS, keep, remember=False)
    assert embedder.latent_passes - before == 3  # read from disk: no encoder pass
    assert _same(fresh, first) and _same(fresh, again)
    # another process (a new connection and embedder name check) reads the same rows
    other = LatentStore(tmp_path / "latent.sqlite3", embedder.latent_fingerprint)
    assert set(other.get_many(TEXTS)) == set(TEXTS)
    # an edited passage or another embedder is not served stale terms
    assert other.missing([TEXTS[0] + " Updated."]) == [TEXTS[0] + " Updated."]
    assert LatentStore(tmp_path / "latent.sqlite3", "st:other").missing(TEXTS) == TEXTS
    # a process on another version of the head keeps its own rows; pruning drops only one's own,
    # unless told to drop every other version's too (`khabar index warm`)
    older = LatentStore(tmp_path / "latent.sqlite3", "older-head")
    older.put_many(zip(TEXTS, first, strict=True))
    assert other.prune(TEXTS[:1]) == 2 and other.count() == 4 and older.count(mine=True) == 3
    assert other.prune(TEXTS[:1], others=True) == 3 and other.count() == 1


def test_a_broken_or_unwritable_file_costs_passes_not_answers(tmp_path, embedder):
    terms = embedder.latent_terms(TEXTS, remember=False)
    bad = tmp_path / "latent.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    keep = LatentStore(bad, embedder.latent_fingerprint)
    assert _same(embedder.latent_terms(TEXTS, keep, remember=False), terms)
    # only a cache: the next generation's file is started (and the broken one removed); another
    # process that opens the store later finds the newest
    assert keep.file.name == "latent.sqlite3.g1" and not bad.exists()
    assert keep.count() == 3 and LatentStore(bad, embedder.latent_fingerprint).count() == 3
    # a thread whose query on the old file fails late moves to the current one, not past it
    assert keep._advance(0) == 1 and keep.count() == 3  # noqa: SLF001 - the race, made deterministic
    # a row of another shape (another version, a hand edit) is not read, and raises nothing
    with sqlite3.connect(keep.file) as conn:
        conn.execute("INSERT OR REPLACE INTO latent_terms VALUES (?, x'00', 7, 'text')", (keep.key(TEXTS[0]),))
    assert set(keep.get_many(TEXTS)) == set(TEXTS[1:])
    # damage found after opening (pages of the table, not the header): the next generation again
    conn = sqlite3.connect(keep.file)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the main file
    conn.close()
    raw = bytearray(keep.file.read_bytes())
    raw[page:] = b"\xff" * (len(raw) - page)
    keep.file.write_bytes(bytes(raw))
    later = LatentStore(bad, embedder.latent_fingerprint)  # a process that opens it now
    assert later.get_many(TEXTS) == {}  # read as "not kept", nothing raised
    assert later.file.name == "latent.sqlite3.g2"
    assert _same(embedder.latent_terms(TEXTS, later, remember=False), terms) and later.count() == 3
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    nowhere = LatentStore(blocked / "latent.sqlite3", embedder.latent_fingerprint)  # its directory is a file
    assert _same(embedder.latent_terms(TEXTS, nowhere, remember=False), terms)
    assert nowhere.missing(TEXTS) == TEXTS and nowhere.put_many(zip(TEXTS, terms, strict=True)) == 0
    assert nowhere.count() == 0 and nowhere.prune([]) == 0


def test_a_store_that_keeps_nothing_is_not_warmed_in_vain(tmp_path, caplog):
    """Where the terms cannot be written, warming stops after one batch and the server's warmer waits
    longer each time; `khabar index warm` says so with an exit code."""
    store, _ = build_store(tmp_path / "idx", E5Embeddings(), [str(SAMPLES)])
    keep = store.latents
    assert keep is not None
    keep.path.mkdir()  # a directory where the file should be: nothing can be kept
    with pytest.raises(LatentsNotKept):
        warm_latents(store.snapshot(), store.embedder, keep, batch=4)
    assert store.embedder.latent_passes == 4 < len(_live(store))
    qa = QA(store.settings, store=store)
    with caplog.at_level(logging.WARNING, logger="bot.core.warming"):
        qa.warm().join(60)
        # the warmer runs at the lowest CPU priority: on a busy machine it may wait minutes for a core
        deadline = time.monotonic() + 600
        while "trying again in" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
        qa.close()
    assert "trying again in 60 s" in caplog.text  # 30 s between passes, doubled
    assert store.embedder.latent_passes <= 4 + 8 < len(_live(store))  # one more batch, not the index
    env = {**os.environ, "KHABAR_DATA_DIR": str(tmp_path / "idx")}
    cli = subprocess.run([sys.executable, "-m", "bot", "index", "warm"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert cli.returncode == 5 and "could not be kept" in cli.stdout + cli.stderr
    assert "Traceback" not in cli.stdout + cli.stderr


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
    deadline = time.monotonic() + 600  # lowest CPU priority: slow on a busy machine
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
