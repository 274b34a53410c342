"""Chroma access: the client (embedded or server), the passage collection, and a fresh client for
embedded stores that must see other processes' writes."""
from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import IndexMissing, StoreUnavailable
from .settings import IndexSettings

SCHEMA = "2"


def open_client(settings: IndexSettings) -> Any:
    """A Chroma client: HttpClient when KHABAR_CHROMA_URL is set, else PersistentClient in the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            u = urlparse(settings.chroma_url)
            return chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000,
                                       ssl=u.scheme == "https", settings=chroma_settings)
        path = Path(settings.data_dir) / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # noqa: BLE001 - connection and file errors alike
        where = settings.chroma_url or str(settings.data_dir)
        raise StoreUnavailable(f"{where}: {exc}") from exc


@contextlib.contextmanager
def opening(settings: IndexSettings) -> Iterator[None]:
    """Held while a process opens an embedded store: Chroma's first open of a new directory creates
    its database and collections, and three processes doing it at once failed with "database is
    locked" (or created a collection twice); one at a time, each finds what the first one made."""
    if settings.chroma_url:
        yield
        return
    lock = Path(settings.data_dir) / "chroma.lock"
    with contextlib.suppress(OSError):  # a directory that cannot be made: no lock file either (below)
        lock.parent.mkdir(parents=True, exist_ok=True)
    fd = None
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):  # flock needs no write access
        try:
            fd = os.open(lock, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
            break
        except OSError:
            continue
    if fd is None:  # a read-only directory without the file: nobody can be creating a store in it
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def open_collection(client: Any, name: str, embedder_name: str, create: bool, where: str) -> Any:
    """The collection `name` (finishing an interrupted rebuild's rename); created when `create`, else
    IndexMissing naming `where`."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - server down, corrupt files
        raise StoreUnavailable(str(exc)) from exc
    # a rebuild that was interrupted after dropping the old collection: finish the rename
    try:
        staged = client.get_collection(name + "-rebuild", embedding_function=None)
        staged.modify(name=name)
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        pass
    if not create:
        raise IndexMissing(where)
    try:
        return client.create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
            metadata={"khabar_embedder": embedder_name, "khabar_schema": SCHEMA})
    except Exception:  # noqa: BLE001 - another client of the server created it first: use that one
        try:
            return client.get_collection(name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001
            raise StoreUnavailable(str(exc)) from exc


def fresh_client(client: Any, settings: IndexSettings) -> Any:
    """A new client for the same store whose embedded system is loaded afresh from disk (the old
    one keeps its in-memory vector index, which misses other processes' passages)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    # private registry of one system per path: dropping this path's entry makes the next
    # PersistentClient load a new system (clearing the whole cache would break other stores)
    ident: str = getattr(client, "_identifier", "")
    SharedSystemClient._identifier_to_system.pop(ident, None)
    SharedSystemClient._identifier_to_refcount.pop(ident, None)
    return open_client(settings)
