"""Shared fixtures: real embedder, real Chroma on temp dirs, ../shared data, and no network."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests explore the same examples on every run: CI must not pass or fail by chance.
hypothesis_settings.register_profile("khabar", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.load_profile("khabar")

# Set before any model library loads: OpenMP threads must not spin on shared cores, and no hub.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
for key in [k for k in os.environ if k.startswith("KHABAR_")]:
    del os.environ[key]

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED = Path(os.environ.get("KHABAR_SHARED", ROOT.parent / "shared"))
SEED = SHARED / "corpora" / "seed"
FARS = SHARED / "corpora" / "fars-news"
PQA = SHARED / "corpora" / "persianqa"
EVAL = SHARED / "eval"
HAS_SHARED = (SEED / "000_3b8e5d4bdab501e5.txt").exists()

needs_shared = pytest.mark.skipif(not HAS_SHARED, reason="../shared is not present")

_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    """Allow loopback and Unix sockets only: a test that reaches the internet is a bug."""
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if not (host in ("localhost", "::1") or str(host).startswith("127.")):
            raise ConnectionRefusedError(f"network access blocked in tests: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(scope="session")
def embedder():
    """The real bundled multilingual-e5-small, loaded once."""
    from index.embeddings import E5Embeddings

    return E5Embeddings()


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM a server process and wait for it; killed if it has not stopped in 20 s (a slow stop must not
    hide the assertion that failed, nor leave the process running)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def make_settings(data_dir: Path, **kw):
    """Settings for a test index."""
    from bot.settings import Settings

    return Settings(data_dir=data_dir, **kw)


def build_store(data_dir: Path, embedder, sources: list[str], **kw):
    """Ingest `sources` into a fresh store at `data_dir` and return (store, report)."""
    from index.ingest import ingest
    from index.loaders import load_articles
    from index.store import PassageStore

    settings = make_settings(data_dir, **kw)
    store = PassageStore(settings, embedder, create=True)
    report = ingest(store, load_articles(sources))
    return store, report


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory, embedder):
    """The samples (and the seed article when ../shared is present), indexed once."""
    sources = [str(SAMPLES)] + ([str(SEED)] if HAS_SHARED else [])
    store, _ = build_store(tmp_path_factory.mktemp("samples-index"), embedder, sources)
    return store


@pytest.fixture(scope="session")
def sample_qa(sample_store):
    """A QA service over the sample index (extractive mode)."""
    from bot.core.qa import QA

    return QA(sample_store.settings, store=sample_store)


@pytest.fixture(scope="session")
def full_store(tmp_path_factory, embedder):
    """All of ../shared/corpora seed + Fars, indexed once per run (about 11 minutes on 2 cores)."""
    if not HAS_SHARED:
        pytest.skip("../shared is not present")
    store, report = build_store(tmp_path_factory.mktemp("full-index"), embedder, [str(SEED), str(FARS)])
    store.first_report = report
    return store


@pytest.fixture(scope="session")
def pqa_store(tmp_path_factory, embedder):
    """PersianQA contexts indexed on their own."""
    if not HAS_SHARED:
        pytest.skip("../shared is not present")
    store, _ = build_store(tmp_path_factory.mktemp("pqa-index"), embedder, [str(PQA)])
    return store
