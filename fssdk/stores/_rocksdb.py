"""RocksDBStore: a Store over one RocksDB column family (rocksdict, raw mode).

Writes go to an in-memory write buffer (``_pending``: physical key -> value, ``None`` for a
delete, or a :class:`_Merge`) that reads consult first and that is written in one atomic
``WriteBatch`` on flush. RocksDB only changes at those flushes, which lets reads reuse one
iterator between them.

``merge`` never reads: in the buffer it appends to a list, and a flush writes the list as one
*operand* entry placed right after the key's base entry (see :mod:`fssdk._keyformat`). Reads fold
the base and its operands; when the operands outgrow the base, the read writes the folded value
back and the next flush range-deletes the operands, so each byte is rewritten O(1) times. Until a
store's first operand is written, it has no operands to look for and ``get`` is one point lookup.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from collections.abc import Iterator as PyIterator
from typing import TYPE_CHECKING, Any, Final, TypeVar

from rocksdict import ReadOptions, WriteBatch

from fssdk import _keyformat as kf
from fssdk._complex_key import ComplexKey
from fssdk._errors import StoreIOError
from fssdk._store import Iterator, Pair, Store, StoreScope, check_bytes, check_complex_key

if TYPE_CHECKING:
    from fssdk.runtime._rocksdb_backend import RocksDBBackend

T = TypeVar("T")

#: Buffered writes (merge operands included) after which a store flushes on its own.
AUTO_FLUSH_WRITES: Final = 32_768

_MISSING: Final = object()
_KEEP: Final = object()


class _Merge:
    """Buffered appends to one key: ``base`` is the value they go onto.

    ``base`` is ``_KEEP`` (whatever the database holds), ``None`` (deleted in this buffer) or the
    bytes put in this buffer.
    """

    __slots__ = ("base", "operands")

    def __init__(self, base: object, operand: bytes) -> None:
        self.base = base
        self.operands = [operand]


class RocksDBStore(Store):
    """A durable Store: one column family of a :class:`~fssdk.runtime.RocksDBBackend`.

    Obtain it from the backend (``backend.store(name)``), not directly. Reads see buffered
    writes; ``flush`` (the backend's, or the automatic one every ``AUTO_FLUSH_WRITES`` writes)
    persists them atomically. ``scan_complex``, ``list_*`` and ``delete_prefix`` flush this store
    first, then work on RocksDB directly with iterator bounds.
    """

    def __init__(self, name: str, backend: RocksDBBackend, table: Any, handle: Any) -> None:
        super().__init__(name)
        self._backend = backend
        self._table: Any = table
        self._handle: Any = handle
        self._pending: dict[bytes, object] = {}
        self._writes = 0
        self._reader: Any = None
        seq = self._io("open", kf.META_MERGE_SEQ, lambda: table.get(kf.META_MERGE_SEQ))
        self._has_operands = seq is not None
        self._merge_seq = int.from_bytes(seq, "big") if seq is not None else 0

    # -- plumbing ----------------------------------------------------------------------------

    def _io(self, operation: str, key: bytes | None, call: Callable[[], T]) -> T:
        """Run one rocksdict call, translating its failures into ``StoreIOError``."""
        try:
            return call()
        except Exception as exc:  # rocksdict raises bare Exception for every engine error
            raise self._io_error(operation, key, exc) from exc

    def _io_error(self, operation: str, key: bytes | None, exc: Exception) -> StoreIOError:
        where = f" key {key!r}" if key is not None else ""
        return StoreIOError(f"store {self.name!r}: {operation}{where} failed: {exc}")

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes >= AUTO_FLUSH_WRITES:
            self.flush()

    def flush(self) -> None:
        """Write this store's buffer to RocksDB in one batch."""
        self._check_open("flush")
        if self._pending:
            batch = WriteBatch(raw_mode=True)
            self._drain_into(batch)
            self._io("flush", None, lambda: self._backend._write(batch))
            self._after_write()

    def _drain_into(self, batch: Any) -> None:
        """Add the buffered writes to ``batch`` (the caller writes it, then calls _after_write)."""
        handle = self._handle
        operands_written = False
        for physical, pending in self._pending.items():
            value = pending
            if type(pending) is _Merge:
                operand = b"".join(pending.operands)
                if pending.base is _KEEP:
                    self._merge_seq += 1
                    batch.put(kf.operand_after(physical, self._merge_seq), operand, handle)
                    operands_written = True
                    continue
                value = (pending.base or b"") + operand  # type: ignore[operator]
            if self._has_operands and physical[0] == kf.COMPLEX_TAG[0]:
                self._clear_operands(batch, physical)
            if value is None:
                batch.delete(physical, handle)
            else:
                batch.put(physical, value, handle)
        if operands_written:
            self._has_operands = True
            batch.put(kf.META_MERGE_SEQ, self._merge_seq.to_bytes(8, "big"), handle)

    def _clear_operands(self, batch: Any, physical: bytes) -> None:
        start, end = kf.operands_of(physical)
        reader = self._fresh_reader()
        reader.seek(start)
        if reader.valid() and reader.key().startswith(start):
            batch.delete_range(start, end, self._handle)

    def _after_write(self) -> None:
        self._pending = {}
        self._writes = 0
        self._reader = None

    def _fresh_reader(self) -> Any:
        reader = self._reader
        if reader is None:
            reader = self._reader = self._io("read", None, self._table.iter)
        return reader

    def close(self) -> None:
        """Write the buffered writes, then close; later calls raise ClosedError. Idempotent.

        Closing the backend flushes every store first; a store closed on its own flushes itself,
        so that nothing it accepted is lost.
        """
        try:
            if self._pending and not self._closed:
                self.flush()
        finally:
            super().close()
            self._pending = {}
            self._reader = self._table = self._handle = None

    # -- the physical operations that public methods and scopes share ------------------------

    def _put(self, physical: bytes, value: bytes | None) -> None:
        self._pending[physical] = value
        self._wrote()

    def _merge(self, physical: bytes, value: bytes) -> None:
        pending = self._pending.get(physical, _KEEP)
        if type(pending) is _Merge:
            pending.operands.append(value)
        else:
            self._pending[physical] = _Merge(pending, value)
        self._wrote()

    def _get(self, physical: bytes) -> bytes | None:
        pending = self._pending.get(physical, _MISSING)
        if pending is _MISSING:
            if self._has_operands:
                return self._io("get", physical, lambda: self._read_folded(physical))
            try:
                value: bytes | None = self._table.get(physical)
            except Exception as exc:  # rocksdict raises bare Exception for every engine error
                raise self._io_error("get", physical, exc) from exc
            return value
        if type(pending) is not _Merge:
            return pending  # type: ignore[return-value]
        base = self._read(physical) if pending.base is _KEEP else pending.base
        return (base or b"") + b"".join(pending.operands)  # type: ignore[no-any-return,operator]

    def _read(self, physical: bytes) -> bytes | None:
        if not self._has_operands:
            value: bytes | None = self._io("get", physical, lambda: self._table.get(physical))
            return value
        return self._io("get", physical, lambda: self._read_folded(physical))

    def _read_folded(self, physical: bytes) -> bytes | None:
        reader = self._fresh_reader()
        reader.seek(physical)
        if not reader.valid():
            return None
        key = reader.key()
        base: bytes | None = None
        if key == physical:
            base = reader.value()
            reader.next()
            if not reader.valid():
                return base
            key = reader.key()
        operand_prefix = kf.operands_of(physical)[0]
        if not key.startswith(operand_prefix):
            return base
        parts = [base or b""]
        while reader.valid() and reader.key().startswith(operand_prefix):
            parts.append(reader.value())
            reader.next()
        value = b"".join(parts)
        if len(value) > 2 * len(parts[0]) and physical not in self._pending:
            self._put(physical, value)  # fold: operands outgrew the base
        return value

    def _scan(self, low: bytes, high: bytes, prefix_length: int, reverse: bool) -> PyIterator[Pair]:
        self.flush()
        options = ReadOptions()
        options.set_iterate_upper_bound(high)
        if reverse:
            items = self._table.items(backwards=True, from_key=high, read_opt=options)
            items = _stop_below(items, low)
        else:
            items = self._table.items(from_key=low, read_opt=options)
        if self._has_operands:
            return _fold_operands(self, items, prefix_length, reverse, options)
        return _plain(self, items, prefix_length, options)

    # -- simple keys -------------------------------------------------------------------------

    def put_state(self, key: bytes, value: bytes) -> None:
        if type(key) is not bytes or type(value) is not bytes:
            check_bytes(key, "key", "put_state")
            check_bytes(value, "value", "put_state")
        if self._closed:
            self._check_open("put_state")
        self._pending[b"\x01" + key] = value
        self._writes += 1
        if self._writes >= AUTO_FLUSH_WRITES:
            self.flush()

    def get_state(self, key: bytes) -> bytes | None:
        if type(key) is not bytes:
            check_bytes(key, "key", "get_state")
        if self._closed:
            self._check_open("get_state")
        physical = b"\x01" + key
        pending = self._pending.get(physical, _MISSING)
        if pending is not _MISSING:
            return pending  # type: ignore[return-value]
        try:
            value: bytes | None = self._table.get(physical)
        except Exception as exc:  # rocksdict raises bare Exception for every engine error
            raise self._io_error("get_state", key, exc) from exc
        return value

    def delete_state(self, key: bytes) -> None:
        check_bytes(key, "key", "delete_state")
        self._check_open("delete_state")
        self._put(kf.SIMPLE_TAG + key, None)

    def list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        check_bytes(start_inclusive, "start_inclusive", "list_states")
        check_bytes(end_exclusive, "end_exclusive", "list_states")
        self._check_open("list_states")
        self.flush()
        high = kf.SIMPLE_TAG + end_exclusive if end_exclusive else kf.successor(kf.SIMPLE_TAG)
        options = ReadOptions()
        options.set_iterate_upper_bound(high)
        keys = self._io(
            "list_states",
            start_inclusive,
            lambda: list(
                self._table.keys(from_key=kf.SIMPLE_TAG + start_inclusive, read_opt=options)
            ),
        )
        return [key[1:] for key in keys]

    # -- complex keys ------------------------------------------------------------------------

    def put(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "put")
        check_bytes(value, "value", "put")
        self._check_open("put")
        self._put(kf.complex_key(*key), value)

    def get(self, key: ComplexKey) -> bytes | None:
        check_complex_key(key, "get")
        if self._closed:
            self._check_open("get")
        physical = kf.complex_key(*key)
        if self._has_operands or physical in self._pending:
            return self._get(physical)
        try:
            value: bytes | None = self._table.get(physical)
        except Exception as exc:  # rocksdict raises bare Exception for every engine error
            raise self._io_error("get", physical, exc) from exc
        return value

    def delete(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete")
        self._check_open("delete")
        self._put(kf.complex_key(*key), None)

    def merge(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "merge")
        check_bytes(value, "value", "merge")
        self._check_open("merge")
        self._merge(kf.complex_key(*key), value)

    def delete_prefix(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete_prefix")
        self._check_open("delete_prefix")
        self._delete_range(kf.scope_prefix(*key.scope) + kf.escape(key.user_key))

    def _delete_range(self, low: bytes) -> None:
        self.flush()
        batch = WriteBatch(raw_mode=True)
        batch.delete_range(low, kf.successor(low), self._handle)
        self._io("delete_prefix", low, lambda: self._backend._write(batch))
        self._after_write()

    def scan_complex(
        self,
        key_group: bytes,
        key: bytes,
        namespace: bytes,
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> Iterator:
        self._check_scope_args(key_group, key, namespace, "scan_complex")
        return self.scope(key_group, key, namespace).scan(
            start=start, end=end, reverse=reverse
        )

    def scope(self, key_group: bytes, key: bytes, namespace: bytes) -> StoreScope:
        if type(key_group) is not bytes:
            self._check_scope_args(key_group, key, namespace, "scope")
        head = kf.group_head(key_group)
        return _scope_of(self, key_group, head, key, namespace)

    def scopes(self, key_group: bytes) -> Callable[[bytes, bytes], StoreScope]:
        check_bytes(key_group, "key_group", "scopes")
        self._check_open("scopes")
        head = kf.group_head(key_group)
        return functools.partial(_scope_of, self, key_group, head)

    def _check(self) -> None:
        """Assert the write buffer's invariants (for stress tests and the conformance machines)."""
        for physical, pending in self._pending.items():
            assert physical[:1] in (kf.SIMPLE_TAG, kf.COMPLEX_TAG), physical
            if physical[:1] == kf.COMPLEX_TAG:
                assert physical.endswith(kf.BASE_SUFFIX), physical
            if type(pending) is _Merge:
                assert pending.operands
                assert all(type(op) is bytes for op in pending.operands)
                assert pending.base is _KEEP or pending.base is None or type(pending.base) is bytes
            else:
                assert pending is None or type(pending) is bytes


class _RocksDBScope(StoreScope):
    """A scope of a RocksDBStore that encodes its prefix once and appends escaped user keys."""

    __slots__ = ("_prefix",)
    _prefix: bytes

    # Made by _scope_of, not __init__; get is the per-record read of keyed state, written out
    # in full with no intermediate calls.
    def get(self, user_key: bytes) -> bytes | None:
        store: RocksDBStore = self.store  # type: ignore[assignment]
        if type(user_key) is not bytes:
            check_bytes(user_key, "user_key", "get")
        if store._closed:
            store._check_open("get")
        if 0 in user_key:
            user_key = user_key.replace(b"\x00", b"\x00\xff")
        physical = self._prefix + user_key + b"\x00\x01"
        if store._has_operands or physical in store._pending:
            return store._get(physical)
        try:
            value: bytes | None = store._table.get(physical)
        except Exception as exc:  # rocksdict raises bare Exception for every engine error
            raise store._io_error("get", physical, exc) from exc
        return value

    def put(self, user_key: bytes, value: bytes) -> None:
        store: RocksDBStore = self.store  # type: ignore[assignment]
        if type(user_key) is not bytes or type(value) is not bytes:
            check_bytes(user_key, "user_key", "put")
            check_bytes(value, "value", "put")
        if store._closed:
            store._check_open("put")
        if 0 in user_key:
            user_key = user_key.replace(b"\x00", b"\x00\xff")
        store._pending[self._prefix + user_key + b"\x00\x01"] = value
        store._writes += 1
        if store._writes >= AUTO_FLUSH_WRITES:
            store.flush()

    def delete(self, user_key: bytes) -> None:
        store: RocksDBStore = self.store  # type: ignore[assignment]
        check_bytes(user_key, "user_key", "delete")
        store._check_open("delete")
        store._put(self._prefix + kf.escape(user_key) + kf.BASE_SUFFIX, None)

    def merge(self, user_key: bytes, value: bytes) -> None:
        store: RocksDBStore = self.store  # type: ignore[assignment]
        check_bytes(user_key, "user_key", "merge")
        check_bytes(value, "value", "merge")
        store._check_open("merge")
        store._merge(self._prefix + kf.escape(user_key) + kf.BASE_SUFFIX, value)

    def delete_prefix(self, prefix: bytes = b"") -> None:
        store: RocksDBStore = self.store  # type: ignore[assignment]
        check_bytes(prefix, "prefix", "delete_prefix")
        store._check_open("delete_prefix")
        store._delete_range(self._prefix + kf.escape(prefix))

    def first(self, start: bytes = b"") -> Pair | None:
        store: RocksDBStore = self.store  # type: ignore[assignment]
        check_bytes(start, "start", "first")
        store._check_open("first")
        if store._pending:
            store.flush()
        low = self._prefix + kf.escape(start)
        return store._io("first", low, lambda: _first_pair(store, self._prefix, low))

    def scan(self, *, start: bytes = b"", end: bytes = b"", reverse: bool = False) -> Iterator:
        store: RocksDBStore = self.store  # type: ignore[assignment]
        check_bytes(start, "start", "scan_complex")
        check_bytes(end, "end", "scan_complex")
        store._check_open("scan_complex")
        low = self._prefix + kf.escape(start)
        high = self._prefix + kf.escape(end) if end else kf.successor(self._prefix)
        pairs = store._io(
            "scan_complex", self._prefix, lambda: store._scan(low, high, len(self._prefix), reverse)
        )
        return store._track(Iterator(pairs))


def _scope_of(
    store: RocksDBStore, key_group: bytes, head: bytes, key: bytes, namespace: bytes
) -> _RocksDBScope:
    """``store.scope(key_group, key, namespace)`` with the key group checked and encoded as
    ``head`` already: the per-record path of keyed state."""
    if type(key) is not bytes or type(namespace) is not bytes:
        store._check_scope_args(key_group, key, namespace, "scope")
    if store._closed:
        store._check_open("scope")
    scope = _new_scope(_RocksDBScope)
    scope.store = store
    scope.key_group = key_group
    scope.key = key
    scope.namespace = namespace
    if 0 in key or 0 in namespace:
        key, namespace = kf.escape(key), kf.escape(namespace)
    scope._prefix = b"".join((head, key, b"\x00\x01", namespace, b"\x00\x01"))
    return scope


_new_scope: Final = object.__new__


def _first_pair(store: RocksDBStore, prefix: bytes, low: bytes) -> Pair | None:
    """The first ``(user_key, value)`` at or after ``low`` in the scope of ``prefix``; one seek."""
    reader = store._fresh_reader()
    reader.seek(low)
    if not reader.valid():
        return None
    key = reader.key()
    if not key.startswith(prefix):
        return None
    length = len(prefix)
    if not store._has_operands:
        user_key = key[length:-2]
        return (kf.unescape(user_key) if 0 in user_key else user_key), reader.value()
    tail = 2 if key[-1] == 1 else kf.OPERAND_TAIL
    escaped = key[length:-tail]
    parts = [reader.value()]
    reader.next()
    operands = prefix + escaped + kf.OPERAND_INFIX
    while reader.valid() and reader.key().startswith(operands):
        parts.append(reader.value())
        reader.next()
    return kf.unescape(escaped), b"".join(parts)


def _stop_below(items: Iterable[Pair], low: bytes) -> PyIterator[Pair]:
    for pair in items:
        if pair[0] < low:
            return
        yield pair


def _plain(
    store: RocksDBStore, items: Iterable[Pair], prefix_length: int, options: Any
) -> PyIterator[Pair]:
    """``(user_key, value)`` of a store without merge operands.

    ``options`` is held only to keep it alive: rocksdict's iterator points into the upper bound
    it holds, and reads freed memory once it is collected (seen as scans that stop early).
    """
    try:
        for key, value in items:
            user_key = key[prefix_length:-2]
            yield (user_key.replace(b"\x00\xff", b"\x00") if 0 in user_key else user_key), value
    except Exception as exc:  # rocksdict raises bare Exception for every engine error
        raise store._io_error("scan_complex", None, exc) from exc
    del options


def _fold_operands(
    store: RocksDBStore, items: Iterable[Pair], prefix_length: int, reverse: bool, options: Any
) -> PyIterator[Pair]:
    """Turn a run of base and operand entries into one ``(user_key, folded value)`` per key.

    ``options`` is held to keep the iterator's bounds alive (see ``_plain``).
    """
    current: bytes | None = None
    parts: list[bytes] = []
    try:
        for key, value in items:
            tail = 2 if key[-1] == 1 else kf.OPERAND_TAIL
            escaped = key[prefix_length:-tail]
            if escaped != current:
                if current is not None:
                    yield kf.unescape(current), b"".join(reversed(parts) if reverse else parts)
                current, parts = escaped, []
            parts.append(value)
    except Exception as exc:  # rocksdict raises bare Exception for every engine error
        raise store._io_error("scan_complex", None, exc) from exc
    if current is not None:
        yield kf.unescape(current), b"".join(reversed(parts) if reverse else parts)
    del options
