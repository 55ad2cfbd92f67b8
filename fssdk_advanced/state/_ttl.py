"""State TTL: the value helper that stamps and checks expiry, and the incremental cleanup.

A state declared with ``ttl=`` gets, at construction and nowhere else, two things in place of the
plain ones, so a state without TTL runs exactly the code it ran before:

- a :class:`TtlCodec` (a :class:`ScopedCodec`): every value (each list element, each map value,
  each queue element's entry) is stored stamped with ``now + ttl``; reads drop or return expired
  values as the visibility says, delete them (cleanup on read), and stamp live ones again with
  ``on_read_and_write``;
- :class:`TtlScopes` (the state's :class:`~fssdk.StoreScopes`) whose writes also record the entry
  in the state's *expiry index*, so that :class:`TtlIndex` can find expired entries of scopes
  nobody reads again. For every state but a list (whose elements are stamped one by one inside
  its value, by the codec's ``encode``) the scopes stamp each value they put themselves, with the
  same clock reading as the index entry: per clock tick the stamp and the entry's slice are
  computed once (:meth:`TtlIndex.at`), so a write within a tick costs one clock read, one
  comparison, a bytes concatenation and a set lookup more than a plain one.

Expiry index: one scope per state, ``(TTL_INDEX_KEY_GROUP, key_group, b"")``. Each entry is
recorded with its ``due`` time: the expiry rounded up to a multiple of ``ttl // INDEX_SLICES``
(at least 1), so repeated writes of one entry within that slice record it once. Index keys start
with ``IntCodec(due)``, so byte order is due order and the entries to visit are a prefix of the
scope. There are two kinds of index key:

- a *batch*, ``IntCodec(due) · 00 02 · IntCodec(number)``, whose value is the entries recorded
  into it, each three 4-byte lengths then the primary key, namespace and user key
  (:func:`pack_entry`), at most :data:`INDEX_BATCH` of them: the index costs one write per
  batch, where an index key per entry doubled the writes of every new entry. A store that
  flushes (RocksDB, ``Store.on_flush``) gets the entries recorded since its last flush as
  batches of their slice just before the next one (:meth:`TtlIndex.write_pending`): held in a
  list until then, they cost a tuple and a list append each, and no store call. The store calls
  it outside any savepoint, so a batch never goes with a rolled-back record (``fssdk run
  --on-error skip``) and the entries go into the same atomic batch as the state writes they
  name: a store restored from a checkpoint has an index entry for every TTL'd entry. An entry
  whose write was rolled back is written all the same; cleanup finds nothing there. A store
  without a flush (MemoryStore) appends each entry to the open batch of its slice with a merge;
- an *entry key*, ``TupleCodec(IntCodec(), BytesCodec(), BytesCodec(), BytesCodec())`` of
  ``(due, primary key, namespace, user key)`` with an empty value: what a store partitioned by
  key (Flink's keyed state, where a batch could not span keys) writes, and what state dirs
  written before batches hold. Both are read everywhere.

Cleanup (:meth:`TtlIndex.cleanup`) seeks from a cursor kept in memory (the last index key it
visited, so it never walks again over the deletes that RocksDB keeps as tombstones until
compaction) and visits at most ``max_entries`` due entries, oldest first: for each it reads
the entry and deletes what has expired (a list keeps its live elements), then deletes the index
key (a batch it visits in part keeps the entries left).
An entry that was written again since has a later index key and is left. On a store
partitioned by the stream key (``Store.partitioned_by_key``: Flink's keyed state) the index
scope holds the current key's entries only: cleanup visits that key's due entries, from the
start of its partition (a cursor left in one key's partition would skip another key's).
Entries still held for the flush are written first once one of them is due, unless a
savepoint is held: then they wait for the first cleanup after the flush.
It runs by itself, :data:`CLEANUP_STEP` entries every :data:`CLEANUP_EVERY` writes of the
state, which visits twice as many entries as writes record, so the index and the state level off
under a steady stream of new keys; an operator may also call ``cleanup(max_entries)`` on the
factory or state, e.g. in ``take_checkpoint``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from time import time_ns as _time_ns
from typing import Any, Final, TypeVar

from fssdk import Iterator as StoreIterator
from fssdk import Store, StoreScope, StoreScopes
from fssdk.reserved import MAX_TIME, MIN_TIME, TTL_INDEX_KEY_GROUP
from fssdk.thresholds import threshold
from fssdk_advanced.codecs import BytesCodec, Codec, IntCodec, TupleCodec, codec_signature
from fssdk_advanced.state._values import ScopedCodec, corrupt
from fssdk_advanced.time import StateTtl
from fssdk_advanced.time._ttl import STAMP_SIZE, processing_time_ms

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

#: Writes of a state between two automatic cleanup steps.
CLEANUP_EVERY: Final = threshold(__name__, "CLEANUP_EVERY", 16, smallest=1)
#: Index keys a state remembers having written, so that rewriting an entry within one slice
#: writes no index key again (the set starts over once it holds this many). Lowered to 1,
#: every write but a repeat of the last one writes its index key.
RECORDED_KEYS: Final = threshold(__name__, "RECORDED_KEYS", 16_384, smallest=1)
#: Index keys one automatic cleanup step visits at most.
CLEANUP_STEP: Final = threshold(__name__, "CLEANUP_STEP", 32, smallest=1)
#: Entries one index batch names at most: a store that is not partitioned by key records the
#: entries written in one slice as batches, one index key each, so that the index costs one
#: RocksDB write per batch, not per entry. Lowered to 1, every entry opens a batch.
INDEX_BATCH: Final = threshold(__name__, "INDEX_BATCH", 256, smallest=1)
#: Slices per TTL: index keys are due at multiples of ``ttl // INDEX_SLICES``. Lowered to 1, one
#: slice is the whole TTL, so even a short TTL rounds its index keys up.
INDEX_SLICES: Final = threshold(__name__, "INDEX_SLICES", 8, smallest=1)

_INDEX_KEY: Final = TupleCodec(IntCodec(), BytesCodec(), BytesCodec(), BytesCodec())
#: Bytes 8-9 of a batch key. After the due time an entry key holds an escaped, terminated
#: string, in which ``00`` is followed by ``FF`` or ``01`` only: no entry key starts this way.
BATCH_MARK: Final = b"\x00\x02"
_ENTRY_HEAD_OF: Final = struct.Struct(">III")
_ENTRY_HEAD: Final = _ENTRY_HEAD_OF.pack
_ENTRY_HEAD_SIZE: Final = _ENTRY_HEAD_OF.size
_encode_time: Final = IntCodec().encode
_decode_time: Final = IntCodec().decode
EMPTY: Final = b""
#: A due time later than any: what cleanup waits for when the index is empty.
_NOTHING_DUE: Final = MAX_TIME + 1

#: How an entry's stored bytes are cleaned: ``(data, now) -> new data``, ``None`` to delete it.
Sweep = Callable[[bytes, int], bytes | None]


def index_entry_of(index_key: bytes) -> tuple[int, bytes, bytes, bytes]:
    """``(due, primary key, namespace, user key)`` of an expiry index key; ``ValueError`` when
    it does not decode."""
    due, key, namespace, user_key = _INDEX_KEY.decode(index_key)
    return due, key, namespace, user_key


def batch_key(due: int, number: int) -> bytes:
    """The index key of batch ``number`` of the entries due at ``due``."""
    return _encode_time(due) + BATCH_MARK + _encode_time(number)


def is_batch_key(index_key: bytes) -> bool:
    """Whether an expiry index key is a batch's (else it is one entry's)."""
    return index_key[STAMP_SIZE : STAMP_SIZE + len(BATCH_MARK)] == BATCH_MARK


def pack_entry(key: bytes, namespace: bytes, user_key: bytes) -> bytes:
    """One entry of a batch's value: the three lengths (4 bytes each), then the three parts."""
    return _ENTRY_HEAD(len(key), len(namespace), len(user_key)) + key + namespace + user_key


def unpack_entries(value: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """The ``(primary key, namespace, user key)`` entries of a batch's value, in the order they
    were recorded; ``ValueError`` when the bytes are not whole entries."""
    entries = []
    position, size = 0, len(value)
    unpack = _ENTRY_HEAD_OF.unpack_from
    while position < size:
        if size - position < _ENTRY_HEAD_SIZE:
            raise ValueError(f"{size - position} bytes at {position} hold no entry header")
        key_size, namespace_size, user_key_size = unpack(value, position)
        position += _ENTRY_HEAD_SIZE
        end = position + key_size + namespace_size + user_key_size
        if end > size:
            raise ValueError(f"the entry at {position} runs {end - size} bytes past the end")
        namespace_at = position + key_size
        user_key_at = namespace_at + namespace_size
        entries.append(
            (value[position:namespace_at], value[namespace_at:user_key_at], value[user_key_at:end])
        )
        position = end
    if not entries:
        raise ValueError("a batch names no entry")
    return entries


def entry_key(entry: tuple[int, bytes, bytes, bytes]) -> bytes:
    """The entry key of ``(due, primary key, namespace, user key)``."""
    return _INDEX_KEY.encode(entry)


def index_entries_of(index_key: bytes, value: bytes) -> list[tuple[int, bytes, bytes, bytes]]:
    """``(due, primary key, namespace, user key)`` of each entry an expiry index key names: one
    for an entry key, those of its value for a batch; ``ValueError`` when they do not decode."""
    if is_batch_key(index_key):
        if len(index_key) != 2 * STAMP_SIZE + len(BATCH_MARK):
            raise ValueError(f"a batch key has {2 * STAMP_SIZE + len(BATCH_MARK)} bytes")
        due = _decode_time(index_key[:STAMP_SIZE])
        return [(due, *entry) for entry in unpack_entries(value)]
    return [index_entry_of(index_key)]


def check_ttl(ttl: object, owner: str) -> StateTtl | None:
    """``ttl`` if it is ``None`` or a :class:`StateTtl`; ``TypeError`` naming it otherwise."""
    if ttl is not None and not isinstance(ttl, StateTtl):
        raise TypeError(f"{owner}: ttl must be a StateTtl or None, not {type(ttl).__name__}")
    return ttl


def sweep_value(data: bytes, now: int) -> bytes | None:
    """The sweep of an entry that is one stamped value: deleted once expired."""
    return None if StateTtl.unstamp(data)[0] <= now else data


class _Stamped:
    """``codec`` with the 8-byte expiry stamp in front: what a TTL'd state stores per value.

    With ``stamps`` false, ``encode`` is the codec's own: the state's scopes stamp each value
    they put (:class:`TtlScopes` with ``stamp_values``).
    """

    __slots__ = ("encode", "fixed_size", "inner", "ordered", "signature", "ttl")

    def __init__(self, codec: Codec[Any], ttl: StateTtl, stamps: bool = True) -> None:
        self.inner = codec
        self.ttl = ttl
        size = codec.fixed_size
        self.fixed_size = None if size is None else size + STAMP_SIZE
        self.ordered = False
        self.signature = f"Stamped({codec_signature(codec)})"
        self.encode: Callable[[Any], bytes] = self._stamped if stamps else codec.encode

    def _stamped(self, value: Any) -> bytes:
        return self.ttl.stamp_now(self.inner.encode(value))

    def decode(self, data: bytes) -> Any:
        return self.inner.decode(StateTtl.unstamp(data)[1])


class TtlCodec(ScopedCodec[T]):
    """A :class:`ScopedCodec` whose values carry an expiry stamp (see the module doc).

    ``encode`` stamps, unless ``stamped_by_scopes``: then the state's :class:`TtlScopes` stamp
    each value they put (one clock reading for the stamp and the index), and ``encode`` is the
    codec's. Reads cost one clock read and one comparison of stamps as bytes more than the
    plain helper (the clock's time is encoded once per tick), plus a delete for each expired
    value found and, with ``on_read_and_write``, a put for each live one.
    """

    __slots__ = (
        "_clock",
        "_inner",
        "_inner_encode",
        "_now",
        "_returns_expired",
        "_stamped_by_scopes",
        "_tick",
        "_tick_stamp",
        "_update_on_read",
        "_wall_clock",
        "read_live",
        "ttl",
    )

    def __init__(
        self, codec: Codec[T], what: str, ttl: StateTtl, stamped_by_scopes: bool = False
    ) -> None:
        super().__init__(_Stamped(codec, ttl, not stamped_by_scopes), what)
        self.ttl: Final = ttl
        self._stamped_by_scopes = stamped_by_scopes
        self._inner = codec.decode
        self._inner_encode = codec.encode
        self._now = ttl.now
        self._clock = ttl.clock
        self._returns_expired = ttl.returns_expired
        self._update_on_read = ttl.update_on_read
        self._wall_clock = ttl.clock is processing_time_ms
        # The last clock reading of a read and its encoding, to compare stamps with as bytes.
        self._tick = MIN_TIME - 1
        self._tick_stamp = b""
        # Without visibility of expired values, read never returns one: read_live is read.
        self.read_live = (  # type: ignore[method-assign]
            self._read_live if self._returns_expired else self.read
        )

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
        return self.read(scope._scopes, scope.key, scope.namespace, user_key)

    def read(
        self,
        scopes: StoreScopes,
        key: bytes,
        namespace: bytes,
        user_key: bytes,
        live_only: bool = False,
    ) -> tuple[T | None, bool]:
        """The value at ``user_key`` of scope ``(key, namespace)``, expired ones as the
        visibility says (``live_only``: never) and deleted: one get, one clock read."""
        data = scopes.get(key, namespace, user_key)
        if data is None:
            return None, False
        try:
            if len(data) < STAMP_SIZE:
                raise ValueError(f"{len(data)} bytes hold no {STAMP_SIZE}-byte expiry stamp")
            value = self._inner(data[STAMP_SIZE:])
        except ValueError:
            value = self._open(scopes(key, namespace), user_key, data, self.what)[1]
        if self._wall_clock:
            now = _time_ns() // 1_000_000  # processing_time_ms, inline: always a valid time
        else:
            now = self._clock()
            if type(now) is not int or not MIN_TIME <= now <= MAX_TIME:
                now = self.ttl.now()  # raises
        if now != self._tick:  # once per clock tick
            self._tick = now
            self._tick_stamp = _encode_time(now)
        if data[:STAMP_SIZE] <= self._tick_stamp:  # expired: stamps are ordered encodings
            scopes.delete(key, namespace, user_key)
            return (value, True) if self._returns_expired and not live_only else (None, False)
        if self._update_on_read:
            scopes.put(key, namespace, user_key, self._restamp(data, now))
        return value, True

    def _restamp(self, data: bytes, now: int) -> bytes:
        """What to put back for stamped ``data`` read live at ``now`` (``on_read_and_write``):
        stamped again, or as it was unstamped where the scopes stamp."""
        return (
            data[STAMP_SIZE:] if self._stamped_by_scopes else self.ttl.stamp(data[STAMP_SIZE:], now)
        )

    def _read_live(
        self, scopes: StoreScopes, key: bytes, namespace: bytes, user_key: bytes
    ) -> tuple[T | None, bool]:
        """:meth:`read_live` where the visibility returns expired values: :meth:`read` with
        ``live_only``."""
        return self.read(scopes, key, namespace, user_key, True)

    def items(
        self,
        scopes: StoreScopes,
        key: bytes,
        namespace: bytes,
        keys: ScopedCodec[K],
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> Iterator[tuple[K, T]]:
        if self._update_on_read or self._returns_expired:
            scope = scopes(key, namespace)
            return self.decode_pairs(scope, scope.scan(start=start, end=end, reverse=reverse), keys)
        # The common case: expired entries are left out (and deleted), live ones read as they
        # are. The stamp is compared as bytes: stamps are ordered encodings.
        now = _encode_time(self._now())
        inner = self._inner

        def decode_value(data: bytes) -> Any:
            if len(data) < STAMP_SIZE:
                raise ValueError(f"{len(data)} bytes hold no {STAMP_SIZE}-byte expiry stamp")
            return _EXPIRED if data[:STAMP_SIZE] <= now else inner(data[STAMP_SIZE:])

        pairs = scopes.items(
            key,
            namespace,
            keys._decode,
            decode_value,
            partial(self._undecodable_pair, scopes=scopes, key=key, namespace=namespace, keys=keys),
            start=start,
            end=end,
            reverse=reverse,
        )
        return _live(pairs, scopes, key, namespace, keys.encode)

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
                    scope.put(user_key, self._restamp(data, now))
                yield keys.decode(scope, user_key, user_key), value

    def keys_of(self, scope: StoreScope, scan: StoreIterator, keys: ScopedCodec[K]) -> Iterator[K]:
        return (key for key, _ in self.decode_pairs(scope, scan, keys))

    def is_empty(self, scope: StoreScope) -> bool:
        return next(self.decode_pairs(scope, scope.scan(), _RAW), None) is None


_RAW: Final = ScopedCodec(BytesCodec(), "user key")
_EXPIRED: Final = object()


def _live(
    pairs: Iterator[tuple[K, Any]],
    scopes: StoreScopes,
    key: bytes,
    namespace: bytes,
    encode_key: Callable[[K], bytes],
) -> Iterator[tuple[K, T]]:
    """The pairs whose value has not expired; an expired one is deleted (cleanup on read)."""
    for pair in pairs:
        if pair[1] is _EXPIRED:
            scopes.delete(key, namespace, encode_key(pair[0]))
        else:
            yield pair


class TtlIndex:
    """The expiry index of one TTL'd state (store and key group) and its incremental cleanup.

    One per factory, shared by its handles. On a store that flushes it holds the entries
    recorded since the last flush and registers with the store (``Store.on_flush``) for the
    next flush only: again at each flush while it holds entries, else at the first entry it
    holds. The store lets go of an index idle for two flushes, so factories made and dropped
    leave nothing behind.
    """

    __slots__ = (
        "_batch_due",
        "_batch_key",
        "_batched",
        "_batches",
        "_cursor",
        "_deferred",
        "_due",
        "_held_before",
        "_index",
        "_index_scopes",
        "_next_due",
        "_now",
        "_partitioned",
        "_pending",
        "_pending_by_due",
        "_recorded",
        "_registered",
        "_slice",
        "_ttl_ms",
        "_writes",
        "key_group",
        "scopes",
        "stamp",
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
        self._index_scopes = self._index._scopes
        self._ttl_ms = ttl.ttl
        self._slice = max(1, ttl.ttl // INDEX_SLICES)
        self._writes = 0
        self._cursor = b""
        self._partitioned = store.partitioned_by_key
        # No index entry is due before this time (MIN_TIME: not known; a store partitioned by
        # key keeps it there, as each key has its own index).
        self._next_due = MIN_TIME
        self._batches = 0
        # The open batch of a store written as it goes (see _add).
        self._batch_due = MIN_TIME
        self._batched = 0
        self._batch_key = b""
        # The clock's time at the last write, the stamp of a value written then, the slice its
        # entry went into, and the entries recorded in that slice (at most RECORDED_KEYS).
        self._now = MIN_TIME - 1
        self.stamp = b""
        self._due = MIN_TIME
        self._recorded: set[tuple[bytes, bytes, bytes]] = set()
        # With a store that flushes, the entries recorded since its last flush, by due time
        # (_pending: the list of the slice written last; None while the index is not
        # registered for the next flush, so that the next entry takes _add, which registers).
        self._pending_by_due: dict[int, list[tuple[bytes, bytes, bytes]]] = {}
        self._pending: list[tuple[bytes, bytes, bytes]] | None = None
        self._deferred = not self._partitioned and store.on_flush(self._flushing)
        self._registered = self._deferred
        self._held_before = False
        if self._deferred:
            self._pending = self._pending_by_due[self._due] = []
        self.scopes: Final = TtlScopes(self)

    def at(self, now: int) -> None:
        """Learn the clock's time ``now`` (a checked reading) before a write: :attr:`stamp` is
        then the stamp of a value written now (with ``stamp_values``), and an entry written now
        goes into the slice
        due at ``now + ttl`` rounded up. Writers call it when the time is not the last one's,
        so the stamp and the slice cost one comparison per write within a clock tick."""
        self._now = now
        expires_at = min(now + self._ttl_ms, MAX_TIME)
        if self.stamp_values:
            self.stamp = _encode_time(expires_at)
        step = self._slice
        due = min(-(-expires_at // step) * step, MAX_TIME)
        if due != self._due:
            self._open_slice(due)

    def record(self, key: bytes, namespace: bytes, user_key: bytes, now: int) -> None:
        """Note that ``user_key`` of scope ``(key, namespace)`` was just written (stamped at
        ``now``, a checked clock reading); maybe clean up.

        Nothing more when the entry was recorded in this slice already; else one set add and,
        on a store that flushes, one list append (the entry is written with the others of its
        slice at the next flush, :meth:`write_pending`); on another store one merge into the
        index's open batch (a put of an entry key on a store partitioned by key). Every
        :data:`CLEANUP_EVERY` calls a cleanup step. :meth:`TtlScopes.put` runs it inline.
        """
        if now != self._now:
            self.at(now)
        entry = (key, namespace, user_key)
        recorded = self._recorded
        if entry not in recorded:
            if len(recorded) >= RECORDED_KEYS:
                recorded.clear()
            recorded.add(entry)
            pending = self._pending
            if pending is not None:
                pending.append(entry)
            else:
                self._add(self._due, entry)
        self._writes += 1
        if self._writes >= CLEANUP_EVERY:
            self._writes = 0
            self.cleanup(CLEANUP_STEP)

    def _open_slice(self, due: int) -> None:
        """Record into the slice due at ``due`` from now on (the clock moved)."""
        self._due = due
        self._recorded.clear()
        self._next_due = min(self._next_due, due)
        if self._pending is not None:
            self._pending = self._pending_by_due.setdefault(due, [])

    def _add(self, due: int, entry: tuple[bytes, bytes, bytes]) -> None:
        """Write the index entry of ``entry`` due at ``due`` now on a store that does not flush;
        on one that does, hold it: the first entry held since the last flush registers the index
        for the next one."""
        if self._deferred:
            if not self._registered:
                self._registered = self.store.on_flush(self._flushing)
            pending = self._pending = self._pending_by_due.setdefault(due, [])
            pending.append(entry)
            return
        key, namespace, user_key = entry
        if self._partitioned:
            index_key = entry_key((due, key, namespace, user_key))
            self._index_scopes.put(self.key_group, EMPTY, index_key, EMPTY)
        else:
            if due == self._batch_due and self._batched < INDEX_BATCH:
                self._batched += 1
            else:
                self._batches += 1
                self._batch_due = due
                self._batched = 1
                self._batch_key = batch_key(due, self._batches)
            index_key = self._batch_key
            self._index_scopes.merge(
                self.key_group, EMPTY, index_key, pack_entry(key, namespace, user_key)
            )
        self._cursor = min(self._cursor, index_key)  # lower only if the clock went back
        self._next_due = min(self._next_due, due)

    def write_pending(self) -> None:
        """Write the entries recorded since the last flush, as batches of at most
        :data:`INDEX_BATCH` entries of one due time: one merge each.

        The store calls it before the flush it was registered for (``Store.on_flush``),
        outside any savepoint, so the entries go into the batch that writes the state they
        name. An entry whose write a savepoint's rollback undid is written all the same:
        cleanup finds nothing there.
        """
        pending = self._pending_by_due
        if self._pending is None:
            return
        self._pending_by_due = {}
        self._pending = None
        if self._registered:
            self._pending = self._pending_by_due[self._due] = []
        merge = self._index_scopes.merge
        for due, entries in pending.items():
            for start in range(0, len(entries), INDEX_BATCH):
                self._batches += 1
                index_key = batch_key(due, self._batches)
                value = b"".join(  # pack_entry of each, inline
                    [
                        _ENTRY_HEAD(len(key), len(namespace), len(user_key))
                        + key
                        + namespace
                        + user_key
                        for key, namespace, user_key in entries[start : start + INDEX_BATCH]
                    ]
                )
                merge(self.key_group, EMPTY, index_key, value)
                self._cursor = min(self._cursor, index_key)  # lower only if the clock went back
            if entries:
                self._next_due = min(self._next_due, due)

    def _flushing(self) -> None:
        """What the store calls before the flush the index registered for (it has forgotten
        the registration): write what is held, and register for the next flush while entries
        were held in this flush's interval or the one before, so that a steady stream of
        writes never pays the registration; an index idle for two flushes is let go."""
        held = any(self._pending_by_due.values())
        self._registered = False
        self.write_pending()
        if held or self._held_before:
            self._registered = self.store.on_flush(self._flushing)
            self._pending = self._pending_by_due[self._due] = []  # appended to with no _add
        self._held_before = held

    def _pending_due(self) -> int:
        """The earliest due time of the entries not written yet, or of the slice written last
        (which may get some at any write); :data:`_NOTHING_DUE` on a store written as it goes."""
        if not self._deferred:
            return _NOTHING_DUE
        dues = (due for due, entries in self._pending_by_due.items() if entries)
        return min(self._due, min(dues, default=_NOTHING_DUE))

    def cleanup(self, max_entries: int) -> int:
        """Visit at most ``max_entries`` due index entries and remove what has expired there.

        Returns how many index entries were visited (fewer than ``max_entries``: none is due).
        Entries still held for the next flush are written first when some are due, unless a
        savepoint is held: then they wait for a cleanup after the flush.
        Cost: nothing before the earliest due time it has seen in the index (the first key past
        the last visit, or a later write's); then one seek, and per entry one get and at most
        one write; per index key one delete (or, for a batch visited in part, one put of the
        entries left).
        """
        if type(max_entries) is not int or max_entries < 0:
            raise ValueError(f"cleanup: max_entries must be an int >= 0, got {max_entries!r}")
        if max_entries == 0:
            return 0
        now = self.ttl.now()
        if now < self._next_due:
            return 0
        if self._pending_due() <= now and not self.store.in_savepoint:
            self.write_pending()
        found, next_due = self._due_keys(now, max_entries)
        visited = 0
        for index_key, entries in found:
            for position, entry in enumerate(entries):
                if visited == max_entries:
                    left = b"".join(pack_entry(*rest[1:]) for rest in entries[position:])
                    self._index.put(index_key, left)
                    return visited
                self._sweep(now, *entry[1:])
                if entry[0] == self._due:  # the clock went back: it may be recorded again
                    self._recorded.discard(entry[1:])
                visited += 1
            self._index.delete(index_key)
            if not self._partitioned:
                self._cursor = index_key
        if not self._partitioned:
            self._next_due = min(next_due, self._pending_due())
        return visited

    def _due_keys(
        self, now: int, max_entries: int
    ) -> tuple[list[tuple[bytes, list[tuple[int, bytes, bytes, bytes]]]], int]:
        """The index keys due at ``now`` from the cursor on, with their entries, until they
        name ``max_entries``; and the due time of the first key left (``MIN_TIME``: more may
        be due now, :data:`_NOTHING_DUE`: none is left)."""
        found: list[tuple[bytes, list[tuple[int, bytes, bytes, bytes]]]] = []
        wanted = max_entries
        with self._index.scan(start=self._cursor) as scan:
            for index_key, value in scan:
                try:
                    due = _decode_time(index_key[:STAMP_SIZE])
                    if due > now:
                        return found, due
                    entries = index_entries_of(index_key, value)
                except ValueError as exc:
                    raise corrupt(
                        self._index, index_key, "TTL index key does not decode", exc
                    ) from exc
                found.append((index_key, entries))
                wanted -= len(entries)
                if wanted <= 0:
                    return found, MIN_TIME
        return found, _NOTHING_DUE

    def _sweep(self, now: int, key: bytes, namespace: bytes, user_key: bytes) -> None:
        """Remove what has expired of ``user_key`` in scope ``(key, namespace)``."""
        scope = self.store_scopes(key, namespace)
        data = scope.get(user_key)
        if data is None:
            return
        try:
            kept = self.sweep(data, now)
        except ValueError as exc:
            raise corrupt(scope, user_key, "TTL'd entry does not decode", exc) from exc
        if kept is None:
            scope.delete(user_key)
        elif kept != data:
            scope.put(user_key, kept)


#: :meth:`TtlScopes._write`'s ``arg`` when it is a put.
_PUT: Final[Any] = object()
#: What :class:`IntCodec` adds to a time before writing it big-endian: a stamp of ``now`` is
#: ``(now + _TIME_BIAS).to_bytes(STAMP_SIZE, "big")``.
_TIME_BIAS: Final = int.from_bytes(_encode_time(0), "big")


class TtlScopes(StoreScopes):
    """The scopes of a TTL'd state: writes are also recorded in its expiry index.

    Every operation goes to the store's own scopes (``store.scopes``), which engines make
    faster than the generic ones; all but the writes are their bound methods themselves. With
    ``stamp_values`` (every state but a list) every value put is stamped here, with the clock
    reading that records its index entry. ``put`` and ``compute`` are one method,
    :meth:`_write` (one frame each, and one home for the clock reading and the index record).
    """

    __slots__ = (
        "_clock",
        "_inner",
        "_record",
        "_stamp",
        "_tick",
        "_tick_stamp",
        "_ttl",
        "_ttl_index",
        "_wall_clock",
        # The writes (put, compute) are _write, bound; what is not a write is the store's own
        # scopes' bound method: no frame of its own.
        "compute",
        "delete",
        "delete_prefix",
        "first",
        "get",
        "items",
        "put",
        "scan",
        "take",
    )

    def __init__(self, index: TtlIndex) -> None:
        super().__init__(index.store, index.key_group)
        self._inner = index.store_scopes
        self._ttl_index = index
        self._record = index.record
        self._stamp = index.stamp_values
        self._ttl = index.ttl
        self._clock = index.ttl.clock
        self._wall_clock = self._clock is processing_time_ms
        # The clock's time at the last compute and its encoding, which a live stamp exceeds.
        self._tick = MIN_TIME - 1
        self._tick_stamp = b""
        self.put = self.compute = self._write  # type: ignore[method-assign,assignment]
        inner = self._inner
        self.get = inner.get  # type: ignore[method-assign]
        self.delete = inner.delete  # type: ignore[method-assign]
        self.delete_prefix = inner.delete_prefix  # type: ignore[method-assign]
        self.scan = inner.scan  # type: ignore[method-assign]
        self.first = inner.first  # type: ignore[method-assign]
        self.take = inner.take  # type: ignore[method-assign]
        self.items = inner.items  # type: ignore[method-assign]

    def _write(  # noqa: PLR0912 - put and compute in one frame, the record inline
        self, key: bytes, namespace: bytes, user_key: bytes, value: Any, arg: Any = _PUT
    ) -> None:
        """``put(key, namespace, user_key, value)``, or ``compute(key, namespace, user_key,
        change, arg)`` with ``change`` in ``value``: the store's own write, the value stamped
        (with ``stamp_values``) and the entry recorded in the expiry index
        (:meth:`TtlIndex.record`, inline: this is every TTL'd write), at one clock reading,
        taken before the write (a clock that raises writes nothing).

        A compute with ``stamp_values`` gives ``change`` the stored value without its stamp, or
        ``None`` when it is missing or has expired, whatever the visibility: a fold never
        builds on an expired accumulator (Flink's TTL'd aggregating and reducing states start
        again from an empty one). An expired value is so replaced by ``change``'s result
        (cleanup on read), stamped anew, as a read then a write stamps it under either update
        type. Without ``stamp_values`` ``change`` sees the stored bytes. A value too short for
        a stamp raises ``CorruptStateError``; a result of ``None`` deletes the entry (whose
        index entry is recorded all the same: cleanup finds nothing there).

        Cost over the store's own put: one clock read, one comparison, a concatenation and a
        set lookup; over its compute as much again, plus a tuple, one frame around ``change``
        (:func:`_change_unstamped`) and a slice.
        """
        index = self._ttl_index
        if self._wall_clock:
            now = _time_ns() // 1_000_000  # processing_time_ms, inline: always a valid time
        else:
            now = self._clock()  # one reading for the stamp and the index, as StateTtl.now checks
            if type(now) is not int or not MIN_TIME <= now <= MAX_TIME:
                now = self._ttl.now()  # raises
        if now != index._now:
            index.at(now)
        if arg is _PUT:
            self._inner.put(key, namespace, user_key, index.stamp + value if self._stamp else value)
        elif self._stamp:
            if now != self._tick:  # once per clock tick: IntCodec's encoding, inline
                self._tick = now
                self._tick_stamp = (now + _TIME_BIAS).to_bytes(STAMP_SIZE, "big")
            try:
                self._inner.compute(
                    key,
                    namespace,
                    user_key,
                    _change_unstamped,
                    (value, arg, self._tick_stamp, index.stamp),
                )
            except _Unstamped as exc:
                raise corrupt(
                    self(key, namespace), user_key, "TTL'd value does not decode", exc
                ) from exc
        else:
            self._inner.compute(key, namespace, user_key, value, arg)
        # TtlIndex.record, inline.
        entry = (key, namespace, user_key)
        recorded = index._recorded
        if entry not in recorded:
            if len(recorded) >= RECORDED_KEYS:
                recorded.clear()
            recorded.add(entry)
            pending = index._pending
            if pending is not None:
                pending.append(entry)
            else:
                index._add(index._due, entry)
        index._writes += 1
        if index._writes >= CLEANUP_EVERY:
            index._writes = 0
            index.cleanup(CLEANUP_STEP)

    def merge(self, key: bytes, namespace: bytes, user_key: bytes, value: bytes) -> None:
        if self._wall_clock:
            now = _time_ns() // 1_000_000  # processing_time_ms, inline
        else:
            now = self._clock()  # before the write: a clock that raises writes nothing
            if type(now) is not int or not MIN_TIME <= now <= MAX_TIME:
                now = self._ttl.now()  # raises
        self._inner.merge(key, namespace, user_key, value)
        self._record(key, namespace, user_key, now)


class _Unstamped(Exception):
    """Stored bytes too short to hold an expiry stamp, found by :func:`_change_unstamped`;
    :meth:`TtlScopes._write` names the entry in the ``CorruptStateError`` it raises."""


def _change_unstamped(
    data: bytes | None,
    packed: tuple[Callable[[bytes | None, Any], bytes | None], Any, bytes, bytes],
) -> bytes | None:
    """The change a TTL'd compute gives the store: ``change(value, arg)`` of the stored
    ``data`` without its stamp (``None`` when missing or not later than ``now_stamp``, the
    clock's time encoded), its result stamped with ``stamp``."""
    change, arg, now_stamp, stamp = packed
    if data is not None:
        if len(data) < STAMP_SIZE:
            raise _Unstamped(f"{len(data)} bytes hold no {STAMP_SIZE}-byte expiry stamp")
        data = data[STAMP_SIZE:] if data[:STAMP_SIZE] > now_stamp else None
    value = change(data, arg)
    return None if value is None else stamp + value
