"""Beyond one machine: Chroma's own server, two stateless web workers, an update seen by both;
scheduled feed ingestion against feeds served from 127.0.0.1."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index.store import PassageStore
from index.watch import WatchState, load_state, parse_interval, save_state, state_path, watch_cycle, watch_feeds

from .conftest import ROOT, SAMPLES, make_settings, stop_process
from .localhttp import LocalServer, article_html, free_port, rss, wait_http

CHROMA = Path(sys.executable).with_name("chroma")


@pytest.fixture
def chroma_server(tmp_path):
    if not CHROMA.exists():
        pytest.skip("the chroma server command is not installed")
    port = free_port()
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def khabar(*args, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_two_workers_share_a_chroma_server_and_both_see_updates(tmp_path, chroma_server):
    base_env = {**os.environ, "KHABAR_CHROMA_URL": chroma_server, "KHABAR_REFRESH_SECONDS": "1",
                "KHABAR_RATE_LIMIT_PER_MINUTE": "1000"}
    ingest_env = {**base_env, "KHABAR_DATA_DIR": str(tmp_path / "ingester")}
    add = khabar("index", "add", "-q", str(SAMPLES), env=ingest_env)
    assert add.returncode == 0 and "added 6" in add.stdout, add.stdout + add.stderr
    workers = []
    try:
        urls = []
        for i in range(2):
            port = free_port()
            env = {**base_env, "KHABAR_DATA_DIR": str(tmp_path / f"worker{i}")}
            workers.append(subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=ROOT,
                                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_http(url + "/api/health")
            r = httpx.post(url + "/api/ask", json={"question": "Why were schools closed in Tehran?"}, timeout=60)
            assert r.status_code == 200 and any("air quality" in c["text"] for c in r.json()["citations"])
        news = tmp_path / "news"
        news.mkdir()
        (news / "mashhad-metro.md").write_text(
            "title: Mashhad opens its third metro line\ndate: 2026-02-01\nurl: https://example.org/en/mashhad-metro\n\n"
            "Mashhad opened the third line of its metro on Sunday, linking the shrine district to the airport.\n\n"
            "The new line is 28 kilometres long and has 24 stations.")
        upd = khabar("index", "add", "-q", str(news), env=ingest_env)
        assert upd.returncode == 0 and "added 1" in upd.stdout
        for url in urls:
            deadline = time.time() + 60
            while True:
                r = httpx.post(url + "/api/ask", json={"question": "How long is the third metro line in Mashhad?"},
                               timeout=60).json()
                if any("28 kilometres" in c["text"] for c in r.get("contexts", [])):
                    break
                assert time.time() < deadline, f"{url} never saw the update: {r}"
                time.sleep(1)
        assert httpx.get(urls[0] + "/api/health").json()["articles"] == 7
        metrics = httpx.get(urls[1] + "/metrics").text
        assert "khabar_answers_total" in metrics and "khabar_index_articles 7.0" in metrics
    finally:
        for w in workers:
            stop_process(w)


DAYS = {5: "Mon", 6: "Tue", 7: "Wed", 8: "Thu", 9: "Fri"}


def _page(srv, slug, title, paras, day=5):
    """Serve an article page and return its feed entry (a summary only, so the page is fetched)."""
    srv.set(f"/a/{slug}", article_html(title, paras))
    return {"title": title, "link": f"{srv.url}/a/{slug}", "description": "Summary.",
            "pubDate": f"{DAYS[day]}, 0{day} May 2025 10:00:00 GMT"}


def _stories(srv):
    """Four stories, newest first by their feed dates."""
    return (_page(srv, "ferry", "Kish ferry adds night trips",
                  ["The Kish ferry will add night trips from Bandar Lengeh starting next month, the operator said."], 7),
            _page(srv, "dam", "Karun dam reaches full capacity",
                  ["The Karun 4 dam reached full capacity after weeks of heavy rain in Khuzestan province."], 6),
            _page(srv, "tea", "Lahijan tea harvest begins",
                  ["The first flush of the Lahijan tea harvest began on Saturday in Gilan province."], 5),
            _page(srv, "bread", "Tabriz bakeries extend their hours",
                  ["Bakeries in Tabriz will stay open until midnight during the holidays, the guild said."], 8))


def test_watch_feeds_new_changed_taken_down_rolled_off_and_errors(tmp_path, embedder):
    srv = LocalServer()
    try:
        ferry, dam, tea, bread = _stories(srv)
        srv.set("/feed.xml", rss([ferry, dam, tea]), ctype="application/rss+xml")
        # the feeds are on 127.0.0.1: allowed as an operator would (KHABAR_ALLOW_PRIVATE_URLS=1)
        settings = make_settings(tmp_path / "data", allow_private_urls=True)
        store = PassageStore(settings, embedder, create=True)
        known = WatchState()

        def titles():
            return {a.title for a in store.snapshot().articles().values()}

        rep, removed = watch_cycle(store, [srv.url + "/feed.xml", srv.url + "/missing.xml"], settings, known)
        assert (rep.added, removed, rep.failed) == (3, 0, 1)
        # one entry changed, one taken down (an older one is still listed), one new
        _page(srv, "ferry", "Kish ferry adds night trips",
              ["The Kish ferry will add night trips from Bandar Lengeh and Bandar Abbas starting next month."], 7)
        srv.set("/feed.xml", rss([bread, ferry, tea]), ctype="application/rss+xml")
        rep, removed = watch_cycle(store, [srv.url + "/feed.xml"], settings, known)
        assert (rep.added, rep.updated, removed) == (1, 1, 0)  # taken down once: it could be a stale copy
        rep, removed = watch_cycle(store, [srv.url + "/feed.xml"], settings, known)
        assert (rep.added, rep.updated, removed) == (0, 0, 1)  # and again: removed
        assert titles() == {"Kish ferry adds night trips", "Lahijan tea harvest begins", "Tabriz bakeries extend their hours"}
        # the feed rolls on: its oldest entry leaves its end and stays in the index (the archive)
        rice = _page(srv, "rice", "Rasht rice prices fall",
                     ["Prices of local rice fell in Rasht markets after a record harvest, traders said."], 9)
        srv.set("/feed.xml", rss([rice, bread, ferry]), ctype="application/rss+xml")
        for _ in range(2):
            rep, removed = watch_cycle(store, [srv.url + "/feed.xml"], settings, known)
            assert removed == 0 and "Lahijan tea harvest begins" in titles()
        # a "most read" feed, not in date order, drops entries for other reasons: nothing of it is removed
        srv.set("/feed.xml", rss([ferry, rice, bread]), ctype="application/rss+xml")
        watch_cycle(store, [srv.url + "/feed.xml"], settings, known)
        srv.set("/feed.xml", rss([bread, ferry]), ctype="application/rss+xml")
        for _ in range(2):
            rep, removed = watch_cycle(store, [srv.url + "/feed.xml"], settings, known)
            assert removed == 0 and "Rasht rice prices fall" in titles()
        srv.set("/feed.xml", "<html><body>maintenance</body></html>", ctype="text/html")
        rep, removed = watch_cycle(store, [srv.url + "/feed.xml"], settings, known)
        assert removed == 0 and store.snapshot().n_articles == 4  # an outage keeps the articles
        lines = []
        srv.set("/feed.xml", rss([rice, bread, ferry]), ctype="application/rss+xml")
        watch_feeds(settings, [srv.url + "/feed.xml"], 0.01, cycles=2, on_cycle=lines.append,
                    sleep=lambda s: None)
        assert len(lines) == 2 and lines[0].startswith("cycle 1: added 0") and "unchanged 3" in lines[0]
    finally:
        srv.close()
    assert parse_interval("15m") == 900 and parse_interval("30s") == 30 and parse_interval("1h") == 3600


def test_a_story_whose_link_changed_stays_under_its_new_link(tmp_path, embedder):
    srv = LocalServer()
    try:
        ferry, dam, tea, _ = _stories(srv)
        srv.set("/feed.xml", rss([ferry, dam, tea]), ctype="application/rss+xml")
        settings = make_settings(tmp_path / "data", allow_private_urls=True)
        store = PassageStore(settings, embedder, create=True)
        known = WatchState()
        watch_cycle(store, [srv.url + "/feed.xml"], settings, known)
        srv.set("/a/dam?v=2", srv.routes["/a/dam"][2])
        moved = {**dam, "link": srv.url + "/a/dam?v=2"}
        srv.set("/feed.xml", rss([ferry, moved, tea]), ctype="application/rss+xml")
        removed = [watch_cycle(store, [srv.url + "/feed.xml"], settings, known)[1] for _ in range(3)]
        assert removed == [0, 1, 0]
        articles = store.snapshot().articles()
        assert srv.url + "/a/dam?v=2" in articles and srv.url + "/a/dam" not in articles
        assert {a.title for a in articles.values()} == {"Kish ferry adds night trips", "Karun dam reaches full capacity",
                                                        "Lahijan tea harvest begins"}
    finally:
        srv.close()


def test_keep_all_removes_nothing(tmp_path, embedder):
    srv = LocalServer()
    try:
        ferry, dam, tea, _ = _stories(srv)
        srv.set("/feed.xml", rss([ferry, dam, tea]), ctype="application/rss+xml")
        settings = make_settings(tmp_path / "data", allow_private_urls=True)
        lines: list[str] = []
        watch_feeds(settings, [srv.url + "/feed.xml"], 0.01, cycles=1, on_cycle=lines.append, sleep=lambda s: None)
        srv.set("/feed.xml", rss([ferry, tea]), ctype="application/rss+xml")
        watch_feeds(settings, [srv.url + "/feed.xml"], 0.01, cycles=3, on_cycle=lines.append, sleep=lambda s: None,
                    remove=False)
        assert len(lines) == 4 and all("removed 0" in line for line in lines), lines
        assert PassageStore(settings, embedder).snapshot().n_articles == 3
    finally:
        srv.close()


def test_a_watched_json_url_stays_an_article_source(tmp_path, embedder):
    srv = LocalServer()
    try:
        records = [{"title": "Ahvaz heat wave closes offices", "date": "2025-07-01", "url": "https://example.org/ahvaz",
                    "text": "Government offices in Ahvaz closed on Tuesday as temperatures passed 50 degrees."}]
        srv.set("/news.json", json.dumps(records), ctype="application/json")
        settings = make_settings(tmp_path / "data", allow_private_urls=True)
        lines: list[str] = []
        for _ in range(2):  # a JSON record's origin is "url#0" like a feed entry's, but it is no feed
            watch_feeds(settings, [srv.url + "/news.json"], 0.01, cycles=2, on_cycle=lines.append,
                        sleep=lambda s: None)
        assert all("failed 0" in line for line in lines), lines
        assert load_state(state_path(PassageStore(settings, embedder))).feeds == set()
    finally:
        srv.close()


def test_a_restarted_watcher_remembers_what_its_feeds_listed(tmp_path, embedder):
    srv = LocalServer()
    try:
        ferry, dam, tea, bread = _stories(srv)
        feed = srv.url + "/feed.xml"
        srv.set("/feed.xml", rss([ferry, dam, tea]), ctype="application/rss+xml")
        settings = make_settings(tmp_path / "data", allow_private_urls=True)
        lines: list[str] = []

        def run_watcher():  # one cycle of a watcher process that then stops, as a restart does
            watch_feeds(settings, [feed], 0.01, cycles=1, on_cycle=lines.append, sleep=lambda s: None)
            return lines[-1]

        def titles():
            return {a.title for a in PassageStore(settings, embedder).snapshot().articles().values()}

        assert "added 3" in run_watcher()
        # while the watcher was down the feed took the dam story down: found so by two restarted watchers
        srv.set("/feed.xml", rss([ferry, tea]), ctype="application/rss+xml")
        assert "removed 0" in run_watcher() and "removed 1" in run_watcher()
        assert titles() == {"Kish ferry adds night trips", "Lahijan tea harvest begins"}
        # and while it was down again the feed rolled on: the story that left its end is kept
        srv.set("/feed.xml", rss([bread, ferry]), ctype="application/rss+xml")
        assert "added 1" in run_watcher() and "removed 0" in run_watcher() and len(titles()) == 3
        # a maintenance page where the feed was, at a restarted watcher's first cycle: an error, not an article
        srv.set("/feed.xml", article_html("Down for maintenance", [
            "Our news service is down for scheduled maintenance tonight and will be back in a few hours, "
            "thank you for your patience while the engineers upgrade the servers."]), ctype="text/html")
        line = run_watcher()
        assert "failed 1" in line and "removed 0" in line, line
        assert len(titles()) == 3 and "Down for maintenance" not in titles()
        # an entry whose page fails (no summary to keep) looks missing: it is kept
        rice = _page(srv, "rice", "Rasht rice prices fall",
                     ["Prices of local rice fell in Rasht markets after a record harvest, traders said."], 9)
        srv.routes.pop("/a/bread")
        srv.set("/feed.xml", rss([rice, {**bread, "description": ""}, ferry]), ctype="application/rss+xml")
        for _ in range(2):
            line = run_watcher()
            assert "failed 1" in line and "removed 0" in line, line
        assert "Tabriz bakeries extend their hours" in titles()
        # a damaged or hostile state file is logged and the watcher starts without it
        path = state_path(PassageStore(settings, embedder))
        assert load_state(path).feeds == {feed}
        for damaged in ("{not json", "[" * 200_000 + "]" * 200_000, '{"listed": {"x": 5}, "feeds": []}'):
            path.write_text(damaged, encoding="utf-8")
            line = run_watcher()
            assert line.startswith("cycle 1: added 0") and "removed 0" in line and "state not saved" not in line, line
        assert [aid for aid, _ in load_state(path).listed[feed]] == [f"{srv.url}/a/rice", f"{srv.url}/a/ferry"]
    finally:
        srv.close()


def test_watchers_sharing_an_index_keep_each_others_feeds(tmp_path):
    """Two processes saving their own feeds' state at once: each keeps the other's (merged under a lock)."""
    path = tmp_path / "snapshot-khabar.watch.json"
    code = ("import sys; from pathlib import Path; from index.watch import WatchState, save_state\n"
            "me = sys.argv[1]\n"
            "for n in range(40):\n"
            "    save_state(Path(sys.argv[2]), WatchState(listed={f'https://{me}.example/feed': [(f'{me}-{n}', '')]},"
            " feeds={f'https://{me}.example/feed'}))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, who, str(path)], cwd=ROOT) for who in ("a", "b")]
    assert [p.wait(120) for p in procs] == [0, 0]
    state = load_state(path)
    assert state.feeds == {"https://a.example/feed", "https://b.example/feed"}
    assert state.listed == {"https://a.example/feed": [("a-39", "")], "https://b.example/feed": [("b-39", "")]}
    save_state(path, WatchState(listed={"https://a.example/feed": []}))  # an empty feed listing is kept too
    assert load_state(path).listed["https://a.example/feed"] == [] and len(load_state(path).feeds) == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_json_logs(tmp_path, capsys):
    import json as _json
    import logging

    from bot.plumbing.logs import setup_logging

    setup_logging(make_settings(tmp_path, log_json=True), console=True)
    logging.getLogger("khabar.test").warning("served %d answers", 3)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    rec = _json.loads(line)
    assert rec["level"] == "WARNING" and rec["msg"] == "served 3 answers" and rec["logger"] == "khabar.test"
    logging.getLogger().handlers.clear()
