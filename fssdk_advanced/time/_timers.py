"""TimerService: persistent event-time and processing-time timers over the Store API.

Layout, in the store given to :meth:`TimerService.from_context` (give the service a store of its
own; ``K`` is the key group, the scope's key and namespace are empty)::

    K = b"fssdk_advanced/timers/event"       user_key T(ts, key, namespace), value b""
    K = b"fssdk_advanced/timers/processing"  user_key T(ts, key, namespace), value b""
    K = b"fssdk_advanced/timers/clock"       user_key b"watermark" | b"processing-time",
                                             value IntCodec(time)

``T`` is ``TupleCodec(IntCodec(), BytesCodec(), BytesCodec())``: the timestamp as 8 ordered
bytes, the key escaped and terminated, the namespace as it is. Byte order is (timestamp, key,
namespace) order, so a scan from the start of a domain's scope meets timers in due order, and
timers with equal timestamps fire by key, then namespace, in byte order.

There is no second index by (key, namespace, timestamp): every call names a timer by all three,
so its queue key is one encode away and dedup and delete are a single point write (registering
twice writes the same entry twice; deleting writes one tombstone). A second index would double
every write and serve no lookup the API has. Flink's RocksDB timer queue stores its timers the
same way, as one ordered key set.

Costs (n timers in a domain; "one write" goes to the store's write buffer on RocksDB):

- register, delete: one write, no read; O(log n) in the store, plus an O(WINDOW) list insert
  when the timer belongs in the cached head.
- advance past k due timers: k deletes, at most k + WINDOW entries read, by at most
  k/WINDOW + 1 seeks of O(log n) each. The only timers read that are not due are those of the
  last refill of the head window: at most WINDOW, the next ones to come due, which later
  advances then fire without a read. Timers beyond them are never scanned.
- an advance that fires nothing: no store read once the head is known, which it is after the
  first advance of a service (the head window is the cache, as in Flink's
  ``RocksDBCachingPriorityQueueSet``); one write when the watermark grows.

The head window: per store and domain, the smallest live queue keys and ``hi``, a bound below
which the window holds every live key (``None``: the window holds them all). Registering below
``hi`` inserts into the window; firing takes from it; an empty window is refilled by one seek
from ``hi``, which also steps over the tombstones of fired timers that RocksDB keeps until
compaction. The window lives in memory, shared by every service on the same store object; a new
store object (a restarted process) seeks from the start of the scope once.

Engines: a Context that offers ``engine_timers(store_name)`` (Flink's) keeps the timers in the
engine's own timer service; :meth:`TimerService.from_context` then returns a service that checks
the arguments and delegates to it (:class:`EngineTimers`), and the clocks are the engine's.

Recovery: firing deletes the timer from the store as the timer is handed out, so the deletion
is part of the same checkpoint as whatever the operator wrote while handling it. A timer fired
before a checkpoint is gone from that checkpoint and never fires again; a timer registered after
it is registered again by the replay and fires once.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Final, NamedTuple, Protocol

from fssdk import Context, CorruptStateError, EngineTimers, Store, StoreScope, TimeDomain
from fssdk.reserved import (
    EVENT_TIMERS_KEY_GROUP,
    MAX_TIME,
    MIN_TIME,
    PROCESSING_TIMERS_KEY_GROUP,
    TIMER_CLOCK_KEY_GROUP,
)
from fssdk.thresholds import threshold
from fssdk_advanced.codecs import BytesCodec, IntCodec, TupleCodec

WATERMARK_KEY: Final = b"watermark"
PROCESSING_TIME_KEY: Final = b"processing-time"

WINDOW: Final = threshold(__name__, "WINDOW", 64, smallest=1)
"""Keys one refill of the head window reads (one seek); the window holds up to twice as many.

A seek costs far more than reading a key (on RocksDB it also writes out the store's write
buffer), so a refill reads a full window, as Flink's cache of the queue's head does."""

_TIME: Final = IntCodec()
_TIMER: Final = TupleCodec(IntCodec(), BytesCodec(), BytesCodec())
_EMPTY: Final = b""


class Timer(NamedTuple):
    """A fired timer: its timestamp, the stream key and the namespace it was registered with."""

    timestamp: int
    key: bytes
    namespace: bytes


def timer_of_queue_key(user_key: bytes) -> Timer:
    """The timer a queue entry's user key names; ``ValueError`` when it does not decode."""
    timestamp, key, namespace = _TIMER.decode(user_key)
    return Timer(timestamp, key, namespace)


def _check_time(value: object, argument: str, operation: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{operation}: {argument} must be an int, not {type(value).__name__}")
    if not MIN_TIME <= value <= MAX_TIME:
        raise ValueError(f"{operation}: {argument} must be a signed 64-bit int, got {value!r}")
    return value


def _queue_key(key: object, namespace: object, timestamp: object, operation: str) -> bytes:
    if type(key) is not bytes:
        raise TypeError(f"{operation}: key must be bytes, not {type(key).__name__}")
    if type(namespace) is not bytes:
        raise TypeError(f"{operation}: namespace must be bytes, not {type(namespace).__name__}")
    return _TIMER.encode((_check_time(timestamp, "timestamp", operation), key, namespace))


class _Head:
    """The cached head of one domain's queue: ``window`` holds every live key below ``hi``.

    ``hi is None``: the window holds every live key. ``hi == b""`` (a new head): nothing is
    known yet, the first refill seeks from the start of the scope.
    """

    __slots__ = ("hi", "window")

    def __init__(self) -> None:
        self.window: list[bytes] = []
        self.hi: bytes | None = _EMPTY

    def added(self, user_key: bytes) -> None:
        hi = self.hi
        if hi is not None and user_key >= hi:
            return
        window = self.window
        at = bisect_left(window, user_key)
        if at < len(window) and window[at] == user_key:
            return
        window.insert(at, user_key)
        if len(window) > 2 * WINDOW:
            self.hi = window[WINDOW]
            del window[WINDOW:]

    def removed(self, user_key: bytes) -> None:
        window = self.window
        at = bisect_left(window, user_key)
        if at < len(window) and window[at] == user_key:
            del window[at]

    def refill(self, scope: StoreScope) -> None:
        """Read up to WINDOW live keys from ``hi`` into the (empty) window: one seek."""
        start = self.hi
        assert start is not None
        assert not self.window
        window: list[bytes] = []
        with scope.scan(start=start) as scan:
            for user_key, _ in scan:
                window.append(user_key)
                if len(window) == WINDOW:
                    break
        self.window = window
        self.hi = window[-1] + b"\x00" if len(window) == WINDOW else None

    def _check(self, scope: StoreScope) -> None:
        """Assert that the window is exactly the store's live keys below ``hi``."""
        window = self.window
        assert window == sorted(set(window)), window
        assert len(window) <= 2 * WINDOW
        if self.hi == _EMPTY:
            assert not window
            return
        with scope.scan(end=self.hi or _EMPTY) as scan:
            assert [user_key for user_key, _ in scan] == window


class _Shared:
    """What every service on one store object shares: the two heads and the two clocks."""

    __slots__ = ("event", "processing", "processing_time", "watermark")

    def __init__(self, clock: StoreScope) -> None:
        self.event = _Head()
        self.processing = _Head()
        self.watermark = _read_time(clock, WATERMARK_KEY)
        self.processing_time = _read_time(clock, PROCESSING_TIME_KEY)


def _read_time(clock: StoreScope, name: bytes) -> int | None:
    data = clock.get(name)
    if data is None:
        return None
    try:
        return _TIME.decode(data)
    except ValueError as exc:
        raise CorruptStateError(
            f"{clock.describe(name)}: the timer service's clock does not decode: {exc}"
        ) from exc


# Keyed weakly by the store; the values never refer to the store, so a dropped store takes its
# shared heads along.
_SHARED: Final[weakref.WeakKeyDictionary[Store, _Shared]] = weakref.WeakKeyDictionary()


class _WatermarkSource(Protocol):
    @property
    def watermark(self) -> int | None: ...


class EventTimeClock:
    """A zero-argument clock reading a timer service's current watermark (event-time TTL).

    Before the first watermark it returns ``initial``. ``time_domain`` tells a :class:`StateTtl`
    that it measures event time.
    """

    __slots__ = ("_initial", "_shared")
    time_domain: Final = "event-time"

    def __init__(self, shared: _WatermarkSource, initial: int) -> None:
        self._shared = shared
        self._initial = initial

    def __call__(self) -> int:
        watermark = self._shared.watermark
        return self._initial if watermark is None else watermark


class TimerService:
    """Event-time and processing-time timers, persisted in one store, deduplicated per
    (key, namespace, timestamp), fired in timestamp order exactly once each.

    Create it in ``init`` with :meth:`from_context`. Fire timers by consuming the iterator of
    :meth:`advance_watermark` (from ``process_watermark``) or :meth:`advance_processing_time`.
    See the module docstring for the layout and the costs, docs/time.md for the semantics.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> timers = TimerService.from_context(LocalContext(MemoryBackend()), "timers")
    >>> for key, ts in ((b"bob", 30), (b"alice", 30), (b"alice", 10), (b"alice", 10)):
    ...     timers.register_event_time_timer(key, b"", ts)
    >>> [tuple(timer) for timer in timers.advance_watermark(30)]
    [(10, b'alice', b''), (30, b'alice', b''), (30, b'bob', b'')]
    >>> list(timers.advance_watermark(40)), timers.current_watermark
    ([], 40)
    """

    __slots__ = ("_clock", "_event", "_processing", "_shared", "store")

    def __init__(self, store: Store) -> None:
        """The timer service persisted in ``store`` (one store object: one shared head cache)."""
        if not isinstance(store, Store):
            raise TypeError(
                f"TimerService: store must be an fssdk.Store, not {type(store).__name__}"
            )
        self.store: Final = store
        self._event = store.scope(EVENT_TIMERS_KEY_GROUP, _EMPTY, _EMPTY)
        self._processing = store.scope(PROCESSING_TIMERS_KEY_GROUP, _EMPTY, _EMPTY)
        self._clock = store.scope(TIMER_CLOCK_KEY_GROUP, _EMPTY, _EMPTY)
        shared = _SHARED.get(store)
        if shared is None:
            shared = _SHARED[store] = _Shared(self._clock)
        self._shared = shared

    @classmethod
    def from_context(cls, ctx: Context, store_name: str) -> TimerService:
        """The timer service persisted in the store ``store_name`` of ``ctx``.

        Two point reads (the clocks) the first time a store object is used; none afterwards.
        A context with its own timers (``ctx.engine_timers(store_name)``, see
        :class:`EngineTimers`; Flink's) gets a service that delegates to them instead.
        """
        if not isinstance(ctx, Context):
            raise TypeError(
                f"TimerService.from_context: ctx must be an fssdk.Context, not {type(ctx).__name__}"
            )
        engine = ctx.engine_timers(store_name)
        if engine is not None:
            return _EngineTimerService(engine)
        return cls(ctx.get_or_create_store(store_name))

    def __repr__(self) -> str:
        shared = self._shared
        return (
            f"<TimerService of {self.store!r} watermark={shared.watermark!r} "
            f"processing_time={shared.processing_time!r}>"
        )

    # -- registering -------------------------------------------------------------------------

    def register_event_time_timer(self, key: bytes, namespace: bytes, timestamp: int) -> None:
        """Fire ``(timestamp, key, namespace)`` once the watermark reaches ``timestamp``.

        Registering a timer that is already registered does nothing more. A timestamp at or
        below the current watermark fires at the next :meth:`advance_watermark` (or in the one
        being consumed). One write, no read.
        """
        user_key = _queue_key(key, namespace, timestamp, "register_event_time_timer")
        self._event.put(user_key, _EMPTY)
        self._shared.event.added(user_key)

    def delete_event_time_timer(self, key: bytes, namespace: bytes, timestamp: int) -> None:
        """Forget the event-time timer ``(timestamp, key, namespace)``; a missing one is fine.

        One write, no read.
        """
        user_key = _queue_key(key, namespace, timestamp, "delete_event_time_timer")
        self._event.delete(user_key)
        self._shared.event.removed(user_key)

    def register_processing_time_timer(self, key: bytes, namespace: bytes, timestamp: int) -> None:
        """Fire ``(timestamp, key, namespace)`` once processing time reaches ``timestamp``.

        As :meth:`register_event_time_timer`, for :meth:`advance_processing_time`.
        """
        user_key = _queue_key(key, namespace, timestamp, "register_processing_time_timer")
        self._processing.put(user_key, _EMPTY)
        self._shared.processing.added(user_key)

    def delete_processing_time_timer(self, key: bytes, namespace: bytes, timestamp: int) -> None:
        """Forget the processing-time timer ``(timestamp, key, namespace)``. One write."""
        user_key = _queue_key(key, namespace, timestamp, "delete_processing_time_timer")
        self._processing.delete(user_key)
        self._shared.processing.removed(user_key)

    # -- advancing ---------------------------------------------------------------------------

    @property
    def current_watermark(self) -> int | None:
        """The largest watermark advanced to (``None`` before the first); survives a restart."""
        return self._shared.watermark

    @property
    def current_processing_time(self) -> int | None:
        """The largest processing time advanced to (``None`` before the first); persisted."""
        return self._shared.processing_time

    def advance_watermark(self, watermark: int) -> Iterator[Timer]:
        """Move event time to ``watermark`` and return the due event-time timers as they fire.

        The watermark is recorded at once (it never goes back: a smaller one leaves
        :attr:`current_watermark` as it is). The iterator yields each timer with a timestamp at
        or below the current watermark, smallest first, ties by key then namespace, and deletes
        it from the store as it yields it: consume it (``for timer in ...``). A timer registered
        while the iterator is consumed fires in it if it is due; one deleted before it is
        reached does not fire. Timers left when the iterator is dropped fire at the next advance.
        """
        watermark = _check_time(watermark, "watermark", "advance_watermark")
        shared = self._shared
        if shared.watermark is None or watermark > shared.watermark:
            shared.watermark = watermark
            self._clock.put(WATERMARK_KEY, _TIME.encode(watermark))
        return self._fire(self._event, shared.event, _TIME.encode(shared.watermark))

    def advance_processing_time(self, now: int) -> Iterator[Timer]:
        """Move processing time to ``now``; the due processing-time timers, as they fire.

        As :meth:`advance_watermark`, for processing time (:attr:`current_processing_time`).
        """
        now = _check_time(now, "now", "advance_processing_time")
        shared = self._shared
        if shared.processing_time is None or now > shared.processing_time:
            shared.processing_time = now
            self._clock.put(PROCESSING_TIME_KEY, _TIME.encode(now))
        return self._fire(self._processing, shared.processing, _TIME.encode(shared.processing_time))

    def _fire(self, scope: StoreScope, head: _Head, bound: bytes) -> Iterator[Timer]:
        """Yield and delete the timers whose encoded timestamp is ``<= bound``, in key order."""
        while True:
            window = head.window
            if not window:
                if head.hi is None:
                    return
                head.refill(scope)
                window = head.window
                if not window:
                    return
            user_key = window[0]
            if user_key[:8] > bound:
                return
            timer = self._decode(scope, user_key)
            del window[0]
            scope.delete(user_key)
            yield timer

    @staticmethod
    def _decode(scope: StoreScope, user_key: bytes) -> Timer:
        try:
            return timer_of_queue_key(user_key)
        except ValueError as exc:
            raise CorruptStateError(
                f"{scope.describe(user_key)}: timer key does not decode: {exc}"
            ) from exc

    def _next_processing_time(self) -> int | None:
        """The timestamp of the first pending processing-time timer (``None``: none pending).

        No read once the head is known; otherwise one seek (a refill of the head window).
        """
        head = self._shared.processing
        if not head.window and head.hi is not None:
            head.refill(self._processing)
        return _TIME.decode(head.window[0][:8]) if head.window else None

    # -- clocks ------------------------------------------------------------------------------

    def event_time_clock(self, initial: int = MIN_TIME) -> Callable[[], int]:
        """A zero-argument clock returning :attr:`current_watermark` (``initial`` before the
        first watermark), for event-time TTL: ``StateTtl(ttl, clock=timers.event_time_clock())``.
        """
        return EventTimeClock(self._shared, _check_time(initial, "initial", "event_time_clock"))

    def _check(self) -> None:
        """Assert that both cached heads agree with the store (tests call it)."""
        self._shared.event._check(self._event)
        self._shared.processing._check(self._processing)


# -- engines with their own timers -----------------------------------------------------------


class _EngineClock:
    """The watermark of an engine, for :class:`EventTimeClock`."""

    __slots__ = ("_engine",)

    def __init__(self, engine: EngineTimers) -> None:
        self._engine = engine

    @property
    def watermark(self) -> int | None:
        return self._engine.current_time(TimeDomain.EVENT)


class _EngineTimerService(TimerService):
    """A TimerService whose timers live in the engine's timer service (see EngineTimers).

    Checks arguments as the store-backed service does; the clocks are the engine's.
    """

    __slots__ = ("_engine",)

    def __init__(self, engine: EngineTimers) -> None:
        self.store = engine.store  # type: ignore[misc]
        self._engine = engine

    def __repr__(self) -> str:
        return f"<TimerService of {self._engine!r}>"

    def register_event_time_timer(self, key: bytes, namespace: bytes, timestamp: int) -> None:
        _queue_key(key, namespace, timestamp, "register_event_time_timer")
        self._engine.register(TimeDomain.EVENT, key, namespace, timestamp)

    def delete_event_time_timer(self, key: bytes, namespace: bytes, timestamp: int) -> None:
        _queue_key(key, namespace, timestamp, "delete_event_time_timer")
        self._engine.delete(TimeDomain.EVENT, key, namespace, timestamp)

    def register_processing_time_timer(self, key: bytes, namespace: bytes, timestamp: int) -> None:
        _queue_key(key, namespace, timestamp, "register_processing_time_timer")
        self._engine.register(TimeDomain.PROCESSING, key, namespace, timestamp)

    def delete_processing_time_timer(self, key: bytes, namespace: bytes, timestamp: int) -> None:
        _queue_key(key, namespace, timestamp, "delete_processing_time_timer")
        self._engine.delete(TimeDomain.PROCESSING, key, namespace, timestamp)

    @property
    def current_watermark(self) -> int | None:
        return self._engine.current_time(TimeDomain.EVENT)

    @property
    def current_processing_time(self) -> int | None:
        return self._engine.current_time(TimeDomain.PROCESSING)

    def advance_watermark(self, watermark: int) -> Iterator[Timer]:
        watermark = _check_time(watermark, "watermark", "advance_watermark")
        return self._fired(TimeDomain.EVENT, watermark)

    def advance_processing_time(self, now: int) -> Iterator[Timer]:
        now = _check_time(now, "now", "advance_processing_time")
        return self._fired(TimeDomain.PROCESSING, now)

    def _fired(self, domain: TimeDomain, bound: int) -> Iterator[Timer]:
        for timestamp, key, namespace in self._engine.fire(domain, bound):
            yield Timer(timestamp, key, namespace)

    def event_time_clock(self, initial: int = MIN_TIME) -> Callable[[], int]:
        initial = _check_time(initial, "initial", "event_time_clock")
        return EventTimeClock(_EngineClock(self._engine), initial)
