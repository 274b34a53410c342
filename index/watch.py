"""Scheduled feed ingestion (`khabar index watch`): new and changed entries every N minutes; taken-down ones with --prune."""
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
    """What the watcher remembers between cycles: each URL's last listing and which URLs are feeds (both
    saved beside the index), and, with pruning, the entries found taken down once (in memory only: a
    restart starts that count again).

    A listing is the (article id, date) of each entry, in the feed's order.
    """

    listed: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    feeds: set[str] = field(default_factory=set)
    pending: dict[str, set[str]] = field(default_factory=dict)


MAX_STATE_BYTES = 64 * 1024 * 1024  # a state file past this is not ours to read
SIDE = 2  # a taken-down entry has this many still-listed entries on each side (a pinned last entry is one)


def _window(before: list[tuple[str, str]], now: list[tuple[str, str]]) -> bool:
    """True when `now` looks like the same sliding window moved on: both listings dated and in date order,
    the entries in both keep their order, and the new ones sit only at the ends."""
    def dated_one_way(entries: list[tuple[str, str]]) -> bool:
        dates = [d for _, d in entries]
        return all(dates) and (dates == sorted(dates) or dates == sorted(dates, reverse=True))

    if not (dated_one_way(before) and dated_one_way(now)) or len({d for _, d in before}) < 2 \
            or len({d for _, d in now}) < 2:
        return False  # dates are days: a list of one day's stories ("most read") is no window
    ids_before = {aid for aid, _ in before}
    ids_now = [aid for aid, _ in now]
    if len(set(ids_now)) != len(ids_now):
        return False  # a story listed twice: not a plain window
    order_now = [aid for aid in ids_now if aid in ids_before]
    if order_now != [aid for aid, _ in before if aid in set(ids_now)]:
        return False
    kept_at = [i for i, aid in enumerate(ids_now) if aid in ids_before]
    return not kept_at or all(aid in ids_before for aid in ids_now[kept_at[0]:kept_at[-1] + 1])


def taken_down(before: list[tuple[str, str]], now: list[tuple[str, str]]) -> set[str]:
    """The entries of a feed's last listing that it took down, not those that rolled off an end.

    Judged only when the feed is a sliding window (`_window`): an entry is taken down when at least SIDE
    still-listed entries are on each side of it, dated strictly after it on one side and before it on the
    other. Entries that leave either end stay (the archive).
    """
    if not _window(before, now):
        return set()
    ids_now = {aid for aid, _ in now}
    kept = [(i, d) for i, (aid, d) in enumerate(before) if aid in ids_now]
    out = set()
    for i, (aid, day) in enumerate(before):
        if aid in ids_now:
            continue
        # the still-listed entries on each side are dated strictly before and after it (either way round)
        lo = [d for j, d in kept if j < i]
        hi = [d for j, d in kept if j > i]
        if len(lo) >= SIDE and len(hi) >= SIDE and (max(lo) < day < min(hi) or min(lo) > day > max(hi)):
            out.add(aid)
    return out


def state_path(store: PassageStore) -> Path:
    """Where watchers keep their state between runs: beside the index's snapshot (per server in client mode)."""
    return store.snapshot_dir.with_name(store.snapshot_dir.name + ".watch.json")


def _parse_state(text: str) -> WatchState:
    raw = json.loads(text)
    return WatchState(listed={str(url): [(str(aid), str(date)) for aid, date in entries]
                              for url, entries in raw["listed"].items()},
                      feeds={str(url) for url in raw["feeds"]})


def _read_state(path: Path, strict: bool = False) -> WatchState:
    """The saved state; empty when there is none, and when it is damaged or oversized (logged; with `strict`,
    ValueError instead); OSError is raised."""
    try:
        if path.stat().st_size > MAX_STATE_BYTES:
            log.warning("watch state %s is over %d bytes: not read", path, MAX_STATE_BYTES)
            if strict:
                raise ValueError("oversized")
            return WatchState()
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return WatchState()
    try:
        return _parse_state(text)
    except Exception as exc:  # noqa: BLE001 - damaged or hostile (deep nesting too): not ours to trust
        log.warning("watch state %s unreadable (%s): starting without it", path, type(exc).__name__)
        if strict:
            raise ValueError("damaged") from None
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
    so a restarted watcher still knows each feed's last listing (with --prune, a take-down while it was
    stopped is found) and a URL that was a feed is still one (an HTML maintenance page after a restart is
    an error, not an article). A file that
    cannot be read (permissions, I/O) is not overwritten: the error is raised and logged by the cycle.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # flock needs no write access to the lock file itself
        lock = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        lock = os.open(path.with_name(path.name + ".lock"), os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = _read_state(path)
        saved.listed.update(state.listed)
        saved.feeds |= state.feeds
        data = {"listed": {url: [list(e) for e in entries] for url, entries in sorted(saved.listed.items())},
                "feeds": sorted(saved.feeds)}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, _mode(path))  # mkstemp's 0600 would lock out a watcher running as another user
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    finally:
        os.close(lock)


def _mode(path: Path) -> int:
    """The state file's permissions as they are, or a new file's under the process umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        try:  # read, not set: os.umask would change it for every thread for a moment
            status = Path("/proc/self/status").read_text()
            umask = int(next(x.split()[1] for x in status.splitlines() if x.startswith("Umask:")), 8)
        except (OSError, StopIteration, ValueError, IndexError):
            umask = 0o022
        return 0o666 & ~umask


def watch_cycle(store: PassageStore, urls: list[str], settings: IndexSettings, state: WatchState,
                elsewhere: frozenset[str] = frozenset(), prune: bool = False) -> tuple[IngestReport, int]:
    """One cycle: with `prune`, remove what a feed took down (found so twice); then ingest every URL's articles.

    Without `prune` nothing is ever removed: every entry stays in the archive. With it, an entry is removed
    only when two healthy cycles in a row find it taken down (`taken_down`) and nothing lists it: no URL
    now, no URL's last listing when that URL failed, no failed entry's link, no other watcher (`elsewhere`).
    A URL that fails keeps its articles (an outage must not empty the index); a URL that was a feed must
    stay one (an HTML maintenance page is an error, not an article). Removal comes first so that a story
    whose link changed is stored under the new one (ingest would skip it as a copy of the one removed).
    """
    items: list[Article | LoadError] = []
    current: dict[str, list[tuple[str, str]]] = {}
    failed_links: set[str] = set()
    blind: set[str] = set()  # a failure tied to no entry: the URL's listing is not updated either
    failing: set[str] = set()
    limits = Limits.from_settings(settings)
    for url in urls:
        got = list(load_url(url, feed_only=url in state.feeds, limits=limits))
        for item in got:
            if isinstance(item, LoadError) and not isinstance(item, LoadNote):
                failing.add(url)
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
    # an entry whose page failed comes with its feed summary only: a stored full text is not replaced by it
    summary_only = {i.source for i in items if isinstance(i, LoadNote) and i.link}
    snap = store.snapshot()
    items = [i for i in items if not (isinstance(i, Article) and i.feed_entry and i.origin in summary_only
                                      and snap.article(i.article_id))]
    doomed: set[str] = set()
    if prune:
        keep = {aid for entries in current.values() for aid, _ in entries} | failed_links | elsewhere
        keep |= {aid for url in urls if url not in current or url in blind for aid, _ in state.listed.get(url, [])}
        pending: dict[str, set[str]] = {}
        for url, entries in current.items():
            if url in failing:
                continue  # a failed entry or input: this cycle does not count, the next two healthy ones do
            before = state.listed.get(url, [])
            ids_now = {aid for aid, _ in entries}
            if _window(before, entries):
                doomed |= {aid for aid in state.pending.get(url, set()) if aid not in ids_now} - keep
            pending[url] = taken_down(before, entries) - keep
        doomed = {a for a in doomed if snap.article(a)}
        try:
            if doomed:
                remove_articles(store, sorted(doomed))
            state.pending = pending  # a failed removal is tried again after two more cycles
        except Exception:  # noqa: BLE001 - the feeds are still ingested; logged
            log.exception("removing %d taken-down articles failed", len(doomed))
            doomed, state.pending = set(), {}
    state.listed.update({url: entries for url, entries in current.items() if url not in blind})
    report = ingest(store, items, settings.max_passage_chars, settings.embed_batch,
                    max_passages=settings.max_article_passages)
    return report, len(doomed)


def watch_feeds(settings: IndexSettings, feeds: list[str], every: float, cycles: int = 0,
                on_cycle: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep,
                prune: bool = False) -> None:
    """Run `watch_cycle` every `every` seconds (forever when cycles == 0), logging a line per cycle.

    What the watcher knows is saved after each cycle and read back at start, so a restart forgets nothing;
    with `prune`, entries the feeds took down are removed (`watch_cycle`).
    """
    store = PassageStore(settings, build_embedder(settings.embedder, settings.embed_threads), create=True)
    path = state_path(store)
    saved = load_state(path)
    # only this run's URLs: another watcher's feeds are its own to update
    state = WatchState(listed={u: e for u, e in saved.listed.items() if u in feeds}, feeds=saved.feeds & set(feeds))
    n = 0
    while True:
        n += 1
        t0 = time.monotonic()
        try:
            store.refresh()
            # what other watchers' feeds list now is not for this one to remove; unread, nothing is pruned
            try:
                others, prune_now = _read_state(path, strict=prune), prune
            except (OSError, ValueError) as exc:
                log.warning("watch state %s unreadable (%s): nothing pruned this cycle", path, exc)
                others, prune_now = WatchState(), False
                state.pending = {}  # the two-cycle count starts again
            elsewhere = frozenset(aid for url, entries in others.listed.items() if url not in feeds
                                  for aid, _ in entries)
            report, removed = watch_cycle(store, feeds, settings, state, elsewhere, prune_now)
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
