"""KeyedProcessDriver: an operator written as ``process_element`` and ``on_timer``.

Flink's ``KeyedProcessFunction``, made portable: the driver implements the seed's Driver calls
itself (``process``, ``process_watermark``, ``check_heartbeat``), so the same class runs under
``fssdk run``, on Flink and inside the Function Stream component, and its timers fire without a
line of firing code in the operator:

- ``process(ctx, source_id, record)``: fires the processing-time timers that are due (by
  ``ctx.processing_time()``), then calls ``process_element(ctx, key_of(record), record)``;
- ``process_watermark(ctx, source_id, watermark)``: fires the event-time timers at or below the
  watermark and the due processing-time timers, then forwards the watermark;
- ``check_heartbeat(ctx)``: fires the due processing-time timers (the runtimes' periodic call;
  ``fssdk run`` makes it at every checkpoint, the test harness on ``advance_processing_time``).

On an engine with timers of its own (Flink: ``ctx.engine_timers``) the engine fires them and
calls ``process_watermark`` with the timer's key current, which is where they are handed to
``on_timer``.

Timers are named: a key has at most one pending timer per name (``b""`` by default), in either
time domain, with an optional payload. Registering a name again replaces its pending timer and
``delete_timer(key, name)`` removes it, so an operator never keeps a timestamp around to find
the timer it set before. Layout, in the timer store beside the :class:`TimerService`'s queues::

    (NAMED_TIMERS_KEY_GROUP, key, b"")  user_key name
        value: b"e" | b"p" (domain) · IntCodec(timestamp) · [b"\\x01" · payload bytes]

and the queue entry is the TimerService timer ``(timestamp, key, namespace=name)``. Costs: a
register is one read and up to three writes (the index entry, the old queue entry's delete,
the new one); a delete one read and two writes; a fired timer one read and one delete more
than a TimerService timer. A record that fires nothing costs one comparison with the head of
the processing-time queue (no store read once the head is known).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Final, NamedTuple

from fssdk import (
    BaseDriver,
    Context,
    CorruptStateError,
    NotInitializedError,
    StoreScope,
    TimeDomain,
    WrongKeyError,
)
from fssdk.reserved import NAMED_TIMERS_KEY_GROUP
from fssdk_advanced.codecs import BytesCodec, Codec, IntCodec
from fssdk_advanced.time._timers import Timer, TimerService, _check_time, _EngineTimerService

_TIME: Final = IntCodec()
_TAGS: Final = {TimeDomain.EVENT: b"e", TimeDomain.PROCESSING: b"p"}
_DOMAINS: Final = {tag[0]: domain for domain, tag in _TAGS.items()}
_HAS_PAYLOAD: Final = b"\x01"
_HEADER: Final = 1 + 8


def _check_name(key: object, name: object, operation: str) -> None:
    if type(key) is not bytes:
        raise TypeError(f"{operation}: key must be bytes, not {type(key).__name__}")
    if type(name) is not bytes:
        raise TypeError(f"{operation}: name must be bytes, not {type(name).__name__}")


class ProcessTimer(NamedTuple):
    """A fired timer, as ``on_timer`` receives it: its time, key, name, payload and domain."""

    timestamp: int
    key: bytes
    name: bytes
    payload: Any
    domain: TimeDomain


class PendingTimer(NamedTuple):
    """A timer that has not fired yet (:meth:`KeyedTimers.pending_timer`)."""

    timestamp: int
    domain: TimeDomain
    payload: Any


class KeyedTimers:
    """The timers of a :class:`KeyedProcessDriver`: per key, at most one pending timer per name.

    ``payload`` is the codec of timer payloads (``None``, the default payload, is stored as
    absent). Arguments are checked as the :class:`TimerService` checks them (``TypeError``,
    ``ValueError``), before anything is written.
    """

    __slots__ = ("_engine", "_index", "_payload", "_service")

    def __init__(self, service: TimerService, payload: Codec[Any]) -> None:
        self._service = service
        self._index = service.store.scopes(NAMED_TIMERS_KEY_GROUP)
        self._payload = payload
        self._engine = isinstance(service, _EngineTimerService)

    def __repr__(self) -> str:
        return f"<KeyedTimers over {self._service!r}>"

    @property
    def current_watermark(self) -> int | None:
        """The largest watermark the timers have advanced to (``None`` before the first)."""
        return self._service.current_watermark

    @property
    def current_processing_time(self) -> int | None:
        """The largest processing time the timers have advanced to (``None`` before)."""
        return self._service.current_processing_time

    def register_event_time_timer(
        self, key: bytes, timestamp: int, *, name: bytes = b"", payload: Any = None
    ) -> None:
        """Fire timer ``name`` of ``key`` once the watermark reaches ``timestamp``, replacing
        that name's pending timer (of either domain). ``payload`` comes back with the timer."""
        self._register(TimeDomain.EVENT, key, timestamp, name, payload)

    def register_processing_time_timer(
        self, key: bytes, timestamp: int, *, name: bytes = b"", payload: Any = None
    ) -> None:
        """As :meth:`register_event_time_timer`, once processing time reaches ``timestamp``."""
        self._register(TimeDomain.PROCESSING, key, timestamp, name, payload)

    def delete_timer(self, key: bytes, name: bytes = b"") -> bool:
        """Forget timer ``name`` of ``key``; False when none was pending."""
        _check_name(key, name, "delete_timer")
        scope = self._index(key, b"")
        pending = self._read(scope, name)
        if pending is None:
            return False
        self._unqueue(pending.domain, key, name, pending.timestamp)
        scope.delete(name)
        return True

    def pending_timer(self, key: bytes, name: bytes = b"") -> PendingTimer | None:
        """Timer ``name`` of ``key`` if it has not fired yet, else ``None``. One read."""
        _check_name(key, name, "pending_timer")
        return self._read(self._index(key, b""), name)

    # -- internals ---------------------------------------------------------------------------

    def _register(
        self, domain: TimeDomain, key: bytes, timestamp: int, name: bytes, payload: Any
    ) -> None:
        operation = f"register_{domain.name.lower()}_time_timer"
        _check_name(key, name, operation)
        _check_time(timestamp, "timestamp", operation)
        value = _TAGS[domain] + _TIME.encode(timestamp)
        if payload is not None:
            value += _HAS_PAYLOAD + self._payload.encode(payload)
        scope = self._index(key, b"")
        pending = self._read(scope, name)
        if pending is not None:
            if (pending.domain, pending.timestamp) == (domain, timestamp):
                scope.put(name, value)
                return
            self._unqueue(pending.domain, key, name, pending.timestamp)
        if domain is TimeDomain.EVENT:
            self._service.register_event_time_timer(key, name, timestamp)
        else:
            self._service.register_processing_time_timer(key, name, timestamp)
        scope.put(name, value)

    def _unqueue(self, domain: TimeDomain, key: bytes, name: bytes, timestamp: int) -> None:
        if domain is TimeDomain.EVENT:
            self._service.delete_event_time_timer(key, name, timestamp)
        else:
            self._service.delete_processing_time_timer(key, name, timestamp)

    def _read(self, scope: StoreScope, name: bytes) -> PendingTimer | None:
        data = scope.get(name)
        if data is None:
            return None
        malformed = len(data) < _HEADER or data[0] not in _DOMAINS
        if malformed or (len(data) > _HEADER and data[_HEADER : _HEADER + 1] != _HAS_PAYLOAD):
            raise CorruptStateError(
                f"{scope.describe(name)}: named timer {data[:20]!r} does not decode"
            )
        payload = None
        if len(data) > _HEADER:
            try:
                payload = self._payload.decode(data[_HEADER + 1 :])
            except ValueError as exc:
                raise CorruptStateError(
                    f"{scope.describe(name)}: timer payload does not decode: {exc}"
                ) from exc
        return PendingTimer(_TIME.decode(data[1:_HEADER]), _DOMAINS[data[0]], payload)

    def _fired(self, domain: TimeDomain, timers: Iterator[Timer]) -> Iterator[ProcessTimer]:
        """The named timers of the queue's fired ``timers``, each index entry deleted as it is
        handed out (so ``on_timer`` may register the same name again)."""
        for timer in timers:
            scope = self._index(timer.key, b"")
            pending = self._read(scope, timer.namespace)
            if pending is None or (pending.domain, pending.timestamp) != (domain, timer.timestamp):
                raise CorruptStateError(
                    f"{scope.describe(timer.namespace)}: {domain.value} timer at "
                    f"{timer.timestamp} fired, but the named timer is {pending!r}: the timer store "
                    "was written by something other than KeyedTimers"
                )
            scope.delete(timer.namespace)
            yield ProcessTimer(timer.timestamp, timer.key, timer.namespace, pending.payload, domain)

    def _fire_event_time(self, watermark: int) -> Iterator[ProcessTimer]:
        return self._fired(TimeDomain.EVENT, self._service.advance_watermark(watermark))

    def _fire_processing_time(self, now: int) -> Iterator[ProcessTimer]:
        """The due processing-time timers. Locally only when the queue's head is due (so a
        record that fires nothing reads and writes nothing); on an engine, those due by the
        engine's processing time (``now`` is not used).
        """
        service = self._service
        if self._engine:
            engine_now = service.current_processing_time
            if engine_now is None:
                return iter(())
            now = engine_now
        else:
            due = service._next_processing_time()
            if due is None or due > now:
                return iter(())
        return self._fired(TimeDomain.PROCESSING, service.advance_processing_time(now))


class KeyedProcessDriver(BaseDriver):
    """A keyed operator as two handlers, with timers that fire by themselves.

    Subclass it and define ``key_of(record) -> bytes`` (the record's key; on Flink it must agree
    with ``--key-field``), ``process_element(ctx, key, record)`` and, when it sets timers,
    ``on_timer(ctx, timer)``; set up state in ``open(ctx, config)``. ``self.timers``
    (:class:`KeyedTimers`) registers and deletes timers by name, with a payload encoded by
    ``timer_payload`` (a class attribute: a codec, ``BytesCodec()`` by default). Timers live in
    the store ``timer_store`` (default ``"timers"``). See the module docstring for when timers
    fire, docs/time.md for the whole story.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> class Reminder(KeyedProcessDriver):
    ...     def key_of(self, record):
    ...         return record.split(b":")[0]
    ...     def process_element(self, ctx, key, record):
    ...         self.timers.register_event_time_timer(key, 10, name=b"r", payload=record)
    ...     def on_timer(self, ctx, timer):
    ...         ctx.emit(timer.payload)
    >>> ctx = LocalContext(MemoryBackend())
    >>> driver = Reminder()
    >>> driver.init(ctx, ctx.config)
    >>> driver.process(ctx, 0, b"a:first")
    >>> driver.process(ctx, 0, b"a:second")  # replaces timer b"r" of key b"a"
    >>> driver.process_watermark(ctx, 0, 10)
    >>> ctx.emitted, ctx.emitted_watermarks
    ([(0, b'a:second')], [(0, 10)])
    """

    timer_store: ClassVar[str] = "timers"
    timer_payload: ClassVar[Codec[Any]] = BytesCodec()
    _keyed_timers: KeyedTimers | None = None

    # -- what a subclass writes --------------------------------------------------------------

    def open(self, ctx: Context, config: Mapping[str, str]) -> None:
        """Once at start, after the timers are set up: obtain state handles, read config."""

    @abc.abstractmethod
    def key_of(self, record: bytes) -> bytes:
        """The key of ``record``: the key its state and timers belong to."""

    @abc.abstractmethod
    def process_element(self, ctx: Context, key: bytes, record: bytes) -> None:
        """Once per record, with its key."""

    def on_timer(self, ctx: Context, timer: ProcessTimer) -> None:
        """Once per fired timer. Override it when the driver registers timers."""
        raise NotImplementedError(
            f"{type(self).__name__} registered a timer ({timer!r}) but does not override on_timer"
        )

    @property
    def timers(self) -> KeyedTimers:
        """The driver's named timers (set up by ``init``)."""
        if self._keyed_timers is None:
            raise NotInitializedError(
                f"{type(self).__name__}.timers before init: a subclass that overrides init() "
                "must call super().init(ctx, config) (or override open() instead)"
            )
        return self._keyed_timers

    # -- the Driver calls --------------------------------------------------------------------

    def init(self, ctx: Context, config: Mapping[str, str]) -> None:
        """Set up the timers in store ``timer_store``, then call :meth:`open`."""
        service = TimerService.from_context(ctx, self.timer_store)
        self._keyed_timers = KeyedTimers(service, self.timer_payload)
        self.open(ctx, config)

    def process(self, ctx: Context, source_id: int, data: bytes) -> None:
        """Fire the due processing-time timers, then ``process_element`` with the record's key.

        On an engine with timers of its own, those fire through ``process_watermark`` only.
        """
        timers = self.timers
        if not timers._engine:
            self._deliver(ctx, timers._fire_processing_time(ctx.processing_time()))
        key = self.key_of(data)
        if type(key) is not bytes:
            raise TypeError(
                f"{type(self).__name__}.key_of must return bytes, not {type(key).__name__} "
                f"(for record {data[:80]!r})"
            )
        engine_key = ctx.current_key
        if engine_key is not None and engine_key != key:
            raise WrongKeyError(
                f"{type(self).__name__}.key_of returned {key!r} for a record the engine keyed "
                f"by {engine_key!r}: key_of must agree with the engine's key (--key-field on "
                "Flink)"
            )
        self.process_element(ctx, key, data)

    def process_watermark(self, ctx: Context, source_id: int, watermark: int) -> None:
        """Fire the event-time timers at or below ``watermark`` and the due processing-time
        timers, then forward the watermark."""
        timers = self.timers
        self._deliver(ctx, timers._fire_event_time(watermark))
        self._deliver(ctx, timers._fire_processing_time(ctx.processing_time()))
        ctx.emit_watermark(watermark)

    def check_heartbeat(self, ctx: Context) -> bool:
        """Fire the due processing-time timers (locally); the driver stays healthy (True)."""
        timers = self.timers
        if not timers._engine:
            self._deliver(ctx, timers._fire_processing_time(ctx.processing_time()))
        return True

    def _deliver(self, ctx: Context, fired: Iterator[ProcessTimer]) -> None:
        for timer in fired:
            self.on_timer(ctx, timer)
