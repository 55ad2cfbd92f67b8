"""MemoryStore: the reference backend, sortedcontainers over plain tuples.

Complex entries live in one ``SortedDict`` keyed by ``(key_group, key, namespace, user_key)``;
tuple order of byte strings *is* the order the contract asks for, and tuples cannot collide, so
isolation needs no key format at all. A merged value is kept as a ``bytearray`` so that appends
cost O(appended bytes); reads hand out ``bytes`` copies. It is meant to be obviously right: other
backends are checked against it. A savepoint journals what each write replaces, so that the
writes after it can be rolled back (``fssdk run --memory --on-error skip``).
"""

from __future__ import annotations

import weakref
from collections.abc import Generator
from collections.abc import Iterator as PyIterator
from typing import Any, Generic, TypeVar

from sortedcontainers import SortedDict

from fssdk._complex_key import ComplexKey
from fssdk._store import Pair, Store

_Key = tuple[bytes, bytes, bytes, bytes]
_Value = bytes | bytearray
T = TypeVar("T")
_MISSING = object()


class _Cursor:
    """Lazy scan of a range of a SortedDict that copies what is left before the dict changes.

    The store calls ``detach()`` on every open cursor before a write, which keeps "an iterator
    sees the scope as it was when created" without copying scopes nobody writes to.
    """

    __slots__ = ("__weakref__", "_data", "_keys", "_rest")

    def __init__(self, data: SortedDict[_Key, _Value], keys: PyIterator[_Key]) -> None:
        self._data = data
        self._keys = keys
        self._rest: PyIterator[Pair] | None = None

    def detach(self) -> None:
        if self._rest is None:
            self._rest = iter([(key[3], bytes(self._data[key])) for key in self._keys])

    def close(self) -> None:
        """End the scan: later steps find nothing."""
        self._keys = iter(())
        self._rest = iter(())

    def __iter__(self) -> _Cursor:
        return self

    def __next__(self) -> Pair:
        if self._rest is not None:
            return next(self._rest)
        key = next(self._keys)
        return key[3], bytes(self._data[key])


class _Listing(Generic[T]):
    """Skip-scan of one key group, copied out if the store changes.

    Like :class:`_Cursor`, the store calls ``detach()`` before a write; only then are the items
    still to come listed, so an undisturbed listing needs constant memory. ``_step`` finds the
    item after ``_last``.
    """

    __slots__ = ("__weakref__", "_data", "_group", "_last", "_rest")

    def __init__(self, data: SortedDict[_Key, _Value], key_group: bytes) -> None:
        self._data = data
        self._group = key_group
        self._last: T | None = None
        self._rest: PyIterator[T] | None = None

    def _step(self) -> T | None:
        raise NotImplementedError

    def detach(self) -> None:
        if self._rest is None:
            rest = []
            while (item := self._step()) is not None:
                rest.append(item)
                self._last = item
            self._rest = iter(rest)

    def close(self) -> None:
        """End the listing: later steps find nothing."""
        self._rest = iter(())

    def __iter__(self) -> _Listing[T]:
        return self

    def __next__(self) -> T:
        if self._rest is not None:
            return next(self._rest)
        item = self._step()
        if item is None:
            self._rest = iter(())
            raise StopIteration
        self._last = item
        return item


class _KeyCursor(_Listing[bytes]):
    """The primary keys of a key group (holding state in ``namespace``, when given)."""

    __slots__ = ("_namespace",)

    def __init__(
        self, data: SortedDict[_Key, _Value], key_group: bytes, namespace: bytes | None
    ) -> None:
        super().__init__(data, key_group)
        self._namespace = namespace

    def _step(self) -> bytes | None:
        group, namespace = self._group, self._namespace
        # key + 00 is the first primary key after key: skip every entry of key at once.
        after = b"" if self._last is None else self._last + b"\x00"
        low = (group, after, b"", b"")
        while True:
            found = next(iter(self._data.irange(low)), None)
            if found is None or found[0] != group:
                return None
            key = found[1]
            if namespace is None:
                return key
            entry = next(iter(self._data.irange((group, key, namespace, b""))), None)
            if entry is not None and entry[:3] == (group, key, namespace):
                return key
            low = (group, key + b"\x00", b"", b"")


class _ScopeCursor(_Listing[tuple[bytes, bytes]]):
    """The ``(key, namespace)`` scopes of a key group."""

    __slots__ = ()

    def _step(self) -> tuple[bytes, bytes] | None:
        last = self._last
        # namespace + 00 is the first namespace after it: skip every entry of the scope at once.
        low = (
            (self._group, b"", b"", b"")
            if last is None
            else (self._group, last[0], last[1] + b"\x00", b"")
        )
        found = next(iter(self._data.irange(low)), None)
        if found is None or found[0] != self._group:
            return None
        return found[1], found[2]


class MemoryStore(Store):
    """The reference Store: everything in memory, nothing durable.

    >>> store = MemoryStore("demo")
    >>> store.merge(ComplexKey(b"g", b"k", b"", b"list"), b"a")
    >>> store.merge(ComplexKey(b"g", b"k", b"", b"list"), b"b")
    >>> store.get(ComplexKey(b"g", b"k", b"", b"list"))
    b'ab'
    """

    def __init__(self, name: str = "memory") -> None:
        super().__init__(name)
        self._simple: SortedDict[bytes, bytes] = SortedDict()
        self._complex: SortedDict[_Key, _Value] = SortedDict()
        self._cursors: weakref.WeakSet[_Cursor | _Listing[Any]] = weakref.WeakSet()
        #: Under a savepoint, ``(map, key, what it held or _MISSING, length of an appended
        #: bytearray or -1)`` per change, undone in reverse.
        self._journal: list[tuple[SortedDict[Any, Any], Any, Any, int]] | None = None

    def _reopened(self) -> MemoryStore:
        """A new, open store over this closed store's entries (a backend reacquiring it)."""
        store = MemoryStore(self.name)
        store._simple = self._simple
        store._complex = self._complex
        return store

    def _detach_cursors(self) -> None:
        """Called before every write: open scans copy what they have still to read."""
        for cursor in list(self._cursors):
            cursor.detach()
        self._cursors.clear()

    def _copy(self) -> MemoryStore:
        """A new store holding a copy of this store's entries (a snapshot)."""
        store = MemoryStore(self.name)
        store._simple = self._simple.copy()
        store._complex = SortedDict((key, type(v)(v)) for key, v in self._complex.items())
        return store

    def _log(self, data: SortedDict[Any, Any], key: Any) -> None:
        """Journal what ``data[key]`` holds before a write replaces or removes it."""
        if self._journal is not None:
            self._journal.append((data, key, data.get(key, _MISSING), -1))

    # -- savepoints --------------------------------------------------------------------------

    def savepoint(self) -> None:
        """Journal the writes from now on, for :meth:`rollback` (a new one releases the last)."""
        self._journal = []

    def rollback(self) -> None:
        """Undo every write since the savepoint, and end it. Costs O(writes undone)."""
        journal, self._journal = self._journal, None
        if not journal or self._closed:
            return
        self._rolled_back()
        if self._cursors:
            self._detach_cursors()
        for data, key, before, length in reversed(journal):
            if length >= 0:
                del before[length:]
            elif before is _MISSING:
                data.pop(key, None)
            else:
                data[key] = before

    def release(self) -> None:
        """Keep the writes since the savepoint and end it."""
        self._journal = None

    @property
    def in_savepoint(self) -> bool:
        return self._journal is not None

    # -- simple keys -------------------------------------------------------------------------

    def _put_state(self, key: bytes, value: bytes) -> None:
        if self._cursors:
            self._detach_cursors()
        self._log(self._simple, key)
        self._simple[key] = value

    def _get_state(self, key: bytes) -> bytes | None:
        return self._simple.get(key)

    def _delete_state(self, key: bytes) -> None:
        if self._cursors:
            self._detach_cursors()
        self._log(self._simple, key)
        self._simple.pop(key, None)

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        return list(
            self._simple.irange(start_inclusive, end_exclusive or None, inclusive=(True, False))
        )

    # -- complex keys ------------------------------------------------------------------------

    def _put(self, key: ComplexKey, value: bytes) -> None:
        if self._cursors:
            self._detach_cursors()
        self._log(self._complex, key)
        self._complex[key] = value

    def _get(self, key: ComplexKey) -> bytes | None:
        value = self._complex.get(key)
        return None if value is None else bytes(value)

    def _delete(self, key: ComplexKey) -> None:
        if self._cursors:
            self._detach_cursors()
        self._log(self._complex, key)
        self._complex.pop(key, None)

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        if self._cursors:
            self._detach_cursors()
        current = self._complex.get(key)
        if type(current) is bytearray:
            if self._journal is not None:
                self._journal.append((self._complex, key, current, len(current)))
            current += value
        else:
            self._log(self._complex, key)
            self._complex[key] = bytearray(current or b"") + value

    def _delete_prefix(self, key: ComplexKey) -> None:
        if self._cursors:
            self._detach_cursors()
        prefix = key.user_key
        doomed = []
        for entry in self._complex.irange(key):
            if entry[:3] != key.scope or not entry[3].startswith(prefix):
                break
            doomed.append(entry)
        for entry in doomed:
            self._log(self._complex, entry)
            del self._complex[entry]

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        key_group, key, namespace, _ = low
        # (namespace + 0x00, b"") is the first key after every key of this namespace.
        next_scope = (key_group, key, namespace + b"\x00", b"")
        high = (key_group, key, namespace, end) if end else next_scope
        keys = self._complex.irange(low, high, inclusive=(True, False), reverse=reverse)
        cursor = _Cursor(self._complex, keys)
        self._cursors.add(cursor)
        return cursor

    def _scan_keys(self, key_group: bytes, namespace: bytes | None) -> Generator[bytes, None, None]:
        """One ``irange`` step per key (a skip past its entries), constant memory."""
        cursor = _KeyCursor(self._complex, key_group, namespace)
        self._cursors.add(cursor)
        return _keys_of(cursor)

    def _scan_scopes(self, key_group: bytes) -> Generator[tuple[bytes, bytes], None, None]:
        """One ``irange`` step per scope, constant memory."""
        cursor = _ScopeCursor(self._complex, key_group)
        self._cursors.add(cursor)
        return _keys_of(cursor)

    def _check(self) -> None:
        """Assert the internal invariants (for stress tests and the conformance machines)."""
        for simple_key, simple_value in self._simple.items():
            assert type(simple_key) is bytes
            assert type(simple_value) is bytes
        for physical, value in self._complex.items():
            assert len(physical) == 4
            assert all(type(part) is bytes for part in physical)
            assert type(value) in (bytes, bytearray)


def _keys_of(cursor: _Listing[T]) -> Generator[T, None, None]:
    """A closable generator over ``cursor`` (closing it ends the listing)."""
    try:
        yield from cursor
    finally:
        cursor.close()
