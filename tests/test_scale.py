"""Beyond one machine: Chroma's own server, two stateless web workers, an update seen by both;
scheduled feed ingestion against feeds served from 127.0.0.1."""
import datetime
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


TOWNS = ["Ahvaz", "Arak", "Babol", "Bojnurd", "Bushehr", "Gorgan", "Hamedan", "Ilam", "Kashan", "Kerman", "Khoy",
         "Qazvin", "Sanandaj", "Semnan", "Yasuj", "Yazd", "Zabol", "Zanjan"]


def _story(srv, day, *, summary="Summary."):
    """Serve a story dated `day` May 2025 and return its feed entry (a summary only, so the page is fetched)."""
    town = TOWNS[day]
    srv.set(f"/a/{day}", article_html(f"{town} council approves its budget",
                                      [f"The city council of {town} approved next year's budget on the {day}th of May, "
                                       f"with new money for the {town} bus fleet and for {day} parks."]))
    weekday = datetime.date(2025, 5, day).strftime("%a")
    return {"title": f"{town} council approves its budget", "link": f"{srv.url}/a/{day}", "description": summary,
            "pubDate": f"{weekday}, {day:02d} May 2025 10:00:00 GMT"}


def _feed(srv, *days, path="/feed.xml"):
    """Serve a feed of the stories of these days, in this order."""
    srv.set(path, rss([_story(srv, d) for d in days]), ctype="application/rss+xml")
    return srv.url + path


def _ids(store):
    return set(store.snapshot().articles())


def test_watch_feeds_keeps_every_entry_and_survives_errors(tmp_path, embedder):
    srv = LocalServer()
    try:
        feed = _feed(srv, 9, 8, 7)
        # the feeds are on 127.0.0.1: allowed as an operator would (KHABAR_ALLOW_PRIVATE_URLS=1)
        settings = make_settings(tmp_path / "data", allow_private_urls=True)
        store = PassageStore(settings, embedder, create=True)
        known = WatchState()
        rep, removed = watch_cycle(store, [feed, srv.url + "/missing.xml"], settings, known)
        assert (rep.added, removed, rep.failed) == (3, 0, 1)
        # one entry changed, one gone from the feed, one new: without --prune every entry stays (the archive)
        entries = [_story(srv, 10), _story(srv, 9), _story(srv, 7)]
        srv.set("/feed.xml", rss(entries), ctype="application/rss+xml")
        srv.set("/a/9", article_html("Kashan council approves its budget", ["The council of Kashan approved a smaller budget."]))
        for n in range(3):
            rep, removed = watch_cycle(store, [feed], settings, known)
            assert removed == 0 and (rep.added, rep.updated) == ((1, 1) if n == 0 else (0, 0))
        assert len(_ids(store)) == 4
        # a stored story whose page now fails is not replaced by the feed's one-word summary
        page7 = srv.routes.pop("/a/7")
        rep, removed = watch_cycle(store, [feed], settings, known)
        assert (rep.updated, rep.unchanged, removed) == (0, 2, 0) and "summary kept" in " ".join(map(str, rep.notes))
        srv.routes["/a/7"] = page7
        srv.set("/feed.xml", "<html><body>maintenance</body></html>", ctype="text/html")
        rep, removed = watch_cycle(store, [feed], settings, known)
        assert removed == 0 and rep.failed == 1 and len(_ids(store)) == 4  # an outage keeps the articles
        lines = []
        srv.set("/feed.xml", rss(entries), ctype="application/rss+xml")
        watch_feeds(settings, [feed], 0.01, cycles=2, on_cycle=lines.append, sleep=lambda s: None)
        assert len(lines) == 2 and lines[0].startswith("cycle 1: added 0") and "unchanged 3" in lines[0]
    finally:
        srv.close()
    assert parse_interval("15m") == 900 and parse_interval("30s") == 30 and parse_interval("1h") == 3600


def test_prune_removes_only_what_a_feed_took_down(tmp_path, embedder):
    srv = LocalServer()
    try:
        feed = _feed(srv, 9, 8, 7, 6, 5, 4)
        other = _feed(srv, 11, 7, path="/other.xml")  # another watched feed lists the story of the 7th too
        settings = make_settings(tmp_path / "data", allow_private_urls=True)
        store = PassageStore(settings, embedder, create=True)
        known = WatchState()

        def cycle(*urls):
            return watch_cycle(store, list(urls), settings, known, prune=True)[1]

        assert cycle(feed, other) == 0 and len(_ids(store)) == 7
        # the feed takes the 7th down while the other feed is unreachable: its last listing still holds it
        _feed(srv, 10, 9, 8, 6, 5, 4)
        srv.routes.pop("/other.xml")
        assert [cycle(feed, other) for _ in range(2)] == [0, 0] and f"{srv.url}/a/7" in _ids(store)
        # with the other feed back (no longer listing it), the feed takes the 8th down: found twice, removed
        _feed(srv, 12, path="/other.xml")
        _feed(srv, 10, 9, 6, 5, 4)
        assert [cycle(feed, other) for _ in range(2)] == [0, 1] and f"{srv.url}/a/8" not in _ids(store)
        # the feed rolls on: what leaves its ends stays, twice and more
        _feed(srv, 13, 10, 9, 6, 5)
        assert [cycle(feed, other) for _ in range(3)] == [0, 0, 0] and f"{srv.url}/a/4" in _ids(store)
        # a "most read" feed, not a window in date order: nothing of it is removed
        _feed(srv, 9, 13, 5, 10, 6)
        cycle(feed, other)
        _feed(srv, 9, 13, 10, 6)
        assert [cycle(feed, other) for _ in range(2)] == [0, 0] and f"{srv.url}/a/5" in _ids(store)
        # an entry whose page fails (no summary to keep) looks taken down: it is kept
        _feed(srv, 14, 13, 10, 9, 6, 5)
        cycle(feed, other)
        entries = [_story(srv, d, summary="" if d == 10 else "Summary.") for d in (14, 13, 10, 9, 6, 5)]
        srv.routes.pop("/a/10")
        srv.set("/feed.xml", rss(entries), ctype="application/rss+xml")
        assert [cycle(feed, other) for _ in range(2)] == [0, 0] and f"{srv.url}/a/10" in _ids(store)
        # a story whose link changed is a new entry among the old ones: not judged, the story stays
        srv.set("/a/9?v=2", srv.routes["/a/9"][2])
        srv.set("/feed.xml", rss([_story(srv, 14), _story(srv, 13), {**_story(srv, 9), "link": srv.url + "/a/9?v=2"},
                                  _story(srv, 6), _story(srv, 5)]), ctype="application/rss+xml")
        assert [cycle(feed, other) for _ in range(2)] == [0, 0] and f"{srv.url}/a/9" in _ids(store)
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
        feed = _feed(srv, 9, 8, 7, 6, 5, 4)
        settings = make_settings(tmp_path / "data", allow_private_urls=True)
        lines: list[str] = []

        def run_watcher(cycles=1):  # a watcher process that runs a few cycles and stops, as a restart does
            watch_feeds(settings, [feed], 0.01, cycles=cycles, on_cycle=lines.append, sleep=lambda s: None, prune=True)
            return lines[-cycles:]

        def ids():
            return _ids(PassageStore(settings, embedder))

        assert "added 6" in run_watcher()[0]
        # while the watcher was stopped the feed took the 7th down: the restarted one finds it (twice) and removes it
        _feed(srv, 9, 8, 6, 5, 4)
        assert ["removed 1" in x for x in run_watcher(2)] == [False, True] and f"{srv.url}/a/7" not in ids()
        # and while it was stopped again the feed rolled on: what left its end is kept
        _feed(srv, 11, 10, 9, 8, 6)
        assert all("removed 0" in x for x in run_watcher(2)) and len(ids()) == 7
        # a maintenance page where the feed was, at a restarted watcher's first cycle: an error, not an article
        srv.set("/feed.xml", article_html("Down for maintenance", [
            "Our news service is down for scheduled maintenance tonight and will be back in a few hours, "
            "thank you for your patience while the engineers upgrade the servers."]), ctype="text/html")
        line = run_watcher()[0]
        assert "failed 1" in line and "removed 0" in line and len(ids()) == 7, line
        # a damaged or hostile state file is logged and the watcher starts without it
        path = state_path(PassageStore(settings, embedder))
        assert load_state(path).feeds == {feed}
        _feed(srv, 11, 10, 9, 8, 6)
        for damaged in ("{not json", "[" * 200_000 + "]" * 200_000, '{"listed": {"x": 5}, "feeds": []}'):
            path.write_text(damaged, encoding="utf-8")
            line = run_watcher()[0]
            assert line.startswith("cycle 1: added 0") and "removed 0" in line and "state not saved" not in line, line
        assert [aid for aid, _ in load_state(path).listed[feed]] == [f"{srv.url}/a/{d}" for d in (11, 10, 9, 8, 6)]
        # a take-down found, then the shared state damaged before the next cycle: that cycle prunes nothing
        _feed(srv, 11, 10, 8, 6)
        damage = [lambda: path.write_text("{not json", encoding="utf-8"), lambda: None, lambda: None]
        watch_feeds(settings, [feed], 0.01, cycles=3, sleep=lambda s: None, prune=True,
                    on_cycle=lambda line: (lines.append(line), damage.pop(0)()))
        assert all("removed 0" in x for x in lines[-3:]) and f"{srv.url}/a/9" in ids(), lines[-3:]
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
