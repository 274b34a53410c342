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
    """What the watcher remembers between cycles: each URL's last listing, which URLs are feeds, and the
    entries found taken down once (removed when the next healthy cycle finds them so again).

    A listing is the (article id, date) of each entry, in the feed's order.
    """

    listed: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    feeds: set[str] = field(default_factory=set)
    pending: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


MAX_STATE_BYTES = 64 * 1024 * 1024  # a state file past this is not ours to read


def _chronological(entries: list[tuple[str, str]]) -> bool:
    """True when every entry is dated, the dates run one way and there are two days or more."""
    dates = [d for _, d in entries]
    return all(dates) and len(set(dates)) > 1 and (dates == sorted(dates) or dates == sorted(dates, reverse=True))


def taken_down(before: list[tuple[str, str]], now: list[tuple[str, str]]) -> set[str]:
    """The entries of a feed's last listing that it took down, not those that rolled off its end.

    A feed lists its latest N entries, so old ones leave every cycle: those stay (the index keeps the
    archive). An entry is taken down when it is missing while the feed still lists one dated before it.
    Only a feed whose two listings are both in date order is judged: a "most read" or "top stories" feed
    drops entries for other reasons, and nothing of it is removed.
    """
    return still_gone(before, now) if _chronological(before) else set()


def still_gone(entries: list[tuple[str, str]], now: list[tuple[str, str]]) -> set[str]:
    """Those of `entries` missing from a feed in date order that still lists one dated before them."""
    if not _chronological(now):
        return set()
    ids_now = {aid for aid, _ in now}
    oldest = min(d for _, d in now)
    return {aid for aid, d in entries if aid not in ids_now and d and d > oldest}


def state_path(store: PassageStore) -> Path:
    """Where watchers keep their state between runs: beside the index's snapshot (per server in client mode)."""
    return store.snapshot_dir.with_name(store.snapshot_dir.name + ".watch.json")


def _parse_state(text: str) -> WatchState:
    raw = json.loads(text)
    return WatchState(listed={str(url): [(str(aid), str(date)) for aid, date in entries]
                              for url, entries in raw["listed"].items()},
                      feeds={str(url) for url in raw["feeds"]},
                      pending={str(url): [(str(aid), str(date)) for aid, date in entries]
                               for url, entries in raw.get("pending", {}).items()})


def _read_state(path: Path) -> WatchState:
    """The saved state; empty when there is none, and when it is damaged (logged); OSError is raised."""
    try:
        if path.stat().st_size > MAX_STATE_BYTES:
            log.warning("watch state %s is over %d bytes: not read", path, MAX_STATE_BYTES)
            return WatchState()
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return WatchState()
    try:
        return _parse_state(text)
    except Exception as exc:  # noqa: BLE001 - damaged or hostile (deep nesting too): not ours to trust
        log.warning("watch state %s unreadable (%s): starting without it", path, type(exc).__name__)
        return WatchState()


def load_state(path: Path) -> WatchState:
    """The state watchers saved before; empty when there is none or it cannot be read (logged, never fatal)."""
    try:
        return _read_state(path)
    except OSError as exc:
        log.warning("watch state %s unreadable (%s): starting without it", path, exc)
        return WatchState()


def save_state(path: Path, state: WatchState) -> None:
    """Merge this watcher's URLs into the saved state, under a file lock, atomically and durably.

    Several watchers may share an index (each with its own feeds); each rewrites only the URLs it knows,
    so a restarted watcher still removes what a feed took down while it was down, and a URL that was a
    feed is still one (an HTML maintenance page after a restart is an error, not an article). A file that
    cannot be read (permissions, I/O) is not overwritten: the error is raised and logged by the cycle.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = _read_state(path)
        saved.listed.update(state.listed)
        saved.pending.update(state.pending)
        saved.feeds |= state.feeds
        data = {"listed": {url: [list(e) for e in entries] for url, entries in sorted(saved.listed.items())},
                "feeds": sorted(saved.feeds),
                "pending": {url: [list(e) for e in entries] for url, entries in sorted(saved.pending.items()) if entries}}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would lock out a watcher running as another user
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def watch_cycle(store: PassageStore, urls: list[str], settings: IndexSettings, state: WatchState,
                elsewhere: frozenset[str] = frozenset(), remove: bool = True) -> tuple[IngestReport, int]:
    """One cycle: remove what a feed took down (found so twice), then ingest every URL's articles.

    An entry is removed only when two healthy cycles in a row find it taken down (`taken_down`), no URL
    lists it now and no other watcher's feed does (`elsewhere`). A URL that fails keeps its articles (an
    outage must not empty the index); an entry that fails is kept, and with it every entry of its feed when
    the failure cannot be tied to one; a URL that was a feed must stay one (an HTML maintenance page is an
    error, not an article). Removal comes first so that a story whose link changed is stored under the new
    one (ingest would otherwise skip it as a copy of the article being removed).
    """
    items: list[Article | LoadError] = []
    current: dict[str, list[tuple[str, str]]] = {}
    failed_links: set[str] = set()
    blind: set[str] = set()
    limits = Limits.from_settings(settings)
    for url in urls:
        got = list(load_url(url, feed_only=url in state.feeds, limits=limits))
        for item in got:
            if isinstance(item, LoadError) and not isinstance(item, LoadNote):
                if item.link:
                    failed_links.add(item.link)
                else:
                    blind.add(url)
        arts = [i for i in got if isinstance(i, Article)]
        if arts:
            current[url] = [(a.article_id, a.date or "") for a in arts]
            if any(a.feed_entry for a in arts):
                state.feeds.add(url)
        else:
            log.warning("%s gave no articles this cycle", url)
        items.extend(got)
    keep = {aid for entries in current.values() for aid, _ in entries} | failed_links | elsewhere
    listed, pending, doomed = dict(state.listed), dict(state.pending), set()
    for url, entries in current.items():
        if url in blind:
            continue  # a failure we cannot tie to an entry: judge this feed next cycle
        before = state.listed.get(url, [])
        found = (taken_down(before, entries) - keep) if remove else set()
        doomed |= (still_gone(state.pending.get(url, []), entries) - keep) if remove else set()
        pending[url] = [(aid, d) for aid, d in before if aid in found]
        listed[url] = entries
    snap = store.snapshot()
    doomed = {a for a in doomed if snap.article(a)}
    if doomed:
        remove_articles(store, sorted(doomed))
    state.listed, state.pending = listed, pending  # only once the removal is done: a failed one is tried again
    report = ingest(store, items, settings.max_passage_chars, settings.embed_batch,
                    max_passages=settings.max_article_passages)
    return report, len(doomed)


def watch_feeds(settings: IndexSettings, feeds: list[str], every: float, cycles: int = 0,
                on_cycle: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep,
                remove: bool = True) -> None:
    """Run `watch_cycle` every `every` seconds (forever when cycles == 0), logging a line per cycle.

    What the watcher knows is saved after each cycle and read back at start, so a restart forgets nothing;
    with `remove=False` nothing is ever removed (every entry is archived).
    """
    store = PassageStore(settings, build_embedder(settings.embedder, settings.embed_threads), create=True)
    path = state_path(store)
    saved = load_state(path)
    # only this run's URLs: another watcher's feeds are its own to update
    state = WatchState(listed={u: e for u, e in saved.listed.items() if u in feeds}, feeds=saved.feeds & set(feeds),
                       pending={u: i for u, i in saved.pending.items() if u in feeds})
    n = 0
    while True:
        n += 1
        t0 = time.monotonic()
        try:
            store.refresh()
            others = load_state(path)  # what other watchers' feeds list now is not for this one to remove
            elsewhere = frozenset(aid for url, entries in others.listed.items() if url not in feeds
                                  for aid, _ in entries)
            report, removed = watch_cycle(store, feeds, settings, state, elsewhere, remove)
            line = (f"cycle {n}: added {report.added} · updated {report.updated} · unchanged {report.unchanged} · "
                    f"duplicate {report.duplicate} · removed {removed} · failed {report.failed}"
                    f" ({time.monotonic() - t0:.1f} s)")
            for e in report.errors:
                line += f"\n  failed {e}"
        except Exception as exc:  # noqa: BLE001 - a watcher survives anything one cycle throws
            log.exception("watch cycle %d failed", n)
            line = f"cycle {n}: error: {exc}"
        try:
            save_state(path, state)
        except Exception as exc:  # noqa: BLE001 - the next cycle saves again
            log.exception("saving the watch state to %s failed", path)
            line += f"\n  state not saved: {exc}"
        log.info(line)
        if on_cycle:
            on_cycle(line)
        if cycles and n >= cycles:
            return
        sleep(max(0.0, every - (time.monotonic() - t0)))
