"""Hostile feeds, files and requests (issue 12): each defect found by attacking Khabar has a test here.

Real components throughout: feeds and pages from a local HTTP server, real symlinks, FIFOs and
devices, a real store and embedder, the web app through FastAPI's client and a real uvicorn.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.channels.asgi import server_config
from bot.channels.web import create_app
from bot.core.qa import QA
from bot.settings import Settings
from index.errors import LoadError, LoadNote
from index.ingest import ingest
from index.loaders import Limits, load_articles
from index.loaders.decoding import decode_bytes
from index.models import Article
from index.store import PassageStore

from .conftest import ROOT, make_settings
from .localhttp import LocalServer, article_html, rss

SECRET = "root:x:0:0:root:/root:/bin/bash — internal admin page, not news at all"


def split(items):
    items = list(items)
    return ([i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, LoadError)])


@pytest.fixture
def srv():
    s = LocalServer()
    s.set("/admin", article_html("Admin console", [SECRET, "Database password: hunter2, do not share."]))
    yield s
    s.close()


# ---- 1. server-side request forgery -------------------------------------------------------------

def test_feed_entry_linking_to_loopback_is_not_fetched(tmp_path, srv):
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([
        {"title": "Short entry", "link": srv.url + "/admin", "description": "A one-line summary of the news."},
        {"title": "Empty entry", "link": "http://169.254.169.254/latest/meta-data/", "description": ""},
        {"title": "Full entry", "link": "https://example.org/full",
         "description": "A complete story that is carried entirely in the feed itself. " * 12},
    ]))
    arts, errs = split(load_articles([str(feed)]))
    assert "/admin" not in srv.hits  # never even connected
    assert not any(SECRET[:20] in p for a in arts for p in a.paragraphs)
    assert [a.title for a in arts] == ["Short entry", "Full entry"]  # the rest of the feed goes on
    assert arts[0].paragraphs == ["A one-line summary of the news."]
    msgs = [str(e) for e in errs]
    assert any("full text unavailable, summary kept" in m and "127.0.0.1 is a loopback address" in m
               for m in msgs), msgs
    assert any("169.254.169.254" in m and "metadata" in m for m in msgs), msgs
    assert all("KHABAR_ALLOW_PRIVATE_URLS" in m for m in msgs if "refused" in m)


def test_private_addresses_are_refused_after_dns_and_on_every_redirect(srv):
    port = srv.port
    arts, errs = split(load_articles([f"http://localhost:{port}/admin",  # a name that resolves to loopback
                                      f"http://2130706433:{port}/admin",  # 127.0.0.1 as one number
                                      f"http://[::ffff:127.0.0.1]:{port}/admin",
                                      "http://169.254.169.254/latest/meta-data/",
                                      "http://10.0.0.7/", "http://[fd00:ec2::254]/"]))
    assert not arts and len(errs) == 6 and srv.hits == []
    assert all("refused" in str(e) for e in errs), [str(e) for e in errs]
    assert "localhost (127.0.0.1) is a loopback address" in str(errs[0])
    # an allowed host that redirects into the private network: the hop is checked too
    srv.redirect("/go", f"http://127.0.0.1:{port}/admin")
    via = Limits(allowed_hosts=frozenset({"localhost"}))
    arts, errs = split(load_articles([f"http://localhost:{port}/go"], limits=via))
    assert not arts and "redirected to" in str(errs[0]) and "loopback" in str(errs[0])
    assert srv.hits == ["/go"]
    # the operator can allow it: KHABAR_ALLOW_PRIVATE_URLS=1 (or the host in the allowlist)
    limits = Limits.from_settings(Settings(allow_private_urls=True))
    arts, errs = split(load_articles([f"http://localhost:{port}/go"], limits=limits))
    assert arts and arts[0].title == "Admin console"
    allow = Limits.from_settings(Settings(fetch_allowed_hosts="LocalHost, 127.0.0.1"))
    assert allow.allowed_hosts == {"localhost", "127.0.0.1"} and not allow.allow_private
    assert split(load_articles([f"http://localhost:{port}/go"], limits=allow))[0]


def test_refused_feed_entries_are_notes_and_the_rest_is_indexed(tmp_path, embedder, srv):
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([
        {"title": "Summary only", "link": srv.url + "/admin",
         "description": "The harbour of Bandar Abbas reopened on Monday after the storm passed the strait."},
        {"title": "Second", "link": "https://example.org/2",
         "description": "Ferries between Kish and Bandar Lengeh resumed their night trips this week. " * 10},
    ]))
    store = PassageStore(make_settings(tmp_path / "data"), embedder, create=True)
    report = ingest(store, load_articles([str(feed)]))
    # a feed entry kept as its summary is a note, not a failure (item 9)
    assert (report.added, report.failed) == (2, 0), report.errors
    assert any("summary kept" in n for n in report.notes)
    snap = store.snapshot()
    assert not any("hunter2" in t for t in snap.texts(snap.live_positions()))


# ---- 2. symlinks, 7. special files, 9. loops ------------------------------------------------------

def test_directory_ingest_stays_inside_the_directory(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET)
    (outside / "more.txt").write_text("Another private file outside the indexed folder.")
    d = tmp_path / "articles"
    (d / "sub").mkdir(parents=True)
    (d / "good.txt").write_text("A paragraph of real news about the Tabriz bazaar.")
    (d / "sub" / "inner.txt").write_text("News from the subfolder about Mashhad.")
    (d / "stolen.txt").symlink_to(outside / "passwd.txt")
    (d / "stolen-dir").symlink_to(outside)
    (d / "alias.txt").symlink_to(d / "good.txt")  # inside: fine
    (d / "up").symlink_to(d)  # a directory cycle inside the tree: not walked twice
    (d / "loop.txt").symlink_to(d / "loop.txt")
    (d / "gone.txt").symlink_to(tmp_path / "nothing-here.txt")
    os.mkfifo(d / "pipe.txt")
    arts, errs = split(load_articles([str(d)]))
    texts = sorted(p for a in arts for p in a.paragraphs)
    assert texts == ["A paragraph of real news about the Tabriz bazaar."] * 2 + ["News from the subfolder about Mashhad."]
    msgs = {os.path.basename(e.source): e.reason for e in errs}
    assert "outside the directory" in msgs["stolen.txt"] and "outside the directory" in msgs["stolen-dir"]
    assert "symbolic link loop" in msgs["loop.txt"]
    assert "broken symbolic link" in msgs["gone.txt"]
    assert "not a regular file (a FIFO" in msgs["pipe.txt"]
    assert len(errs) == 5


def test_special_files_and_loops_named_directly(tmp_path):
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block forever
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    arts, errs = split(load_articles(["/dev/zero", str(fifo), str(loop), str(tmp_path / "missing.txt")]))
    assert not arts
    assert [e.reason for e in errs] == [
        "not a regular file (a character device); only regular files are read",
        "not a regular file (a FIFO (named pipe)); only regular files are read",
        "a symbolic link loop (the link points back to itself)",
        "no such file or directory"]


def test_index_add_dev_zero_and_a_fifo_exit_with_a_message(tmp_path):
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)
    cmd = [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), "index", "add", "-q",
           "/dev/zero", str(fifo)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stderr
    assert "/dev/zero: not a regular file (a character device)" in done.stdout
    assert "x.txt: not a regular file (a FIFO" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# ---- 3. deep JSON and per-file failures -------------------------------------------------------------

def test_deeply_nested_json_is_one_files_error(tmp_path, embedder):
    d = tmp_path / "batch"
    d.mkdir()
    (d / "a-deep.json").write_text("[" * 10_000 + "]" * 10_000)
    (d / "b-deep.jsonl").write_text('{"title": "ok", "text": "A fine line about the Karaj dam and its water."}\n'
                                    + '{"a": ' * 10_000 + "1" + "}" * 10_000 + "\n")
    (d / "c-deep-html.html").write_text("<html><body>" + "<div>" * 10_000 + "text" + "</div>" * 10_000)
    (d / "d-good.json").write_text(json.dumps({"title": "Good", "text": "The Qeshm ferry runs again after repairs."}))
    arts, errs = split(load_articles([str(d)]))
    assert sorted(a.title for a in arts) == ["Good", "ok"]
    msgs = [str(e) for e in errs]
    assert any("a-deep.json" in m and "nested deeper than 64 levels" in m for m in msgs), msgs
    assert any("b-deep.jsonl:2" in m and "nested deeper" in m for m in msgs), msgs
    store = PassageStore(make_settings(tmp_path / "data"), embedder, create=True)
    report = ingest(store, load_articles([str(d)]))
    assert report.added == 2 and len(store.snapshot().articles()) == 2


def test_json_depth_limit_is_a_setting(tmp_path):
    p = tmp_path / "nested.json"
    p.write_text(json.dumps({"title": "t", "text": "Some text about Yazd.", "x": [[[[[1]]]]]}))
    assert split(load_articles([str(p)]))[0]
    limits = Limits.from_settings(Settings(max_json_depth=3))
    _, (err,) = split(load_articles([str(p)], limits=limits))
    assert "nested deeper than 3 levels" in str(err)


# ---- 4. slow-drip URLs ----------------------------------------------------------------------------

def test_a_slow_drip_download_hits_the_total_deadline(srv):
    # one byte every 0.2 s: each read is quick, the whole would take 40 s
    srv.set("/drip.xml", rss([{"title": "t", "link": "https://example.org/t", "description": "d" * 20}])[:200],
            ctype="application/rss+xml", drip=0.2)
    t0 = time.monotonic()
    _, errs = split(load_articles([srv.url + "/drip.xml"], limits=Limits(timeout=1.5, allow_private=True)))
    took = time.monotonic() - t0
    assert "timed out: the download took over 1.5 s" in str(errs[0])
    assert took < 20  # not the 40 s the drip would take (a generous bound on a shared machine)


# ---- 6. one huge article --------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.total, self.steps = None, []

    def start(self, total, label):
        self.total = total

    def advance(self, n):
        self.steps.append(n)


def _long_article(n: int, url: str) -> Article:
    return Article(title=f"A long report {url}", url=url, paragraphs=[
        f"Paragraph {i} of the report describes the harbour works at pier {i}, the ships waiting there, "
        f"and the crews who unload cargo through the night in the port of Bushehr." for i in range(n)])


def test_a_huge_article_is_embedded_in_batches_and_over_the_limit_refused(tmp_path, embedder):
    store = PassageStore(make_settings(tmp_path / "data"), embedder, create=True)
    rec = Recorder()
    big, small, huge = (_long_article(40, "https://example.org/big"), _long_article(2, "https://example.org/small"),
                        _long_article(61, "https://example.org/huge"))
    report = ingest(store, [big, huge, small], batch=16, progress=rec, max_passages=60)
    assert rec.total == 42 and sum(rec.steps) == 42 and len(rec.steps) == 3 and max(rec.steps) <= 16
    assert report.added == 2 and report.failed == 1
    assert "https://example.org/huge: too long: 61 passages (the limit is 60 per article" in report.errors[0]
    assert "KHABAR_MAX_ARTICLE_PASSAGES" in report.errors[0]
    arts = store.snapshot().articles()
    assert set(arts) == {"https://example.org/big", "https://example.org/small"}
    assert arts["https://example.org/big"].n_passages == 40 == store.count() - 2


def test_too_many_paragraphs_is_refused_at_load(tmp_path):
    p = tmp_path / "lines.txt"
    p.write_text("\n\n".join(f"line {i}" for i in range(300)))
    _, (err,) = split(load_articles([str(p)], limits=Limits(max_paragraphs=100)))
    assert "too long: 300 paragraphs (the limit is 100" in str(err)


# ---- 9. links, decoding ----------------------------------------------------------------------------

def test_only_http_links_are_kept(tmp_path):
    (tmp_path / "a.md").write_text("title: Hello\nurl: javascript:alert(document.cookie)\n\nA story about Rasht.")
    (tmp_path / "b.json").write_text(json.dumps({"title": "B", "text": "A story about Ahvaz.",
                                                 "url": "data:text/html,<script>alert(1)</script>"}))
    (tmp_path / "c.json").write_text(json.dumps({"title": "C", "text": "A story about Zanjan.",
                                                 "url": "https://example.org/c"}))
    arts, errs = split(load_articles([str(tmp_path)]))
    assert {a.title: a.url for a in arts} == {"Hello": None, "B": None, "C": "https://example.org/c"}
    notes = [str(e) for e in errs]
    assert all(isinstance(e, LoadNote) for e in errs) and len(errs) == 2
    assert any("a.md" in n and "javascript:alert" in n and "only http and https" in n for n in notes)


def test_invalid_utf8_in_english_stays_readable_with_a_note(tmp_path):
    text = "The “new” tram line opens on Monday — officials said.\n\nA second paragraph follows here."
    data = text.encode("utf-8").replace(b"Monday", b"Mon\xc1day")  # one corrupt byte
    (tmp_path / "en.txt").write_bytes(data)
    arts, errs = split(load_articles([str(tmp_path / "en.txt")]))
    assert arts[0].paragraphs[0] == "The “new” tram line opens on Mon\ufffdday — officials said."
    assert not any("\u0600" <= ch <= "\u06ff" for ch in arts[0].paragraphs[0])  # no Arabic-letter mojibake
    assert "not valid UTF-8: 1 undecodable byte sequence(s)" in str(errs[0]) and "line 1" in str(errs[0])
    # real Windows-1256 Persian is still read as such, and Latin-1 English stays readable
    fa = "تهران پایتخت ایران است و این یک خبر آزمایشی است.".encode("cp1256", errors="replace")
    assert decode_bytes(fa, "fa.txt") == (fa.decode("cp1256"), decode_bytes(fa, "fa.txt")[1])
    assert "Windows-1256" in decode_bytes(fa, "fa.txt")[1]
    latin, note = decode_bytes(("Café in Montréal, a long English sentence about coffee. " + "More plain English "
                                "text follows in this paragraph about the city and its old port. " * 2).encode("latin-1"), "l")
    assert latin.startswith("Caf\ufffd in Montr\ufffdal") and "not valid UTF-8" in note


# ---- 5, 8, 9. the web server -------------------------------------------------------------------------

@pytest.fixture
def web(sample_store):
    def make(**kw):
        settings = sample_store.settings.model_copy(update={"rate_limit_per_minute": 1000, **kw})
        return settings, create_app(settings, QA(settings, store=sample_store))
    return make


def test_every_error_status_is_json(web):
    _, app = web()
    c = TestClient(app)
    for method, path, status, code in [("GET", "/nope", 404, "not_found"), ("GET", "/api/ask", 405, "method_not_allowed"),
                                       ("DELETE", "/api/health", 405, "method_not_allowed")]:
        r = c.request(method, path)
        assert r.status_code == status and r.json()["error"] == code and r.json()["message"], r.text
    fa = c.get("/nope", headers={"Accept-Language": "fa-IR"}).json()["message"]
    assert "نشانی" in fa
    _, app = web(allowed_origins="https://news.example")
    pre = TestClient(app).options("/api/ask", headers={"Origin": "https://evil.example",
                                                       "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 400 and pre.json()["error"] == "origin_not_allowed" and pre.json()["message"]


def test_request_bodies_over_the_limit_get_413(web):
    _, app = web(max_body_bytes=10_000)
    c = TestClient(app)
    r = c.post("/api/ask", content=b'{"question": "' + b"a" * 50_000 + b'"}', headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large" and "10000 bytes" in r.json()["message"]

    def chunks():  # no Content-Length: the bytes are counted as they arrive
        for _ in range(100):
            yield b"x" * 1000
    r = c.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    assert c.post("/api/ask", json={"question": "Why were schools closed in Tehran?"}).status_code == 200


def test_metrics_token(web):
    _, app = web(metrics_token="s3cret")
    c = TestClient(app)
    r = c.get("/metrics")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert "khabar_index_passages" in c.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text


class RealServer:
    """`khabar serve`'s uvicorn configuration on 127.0.0.1, in a thread."""

    def __init__(self, app, settings):
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(server_config(app, settings, "127.0.0.1", self.port))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            assert time.time() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def real_server(web):
    servers = []

    def start(**kw):
        settings, app = web(**kw)
        servers.append(RealServer(app, settings))
        return servers[-1]
    yield start
    for s in servers:
        s.close()


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(real_server):
    q = {"question": "Why were schools closed in Tehran?"}
    srv = real_server(rate_limit_per_minute=3)
    # timeout: a new server's first English question also encodes the English question bank
    codes = [httpx.post(srv.url + "/api/ask", json=q, headers={"X-Forwarded-For": f"203.0.113.{i}"},
                        timeout=120).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    behind = real_server(rate_limit_per_minute=3, trusted_proxies="127.0.0.1/32, ::1")
    codes = [httpx.post(behind.url + "/api/ask", json=q, headers={"X-Forwarded-For": f"198.51.100.{i % 2}"},
                        timeout=120).status_code for i in range(7)]
    assert codes == [200] * 6 + [429]  # two clients behind the proxy, three questions each


def _raw(port: int, data: bytes, wait: float = 8.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return got


def test_big_bodies_are_refused_before_they_are_read(real_server):
    srv = real_server()
    head = (b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n")
    reply = _raw(srv.port, head + b"{")  # 50 MB announced, 1 byte sent: answered at once
    assert reply.startswith(b"HTTP/1.1 413") and b'"body_too_large"' in reply
    # chunked, endless: refused once the limit is passed, not when the client stops
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        sent, reply = 0, b""
        s.settimeout(0.05)
        while sent < 5_000_000 and not reply:
            try:
                s.sendall(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
                sent += 0x4000
                reply = s.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        s.settimeout(5)
        try:
            reply += s.recv(65536)
        except (TimeoutError, ConnectionResetError):
            pass
    assert reply.startswith(b"HTTP/1.1 413") and sent < 1_000_000, (sent, reply[:100])


def test_slow_headers_and_bodies_time_out(real_server):
    srv = real_server(header_timeout=1.0, body_timeout=1.0)
    t0 = time.monotonic()
    assert _raw(srv.port, b"GET /api/health HTTP/1.1\r\nHost: x\r\n") == b""  # never finished: closed
    assert time.monotonic() - t0 < 6
    reply = _raw(srv.port, b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 100\r\n\r\n{\"question\"")
    assert reply.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in reply
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 40_000 + b"\r\n\r\n"
    reply = _raw(srv.port, huge)
    assert reply.startswith(b"HTTP/1.1 431") and b'"headers_too_large"' in reply
    with socket.create_connection(("127.0.0.1", srv.port), timeout=8) as s:  # in pieces: over h11's limit
        s.sendall(huge[:20_000])
        time.sleep(0.3)
        try:
            s.sendall(huge[20_000:])
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = s.recv(65536)
    assert reply.startswith(b"HTTP/1.1 400") and b'"bad_request"' in reply
    assert httpx.get(srv.url + "/api/health").json()["status"] == "ok"
