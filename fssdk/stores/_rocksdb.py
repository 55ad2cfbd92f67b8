"""RocksDB through rocksdict: the table layer, RocksDBStore and RocksDBBackend.

One database per state directory, one column family per store. :class:`RocksDBTable` is the
thin layer over a column family (get, seek and iterate, write a batch); everything above it is
:class:`~fssdk.stores._buffered.BufferedStore`. The bytes of every key come from
:data:`fssdk._keyformat.LAYOUT`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterator as PyIterator
from pathlib import Path
from typing import Any, Final

from rocksdict import Checkpoint, Options, Rdict, ReadOptions, WriteBatch

from fssdk import _keyformat as kf
from fssdk._errors import ClosedError, StoreInternalError, StoreIOError
from fssdk.stores._backend import Backend
from fssdk.stores._buffer import WriteBuffer
from fssdk.stores._buffered import BufferedStore
from fssdk.stores._table import Pair, Seek, Table, TableWriter
from fssdk.thresholds import threshold

_STORE_PREFIX: Final = "store:"
#: Deleted keys a seek of a table's shared (unbounded) reader skips before it gives up and
#: reads through an iterator bounded by the range's end (about 1 µs more than the shared seek,
#: which skips a tombstone in about 0.07 µs). Lowered to 1, most reads past a delete take it.
SKIPPABLE_KEYS: Final = threshold(__name__, "SKIPPABLE_KEYS", 64, smallest=1)


def _options() -> Any:
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.create_missing_column_families(True)
    return options


def _closed_get(key: bytes) -> bytes | None:
    raise ClosedError(f"read of {key!r} from a closed table")


class _Database:
    """The open rocksdict database: every batch goes through ``write``, which counts them.

    ``generation`` changes at each write, so a table may reuse an iterator until then;
    ``range_deletes`` counts the range deletes written (see :mod:`fssdk.stores._buffer`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rdict: Any = Rdict(str(path), _options())
        self.generation = 0
        self.range_deletes = 0

    def write(self, batch: Any) -> None:
        try:
            self.rdict.write(batch)
        finally:
            self.generation += 1


class _BatchWriter:
    """A :class:`~fssdk.stores._table.TableWriter` adding to a WriteBatch for one family.

    It makes the family the batch's default, so that ``put`` and ``delete`` are the batch's own
    methods (no Python frame per entry of a flush): a batch spanning families is filled by one
    writer after the other, each made just before it is used.
    """

    __slots__ = ("_batch", "_database", "_handle", "delete", "put")

    def __init__(self, batch: Any, handle: Any, database: _Database) -> None:
        self._batch = batch
        self._handle = handle
        self._database = database
        batch.set_default_column_family(handle)
        self.put: Callable[[bytes, bytes], None] = batch.put
        self.delete: Callable[[bytes], None] = batch.delete

    def delete_range(self, low: bytes, high: bytes) -> None:
        # WriteBatch.delete_range ignores the default column family: always pass it.
        self._batch.delete_range(low, high, self._handle)
        self._database.range_deletes += 1


class RocksDBTable(Table):
    """One column family as a :class:`~fssdk.stores._table.Table`.

    ``get`` is rocksdict's own method (one point lookup, no Python frame). ``run``
    reuses one iterator until the database is next written; ``scan`` and ``seeker`` open their
    own, which reads a snapshot.
    """

    def __init__(self, name: str, database: _Database | None, family: Any, handle: Any) -> None:
        self.name = name
        self._database = database
        self._family: Any = family
        self._handle: Any = handle
        self._reader: Any = None
        self._generation = -1
        self._closed = False
        self.get = family.get

    @classmethod
    def reading(cls, name: str, family: Any) -> RocksDBTable:
        """A table over a column family of a database opened read-only (``state inspect``)."""
        return cls(name, None, family, None)

    def run(self, low: bytes, high: bytes, limit: int | None = None) -> list[Pair]:
        """One seek of the table's reader, made anew once the database was written since the
        last (one frame: a queue's refill and a merged key's read are each one ``run``).

        The shared reader has no upper bound (an iterator per bound costs about 1 µs), so a
        seek into a range followed by deleted keys only would walk every tombstone up to the
        next live key, however far (polls and peeks of drained queues, after many were
        drained). It gives up after :data:`SKIPPABLE_KEYS` of them, and the run is made again
        with an iterator bounded by ``high``, which stops there.
        """
        if self._closed:
            raise ClosedError("read from a closed table")
        database = self._database
        generation = -1 if database is None else database.generation
        reader = self._reader
        if reader is None or self._generation != generation or generation < 0:
            options = ReadOptions()
            options.set_max_skippable_internal_keys(SKIPPABLE_KEYS)
            reader = self._reader = self._family.iter(options)
            self._generation = generation
        reader.seek(low)
        found: list[Pair] = []
        while reader.valid():
            key = reader.key()
            if key >= high:
                return found
            found.append((key, reader.value()))
            if limit is not None and len(found) >= limit:
                return found
            reader.next()
        try:
            reader.status()
        except Exception:  # "Incomplete: too many internal keys skipped"; a real error raises again
            return self._bounded_run(low, high, limit)
        return found

    def _bounded_run(self, low: bytes, high: bytes, limit: int | None) -> list[Pair]:
        """:meth:`run` through an iterator of its own, bounded by ``high``."""
        options = ReadOptions()
        options.set_iterate_upper_bound(high)
        reader = self._family.iter(options)
        reader.seek(low)
        found: list[Pair] = []
        while reader.valid() and (limit is None or len(found) < limit):
            found.append((reader.key(), reader.value()))
            reader.next()
        reader.status()
        return found

    def scan(self, low: bytes, high: bytes, reverse: bool = False) -> PyIterator[Pair]:
        options = ReadOptions()
        options.set_iterate_upper_bound(high)
        if reverse:
            items = self._family.items(backwards=True, from_key=high, read_opt=options)
            return _stop_below(self.name, items, low, options)
        return _kept(self.name, self._family.items(from_key=low, read_opt=options), options)

    def stream(self, low: bytes, high: bytes) -> tuple[PyIterator[Pair], object]:
        """rocksdict's iterator itself; the read options it points into are what to keep."""
        options = ReadOptions()
        options.set_iterate_upper_bound(high)
        return self._family.items(from_key=low, read_opt=options), options

    def seeker(self, high: bytes) -> Seek:
        return _Seeker(self.name, self._family, high)

    def writer(self, batch: Any) -> TableWriter:
        """A writer adding this family's writes to ``batch`` (one batch may span families)."""
        if self._closed or self._database is None:
            raise ClosedError("write to a closed or read-only table")
        return _BatchWriter(batch, self._handle, self._database)

    def write(self, fill: Callable[[TableWriter], None]) -> None:
        batch = WriteBatch(raw_mode=True)
        fill(self.writer(batch))
        assert self._database is not None
        self._database.write(batch)

    def close(self) -> None:
        """Drop the family, its handle and iterators, so that the database can close."""
        self._closed = True
        self._reader = self._family = self._handle = self._database = None
        self.get = _closed_get


class _Seeker:
    """``seek(low)``: the first entry at or after ``low`` below ``high``, of one snapshot."""

    __slots__ = ("_name", "_options", "_reader")

    def __init__(self, name: str, family: Any, high: bytes) -> None:
        self._name = name
        self._options = ReadOptions()  # held: the iterator points into its upper bound
        self._options.set_iterate_upper_bound(high)
        self._reader = family.iter(self._options)

    def __call__(self, low: bytes) -> Pair | None:
        reader = self._reader
        try:
            reader.seek(low)
            return (reader.key(), reader.value()) if reader.valid() else None
        except Exception as exc:  # rocksdict raises bare Exception for every engine error
            raise _scan_error(self._name, exc) from exc


def _scan_error(name: str, exc: Exception) -> StoreIOError:
    return StoreIOError(f"store {name!r}: scan failed: {exc}")


def _kept(name: str, items: Any, options: Any) -> PyIterator[Pair]:
    """``items``, holding ``options`` alive: rocksdict's iterator points into the upper bound it
    holds and reads freed memory once that is collected (seen as scans that stop early)."""
    try:
        yield from items
    except Exception as exc:  # rocksdict raises bare Exception for every engine error
        raise _scan_error(name, exc) from exc
    del options


def _stop_below(name: str, items: Any, low: bytes, options: Any) -> PyIterator[Pair]:
    try:
        for pair in items:
            if pair[0] < low:
                return
            yield pair
    except Exception as exc:  # rocksdict raises bare Exception for every engine error
        raise _scan_error(name, exc) from exc
    del options


class RocksDBStore(BufferedStore):
    """A durable Store: one column family of a :class:`~fssdk.runtime.RocksDBBackend`.

    Obtain it from the backend (``backend.store(name)``), not directly. Reads see buffered
    writes; ``flush`` (the backend's, or the automatic one every ``AUTO_FLUSH_WRITES`` writes)
    persists them atomically.
    """


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
        self._stores: dict[str, tuple[RocksDBStore, WriteBuffer, RocksDBTable]] = {}
        try:
            self._database = _Database(self.path)
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
        self._db: Any = self._database.rdict
        self._savepoint = False
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
        opened = self._stores.get(name)
        if opened is not None and not opened[0].closed:
            return opened[0]
        family = _STORE_PREFIX + name
        try:
            if family in Rdict.list_cf(str(self.path)):
                rdict = self._db.get_column_family(family)
            else:
                rdict = self._db.create_column_family(family, _options())
            handle = self._db.get_column_family_handle(family)
            table = RocksDBTable(name, self._database, rdict, handle)
            buffer = WriteBuffer(table)
        except Exception as exc:
            raise StoreIOError(f"store {name!r}: cannot open its column family: {exc}") from exc
        store = RocksDBStore(name, buffer)
        self._stores[name] = (store, buffer, table)
        if self._savepoint:
            buffer.savepoint()
        return store

    def store_names(self) -> list[str]:
        self._check_open("store_names")
        names = Rdict.list_cf(str(self.path))
        prefix = len(_STORE_PREFIX)
        return sorted(name[prefix:] for name in names if name.startswith(_STORE_PREFIX))

    def flush(self) -> None:
        """Write every store's buffered writes in one atomic batch."""
        self._check_open("flush")
        if self._savepoint:
            raise StoreInternalError(
                f"{self!r}: flush under a savepoint: release or roll it back first"
            )
        for store, buffer, _ in self._stores.values():
            if not store.closed:
                buffer.prepare()
        dirty = [
            (store, buffer, table)
            for store, buffer, table in self._stores.values()
            if buffer and not store.closed
        ]
        if not dirty:
            return
        batch = WriteBatch(raw_mode=True)
        try:
            for _, buffer, table in dirty:
                buffer.write_to(table.writer(batch))
            self._database.write(batch)
        except Exception as exc:
            names = ", ".join(repr(store.name) for store, _, _ in dirty)
            raise StoreIOError(f"stores {names}: flush failed: {exc}") from exc
        finally:
            del batch
        for _, buffer, _ in dirty:
            buffer.reset()

    def savepoint(self) -> None:
        self._check_open("savepoint")
        self._savepoint = True
        for _, buffer, _ in self._stores.values():
            buffer.savepoint()

    def rollback(self) -> None:
        self._savepoint = False
        for store, buffer, _ in self._stores.values():
            if buffer.rollback():
                store._rolled_back()

    def release(self) -> None:
        self._savepoint = False
        for store, buffer, _ in self._stores.values():
            try:
                buffer.release()
            except Exception as exc:
                store._failed("flush", None, exc)

    def close_stores(self) -> None:
        self.flush()
        for store, _, _ in self._stores.values():
            store.close()
        self._stores.clear()

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
        self.rollback()  # writes under a savepoint that was never released are not kept
        try:
            self.flush()
        finally:
            self._closed = True
            for store, _, _ in self._stores.values():
                store.close()
            self._stores.clear()
            self._close_db()
