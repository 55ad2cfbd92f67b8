"""RocksDBBackend: one RocksDB database per state directory, one column family per store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rocksdict import Checkpoint, Options, Rdict, WriteBatch

from fssdk import _keyformat as kf
from fssdk._errors import StoreIOError
from fssdk.runtime._backend import Backend
from fssdk.stores import RocksDBStore

_STORE_PREFIX = "store:"


def _options() -> Any:
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.create_missing_column_families(True)
    return options


class RocksDBBackend(Backend):
    """Durable stores in the RocksDB database at ``path`` (created if missing).

    Each store is a column family; ``flush`` writes every store's buffered writes in one atomic
    batch. A database written with another key-format version is refused, and so is a directory
    that another process has open.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as path:
    ...     with RocksDBBackend(path) as backend:
    ...         backend.store("counts").put_state(b"a", b"1")
    ...     with RocksDBBackend(path) as backend:
    ...         backend.store("counts").get_state(b"a")
    b'1'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._stores: dict[str, RocksDBStore] = {}
        try:
            self._db: Any = Rdict(str(self.path), _options())
        except Exception as exc:
            message = str(exc)
            if "lock" in message.lower():
                raise StoreIOError(
                    f"state directory {str(self.path)!r} is locked: another process (or another "
                    f"backend in this one) has it open ({message})"
                ) from exc
            raise StoreIOError(
                f"cannot open state directory {str(self.path)!r}: {message}"
            ) from exc
        self._check_format_version()

    def __repr__(self) -> str:
        return f"<RocksDBBackend {str(self.path)!r}>"

    def _check_format_version(self) -> None:
        version = self._db.get(kf.META_FORMAT_VERSION)
        if version is None:
            if any(name.startswith(_STORE_PREFIX) for name in Rdict.list_cf(str(self.path))):
                self._close_db()
                raise StoreIOError(
                    f"state directory {str(self.path)!r} has stores but no key-format version: "
                    "it was not written by fssdk"
                )
            self._db.put(kf.META_FORMAT_VERSION, str(kf.FORMAT_VERSION).encode())
        elif version != str(kf.FORMAT_VERSION).encode():
            self._close_db()
            raise StoreIOError(
                f"state directory {str(self.path)!r} uses key-format version "
                f"{version.decode(errors='replace')}; this fssdk reads version {kf.FORMAT_VERSION}"
            )

    def _store(self, name: str) -> RocksDBStore:
        store = self._stores.get(name)
        if store is None:
            family = _STORE_PREFIX + name
            try:
                if family in Rdict.list_cf(str(self.path)):
                    table = self._db.get_column_family(family)
                else:
                    table = self._db.create_column_family(family, _options())
                handle = self._db.get_column_family_handle(family)
            except Exception as exc:
                raise StoreIOError(f"store {name!r}: cannot open its column family: {exc}") from exc
            store = self._stores[name] = RocksDBStore(name, self, table, handle)
        return store

    def store_names(self) -> list[str]:
        self._check_open("store_names")
        names = Rdict.list_cf(str(self.path))
        prefix = len(_STORE_PREFIX)
        return sorted(name[prefix:] for name in names if name.startswith(_STORE_PREFIX))

    def _write(self, batch: Any) -> None:
        self._db.write(batch)

    def flush(self) -> None:
        """Write every store's buffered writes in one atomic batch."""
        self._check_open("flush")
        dirty = [store for store in self._stores.values() if store._pending]
        if not dirty:
            return
        batch = WriteBatch(raw_mode=True)
        for store in dirty:
            store._drain_into(batch)
        try:
            self._db.write(batch)
        except Exception as exc:
            names = ", ".join(repr(store.name) for store in dirty)
            raise StoreIOError(f"stores {names}: flush failed: {exc}") from exc
        finally:
            del batch
        for store in dirty:
            store._after_write()

    def checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Flush, then write a consistent copy of the database to ``path`` (hard links)."""
        self.flush()
        try:
            Checkpoint(self._db).create_checkpoint(str(path))
        except Exception as exc:
            raise StoreIOError(f"checkpoint to {str(path)!r} failed: {exc}") from exc

    def _close_db(self) -> None:
        self._db.close()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            for store in self._stores.values():
                store.close()
            self._stores.clear()
            self._close_db()
