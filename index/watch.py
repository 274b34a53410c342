"""Scheduled feed ingestion (`khabar index watch`): new, changed and taken-down entries, every N minutes."""
from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .embeddings import build_embedder
from .errors import KhabarError, LoadError, LoadNote
from .ingest import IngestReport, ingest, remove_articles
from .loaders import Limits, load_url
from .models import Article
from .settings import IndexSettings
from .store import PassageStore

log = logging.getLogger(__name__)

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_interval(text: str) -> float:
    """'30s', '15m', '1h', '2d' or plain seconds → seconds."""
    m = _INTERVAL.match(text or "")
    if not m or float(m.group(1)) <= 0:
        raise KhabarError(en=f"Bad interval '{text}': use e.g. 30s, 15m or 1h.",
                          fa=f"بازه «{text}» نامعتبر است؛ مثلاً 30s یا 15m یا 1h بنویسید.")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


@dataclass
class WatchState:
    """What the watcher remembers between cycles: each URL's last listing, and which URLs are feeds.

    A listing is the (article id, date) of each entry in the feed's order; the order and dates tell an
    entry taken down from one that rolled off the feed's end.
    """

    listed: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    feeds: set[str] = field(default_factory=set)


def retracted(before: list[tuple[str, str]], listed_now: set[str]) -> set[str]:
    """The entries of the last listing that the feed took down, not those that rolled off its end.

    A feed lists its latest N entries, so old ones leave at its end every cycle: those stay (the index keeps
    the archive). An entry is taken down when entries on both sides of it are still listed, or when it was
    at the newest end of a feed whose dates run one way (newest first: its head; oldest first: its tail).
    """
    kept = [i for i, (aid, _) in enumerate(before) if aid in listed_now]
    if not kept:  # nothing of the last listing is left: it all rolled off (or the URL now serves another feed)
        return set()
    first, last = kept[0], kept[-1]
    dates = [d for _, d in before if d]
    ascending, descending = dates == sorted(dates), dates == sorted(dates, reverse=True)
    out = set()
    for i, (aid, _) in enumerate(before):
        if aid in listed_now:
            continue
        if first < i < last or (i < first and descending and not ascending) \
                or (i > last and ascending and not descending):
            out.add(aid)
    return out


def state_path(store: PassageStore) -> Path:
    """Where watchers keep their state between runs: beside the index's snapshot (per server in client mode)."""
    return store.snapshot_dir.with_name(store.snapshot_dir.name + ".watch.json")


def load_state(path: Path) -> WatchState:
    """The state watchers saved before; empty when there is none or it cannot be read (logged, never fatal)."""
    try:
        raw = json.loads(path.read_text("utf-8"))
        return WatchState(listed={str(url): [(str(aid), str(date)) for aid, date in entries]
                                  for url, entries in raw["listed"].items()},
                          feeds={str(url) for url in raw["feeds"]})
    except FileNotFoundError:
        return WatchState()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # damaged or not ours
        log.warning("watch state %s unreadable (%s): starting without it", path, exc)
        return WatchState()


def save_state(path: Path, state: WatchState) -> None:
    """Merge this watcher's URLs into the saved state, under a file lock and atomically.

    Several watchers may share an index (each with its own feeds); each rewrites only the URLs it knows,
    so a restarted watcher still removes the entries a feed dropped while it was down, and a URL that was
    a feed is still one (an HTML maintenance page after a restart is an error, not an article).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = load_state(path)
        saved.listed.update(state.listed)
        saved.feeds |= state.feeds
        data = {"listed": {url: [list(e) for e in entries] for url, entries in sorted(saved.listed.items())},
                "feeds": sorted(saved.feeds)}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def watch_cycle(store: PassageStore, urls: list[str], settings: IndexSettings,
                state: WatchState) -> tuple[IngestReport, int]:
    """One cycle: ingest every URL's articles; remove the articles a feed took down since the last cycle.

    A URL that fails this cycle keeps its articles (an outage must not empty the index), as do the other
    entries of a feed one of whose entries failed (the failed one cannot be told from a removed one); a URL
    that was a feed must stay one (an HTML maintenance page is an error, not an article).
    """
    items: list[Article | LoadError] = []
    current: dict[str, list[tuple[str, str]]] = {}
    partial: set[str] = set()
    limits = Limits.from_settings(settings)
    for url in urls:
        got = list(load_url(url, feed_only=url in state.feeds, limits=limits))
        arts = [i for i in got if isinstance(i, Article)]
        if any(isinstance(i, LoadError) and not isinstance(i, LoadNote) for i in got):
            partial.add(url)
        if arts:
            current[url] = [(a.article_id, a.date or "") for a in arts]
            if any(a.origin.startswith(url + "#") for a in arts):  # entries of a feed
                state.feeds.add(url)
        else:
            log.warning("%s gave no articles this cycle", url)
        items.extend(got)
    report = ingest(store, items, settings.max_passage_chars, settings.embed_batch,
                    max_passages=settings.max_article_passages)
    listed_now = {aid for entries in current.values() for aid, _ in entries}
    gone: set[str] = set()
    for url, entries in current.items():
        if url not in partial:
            gone |= retracted(state.listed.get(url, []), listed_now)
            state.listed[url] = entries
    snap = store.snapshot()
    doomed = sorted(a for a in gone if snap.article(a))
    if doomed:
        remove_articles(store, doomed)
    return report, len(doomed)


def watch_feeds(settings: IndexSettings, feeds: list[str], every: float, cycles: int = 0,
                on_cycle: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """Run `watch_cycle` every `every` seconds (forever when cycles == 0), logging a line per cycle.

    What the watcher knows is saved after each cycle and read back at start, so a restart forgets nothing.
    """
    store = PassageStore(settings, build_embedder(settings.embedder, settings.embed_threads), create=True)
    path = state_path(store)
    state = load_state(path)
    # only this run's URLs: another watcher's feeds are its own to update
    state = WatchState(listed={u: e for u, e in state.listed.items() if u in feeds}, feeds=state.feeds & set(feeds))
    n = 0
    while True:
        n += 1
        t0 = time.monotonic()
        try:
            store.refresh()
            report, removed = watch_cycle(store, feeds, settings, state)
            save_state(path, state)
            line = (f"cycle {n}: added {report.added} · updated {report.updated} · unchanged {report.unchanged} · "
                    f"duplicate {report.duplicate} · removed {removed} · failed {report.failed}"
                    f" ({time.monotonic() - t0:.1f} s)")
            for e in report.errors:
                line += f"\n  failed {e}"
        except Exception as exc:  # noqa: BLE001 - a watcher survives anything one cycle throws
            log.exception("watch cycle %d failed", n)
            line = f"cycle {n}: error: {exc}"
        log.info(line)
        if on_cycle:
            on_cycle(line)
        if cycles and n >= cycles:
            return
        sleep(max(0.0, every - (time.monotonic() - t0)))
