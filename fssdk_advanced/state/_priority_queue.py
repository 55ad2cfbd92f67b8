"""PriorityQueueState: a min-queue per scope that keeps duplicates, one entry per element.

Layout: each element is an entry with value ``b""`` and user_key ``E(encoding) · seq``, where
``E`` is the bare encoding for a codec with ``fixed_size`` and the escaped, terminated encoding
otherwise (``00`` -> ``00 FF``, then ``00 01``; see :mod:`fssdk_advanced.codecs._ordered`), and
``seq`` is an 8-byte big-endian sequence number. ``E`` keeps elements in value order whatever
their lengths; ``seq`` makes duplicates distinct entries and orders equal elements by insertion.

Sequence numbers come from a counter per store and key group, monotonic across restarts: every
``add`` writes the next number to the simple key ``QUEUE_SEQ_PREFIX + key_group`` of the store, in
the same write buffer as the element (a buffer keeps one pending write per key, so the database
sees one counter write per flush). A snapshot therefore holds exactly the counter of its
elements, and a run restored from it numbers the replayed elements as the first run did: the
state after a recovery is byte for byte the state of an uninterrupted run. On a store partitioned
by the stream key (``Store.partitioned_by_key``: Flink's keyed state, where a simple key is the
current key's and nothing is readable outside a record) the counter is the current key's: each
``add`` reads it from the key's partition (one more get), so it survives restores and rescaling
with the key's elements.

Finding the head never scans the queue. RocksDB leaves a tombstone per polled entry until
compaction, and a seek from the start of the scope walks all of them, so each scope keeps a
cursor (:class:`_Head`, in an LRU shared by every handle of the store and key group): a window of
the smallest live user keys and ``hi``, the bound below which the window holds every live key.
``peek``/``poll`` read the window; an empty window is refilled by one seek from ``hi`` (past the
tombstones): one seek for a new cursor, then windows that double up to :data:`WINDOW` keys.
``add`` below ``hi`` inserts into the window. So ``add`` is one put, ``peek`` O(1) amortised,
``poll`` one delete plus O(1) amortised (one seek per up to :data:`WINDOW` polls).

Far more queues than cursors, polled in turn (per-key timers), would each seek from the scope's
start, over the tombstones of the polls before. So a poll of a scope with no cursor records a
resume point instead (:data:`MAX_RESUME` of them, an LRU of bare keys): every live key of the
scope is at or past it, and the next poll seeks from there. ``add`` lowers it to an element it
adds below it. A scope polled again soon after (before :data:`MAX_CURSORS` other scopes were
polled with no cursor) gets a cursor from its resume point instead, as does any peek.

Cursors and resume points live in memory only, on the store object: a scope found in neither
(or a restarted process, or new store handles after a rollback) seeks from the scope's start
once, over whatever tombstones RocksDB has not compacted yet.
Entries written to a queue's scope other than through the queue are not seen by the cursor.
"""

from __future__ import annotations

import weakref
from bisect import insort
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Final, Generic, TypeVar, Unpack, overload

from fssdk import ClosedError, Context, CorruptStateError, Store
from fssdk import Iterator as StoreIterator
from fssdk.reserved import QUEUE_SEQ_PREFIX
from fssdk.thresholds import threshold
from fssdk_advanced.codecs import Codec, codec_signature
from fssdk_advanced.codecs._ordered import escape_terminated, read_terminated
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import EMPTY
from fssdk_advanced.state._keyed import (
    KeyedFactory,
    KeyedQueueOptions,
    NonKeyed,
    QueueOptions,
)
from fssdk_advanced.state._values import ScopedCodec, corrupt
from fssdk_advanced.time import StateTtl

T = TypeVar("T")

KIND: Final = "PriorityQueueState"
WHAT: Final = "queue element"

SEQ_BYTES: Final = 8
#: Keys a cursor's window reads at most per refill (it holds up to twice as many). Lowered to 2,
#: windows still grow (1, then 2) and overflow.
WINDOW: Final = threshold(__name__, "WINDOW", 32, smallest=2)
#: Cursors kept per store and key group (an LRU).
MAX_CURSORS: Final = threshold(__name__, "MAX_CURSORS", 4096, smallest=1)
#: Resume points kept per store and key group (an LRU): where the next poll of a scope with no
#: cursor seeks from. About 280 bytes each (an int element; the primary key not counted): 18 MB.
MAX_RESUME: Final = threshold(__name__, "MAX_RESUME", 65536, smallest=1)


class _Head:
    """The cursor of one scope: ``window`` holds every live user key below ``hi``, sorted.

    ``hi is None``: the window holds every live key. ``hi == b""`` (a new cursor): nothing is
    known yet. ``size`` is how many keys the next refill reads: 1 (one seek) for a new cursor,
    doubling up to :data:`WINDOW` as the scope keeps being polled.
    """

    __slots__ = ("hi", "size", "window")

    def __init__(self, hi: bytes | None = EMPTY, size: int = 1) -> None:
        self.window: list[bytes] = []
        self.hi = hi
        self.size = size

    def _check(self) -> None:
        assert self.window == sorted(self.window), self.window
        assert len(self.window) <= 2 * WINDOW
        assert 1 <= self.size <= WINDOW
        if self.hi is not None and self.window:
            assert self.window[-1] < self.hi, (self.window[-1], self.hi)


class _QueueShared:
    """What every handle of one store and key group shares: the sequence and the cursors.

    It lives in the store's registry entry, which is keyed weakly by the store, so it must refer
    to the store weakly too: a strong reference would keep every store with a queue alive.
    """

    __slots__ = (
        "_active_before",
        "_flushes",
        "_heads",
        "_held",
        "_next_seq",
        "_per_key",
        "_polls",
        "_resume",
        "_seq_key",
        "_store",
        "_written_seq",
    )

    def __init__(self, store: Store, key_group: bytes) -> None:
        self._seq_key = QUEUE_SEQ_PREFIX + key_group
        self._per_key = store.partitioned_by_key
        self._next_seq = 0 if self._per_key else self._stored_seq(store)
        self._store = weakref.ref(store)
        self._heads: OrderedDict[tuple[bytes, bytes], _Head] = OrderedDict()
        #: Scope -> (every live key is at or past this key, ``_polls`` when it was recorded);
        #: never for a scope with a cursor. Insertion order is recency (an LRU: a poll pops the
        #: scope's point and records the next; an OrderedDict, as a dict's oldest key costs a
        #: scan past the slots of the keys popped before it).
        self._resume: OrderedDict[tuple[bytes, bytes], tuple[bytes, int]] = OrderedDict()
        #: Polls of a scope with no cursor so far: a resume point more recent than
        #: :data:`MAX_CURSORS` of them is of a scope worth a cursor.
        self._polls = 0
        store.on_rollback(self._forget)
        #: On a store that flushes, the counter is written at its next flush (Store.on_flush),
        #: not at every add: _held while that write is pending.
        self._flushes = self._held = not self._per_key and store.on_flush(self._write_seq)
        self._written_seq = self._next_seq
        self._active_before = False

    def _forget(self) -> None:
        """Drop every cursor and resume point: a rollback of the store's writes may have put
        back elements they had passed (the store calls it, ``Store.on_rollback``)."""
        self._heads.clear()
        self._resume.clear()

    def _stored_seq(self, store: Store) -> int:
        stored = store.get_state(self._seq_key)
        if stored is not None and len(stored) != SEQ_BYTES:
            raise CorruptStateError(
                f"store {store.name!r}: priority queue sequence counter {self._seq_key!r} is "
                f"{stored!r}, not {SEQ_BYTES} bytes"
            )
        return 0 if stored is None else int.from_bytes(stored, "big")

    def next_seq(self) -> bytes:
        """The next sequence number, 8 bytes big-endian; records its successor in the store:
        at once on a store without a flush (or partitioned by key), else at the store's next
        flush, in the batch that writes the elements numbered (one registration per flush)."""
        store = self._store()
        if store is None:
            store = self._live_store()
        if self._per_key:
            seq = self._stored_seq(store)
            store.put_state(self._seq_key, (seq + 1).to_bytes(SEQ_BYTES, "big"))
        else:
            seq = self._next_seq
            if not self._held:
                if self._flushes:
                    self._held = store.on_flush(self._write_seq)
                else:
                    store.put_state(self._seq_key, (seq + 1).to_bytes(SEQ_BYTES, "big"))
        self._next_seq = seq + 1
        return seq.to_bytes(SEQ_BYTES, "big")

    def _write_seq(self) -> None:
        """Write the counter held since the last flush (the store calls it before a flush),
        and register for the next flush while the queues were added to in this interval or
        the one before, so that a steady stream of adds never pays the registration."""
        self._held = False
        store = self._store()
        if store is None:
            return
        active = self._next_seq != self._written_seq
        if active:
            store.put_state(self._seq_key, self._next_seq.to_bytes(SEQ_BYTES, "big"))
            self._written_seq = self._next_seq
        if active or self._active_before:
            self._held = store.on_flush(self._write_seq)
        self._active_before = active

    def _live_store(self) -> Store:
        store = self._store()
        if store is None:
            raise ClosedError(f"priority queue key group {self._seq_key!r}: its store is gone")
        return store

    def head(self, key: bytes, namespace: bytes) -> _Head:
        """The cursor of scope ``(key, namespace)``, made if it is not in the LRU (from the
        scope's resume point, if it has one)."""
        ident = (key, namespace)
        head = self._heads.get(ident)
        if head is None:
            resume = self._resume.get(ident)
            return self.known(ident, EMPTY if resume is None else resume[0])
        self._heads.move_to_end(ident)
        return head

    def known(self, ident: tuple[bytes, bytes], hi: bytes | None) -> _Head:
        """A new cursor of scope ``ident`` with an empty window below ``hi`` (``b""``: nothing
        known yet), the most recent in the LRU; it replaces the scope's resume point."""
        self._resume.pop(ident, None)
        heads = self._heads
        # A cursor past a polled key refills 2 keys next: the scope is being drained.
        head = heads[ident] = _Head(hi, 1 if hi == EMPTY else 2)
        if len(heads) > MAX_CURSORS:
            heads.popitem(last=False)
        return head

    def resume(self, ident: tuple[bytes, bytes], start: bytes) -> None:
        """Record that every live key of scope ``ident`` (which has no cursor) is at or past
        ``start``, as the most recent resume point."""
        resume = self._resume
        resume[ident] = (start, self._polls)
        if len(resume) > MAX_RESUME:
            resume.popitem(last=False)

    def _check(self) -> None:
        """Assert the invariants: the store holds the counter, every cursor is consistent, no
        scope has both a cursor and a resume point."""
        if not self._per_key and not self._held:
            stored = self._live_store().get_state(self._seq_key)
            expected = self._next_seq.to_bytes(SEQ_BYTES, "big") if self._next_seq else None
            assert stored == expected
        assert len(self._heads) <= MAX_CURSORS
        assert len(self._resume) <= MAX_RESUME
        assert not self._resume.keys() & self._heads.keys()
        for head in self._heads.values():
            head._check()


class PriorityQueueState(NonKeyed, Generic[T]):
    """A min-priority queue of ``T`` (ordered codec) in one scope; duplicates are kept.

    Equal elements come out in the order they were added. Build it with :meth:`from_context` or
    a :class:`KeyedPriorityQueueStateFactory`; the constructor is internal.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> timers = PriorityQueueState.from_context_auto_codec(ctx, "timers", int)
    >>> for t in (30, 10, 20, 10):
    ...     timers.add(t)
    >>> timers.peek(), list(timers.all())
    ((10, True), [10, 10, 20, 30])
    >>> [timers.poll() for _ in range(5)]
    [(10, True), (10, True), (20, True), (30, True), (None, False)]
    """

    __slots__ = ()

    _codec: Codec[T]
    _elements: ScopedCodec[T]
    _shared: _QueueShared

    @classmethod
    def from_context(
        cls, ctx: Context, store_name: str, codec: Codec[T], **options: Unpack[QueueOptions]
    ) -> PriorityQueueState[T]:
        """The non-keyed queue stored in ``store_name``; ``codec`` must be ordered.

        Raises ``UnorderedCodecError`` (a TypeError and ValueError) for an unordered codec.
        """
        return cls._from_context(ctx, store_name, codec, **options)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: type[T], **options: Unpack[QueueOptions]
    ) -> PriorityQueueState[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        value_type: object = None,
        **options: Unpack[QueueOptions],
    ) -> PriorityQueueState[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: object = None, **options: Any
    ) -> PriorityQueueState[Any]:
        """Like :meth:`from_context` with the ordered default codec of ``value_type``."""
        return cls._auto_codec(ctx, store_name, (value_type,), **options)

    def add(self, value: T) -> None:
        """Add ``value`` (duplicates too). One put: O(log n) in the store."""
        data = self._elements.encode(value)
        size = self._codec.fixed_size
        if size is None:
            data = escape_terminated(data)
        elif len(data) != size:
            raise ValueError(
                f"{codec_signature(self._codec)} declares fixed_size {size} but encoded "
                f"{value!r} as {len(data)} bytes"
            )
        shared = self._shared
        user_key = data + shared.next_seq()
        key, namespace = self._key, self._namespace
        self._scopes.put(key, namespace, user_key, EMPTY)
        ident = (key, namespace)
        head = shared._heads.get(ident)
        if head is None:  # no cursor: at most a resume point to lower
            resume = shared._resume.get(ident)
            if resume is not None and user_key < resume[0]:
                shared._resume[ident] = (user_key, resume[1])
            return
        hi = head.hi
        if hi is None or user_key < hi:
            window = head.window
            insort(window, user_key)
            if len(window) > 2 * WINDOW:
                head.hi = window[WINDOW]
                del window[WINDOW:]

    def _first(self, head: _Head) -> bytes | None:
        """The smallest live user key, refilling the cursor's window if it is empty."""
        if head.window:
            return head.window[0]
        start = head.hi
        if start is None:
            return None
        size = head.size
        head.size = min(2 * size, WINDOW)
        # One bounded read: the window, and the key after it (its bound) once it is worth it.
        found = self._scopes.take(self._key, self._namespace, size + (size > 1), start)
        if not found:
            head.window, head.hi = [], None
            return None
        if size == 1:  # a new cursor's one key (no comprehension: one frame less)
            first = found[0][0]
            head.window, head.hi = [first], first + b"\x00"
            return first
        window = [user_key for user_key, _ in found[:size]]
        head.window, head.hi = window, found[size][0] if len(found) > size else None
        return window[0]

    def peek(self) -> tuple[T | None, bool]:
        """``(smallest element, True)``, or ``(None, False)`` when empty. O(1) amortised."""
        user_key = self._first(self._shared.head(self._key, self._namespace))
        if user_key is None:
            return None, False
        return self._decode(user_key), True

    def poll(self) -> tuple[T | None, bool]:
        """Remove and return the smallest element: ``(element, True)``, or ``(None, False)``.

        One delete plus O(1) amortised reads. An element that does not decode raises
        ``CorruptStateError`` and stays in the queue. A queue with no cursor in the LRU (one of
        more queues than ``MAX_CURSORS``, polled in turn) reads its head with one bounded seek
        (``pop_first``: read and delete located once) from its resume point, and records the
        next one just past the polled key.
        """
        key, namespace = self._key, self._namespace
        ident = (key, namespace)
        shared = self._shared
        head = shared._heads.get(ident)
        if head is None:
            resume = shared._resume.pop(ident, None)
            shared._polls = polls = shared._polls + 1
            if resume is None or polls - resume[1] > MAX_CURSORS:
                popped = self._scopes.pop_first(
                    key, namespace, self._decode, EMPTY if resume is None else resume[0]
                )
                if popped is None:
                    shared.known(ident, None)
                    return None, False
                shared.resume(ident, popped[0] + b"\x00")
                return popped[1], True
            head = shared.known(ident, resume[0])  # polled again soon: worth a cursor
        else:
            shared._heads.move_to_end(ident)
        window = head.window
        user_key = window[0] if window else self._first(head)
        if user_key is None:
            return None, False
        value = self._decode(user_key)
        self._scopes.delete(key, namespace, user_key)
        del head.window[0]
        return value, True

    def is_empty(self) -> bool:
        """True when the queue has no element. O(1) amortised, like :meth:`peek`."""
        return self._first(self._shared.head(self._key, self._namespace)) is None

    def clear(self) -> None:
        """Remove every element. One prefix delete."""
        self._scopes.delete_prefix(self._key, self._namespace)
        head = self._shared.head(self._key, self._namespace)
        head.window, head.hi = [], None

    def all(self) -> Iterator[T]:
        """Every element in ascending order (equal ones in insertion order), streamed.

        Starts at the cursor (past any tombstones) and sees the queue as it was when called.
        """
        head = self._shared.head(self._key, self._namespace)
        start = head.window[0] if head.window else head.hi
        if start is None:
            return iter(())
        return self._yield_elements(self._scopes.scan(self._key, self._namespace, start=start))

    def _yield_elements(self, scan: StoreIterator) -> Iterator[T]:
        with scan:
            for user_key, _ in scan:
                yield self._decode(user_key)

    def _decode(self, user_key: bytes) -> T:
        size = self._codec.fixed_size
        if size is not None and len(user_key) == size + SEQ_BYTES:
            data = user_key[:size]
        else:
            try:
                data = element_bytes(user_key, size)
            except ValueError as exc:
                raise corrupt(self._scope, user_key, f"{WHAT} does not decode", exc) from exc
        try:
            return self._elements._decode(data)
        except ValueError:
            return self._elements.decode(self._scope, user_key, data)


KeyedPriorityQueueState = PriorityQueueState


class TtlPriorityQueueState(PriorityQueueState[T]):
    """A :class:`PriorityQueueState` with ``ttl=``: each element's entry holds its expiry stamp.

    Reads skip (and delete) expired elements from the head, returning one only with
    ``return_expired_if_not_cleaned_up``; a peek or poll costs one get more than without TTL.
    """

    __slots__ = ()

    _ttl: StateTtl

    def _expires_at(self, user_key: bytes, data: bytes) -> int:
        try:
            return StateTtl.unstamp(data)[0]
        except ValueError as exc:
            raise corrupt(self._scope, user_key, f"{WHAT} does not decode", exc) from exc

    def _head(self, head: _Head) -> tuple[bytes, T, bool] | None:
        """The first element to return: ``(user_key, value, removed)``, or ``None``."""
        ttl = self._ttl
        now = ttl.now()
        while True:
            user_key = self._first(head)
            if user_key is None:
                return None
            data = self._scopes.get(self._key, self._namespace, user_key)
            if data is None:  # removed by the incremental cleanup
                del head.window[0]
                continue
            value = self._decode(user_key)
            if self._expires_at(user_key, data) <= now:
                self._scopes.delete(self._key, self._namespace, user_key)
                del head.window[0]
                if ttl.returns_expired:
                    return user_key, value, True
                continue
            if ttl.update_on_read:
                self._scopes.put(self._key, self._namespace, user_key, EMPTY)
            return user_key, value, False

    def peek(self) -> tuple[T | None, bool]:
        found = self._head(self._shared.head(self._key, self._namespace))
        return (None, False) if found is None else (found[1], True)

    def poll(self) -> tuple[T | None, bool]:
        key, namespace = self._key, self._namespace
        ident = (key, namespace)
        shared = self._shared
        head = shared._heads.get(ident)
        if head is None:  # no cursor: the head and its stamp from one bounded seek
            resume = shared._resume.pop(ident, None)
            shared._polls = polls = shared._polls + 1
            start = EMPTY if resume is None else resume[0]
            if resume is not None and polls - resume[1] <= MAX_CURSORS:
                head = shared.known(ident, start)  # polled again soon: worth a cursor
            else:
                first = self._scopes.first(key, namespace, start)
                if first is None:
                    shared.known(ident, None)
                    return None, False
                user_key, data = first
                value = self._decode(user_key)
                ttl = self._ttl
                if ttl.returns_expired or self._expires_at(user_key, data) > ttl.now():
                    self._scopes.delete(key, namespace, user_key)
                    shared.resume(ident, user_key + b"\x00")
                    return value, True
                head = shared.known(ident, start)  # expired: the cursor's loop removes it
        else:
            shared._heads.move_to_end(ident)
        found = self._head(head)
        if found is None:
            return None, False
        user_key, value, removed = found
        if not removed:
            self._scopes.delete(self._key, self._namespace, user_key)
            del head.window[0]
        return value, True

    def is_empty(self) -> bool:
        return self.peek()[1] is False

    def _yield_elements(self, scan: StoreIterator) -> Iterator[T]:
        ttl = self._ttl
        now = ttl.now()
        with scan:
            for user_key, data in scan:
                value = self._decode(user_key)
                if self._expires_at(user_key, data) <= now:
                    self._scope.delete(user_key)
                    if not ttl.returns_expired:
                        continue
                elif ttl.update_on_read:
                    self._scope.put(user_key, EMPTY)
                yield value


def queue_class(ttl: StateTtl | None) -> type[PriorityQueueState[Any]]:
    """The queue type for ``ttl``: chosen once, so a queue without TTL runs no TTL code."""
    return PriorityQueueState if ttl is None else TtlPriorityQueueState


def element_bytes(user_key: bytes, fixed_size: int | None) -> bytes:
    """The element encoding inside an entry's user key; ``ValueError`` if it is malformed."""
    if len(user_key) < SEQ_BYTES:
        raise ValueError(f"an entry key has at least {SEQ_BYTES} bytes")
    body = user_key[:-SEQ_BYTES]
    if fixed_size is None:
        data, end = read_terminated(body)
        if end != len(body):
            raise ValueError(f"{len(body) - end} bytes after the element's terminator")
        return data
    if len(body) != fixed_size:
        raise ValueError(f"expected a {fixed_size}-byte element, got {len(body)} bytes")
    return body


class KeyedPriorityQueueStateFactory(KeyedFactory, Generic[T], state=PriorityQueueState):
    """Gives the :class:`KeyedPriorityQueueState` of each primary key and namespace.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> timers = KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "t", b"timers", int)
    >>> timers.new_keyed_priority_queue(b"alice", b"").add(5)
    >>> timers.new_keyed_priority_queue(b"alice", b"").poll()
    (5, True)
    """

    __slots__ = ("_elements", "_shared")
    _NEW = ("new_keyed_priority_queue", "namespace")
    _HINTS = (("value_type", True),)

    def __init__(
        self, store: Store, key_group: bytes, codec: Codec[T], **options: Unpack[KeyedQueueOptions]
    ) -> None:
        check_codec(codec, "codec", self._owner(), ordered=True)
        super().__init__(
            store,
            key_group,
            KIND,
            {"element": codec},
            make_shared=lambda: _QueueShared(store, key_group),
            stamp_values=True,
            **options,
        )
        self._shared: _QueueShared = self._identity.shared
        self._elements = ScopedCodec(codec, WHAT)
        ttl = options.get("ttl")
        self._handles = self._handles_of(
            queue_class(ttl),
            _codec=codec,
            _elements=self._elements,
            _shared=self._shared,
            _ttl=ttl,
        )

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        codec: Codec[T],
        **options: Unpack[KeyedQueueOptions],
    ) -> KeyedPriorityQueueStateFactory[T]:
        """The factory for ``key_group`` of ``store_name``; ``codec`` must be ordered."""
        return cls._from_context(ctx, store_name, key_group, codec, **options)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: type[T],
        **options: Unpack[KeyedQueueOptions],
    ) -> KeyedPriorityQueueStateFactory[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: object = None,
        **options: Unpack[KeyedQueueOptions],
    ) -> KeyedPriorityQueueStateFactory[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: object = None,
        **options: Any,
    ) -> KeyedPriorityQueueStateFactory[Any]:
        """Like :meth:`from_context` with the ordered default codec of ``value_type``."""
        return cls._auto_codec(ctx, store_name, key_group, (value_type,), **options)

    def new_keyed_priority_queue(
        self, primary_key: Any, namespace: str | bytes = EMPTY
    ) -> KeyedPriorityQueueState[T]:
        """The queue of ``primary_key`` in ``namespace``. Binds a scope; no store access."""
        state: PriorityQueueState[T] = self._bind(
            self._handles, "new_keyed_priority_queue", primary_key, namespace
        )
        return state
