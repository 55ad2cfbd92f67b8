"""BufferedStore: the Store contract over a Table, through a WriteBuffer.

Everything a durable backend needs above its table: argument checks, physical keys (through
:data:`fssdk._keyformat.LAYOUT`), the write buffer that reads go through, scans that merge the
buffer into the table's stream, and engine errors turned into ``StoreIOError``. A backend only
implements :class:`~fssdk.stores._table.Table`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from collections.abc import Iterator as PyIterator
from typing import Final, NoReturn

from fssdk._complex_key import ComplexKey
from fssdk._errors import StoreIOError
from fssdk._keyformat import LAYOUT, SIMPLE_TAG
from fssdk._store import Iterator, Pair, Store, StoreScope
from fssdk.stores._buffer import KeyGroup, WriteBuffer

_base_key: Final = LAYOUT.base_key
_simple_key: Final = LAYOUT.simple_key
_successor: Final = LAYOUT.successor


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
        self._buffer_put("put_state", SIMPLE_TAG, self._buffer.simple, _simple_key(key), value)

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
        self._scope(*key.scope)._clear(key.user_key)

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        key_group, key, namespace, start = low
        return self._scope(key_group, key, namespace)._pairs(start, end, reverse)

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

    def _scope(self, key_group: bytes, key: bytes, namespace: bytes) -> _BufferedScope:
        return _scope_of(self, key_group, self._buffer.group(key_group), key, namespace)

    def _scopes(self, key_group: bytes) -> Callable[[bytes, bytes], StoreScope]:
        return functools.partial(_scope_of, self, key_group, self._buffer.group(key_group))

    def _check(self) -> None:
        """Assert the write buffer's invariants (for stress tests and the conformance machines)."""
        self._buffer._check()


class _BufferedScope(StoreScope):
    """A scope of a BufferedStore: prefix and key group resolved once, user keys appended."""

    __slots__ = ("_group", "_prefix")
    _prefix: bytes
    _group: KeyGroup

    # Made by _scope_of, not __init__. get and put are the per-record path of keyed state:
    # written out with no intermediate calls when the buffer holds nothing for the scope.
    def get(self, user_key: bytes) -> bytes | None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if type(user_key) is not bytes or store._closed:
            store._reject("get", user_key=user_key)
        physical = _base_key(self._prefix, user_key)
        group = self._group
        try:
            if not group.operands and self._prefix not in store._buffer.scopes:
                return store._table_get(physical)
            return store._buffer.get(self._prefix, group, physical)
        except Exception as exc:
            store._failed("get", physical, exc)

    def put(self, user_key: bytes, value: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if type(user_key) is not bytes or type(value) is not bytes or store._closed:
            store._reject("put", user_key=user_key, value=value)
        physical = _base_key(self._prefix, user_key)
        try:
            store._buffer.put(self._prefix, self._group, physical, value)
        except Exception as exc:
            store._failed("put", physical, exc)

    def delete(self, user_key: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if type(user_key) is not bytes or store._closed:
            store._reject("delete", user_key=user_key)
        store._buffer_put(
            "delete", self._prefix, self._group, _base_key(self._prefix, user_key), None
        )

    def merge(self, user_key: bytes, value: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if type(user_key) is not bytes or type(value) is not bytes or store._closed:
            store._reject("merge", user_key=user_key, value=value)
        physical = _base_key(self._prefix, user_key)
        try:
            store._buffer.merge(self._prefix, self._group, physical, value)
        except Exception as exc:
            store._failed("merge", physical, exc)

    def delete_prefix(self, prefix: bytes = b"") -> None:
        store = self.store
        if type(prefix) is not bytes or store._closed:
            store._reject("delete_prefix", prefix=prefix)
        self._clear(prefix)

    def _clear(self, prefix: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        low = LAYOUT.user_prefix(self._prefix, prefix)
        try:
            store._buffer.delete_prefix(self._prefix, self._group, low)
        except Exception as exc:
            store._failed("delete_prefix", low, exc)

    def first(self, start: bytes = b"") -> Pair | None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        if type(start) is not bytes or store._closed:
            store._reject("first", start=start)
        low, high = LAYOUT.user_range(self._prefix, start, b"")
        try:
            found = store._buffer.first(self._prefix, self._group, low, high)
        except Exception as exc:
            store._failed("first", low, exc)
        if found is None:
            return None
        return LAYOUT.user_key(found[0], len(self._prefix)), found[1]

    def scan(self, *, start: bytes = b"", end: bytes = b"", reverse: bool = False) -> Iterator:
        store = self.store
        if type(start) is not bytes or type(end) is not bytes or store._closed:
            store._reject("scan_complex", start=start, end=end)
        return store._track(Iterator(self._pairs(start, end, reverse)))

    def _pairs(self, start: bytes, end: bytes, reverse: bool) -> PyIterator[Pair]:
        store: BufferedStore = self.store  # type: ignore[assignment]
        low, high = LAYOUT.user_range(self._prefix, start, end)
        try:
            stream = store._buffer.scan(self._prefix, self._group, low, high, reverse)
        except Exception as exc:
            store._failed("scan_complex", low, exc)
        return LAYOUT.user_pairs(stream, len(self._prefix))


def _scope_of(
    store: BufferedStore, key_group: bytes, group: KeyGroup, key: bytes, namespace: bytes
) -> _BufferedScope:
    """``store.scope(key_group, key, namespace)`` with the key group resolved to ``group``
    already: the per-record path of keyed state."""
    if type(key) is not bytes or type(namespace) is not bytes or store._closed:
        store._reject("scope", key_group=key_group, key=key, namespace=namespace)
    scope = _new_scope(_BufferedScope)
    scope.store = store
    scope.key_group = key_group
    scope.key = key
    scope.namespace = namespace
    scope._group = group
    scope._prefix = LAYOUT.scope_of(group.head, key, namespace)
    return scope


_new_scope: Final = object.__new__
