"""BufferedStore: the Store contract over a Table, through a WriteBuffer.

Everything a durable backend needs above its table: argument checks, physical keys (through
:data:`fssdk._keyformat.LAYOUT`), the write buffer that reads go through, scans that merge the
buffer into the table's stream, and engine errors turned into ``StoreIOError``. A backend only
implements :class:`~fssdk.stores._table.Table`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator
from collections.abc import Iterable as PyIterable
from collections.abc import Iterator as PyIterator
from itertools import islice
from typing import Final, Generic, NoReturn, TypeVar

from fssdk._complex_key import ComplexKey
from fssdk._errors import SDKError, StoreIOError
from fssdk._keyformat import BASE_SUFFIX, LAYOUT, SIMPLE_TAG
from fssdk._store import Iterator, Pair, Store, StoreScopes
from fssdk.stores._buffer import KeyGroup, WriteBuffer
from fssdk.thresholds import threshold

K = TypeVar("K")
V = TypeVar("V")
A = TypeVar("A")
T = TypeVar("T")

_base_key: Final = LAYOUT.base_key
_simple_key: Final = LAYOUT.simple_key
_locate: Final = LAYOUT.locate
_scope_range: Final = LAYOUT.scope_range
_unescape: Final = LAYOUT.unescape
_user_key: Final = LAYOUT.user_key
_decode_pairs: Final = LAYOUT.decode_pairs
_chained: Final = itertools.chain.from_iterable
_BASE_TAIL: Final = len(BASE_SUFFIX)

#: Entries a typed scan (``StoreScopes.items``) reads and decodes ahead at first; each later
#: chunk is twice the one before, up to ``ITEMS_MOST_CHUNK``. Small, so that a loop that stops
#: early (the first entry, a short range) decodes little it does not use.
ITEMS_FIRST_CHUNK: Final = threshold(__name__, "ITEMS_FIRST_CHUNK", 16, smallest=1)
ITEMS_MOST_CHUNK: Final = threshold(__name__, "ITEMS_MOST_CHUNK", 256, smallest=2)


class BufferedStore(Store):
    """A Store whose writes wait in a :class:`WriteBuffer` until ``flush`` writes one batch.

    Reads (``get`` and every scan) see the buffered writes without flushing; the buffer flushes
    on its own every ``AUTO_FLUSH_WRITES`` writes.
    """

    def __init__(self, name: str, buffer: WriteBuffer) -> None:
        super().__init__(name)
        self._buffer = buffer
        self._table_get = buffer.table.get

    # -- plumbing ----------------------------------------------------------------------------

    def _failed(self, operation: str, key: bytes | None, exc: Exception) -> NoReturn:
        """Raise ``exc`` as ``StoreIOError`` when the engine raised it, else unchanged."""
        if type(exc) is not Exception:  # engines raise bare Exception; anything else is ours
            raise exc
        where = f" key {key!r}" if key is not None else ""
        raise StoreIOError(f"store {self.name!r}: {operation}{where} failed: {exc}") from exc

    def flush(self) -> None:
        """Write this store's buffered writes in one atomic batch."""
        self._check_open("flush")
        try:
            self._buffer.flush()
        except Exception as exc:
            self._failed("flush", None, exc)

    def _on_flush(self, write_pending: Callable[[], None]) -> bool:
        self._buffer.before_flush(write_pending)
        return True

    @property
    def in_savepoint(self) -> bool:
        return self._buffer.in_savepoint

    def close(self) -> None:
        """Write the buffered writes, then close; later calls raise ClosedError. Idempotent.

        Open scans end (a ``for`` loop over one raises ``ClosedError``) and the table is
        released, so the database can close while such loop objects are still referenced.
        """
        if self._closed:
            return
        try:
            self.flush()
        finally:
            super().close()
            self._buffer.table.close()
            self._table_get = self._buffer.table.get

    def _read(self, prefix: bytes, group: KeyGroup, physical: bytes) -> bytes | None:
        try:
            if not group.operands and prefix not in self._buffer.scopes:
                return self._table_get(physical)
            return self._buffer.get(prefix, group, physical)
        except Exception as exc:
            self._failed("get", physical, exc)

    def _locate(self, key: ComplexKey) -> tuple[bytes, KeyGroup, bytes]:
        group = self._buffer.group(key.key_group)
        prefix = LAYOUT.scope_of(group.head, key.key, key.namespace)
        return prefix, group, _base_key(prefix, key.user_key)

    def _buffer_put(
        self, operation: str, prefix: bytes, group: KeyGroup, physical: bytes, value: bytes | None
    ) -> None:
        try:
            self._buffer.put(prefix, group, physical, value)
        except Exception as exc:
            self._failed(operation, physical, exc)

    # -- simple keys -------------------------------------------------------------------------

    def _put_state(self, key: bytes, value: bytes) -> None:
        physical = _simple_key(key)
        try:
            self._buffer.put(SIMPLE_TAG, self._buffer.simple, physical, value)
        except Exception as exc:
            self._failed("put_state", physical, exc)

    def _get_state(self, key: bytes) -> bytes | None:
        return self._read(SIMPLE_TAG, self._buffer.simple, _simple_key(key))

    def _delete_state(self, key: bytes) -> None:
        self._buffer_put("delete_state", SIMPLE_TAG, self._buffer.simple, _simple_key(key), None)

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        low, high = LAYOUT.simple_range(start_inclusive, end_exclusive)
        key_of = LAYOUT.simple_key_of
        try:
            return [
                key_of(physical)
                for physical, _ in self._buffer.scan(SIMPLE_TAG, self._buffer.simple, low, high)
            ]
        except Exception as exc:
            self._failed("list_states", start_inclusive, exc)

    # -- complex keys: through the scope of the key ------------------------------------------

    def _put(self, key: ComplexKey, value: bytes) -> None:
        self._buffer_put("put", *self._locate(key), value)

    def _get(self, key: ComplexKey) -> bytes | None:
        return self._read(*self._locate(key))

    def _delete(self, key: ComplexKey) -> None:
        self._buffer_put("delete", *self._locate(key), None)

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        prefix, group, physical = self._locate(key)
        try:
            self._buffer.merge(prefix, group, physical, value)
        except Exception as exc:
            self._failed("merge", physical, exc)

    def _delete_prefix(self, key: ComplexKey) -> None:
        self._scopes(key.key_group).delete_prefix(key.key, key.namespace, key.user_key)

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        key_group, key, namespace, start = low
        return self._scopes(key_group)._pairs(key, namespace, start, end, reverse)

    def _scan_keys(self, key_group: bytes, namespace: bytes | None) -> Generator[bytes, None, None]:
        """A skip-scan: one seek per key past its entries (plus one into the namespace's scope
        when ``namespace`` is given), so memory and work do not grow with the entries per key."""
        try:
            return self._buffer.keys(self._buffer.group(key_group), namespace)
        except Exception as exc:
            self._failed("scan_keys", key_group, exc)

    def _scan_scopes(self, key_group: bytes) -> Generator[tuple[bytes, bytes], None, None]:
        """A skip-scan: one seek per scope."""
        try:
            return self._buffer.scope_keys(self._buffer.group(key_group))
        except Exception as exc:
            self._failed("scan_scopes", key_group, exc)

    def _scopes(self, key_group: bytes) -> _BufferedScopes:
        return _BufferedScopes(self, key_group)

    def _check(self) -> None:
        """Assert the write buffer's invariants (for stress tests and the conformance machines)."""
        self._buffer._check()


class _BufferedScopes(StoreScopes):
    """The scopes of one key group of a BufferedStore: the key group resolved once, each
    operation locating its entry with one :meth:`~fssdk._keyformat.Layout.locate`.

    ``get`` and ``put`` are the per-record path of keyed state, written out with no intermediate
    calls when the buffer holds nothing for the scope.
    """

    __slots__ = ("_group", "_head")

    def __init__(self, store: BufferedStore, key_group: bytes) -> None:
        super().__init__(store, key_group)
        group = store._buffer.group(key_group)
        self._group: Final = group
        self._head: Final = group.head

    def get(self, key: bytes, namespace: bytes, user_key: bytes) -> bytes | None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(user_key) is not bytes
            or store._closed
        ):
            store._reject("get", key=key, namespace=namespace, user_key=user_key)
        prefix, physical = _locate(self._head, key, namespace, user_key)
        group = self._group
        try:
            if not group.operands and prefix not in store._buffer.scopes:
                return store._table_get(physical)
            return store._buffer.get(prefix, group, physical)
        except Exception as exc:
            store._failed("get", physical, exc)

    def put(self, key: bytes, namespace: bytes, user_key: bytes, value: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(user_key) is not bytes
            or type(value) is not bytes
            or store._closed
        ):
            store._reject("put", key=key, namespace=namespace, user_key=user_key, value=value)
        prefix, physical = _locate(self._head, key, namespace, user_key)
        try:
            store._buffer.put(prefix, self._group, physical, value)
        except Exception as exc:
            store._failed("put", physical, exc)

    def compute(
        self,
        key: bytes,
        namespace: bytes,
        user_key: bytes,
        change: Callable[[bytes | None, A], bytes | None],
        arg: A,
    ) -> None:
        """:meth:`get` and :meth:`put` (or :meth:`delete`) of one entry, located once."""
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(user_key) is not bytes
            or store._closed
        ):
            store._reject("compute", key=key, namespace=namespace, user_key=user_key)
        prefix, physical = _locate(self._head, key, namespace, user_key)
        group = self._group
        buffer = store._buffer
        try:
            if not group.operands and prefix not in buffer.scopes:
                data = store._table_get(physical)
            else:
                data = buffer.get(prefix, group, physical)
        except Exception as exc:
            store._failed("get", physical, exc)
        value = change(data, arg)
        if (type(value) is not bytes and value is not None) or store._closed:
            store._reject("compute", value=b"" if value is None else value)
        try:
            buffer.put(prefix, group, physical, value)
        except Exception as exc:
            store._failed("compute", physical, exc)

    def delete(self, key: bytes, namespace: bytes, user_key: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(user_key) is not bytes
            or store._closed
        ):
            store._reject("delete", key=key, namespace=namespace, user_key=user_key)
        prefix, physical = _locate(self._head, key, namespace, user_key)
        try:
            store._buffer.put(prefix, self._group, physical, None)
        except Exception as exc:
            store._failed("delete", physical, exc)

    def merge(self, key: bytes, namespace: bytes, user_key: bytes, value: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(user_key) is not bytes
            or type(value) is not bytes
            or store._closed
        ):
            store._reject("merge", key=key, namespace=namespace, user_key=user_key, value=value)
        prefix, physical = _locate(self._head, key, namespace, user_key)
        try:
            store._buffer.merge(prefix, self._group, physical, value)
        except Exception as exc:
            store._failed("merge", physical, exc)

    def delete_prefix(self, key: bytes, namespace: bytes, prefix: bytes = b"") -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(prefix) is not bytes
            or store._closed
        ):
            store._reject("delete_prefix", key=key, namespace=namespace, prefix=prefix)
        scope, low = _locate(self._head, key, namespace, prefix)
        low = low[:-_BASE_TAIL]
        try:
            store._buffer.delete_prefix(scope, self._group, low)
        except Exception as exc:
            store._failed("delete_prefix", low, exc)

    def first(self, key: bytes, namespace: bytes, start: bytes = b"") -> Pair | None:
        """One bounded table read when the buffer holds nothing for the scope and the key group
        has no merge operands (a queue polled with no cursor); else the buffer's
        :meth:`~WriteBuffer.first`."""
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(start) is not bytes
            or store._closed
        ):
            store._reject("first", key=key, namespace=namespace, start=start)
        prefix, low, high = _scope_range(self._head, key, namespace, start)
        try:
            if self._group.operands or prefix in store._buffer.scopes:
                found = store._buffer.first(prefix, self._group, low, high)
            else:
                run = store._buffer.table.run(low, high, 1)
                found = run[0] if run else None
        except Exception as exc:
            store._failed("first", low, exc)
        if found is None:
            return None
        return _unescape(found[0][len(prefix) : -_BASE_TAIL]), found[1]

    def pop_first(
        self, key: bytes, namespace: bytes, read: Callable[[bytes], T], start: bytes = b""
    ) -> tuple[bytes, T] | None:
        """:meth:`first`, then the delete of the entry it found, by the physical key it read
        (not located again)."""
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(start) is not bytes
            or store._closed
        ):
            store._reject("pop_first", key=key, namespace=namespace, start=start)
        prefix, low, high = _scope_range(self._head, key, namespace, start)
        buffer = store._buffer
        try:
            if self._group.operands or prefix in buffer.scopes:
                found = buffer.first(prefix, self._group, low, high)
            else:
                run = buffer.table.run(low, high, 1)
                found = run[0] if run else None
        except Exception as exc:
            store._failed("pop_first", low, exc)
        if found is None:
            return None
        physical = found[0]
        user_key = _unescape(physical[len(prefix) : -_BASE_TAIL])
        result = read(user_key)
        if store._closed:
            store._reject("pop_first", key=key, namespace=namespace, start=start)
        try:
            buffer.put(prefix, self._group, physical, None)
        except Exception as exc:
            store._failed("pop_first", physical, exc)
        return user_key, result

    def take(self, key: bytes, namespace: bytes, limit: int, start: bytes = b"") -> list[Pair]:
        """One bounded table read when the buffer holds nothing for the scope and the key group
        has no merge operands; else the buffer's :meth:`~WriteBuffer.take` (one bounded read
        merged with the scope's few buffered keys)."""
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(start) is not bytes
            or store._closed
        ):
            store._reject("scan_complex", key=key, namespace=namespace, start=start)
        if limit <= 0:
            return super().take(key, namespace, limit, start)
        prefix, low, high = _scope_range(self._head, key, namespace, start)
        try:
            if self._group.operands or prefix in store._buffer.scopes:
                found = store._buffer.take(prefix, self._group, low, high, limit)
            else:
                found = store._buffer.table.run(low, high, limit)
        except Exception as exc:
            store._failed("scan_complex", low, exc)
        width = len(prefix)
        return [(_unescape(base[width:-_BASE_TAIL]), value) for base, value in found]

    def scan(
        self,
        key: bytes,
        namespace: bytes,
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> Iterator:
        store = self.store
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(start) is not bytes
            or type(end) is not bytes
            or store._closed
        ):
            store._reject("scan_complex", key=key, namespace=namespace, start=start, end=end)
        return store._track(Iterator(self._pairs(key, namespace, start, end, reverse)))

    def _pairs(
        self, key: bytes, namespace: bytes, start: bytes, end: bytes, reverse: bool
    ) -> PyIterator[Pair]:
        store: BufferedStore = self.store  # type: ignore[assignment]
        prefix = LAYOUT.scope_of(self._head, key, namespace)
        low, high = LAYOUT.user_range(prefix, start, end)
        try:
            stream = store._buffer.scan(prefix, self._group, low, high, reverse)
        except Exception as exc:
            store._failed("scan_complex", low, exc)
        return LAYOUT.user_pairs(stream, len(prefix))

    def items(
        self,
        key: bytes,
        namespace: bytes,
        decode_key: Callable[[bytes], K],
        decode_value: Callable[[bytes], V],
        undecodable: Callable[[bytes, bytes], tuple[K, V]],
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> PyIterator[tuple[K, V]]:
        """Straight from the engine's iterator, read and decoded a chunk at a time
        (:class:`_Decoded`), when the scope has nothing buffered and its key group no merge
        operands, the common case after a checkpoint; else over :meth:`scan`."""
        store: BufferedStore = self.store  # type: ignore[assignment]
        if (
            type(key) is not bytes
            or type(namespace) is not bytes
            or type(start) is not bytes
            or type(end) is not bytes
            or store._closed
        ):
            store._reject("scan_complex", key=key, namespace=namespace, start=start, end=end)
        prefix = LAYOUT.scope_of(self._head, key, namespace)
        if reverse or self._group.operands or prefix in store._buffer.scopes:
            return super().items(
                key,
                namespace,
                decode_key,
                decode_value,
                undecodable,
                start=start,
                end=end,
                reverse=reverse,
            )
        low, high = LAYOUT.user_range(prefix, start, end)
        decoded: _Decoded[K, V] = store._track(_Decoded(store, low, high))
        return _chained(decoded.chunks(len(prefix), decode_key, decode_value, undecodable))


class _Decoded(Generic[K, V]):
    """:meth:`_BufferedScopes.items` of a scope the buffer holds nothing for, straight from
    :meth:`Table.stream`, decoded a chunk at a time.

    :meth:`chunks` reads ``ITEMS_FIRST_CHUNK`` entries, then twice as many each time up to
    ``ITEMS_MOST_CHUNK``, and decodes each chunk in one comprehension; ``items`` hands them out
    through ``itertools.chain``, so an entry costs no Python frame besides its two decodes. The
    engine's iterator reads one snapshot, so reading ahead sees the same entries.

    The store tracks it as it tracks scans: closing the store releases the engine's iterator
    and drops the rest of the current chunk, and every later step raises ``ClosedError``.
    """

    __slots__ = ("__weakref__", "_chunk", "_items", "_keep", "_low", "_store")

    def __init__(self, store: BufferedStore, low: bytes, high: bytes) -> None:
        self._store = store
        self._low = low
        self._chunk: list[tuple[K, V]] = []
        try:
            self._items, self._keep = store._buffer.table.stream(low, high)
        except Exception as exc:
            store._failed("scan_complex", low, exc)

    def chunks(
        self,
        width: int,
        decode_key: Callable[[bytes], K],
        decode_value: Callable[[bytes], V],
        undecodable: Callable[[bytes, bytes], tuple[K, V]],
    ) -> Generator[PyIterable[tuple[K, V]], None, None]:
        """The decoded entries of the scope (its prefix ``width`` bytes long), chunk by chunk.

        A chunk where a decode raises is handed out an entry at a time, so that the entries
        before the failing one come out first, and ``undecodable`` (for a ``ValueError``; it may
        raise) or the decode's own error comes when the iteration reaches it.
        """
        size = ITEMS_FIRST_CHUNK
        while True:
            try:
                raw = list(islice(self._items, size))
            except SDKError as exc:  # the store closed: every later step raises it
                yield _Raising(exc)
                return
            except Exception as exc:
                self._store._failed("scan_complex", self._low, exc)
            if not raw:
                self._items = iter(())
                self._keep = None
                return
            try:
                chunk = _decode_pairs(raw, width, decode_key, decode_value)
            except Exception:  # redone one by one: it surfaces at its own entry
                for base, value in raw:
                    user_key = _user_key(base, width)
                    try:
                        pair = (decode_key(user_key), decode_value(value))
                    except ValueError:
                        pair = undecodable(user_key, value)
                    self._chunk = [pair]
                    yield self._chunk
                    if type(self._items) is _Raising:  # closed meanwhile: raise on the next step
                        break
                continue
            self._chunk = chunk
            yield chunk
            size = min(size * 2, ITEMS_MOST_CHUNK)

    def _invalidate(self, error: SDKError) -> None:
        """End the iteration because its store closed; later steps raise ``error``."""
        self._items = _Raising(error)
        self._keep = None
        self._chunk.clear()


class _Raising:
    """An iterator whose every step raises ``error`` (a closed store's)."""

    __slots__ = ("error",)

    def __init__(self, error: SDKError) -> None:
        self.error = error

    def __iter__(self) -> _Raising:
        return self

    def __next__(self) -> NoReturn:
        raise self.error
