"""BufferedStore: the Store contract over a Table, through a WriteBuffer.

Everything a durable backend needs above its table: argument checks, physical keys (through
:data:`fssdk._keyformat.LAYOUT`), the write buffer that reads go through, scans that merge the
buffer into the table's stream, and engine errors turned into ``StoreIOError``. A backend only
implements :class:`~fssdk.stores._table.Table`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Iterator as PyIterator
from typing import Final, NoReturn

from fssdk._complex_key import ComplexKey
from fssdk._errors import StoreIOError
from fssdk._keyformat import LAYOUT, SIMPLE_TAG
from fssdk._store import Iterator, Pair, Store, StoreScope, check_bytes, check_complex_key
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

    def _write(self, operation: str, key: bytes, write: Callable[[], None]) -> None:
        try:
            write()
        except Exception as exc:
            self._failed(operation, key, exc)

    def _get(self, prefix: bytes, group: KeyGroup, physical: bytes) -> bytes | None:
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

    # -- simple keys -------------------------------------------------------------------------

    def put_state(self, key: bytes, value: bytes) -> None:
        if type(key) is not bytes or type(value) is not bytes:
            check_bytes(key, "key", "put_state")
            check_bytes(value, "value", "put_state")
        if self._closed:
            self._check_open("put_state")
        buffer = self._buffer
        try:
            buffer.put(SIMPLE_TAG, buffer.simple, _simple_key(key), value)
        except Exception as exc:
            self._failed("put_state", key, exc)

    def get_state(self, key: bytes) -> bytes | None:
        if type(key) is not bytes:
            check_bytes(key, "key", "get_state")
        if self._closed:
            self._check_open("get_state")
        return self._get(SIMPLE_TAG, self._buffer.simple, _simple_key(key))

    def delete_state(self, key: bytes) -> None:
        check_bytes(key, "key", "delete_state")
        self._check_open("delete_state")
        buffer = self._buffer
        physical = _simple_key(key)
        self._write(
            "delete_state", key, lambda: buffer.put(SIMPLE_TAG, buffer.simple, physical, None)
        )

    def list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        check_bytes(start_inclusive, "start_inclusive", "list_states")
        check_bytes(end_exclusive, "end_exclusive", "list_states")
        self._check_open("list_states")
        low, high = LAYOUT.simple_range(start_inclusive, end_exclusive)
        key_of = LAYOUT.simple_key_of
        try:
            return [
                key_of(physical)
                for physical, _ in self._buffer.scan(SIMPLE_TAG, self._buffer.simple, low, high)
            ]
        except Exception as exc:
            self._failed("list_states", start_inclusive, exc)

    # -- complex keys ------------------------------------------------------------------------

    def put(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "put")
        check_bytes(value, "value", "put")
        self._check_open("put")
        prefix, group, physical = self._locate(key)
        self._write("put", physical, lambda: self._buffer.put(prefix, group, physical, value))

    def get(self, key: ComplexKey) -> bytes | None:
        check_complex_key(key, "get")
        if self._closed:
            self._check_open("get")
        return self._get(*self._locate(key))

    def delete(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete")
        self._check_open("delete")
        prefix, group, physical = self._locate(key)
        self._write("delete", physical, lambda: self._buffer.put(prefix, group, physical, None))

    def merge(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "merge")
        check_bytes(value, "value", "merge")
        self._check_open("merge")
        prefix, group, physical = self._locate(key)
        self._write("merge", physical, lambda: self._buffer.merge(prefix, group, physical, value))

    def delete_prefix(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete_prefix")
        self._check_open("delete_prefix")
        self.scope(*key.scope).delete_prefix(key.user_key)

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
        return self.scope(key_group, key, namespace).scan(start=start, end=end, reverse=reverse)

    def scan_keys(self, key_group: bytes, namespace: bytes | None = None) -> PyIterator[bytes]:
        """Stream the distinct primary keys holding state in ``key_group``, ascending.

        A skip-scan: one seek per key past its entries (plus one into the namespace's scope when
        ``namespace`` is given), so memory and work do not grow with the entries per key.
        """
        check_bytes(key_group, "key_group", "scan_keys")
        if namespace is not None:
            check_bytes(namespace, "namespace", "scan_keys")
        self._check_open("scan_keys")
        try:
            keys = self._buffer.keys(self._buffer.group(key_group), namespace)
        except Exception as exc:
            self._failed("scan_keys", key_group, exc)
        return self._guard(keys, "scan_keys")

    def scan_scopes(self, key_group: bytes) -> PyIterator[tuple[bytes, bytes]]:
        """Stream the ``(key, namespace)`` of the scopes holding state in ``key_group``,
        ascending: a skip-scan, one seek per scope."""
        check_bytes(key_group, "key_group", "scan_scopes")
        self._check_open("scan_scopes")
        try:
            scopes = self._buffer.scope_keys(self._buffer.group(key_group))
        except Exception as exc:
            self._failed("scan_scopes", key_group, exc)
        return self._guard(scopes, "scan_scopes")

    def scope(self, key_group: bytes, key: bytes, namespace: bytes) -> StoreScope:
        if type(key_group) is not bytes:
            self._check_scope_args(key_group, key, namespace, "scope")
        if self._closed:
            self._check_open("scope")
        return _scope_of(self, key_group, self._buffer.group(key_group), key, namespace)

    def scopes(self, key_group: bytes) -> Callable[[bytes, bytes], StoreScope]:
        check_bytes(key_group, "key_group", "scopes")
        self._check_open("scopes")
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
        if type(user_key) is not bytes:
            check_bytes(user_key, "user_key", "get")
        if store._closed:
            store._check_open("get")
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
        if type(user_key) is not bytes or type(value) is not bytes:
            check_bytes(user_key, "user_key", "put")
            check_bytes(value, "value", "put")
        if store._closed:
            store._check_open("put")
        physical = _base_key(self._prefix, user_key)
        try:
            store._buffer.put(self._prefix, self._group, physical, value)
        except Exception as exc:
            store._failed("put", physical, exc)

    def delete(self, user_key: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        check_bytes(user_key, "user_key", "delete")
        store._check_open("delete")
        physical = _base_key(self._prefix, user_key)
        try:
            store._buffer.put(self._prefix, self._group, physical, None)
        except Exception as exc:
            store._failed("delete", physical, exc)

    def merge(self, user_key: bytes, value: bytes) -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        check_bytes(user_key, "user_key", "merge")
        check_bytes(value, "value", "merge")
        store._check_open("merge")
        physical = _base_key(self._prefix, user_key)
        try:
            store._buffer.merge(self._prefix, self._group, physical, value)
        except Exception as exc:
            store._failed("merge", physical, exc)

    def delete_prefix(self, prefix: bytes = b"") -> None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        check_bytes(prefix, "prefix", "delete_prefix")
        store._check_open("delete_prefix")
        low = LAYOUT.user_prefix(self._prefix, prefix)
        try:
            store._buffer.delete_prefix(self._prefix, self._group, low)
        except Exception as exc:
            store._failed("delete_prefix", low, exc)

    def first(self, start: bytes = b"") -> Pair | None:
        store: BufferedStore = self.store  # type: ignore[assignment]
        check_bytes(start, "start", "first")
        store._check_open("first")
        low, high = LAYOUT.user_range(self._prefix, start, b"")
        try:
            found = store._buffer.first(self._prefix, self._group, low, high)
        except Exception as exc:
            store._failed("first", low, exc)
        if found is None:
            return None
        return LAYOUT.user_key(found[0], len(self._prefix)), found[1]

    def scan(self, *, start: bytes = b"", end: bytes = b"", reverse: bool = False) -> Iterator:
        store: BufferedStore = self.store  # type: ignore[assignment]
        check_bytes(start, "start", "scan_complex")
        check_bytes(end, "end", "scan_complex")
        store._check_open("scan_complex")
        low, high = LAYOUT.user_range(self._prefix, start, end)
        try:
            stream = store._buffer.scan(self._prefix, self._group, low, high, reverse)
        except Exception as exc:
            store._failed("scan_complex", low, exc)
        return store._track(Iterator(LAYOUT.user_pairs(stream, len(self._prefix))))


def _scope_of(
    store: BufferedStore, key_group: bytes, group: KeyGroup, key: bytes, namespace: bytes
) -> _BufferedScope:
    """``store.scope(key_group, key, namespace)`` with the key group resolved to ``group``
    already: the per-record path of keyed state."""
    if type(key) is not bytes or type(namespace) is not bytes:
        store._check_scope_args(key_group, key, namespace, "scope")
    if store._closed:
        store._check_open("scope")
    scope = _new_scope(_BufferedScope)
    scope.store = store
    scope.key_group = key_group
    scope.key = key
    scope.namespace = namespace
    scope._group = group
    scope._prefix = LAYOUT.scope_of(group.head, key, namespace)
    return scope


_new_scope: Final = object.__new__
