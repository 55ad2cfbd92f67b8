"""State TTL: the value helper that stamps and checks expiry, and the incremental cleanup.

A state declared with ``ttl=`` gets, at construction and nowhere else, two things in place of the
plain ones, so a state without TTL runs exactly the code it ran before:

- a :class:`TtlCodec` (a :class:`ScopedCodec`): ``encode`` stamps each value (each list element,
  each map value, each queue element's entry) with ``now + ttl``; reads drop or return expired
  values as the visibility says, delete them (cleanup on read), and stamp live ones again with
  ``on_read_and_write``;
- a :class:`TtlScope` (a :class:`StoreScope`) whose writes also record the entry in the state's
  *expiry index*, so that :class:`TtlIndex` can find expired entries of scopes nobody reads again.

Expiry index: one scope per state, ``(TTL_INDEX_KEY_GROUP, key_group, b"")``, whose user keys are
``TupleCodec(IntCodec(), BytesCodec(), BytesCodec(), BytesCodec())`` of ``(due, primary key,
namespace, user key)`` with empty values. ``due`` is the expiry rounded up to a multiple of
``ttl // INDEX_SLICES`` (at least 1), so repeated writes of one entry within that slice are one
index key.
Byte order is due order: the entries to visit are a prefix of the scope.

Cleanup (:meth:`TtlIndex.cleanup`) seeks from a cursor kept in memory (the last index key it
visited, so it never walks again over the deletes that RocksDB keeps as tombstones until
compaction) and visits at most ``max_entries`` due index keys, oldest first: for each it reads
the entry, deletes what has expired (a list keeps its live elements) and deletes the index key.
An entry that was written again since has a later index key and is left. On a store
partitioned by the stream key (``Store.partitioned_by_key``: Flink's keyed state) the index
scope holds the current key's entries only: cleanup visits that key's due entries, from the
start of its partition (a cursor left in one key's partition would skip another key's).
It runs by itself, :data:`CLEANUP_STEP` index keys every :data:`CLEANUP_EVERY` writes of the
state, which visits twice as many index keys as writes add, so the index and the state level off
under a steady stream of new keys; an operator may also call ``cleanup(max_entries)`` on the
factory or state, e.g. in ``take_checkpoint``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, TypeVar

from fssdk import Iterator as StoreIterator
from fssdk import Store, StoreScope
from fssdk.reserved import MAX_TIME, TTL_INDEX_KEY_GROUP
from fssdk.thresholds import threshold
from fssdk_advanced.codecs import BytesCodec, Codec, IntCodec, TupleCodec, codec_signature
from fssdk_advanced.state._values import ScopedCodec, corrupt
from fssdk_advanced.time import StateTtl
from fssdk_advanced.time._ttl import STAMP_SIZE

T = TypeVar("T")
K = TypeVar("K")

#: Writes of a state between two automatic cleanup steps.
CLEANUP_EVERY: Final = threshold(__name__, "CLEANUP_EVERY", 16, smallest=1)
#: Index keys one automatic cleanup step visits at most.
CLEANUP_STEP: Final = threshold(__name__, "CLEANUP_STEP", 32, smallest=1)
#: Slices per TTL: index keys are due at multiples of ``ttl // INDEX_SLICES``. Lowered to 1, one
#: slice is the whole TTL, so even a short TTL rounds its index keys up.
INDEX_SLICES: Final = threshold(__name__, "INDEX_SLICES", 8, smallest=1)

_INDEX_KEY: Final = TupleCodec(IntCodec(), BytesCodec(), BytesCodec(), BytesCodec())

#: How an entry's stored bytes are cleaned: ``(data, now) -> new data``, ``None`` to delete it.
Sweep = Callable[[bytes, int], bytes | None]


def index_entry_of(index_key: bytes) -> tuple[int, bytes, bytes, bytes]:
    """``(due, primary key, namespace, user key)`` of an expiry index key; ``ValueError`` when
    it does not decode."""
    due, key, namespace, user_key = _INDEX_KEY.decode(index_key)
    return due, key, namespace, user_key


def check_ttl(ttl: object, owner: str) -> StateTtl | None:
    """``ttl`` if it is ``None`` or a :class:`StateTtl`; ``TypeError`` naming it otherwise."""
    if ttl is not None and not isinstance(ttl, StateTtl):
        raise TypeError(f"{owner}: ttl must be a StateTtl or None, not {type(ttl).__name__}")
    return ttl


def sweep_value(data: bytes, now: int) -> bytes | None:
    """The sweep of an entry that is one stamped value: deleted once expired."""
    return None if StateTtl.unstamp(data)[0] <= now else data


class _Stamped:
    """``codec`` with the 8-byte expiry stamp in front: what a TTL'd state stores per value."""

    __slots__ = ("fixed_size", "inner", "ordered", "signature", "ttl")

    def __init__(self, codec: Codec[Any], ttl: StateTtl) -> None:
        self.inner = codec
        self.ttl = ttl
        size = codec.fixed_size
        self.fixed_size = None if size is None else size + STAMP_SIZE
        self.ordered = False
        self.signature = f"Stamped({codec_signature(codec)})"

    def encode(self, value: Any) -> bytes:
        ttl = self.ttl
        return ttl.stamp(self.inner.encode(value), ttl.now())

    def decode(self, data: bytes) -> Any:
        return self.inner.decode(StateTtl.unstamp(data)[1])


class TtlCodec(ScopedCodec[T]):
    """A :class:`ScopedCodec` whose values carry an expiry stamp (see the module doc).

    Reads cost one clock read more than the plain helper, plus a delete for each expired value
    found and, with ``on_read_and_write``, a put for each live one.
    """

    __slots__ = ("_inner", "_inner_encode", "_now", "_returns_expired", "_update_on_read", "ttl")

    def __init__(self, codec: Codec[T], what: str, ttl: StateTtl) -> None:
        super().__init__(_Stamped(codec, ttl), what)
        self.ttl: Final = ttl
        self._inner = codec.decode
        self._inner_encode = codec.encode
        self._now = ttl.now
        self._returns_expired = ttl.returns_expired
        self._update_on_read = ttl.update_on_read

    def _open(self, scope: StoreScope, user_key: bytes, data: bytes, what: str) -> tuple[int, T]:
        """``(expires_at, value)`` of stamped ``data``; ``CorruptStateError`` if it does not
        decode."""
        try:
            expires_at, payload = StateTtl.unstamp(data)
            return expires_at, self._inner(payload)
        except ValueError as exc:
            raise corrupt(scope, user_key, f"{what} does not decode", exc) from exc

    def decode(self, scope: StoreScope, user_key: bytes, data: bytes) -> T:
        return self._open(scope, user_key, data, self.what)[1]

    def reencode(self, scope: StoreScope, user_key: bytes, data: bytes) -> bytes:
        """``data`` with its value encoded again under the same expiry stamp."""
        value = self._open(scope, user_key, data, self.what)[1]
        return data[:STAMP_SIZE] + self._inner_encode(value)

    def get(self, scope: StoreScope, user_key: bytes) -> tuple[T | None, bool]:
        return self._get(scope, user_key, self._returns_expired)

    def get_live(self, scope: StoreScope, user_key: bytes) -> tuple[T | None, bool]:
        return self._get(scope, user_key, False)

    def _get(
        self, scope: StoreScope, user_key: bytes, returns_expired: bool
    ) -> tuple[T | None, bool]:
        data = scope.get(user_key)
        if data is None:
            return None, False
        now = self._now()
        expires_at, value = self._open(scope, user_key, data, self.what)
        if expires_at <= now:
            scope.delete(user_key)
            return (value, True) if returns_expired else (None, False)
        if self._update_on_read:
            scope.put(user_key, self.ttl.stamp(data[STAMP_SIZE:], now))
        return value, True

    def contains(self, scope: StoreScope, user_key: bytes) -> bool:
        return self.get(scope, user_key)[1]

    def decode_all(
        self, scope: StoreScope, user_key: bytes, parts: Sequence[bytes]
    ) -> tuple[list[T], list[bytes] | None]:
        ttl = self.ttl
        now = ttl.now()
        out: list[T] = []
        kept: list[bytes] = []
        changed = False
        for index, part in enumerate(parts):
            expires_at, value = self._open(scope, user_key, part, f"{self.what} #{index}")
            if expires_at <= now:
                changed = True
                if ttl.returns_expired:
                    out.append(value)
                continue
            out.append(value)
            if ttl.update_on_read:
                kept.append(ttl.stamp(part[STAMP_SIZE:], now))
                changed = True
            else:
                kept.append(part)
        return out, kept if changed else None

    def decode_pairs(
        self, scope: StoreScope, scan: StoreIterator, keys: ScopedCodec[K]
    ) -> Iterator[tuple[K, T]]:
        ttl = self.ttl
        now = ttl.now()
        with scan:
            for user_key, data in scan:
                expires_at, value = self._open(scope, user_key, data, self.what)
                if expires_at <= now:
                    scope.delete(user_key)
                    if not ttl.returns_expired:
                        continue
                elif ttl.update_on_read:
                    scope.put(user_key, ttl.stamp(data[STAMP_SIZE:], now))
                yield keys.decode(scope, user_key, user_key), value

    def keys_of(self, scope: StoreScope, scan: StoreIterator, keys: ScopedCodec[K]) -> Iterator[K]:
        return (key for key, _ in self.decode_pairs(scope, scan, keys))

    def is_empty(self, scope: StoreScope) -> bool:
        return next(self.decode_pairs(scope, scope.scan(), _RAW), None) is None


_RAW: Final = ScopedCodec(BytesCodec(), "user key")


class TtlIndex:
    """The expiry index of one TTL'd state (store and key group) and its incremental cleanup.

    Shared by every handle of the state (it lives in the identity registry).
    """

    __slots__ = (
        "_cursor",
        "_index",
        "_partitioned",
        "_slice",
        "_writes",
        "key_group",
        "stamp_values",
        "store",
        "store_scopes",
        "sweep",
        "ttl",
    )

    def __init__(
        self, store: Store, key_group: bytes, ttl: StateTtl, sweep: Sweep, stamp_values: bool
    ) -> None:
        self.stamp_values: Final = stamp_values
        self.store: Final = store
        self.key_group: Final = key_group
        self.ttl: Final = ttl
        self.sweep: Final = sweep
        self.store_scopes: Final = store.scopes(key_group)
        self._index = store.scope(TTL_INDEX_KEY_GROUP, key_group, b"")
        self._slice = max(1, ttl.ttl // INDEX_SLICES)
        self._writes = 0
        self._cursor = b""
        self._partitioned = store.partitioned_by_key

    def scopes(self, primary_key: bytes, namespace: bytes) -> StoreScope:
        """The :class:`TtlScope` of ``(primary_key, namespace)`` (a Keyed factory's scope maker);
        a :class:`StampingScope` with ``stamp_values``."""
        if self.stamp_values:
            return StampingScope(self, primary_key, namespace)
        return TtlScope(self, primary_key, namespace)

    def record(self, scope: StoreScope, user_key: bytes) -> None:
        """Note that ``user_key`` of ``scope`` was just written (stamped now); maybe clean up.

        One put into the index, and every :data:`CLEANUP_EVERY` calls a cleanup step.
        """
        ttl = self.ttl
        step = self._slice
        due = min(-(-ttl.expires_at(ttl.now()) // step) * step, MAX_TIME)
        index_key = _INDEX_KEY.encode((due, scope.key, scope.namespace, user_key))
        self._index.put(index_key, b"")
        self._cursor = min(self._cursor, index_key)  # below it only if the clock went back
        self._writes += 1
        if self._writes >= CLEANUP_EVERY:
            self._writes = 0
            self.cleanup(CLEANUP_STEP)

    def cleanup(self, max_entries: int) -> int:
        """Visit at most ``max_entries`` due index entries and remove what has expired there.

        Returns how many index entries were visited (fewer than ``max_entries``: none is due).
        Cost: one seek, and per entry one get, one index delete and at most one write.
        """
        if type(max_entries) is not int or max_entries < 0:
            raise ValueError(f"cleanup: max_entries must be an int >= 0, got {max_entries!r}")
        if max_entries == 0:
            return 0
        now = self.ttl.now()
        end = _INDEX_KEY.encode((now + 1, b"", b"", b"")) if now < MAX_TIME else b""
        if end and end <= self._cursor:
            return 0
        with self._index.scan(start=self._cursor, end=end) as scan:
            due: list[bytes] = []
            for index_key, _ in scan:
                due.append(index_key)
                if len(due) == max_entries:
                    break
        scopes = self.store_scopes
        for index_key in due:
            try:
                _, key, namespace, user_key = index_entry_of(index_key)
            except ValueError as exc:
                raise corrupt(self._index, index_key, "TTL index key does not decode", exc) from exc
            scope = scopes(key, namespace)
            data = scope.get(user_key)
            if data is not None:
                try:
                    kept = self.sweep(data, now)
                except ValueError as exc:
                    raise corrupt(scope, user_key, "TTL'd entry does not decode", exc) from exc
                if kept is None:
                    scope.delete(user_key)
                elif kept != data:
                    scope.put(user_key, kept)
            self._index.delete(index_key)
        if due and not self._partitioned:
            self._cursor = due[-1]
        return len(due)


class TtlScope(StoreScope):
    """A :class:`StoreScope` of a TTL'd state: writes are also recorded in its expiry index.

    Every operation goes to the store's own scope (``store.scopes``), which engines may make
    faster than the generic one.
    """

    __slots__ = ("_inner", "_ttl_index")

    def __init__(self, index: TtlIndex, key: bytes, namespace: bytes) -> None:
        super().__init__(index.store, index.key_group, key, namespace)
        self._inner = index.store_scopes(key, namespace)
        self._ttl_index = index

    def get(self, user_key: bytes) -> bytes | None:
        return self._inner.get(user_key)

    def delete(self, user_key: bytes) -> None:
        self._inner.delete(user_key)

    def delete_prefix(self, prefix: bytes = b"") -> None:
        self._inner.delete_prefix(prefix)

    def scan(self, *, start: bytes = b"", end: bytes = b"", reverse: bool = False) -> StoreIterator:
        return self._inner.scan(start=start, end=end, reverse=reverse)

    def first(self, start: bytes = b"") -> tuple[bytes, bytes] | None:
        return self._inner.first(start)

    def put(self, user_key: bytes, value: bytes) -> None:
        self._inner.put(user_key, value)
        self._ttl_index.record(self, user_key)

    def merge(self, user_key: bytes, value: bytes) -> None:
        self._inner.merge(user_key, value)
        self._ttl_index.record(self, user_key)


class StampingScope(TtlScope):
    """A :class:`TtlScope` that stamps every value it writes: for a state whose elements are
    user keys (the priority queue), so the stamp goes into the value."""

    __slots__ = ()

    def put(self, user_key: bytes, value: bytes) -> None:
        ttl = self._ttl_index.ttl
        super().put(user_key, ttl.stamp(value, ttl.now()))
