"""Background work of a serving process that questions must not wait for: keeping every passage's
sparse latent terms on disk (index/latent.py), at low priority and only while no question is answered."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from index.errors import LatentsNotKept
from index.latent import warm_latents
from index.store import PassageStore

log = logging.getLogger(__name__)

BACKOFF_MAX = 3600.0  # seconds between tries at most, when the disk would not keep the terms


class InFlight:
    """Counts the questions being answered in this process; background work waits until none are."""

    def __init__(self) -> None:
        self._n = 0
        self._cond = threading.Condition()

    @contextmanager
    def question(self) -> Iterator[None]:
        """Mark one question as being answered for the duration of the block."""
        with self._cond:
            self._n += 1
        try:
            yield
        finally:
            with self._cond:
                self._n -= 1
                self._cond.notify_all()

    def wait_idle(self, stop: threading.Event) -> None:
        """Return once no question is being answered (or `stop` is set)."""
        with self._cond:
            while self._n and not stop.is_set():
                self._cond.wait(1.0)

    def wake(self) -> None:
        """Wake every waiter (to notice a stop)."""
        with self._cond:
            self._cond.notify_all()


class LatentWarmer:
    """A thread that keeps the latent terms of the store's live passages on disk: a full pass once the
    store is open, then the passages of each new snapshot. It runs at the lowest CPU priority (Linux; the
    encoder threads it starts inherit it) and yields to every question of its process; when the disk
    would not keep the terms it waits longer each time (up to an hour) instead of computing in vain."""

    def __init__(self, store: Callable[[], PassageStore | None], inflight: InFlight, every: float):
        self.store, self.inflight, self.every = store, inflight, every
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread (once)."""
        with self._lock:
            if self.thread is None and not self.stop.is_set():
                thread = threading.Thread(target=self._run, name="khabar-latent", daemon=True)
                thread.start()
                self.thread = thread  # only a started thread is ever seen by close()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread and wait up to `timeout` s for it to end."""
        with self._lock:  # a start() racing this close either finished (joined below) or will not start
            self.stop.set()
            thread = self.thread
        self.inflight.wake()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        try:  # questions first: this thread and the encoder threads it starts run at the lowest priority
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):  # not Linux, or not allowed: the idle wait still applies
            pass
        done_gen, wait = None, self.every
        while not self.stop.is_set():
            try:
                # the store as questions opened it: this thread never opens or refreshes it, so the
                # threads those start (Chroma's, the refresh) do not inherit its low priority
                store = self.store()
                if store is None:
                    self.stop.wait(self.every)
                    continue
                keep = store.latents
                if keep is None:
                    return  # no sparse head: nothing to keep
                if store.generation != done_gen:  # nothing new since the last complete pass: no rescan
                    snap = store.snapshot()
                    n = warm_latents(snap, store.embedder, keep, stop=self.stop, latest=store.snapshot,
                                     wait_idle=lambda: self.inflight.wait_idle(self.stop))
                    if not self.stop.is_set():
                        done_gen = snap.generation
                    if n:
                        log.info("kept the latent terms of %d passages (%d in all)", n, keep.count())
                wait = self.every
            except LatentsNotKept as exc:
                wait = min(wait * 2, BACKOFF_MAX)
                log.warning("%s: trying again in %.0f s", exc.message("en"), wait)
            except Exception:  # noqa: BLE001 - no index yet, a store gone: questions compute the terms themselves
                log.info("could not keep latent terms", exc_info=True)
            self.stop.wait(wait)
