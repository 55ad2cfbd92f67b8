"""WindowedAggregation: per key, values folded into event-time windows, emitted by watermarks.

Layout, all in the store of the state factory given (give the aggregation a store of its own):

- contents: the factory's key group; one namespace per (key, window), the window's id
  (:data:`WINDOW_ID`; for :class:`KeyedAggregatingStateFactory`, whose namespaces are names,
  the id in hex, which keeps the order).
- timers: a :class:`TimerService` on the same store; per window a timer at its last timestamp
  (the end firing, ``emit="on_end_and_late"`` only) and one at its close, last timestamp +
  allowed lateness (saturated at the largest timestamp), with the key (encoded by the
  factory's ``key_codec``, if any) as timer key and the window id as namespace. With no
  lateness they are one timer.
- sessions (session windows only): a :class:`KeyedMapStateFactory` in key group
  :data:`SESSIONS_KEY_GROUP`, per key the open sessions' ``start -> end``: the ordered set of
  Flink's ``MergingWindowSet``. Open sessions neither overlap nor touch.

Costs per event: for each of its windows one read and one write of the contents and one or two
timer writes; for session windows also two bounded scans of the key's sessions (the one
starting before the event and the one starting within ``gap`` from it: the only neighbours it
can touch) and, per merged neighbour, one merge of contents (one get, put and delete), one
index delete and one or two timer deletes. No event scans all of a key's windows. Firing a
window: one read, one delete (and one index delete for sessions) beyond the timer's own cost.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Final, Generic, Literal, NamedTuple, Protocol, TypeVar, get_args

from fssdk import Context, CorruptStateError
from fssdk.reserved import MAX_TIME, MIN_TIME, SESSIONS_KEY_GROUP
from fssdk.thresholds import threshold
from fssdk_advanced.codecs import IntCodec
from fssdk_advanced.state import (
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedReducingStateFactory,
)
from fssdk_advanced.time import TimerService
from fssdk_advanced.windows._assigners import Window, WindowAssigner, check_timestamp

T = TypeVar("T")
R = TypeVar("R")

OPEN_WINDOWS: Final = threshold(__name__, "OPEN_WINDOWS", 1 << 16, smallest=1)
"""(key, window) pairs an aggregation remembers as open: their timers registered, their
contents' state bound. A value for one writes no timer and binds no scope. Past this many it
forgets them all; each is registered (one write of the same entry) and bound again on its next
value. Nothing of it is state: a restarted aggregation starts with none."""

CACHED_WINDOWS: Final = threshold(__name__, "CACHED_WINDOWS", 1024, smallest=1)
"""Windows whose id, contents namespace and timer times an aggregation keeps computed; past
this many it starts afresh."""

EmitMode = Literal["on_close", "on_end_and_late", "every_update"]
"""When a window's result goes to ``on_result`` (see :class:`WindowedAggregation`)."""

EMIT_MODES: Final[tuple[EmitMode, ...]] = get_args(EmitMode)

_RENAMED: Final = {
    "final": "'on_end_and_late' (what 'final' did: at the window's end, then again for each "
    "late value) or 'on_close' (once, when the window closes: Quix Streams' .final())",
    "current": "'every_update' (what 'current' did: Quix Streams' .current())",
}


class _SessionIndex(KeyedMapStateFactory[int, int]):
    """The open sessions of each key (start -> end), kept in the reserved key group."""

    __slots__ = ()
    _LIBRARY_STATE = True


class WindowResult(NamedTuple, Generic[R]):
    """One emission of a window's result.

    ``key`` is the stream key (of the factory's ``key_codec`` type, ``bytes`` without one),
    ``result`` the aggregate of the window's values so far. ``late`` is True when a value that
    came after the watermark had passed the window's end (accepted within the lateness) caused
    the emission: an update of a result already emitted. It is False for the window's first
    firing (at its end, or at its close) and for updates before its end.
    ``watermark`` is the current watermark (``None`` before the first).
    """

    key: Any
    window: Window
    result: R
    late: bool
    watermark: int | None


class _Plan(NamedTuple):
    """What a value for ``window`` needs, computed once per window: its id, its contents'
    namespace, when it closes and the times of its timers."""

    window: Window
    window_id: bytes
    namespace: Any
    last: int
    close: int
    timestamps: tuple[int, ...]


_Span = tuple[int, int, list[_Plan], int]
"""``(lo, hi, plans, first close)``: the windows of the timestamps in ``[lo, hi)``."""


class _Contents(Protocol):
    """Per (key, window) contents, over one of the three Keyed factories.

    Each names a window's contents by ``namespace(window_id)`` (computed once per window by
    the aggregation) and takes that name in the other methods. ``adder`` binds the state of a
    (key, window) once; the aggregation keeps it while the window is open.
    """

    def namespace(self, window_id: bytes) -> Any: ...
    def adder(self, key: Any, namespace: Any) -> Callable[[Any], None]: ...
    def get(self, key: Any, namespace: Any) -> tuple[Any, bool]: ...
    def clear(self, key: Any, namespace: Any) -> None: ...
    def merge(self, key: Any, target: Any, sources: list[Any]) -> None: ...


class _Aggregating:
    __slots__ = ("factory",)

    def __init__(self, factory: KeyedAggregatingStateFactory[Any, Any, Any]) -> None:
        self.factory = factory

    def namespace(self, window_id: bytes) -> str:
        return window_id.hex()

    def adder(self, key: Any, namespace: str) -> Callable[[Any], None]:
        return self.factory.new_aggregating_state(key, namespace).add

    def get(self, key: Any, namespace: str) -> tuple[Any, bool]:
        return self.factory.new_aggregating_state(key, namespace).get()

    def clear(self, key: Any, namespace: str) -> None:
        self.factory.new_aggregating_state(key, namespace).clear()

    def merge(self, key: Any, target: str, sources: list[str]) -> None:
        self.factory.merge_namespaces(key, target, sources)


class _Reducing:
    __slots__ = ("factory",)

    def __init__(self, factory: KeyedReducingStateFactory[Any]) -> None:
        self.factory = factory

    def namespace(self, window_id: bytes) -> bytes:
        return window_id

    def adder(self, key: Any, namespace: bytes) -> Callable[[Any], None]:
        return self.factory.new_reducing_state(key, namespace).add

    def get(self, key: Any, namespace: bytes) -> tuple[Any, bool]:
        return self.factory.new_reducing_state(key, namespace).get()

    def clear(self, key: Any, namespace: bytes) -> None:
        self.factory.new_reducing_state(key, namespace).clear()

    def merge(self, key: Any, target: bytes, sources: list[bytes]) -> None:
        self.factory.merge_namespaces(key, target, sources)


class _Collecting:
    __slots__ = ("factory",)

    def __init__(self, factory: KeyedListStateFactory[Any]) -> None:
        self.factory = factory

    def namespace(self, window_id: bytes) -> bytes:
        return window_id

    def adder(self, key: Any, namespace: bytes) -> Callable[[Any], None]:
        return self.factory.new_keyed_list(key, namespace).add

    def get(self, key: Any, namespace: bytes) -> tuple[Any, bool]:
        values = self.factory.new_keyed_list(key, namespace).get()
        return (values, True) if values else (None, False)

    def clear(self, key: Any, namespace: bytes) -> None:
        self.factory.new_keyed_list(key, namespace).clear()

    def merge(self, key: Any, target: bytes, sources: list[bytes]) -> None:
        """Append the sources' elements, in window order, to the target; O(their total size)."""
        merged = self.factory.new_keyed_list(key, target)
        for source in sources:
            if source != target:
                state = self.factory.new_keyed_list(key, source)
                merged.add_all(state.get())
                state.clear()


def _contents(state: object) -> _Contents:
    if isinstance(state, KeyedAggregatingStateFactory):
        return _Aggregating(state)
    if isinstance(state, KeyedReducingStateFactory):
        return _Reducing(state)
    if isinstance(state, KeyedListStateFactory):
        return _Collecting(state)
    raise TypeError(
        "WindowedAggregation: state must be a KeyedAggregatingStateFactory, "
        f"KeyedReducingStateFactory or KeyedListStateFactory, not {type(state).__name__}"
    )


class WindowedAggregation(Generic[T, R]):
    """Values per key folded into the windows of an assigner, emitted as watermarks pass.

    ``state`` keeps each window's contents: a :class:`KeyedAggregatingStateFactory` (results
    are ``get_result`` of the accumulator), a :class:`KeyedReducingStateFactory` (the reduced
    value) or a :class:`KeyedListStateFactory` (the list of values), in a store used by nothing
    else. Keys are of the factory's ``key_codec`` type, ``bytes`` without one.

    Semantics (Flink's event-time windows with allowed lateness; a window *closes* when the
    watermark reaches its last timestamp + ``allowed_lateness``, saturated at ``2**63 - 1``, so
    any lateness up to ``2**63 - 1`` is taken):

    - :meth:`add` puts a value in every window of its timestamp that is not closed. A value
      that fits no such window is late: ``add`` returns False and hands it to
      ``on_late(ctx, key, timestamp, value)`` (if given); nothing is stored.
    - ``on_result(ctx, WindowResult)`` receives the results, as ``emit`` says:
      ``"on_close"``: once per window, when it closes (Quix Streams' ``.final()``, Kafka
      Streams' ``onWindowClose``); ``"on_end_and_late"`` (the default): when the watermark
      reaches the window's last timestamp, then again after each late value it takes (Flink's
      default ``EventTimeTrigger``); ``"every_update"``: after every value it takes (Quix's
      ``.current()``). With no lateness the first two are the same.
    - When a window closes its state and bookkeeping are cleared.
    - Session windows merge when an event's window overlaps or touches open sessions of its
      key (Flink's ``TimeWindow.intersects``): their contents merge through the state's
      namespace merge and their timers move to the merged window.

    Call :meth:`add` from ``process`` and :meth:`advance_watermark` from
    ``process_watermark``, with the context they were given: the callbacks receive it, to
    emit. Costs: see the module docstring.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> from fssdk_advanced import IntCodec, TumblingWindows
    >>> ctx = LocalContext(MemoryBackend())
    >>> sums = KeyedReducingStateFactory.from_context(
    ...     ctx, "sums", b"sum", IntCodec(), lambda a, b: a + b)
    >>> windows = WindowedAggregation(
    ...     sums, TumblingWindows(10), on_result=lambda ctx, fired: print(fired))
    >>> windows.add(ctx, b"k", 3, 1), windows.add(ctx, b"k", 12, 5), windows.add(ctx, b"k", 7, 2)
    (True, True, True)
    >>> windows.advance_watermark(ctx, 9)
    WindowResult(key=b'k', window=Window(start=0, end=10), result=3, late=False, watermark=9)
    >>> windows.add(ctx, b"k", 8, 4)
    False
    """

    __slots__ = (
        "_contents",
        "_context_type",
        "_decode_key",
        "_encode_key",
        "_lateness",
        "_on_late",
        "_on_result",
        "_opened",
        "_plans",
        "_sessions",
        "_span",
        "assigner",
        "emit",
        "timers",
    )

    def __init__(
        self,
        state: (
            KeyedAggregatingStateFactory[T, Any, R]
            | KeyedReducingStateFactory[Any]
            | KeyedListStateFactory[Any]
        ),
        assigner: WindowAssigner,
        *,
        on_result: Callable[[Context, WindowResult[R]], None],
        on_late: Callable[[Context, Any, int, T], None] | None = None,
        allowed_lateness: int = 0,
        emit: EmitMode = "on_end_and_late",
    ) -> None:
        owner = "WindowedAggregation"
        self._contents = _contents(state)
        if not isinstance(assigner, WindowAssigner):
            raise TypeError(
                f"{owner}: assigner must be a WindowAssigner, not {type(assigner).__name__}"
            )
        if not callable(on_result):
            raise TypeError(f"{owner}: on_result must be callable, not {type(on_result).__name__}")
        if on_late is not None and not callable(on_late):
            raise TypeError(
                f"{owner}: on_late must be callable or None, not {type(on_late).__name__}"
            )
        if type(allowed_lateness) is not int:
            raise TypeError(
                f"{owner}: allowed_lateness must be an int, not {type(allowed_lateness).__name__}"
            )
        if allowed_lateness < 0:
            raise ValueError(f"{owner}: allowed_lateness must be >= 0, got {allowed_lateness}")
        if emit not in EMIT_MODES:
            renamed = _RENAMED.get(emit) if isinstance(emit, str) else None
            hint = f"; for {emit!r} use {renamed}" if renamed else ""
            raise ValueError(
                f"{owner}: emit must be one of {', '.join(map(repr, EMIT_MODES))}, "
                f"got {emit!r}{hint}"
            )
        store = state.store
        key_codec = state.key_codec
        self.assigner: Final = assigner
        self.emit: Final = emit
        self.timers: Final = TimerService(store)
        self._encode_key = None if key_codec is None else key_codec.encode
        self._decode_key = None if key_codec is None else key_codec.decode
        self._lateness = allowed_lateness
        self._on_result = on_result
        self._on_late = on_late
        self._sessions: KeyedMapStateFactory[int, int] | None = None
        self._context_type: type | None = None
        self._plans: dict[Window, _Plan] = {}
        self._span: _Span = (0, 0, [], MAX_TIME)
        self._opened: dict[tuple[bytes, bytes], Callable[[Any], None]] = {}
        if assigner.merging:
            self._sessions = _SessionIndex(store, SESSIONS_KEY_GROUP, IntCodec(), IntCodec())

    @property
    def current_watermark(self) -> int | None:
        """The largest watermark advanced to (``None`` before the first); survives a restart."""
        return self.timers.current_watermark

    def add(self, ctx: Context, key: Any, timestamp: int, value: T) -> bool:
        """Add ``value`` at ``timestamp`` to ``key``'s windows; False if it was late.

        Emits through ``on_result(ctx, ...)`` with ``emit="every_update"``, and with
        ``emit="on_end_and_late"`` when a window whose end has passed takes the value. A late
        value goes to ``on_late(ctx, key, timestamp, value)`` and is not stored. The context,
        key and timestamp are checked before anything is stored: ``TypeError`` for a wrong
        type, ``ValueError`` for a timestamp whose windows reach outside the signed 64-bit
        timestamps.
        """
        operation = "WindowedAggregation.add"
        key_bytes = self._checked(ctx, key, timestamp, operation)
        watermark = self.timers.current_watermark
        if self._sessions is not None:
            plans = [
                self._plan(window)
                for window in self._merge_session(key, key_bytes, timestamp, watermark, operation)
            ]
        else:
            lo, hi, plans, first_close = self._span
            if not lo <= timestamp < hi:
                lo, hi, plans, first_close = self._assign(timestamp, operation)
            if watermark is not None and first_close <= watermark:
                plans = [plan for plan in plans if plan.close > watermark]
        if not plans:
            if self._on_late is not None:
                self._on_late(ctx, key, timestamp, value)
            return False
        emit = self.emit
        opened = self._opened
        for plan in plans:
            add = opened.get((key_bytes, plan.window_id))
            if add is not None:
                add(value)
            else:
                add = self._contents.adder(key, plan.namespace)
                add(value)
                self._open(key_bytes, plan, add)
            ended = watermark is not None and plan.last <= watermark
            if emit == "every_update" or (ended and emit == "on_end_and_late"):
                self._emit(ctx, key, plan, ended)
        return True

    def advance_watermark(self, ctx: Context, watermark: int) -> None:
        """Move event time to ``watermark``: emit the windows it ends or closes, as ``emit``
        says, and clear those it closes.

        Windows fire in (timestamp, key, window) order. Costs per fired window: see the module.
        """
        _check_context(ctx, "WindowedAggregation.advance_watermark")
        emit_at_end = self.emit == "on_end_and_late"
        emit_at_close = self.emit == "on_close"
        for timer in self.timers.advance_watermark(watermark):
            try:
                window = Window.decode(timer.namespace)
            except ValueError as exc:
                raise CorruptStateError(
                    f"store {self.timers.store.name!r}: timer {timer} does not name a window: {exc}"
                ) from exc
            plan = self._plan(window)
            key = self._key_of(timer.key)
            if emit_at_end and timer.timestamp == plan.last:
                self._emit(ctx, key, plan, False)
            if timer.timestamp == plan.close:
                if emit_at_close:
                    self._emit(ctx, key, plan, False)
                self._contents.clear(key, plan.namespace)
                self._opened.pop((timer.key, plan.window_id), None)
                if self._sessions is not None:
                    self._sessions.new_keyed_map(timer.key).delete(window.start)

    # -- internals ---------------------------------------------------------------------------

    def _checked(self, ctx: Context, key: Any, timestamp: int, operation: str) -> bytes:
        """The bytes of ``key`` (:meth:`_key_bytes`), once the context, the key and the
        timestamp of an event are checked; the checks cost a few comparisons when they pass."""
        if type(ctx) is not self._context_type:
            _check_context(ctx, operation)
            self._context_type = type(ctx)
        if self._encode_key is None and type(key) is bytes:
            key_bytes = key
        else:
            key_bytes = self._key_bytes(key, operation)
        if type(timestamp) is not int or not MIN_TIME <= timestamp <= MAX_TIME:
            check_timestamp(timestamp, operation)
        return key_bytes

    def _key_bytes(self, key: Any, operation: str) -> bytes:
        """``key`` as the bytes that name it in timers and sessions (its ``key_codec``'s)."""
        encode = self._encode_key
        if encode is None:
            if type(key) is not bytes:
                raise TypeError(f"{operation}: key must be bytes, not {type(key).__name__}")
            return key
        try:
            return encode(key)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{operation}: key {key!r} does not encode: {exc}") from exc

    def _key_of(self, key_bytes: bytes) -> Any:
        """The key a timer names, decoded by the ``key_codec`` (if any)."""
        decode = self._decode_key
        if decode is None:
            return key_bytes
        try:
            return decode(key_bytes)
        except ValueError as exc:
            raise CorruptStateError(
                f"store {self.timers.store.name!r}: timer key {key_bytes!r} does not decode: {exc}"
            ) from exc

    def _close_time(self, window: Window) -> int:
        """When ``window`` closes: its last timestamp + lateness, saturated at the largest
        timestamp (as a TTL's expiry is)."""
        return min(window.max_timestamp + self._lateness, MAX_TIME)

    def _closed(self, window: Window, watermark: int | None) -> bool:
        """True when ``window`` is closed (its state is, or is about to be, gone)."""
        return watermark is not None and self._close_time(window) <= watermark

    def _plan(self, window: Window) -> _Plan:
        """The :class:`_Plan` of ``window``, from the cache of the last CACHED_WINDOWS."""
        plan = self._plans.get(window)
        if plan is None:
            if len(self._plans) >= CACHED_WINDOWS:
                self._plans.clear()
            window_id = window.encode()
            close = self._close_time(window)
            if self.emit == "on_end_and_late" and close != window.max_timestamp:
                timestamps: tuple[int, ...] = (window.max_timestamp, close)
            else:
                timestamps = (close,)
            namespace = self._contents.namespace(window_id)
            last = window.max_timestamp
            plan = _Plan(window, window_id, namespace, last, close, timestamps)
            self._plans[window] = plan
        return plan

    def _assign(self, timestamp: int, operation: str) -> _Span:
        """The plans of the windows holding ``timestamp``, checked to lie within the 64-bit
        timestamps, with the span of timestamps in the same windows and the earliest close
        among them; remembered for the next value."""
        assigned = self.assigner.assign(timestamp)
        _check_range(assigned, timestamp, operation)
        plans = [self._plan(window) for window in assigned]
        lo, hi = self.assigner.span(timestamp)
        span = (lo, hi, plans, min([plan.close for plan in plans], default=MAX_TIME))
        self._span = span
        return span

    def _emit(self, ctx: Context, key: Any, plan: _Plan, late: bool) -> None:
        result, found = self._contents.get(key, plan.namespace)
        if found:
            watermark = self.timers.current_watermark
            self._on_result(ctx, WindowResult(key, plan.window, result, late, watermark))

    def _open(self, key: bytes, plan: _Plan, add: Callable[[Any], None]) -> None:
        """Register the timers of ``plan``'s window for ``key`` that are still to come, and
        keep ``add``, its contents' add, until the window closes: further values of the
        window write neither timers nor scope handles."""
        watermark = self.timers.current_watermark
        for timestamp in plan.timestamps:
            if watermark is None or timestamp > watermark:
                self.timers.register_event_time_timer(key, plan.window_id, timestamp)
        opened = self._opened
        if len(opened) >= OPEN_WINDOWS:
            opened.clear()
        opened[key, plan.window_id] = add

    def _merge_session(
        self, key: Any, key_bytes: bytes, timestamp: int, watermark: int | None, operation: str
    ) -> list[Window]:
        """The session the event at ``timestamp`` belongs to, after merging the open sessions
        its window overlaps or touches (at most the one starting before it and the one
        starting within the gap from it); ``[]`` if that session is closed."""
        assert self._sessions is not None
        assigned = self.assigner.assign(timestamp)
        _check_range(assigned, timestamp, operation)
        (new,) = assigned
        sessions = self._sessions.new_keyed_map(key_bytes)
        before = itertools.islice(sessions.items(end=timestamp, reverse=True), 1)
        touching = [Window(*entry) for entry in before if entry[1] >= timestamp]
        bound = new.end + 1 if new.end < MAX_TIME else None
        touching += [Window(*entry) for entry in sessions.items(timestamp, bound)]
        merged = Window(
            min([new.start, *(window.start for window in touching)]),
            max([new.end, *(window.end for window in touching)]),
        )
        if not touching and self._closed(merged, watermark):
            return []
        if touching != [merged]:
            sources = []
            for window in touching:
                plan = self._plan(window)
                sources.append(plan.namespace)
                sessions.delete(window.start)
                for at in plan.timestamps:
                    self.timers.delete_event_time_timer(key_bytes, plan.window_id, at)
                self._opened.pop((key_bytes, plan.window_id), None)
            if sources:
                self._contents.merge(key, self._plan(merged).namespace, sources)
            sessions.put(merged.start, merged.end)
        return [merged]


def _check_context(ctx: object, operation: str) -> None:
    if not isinstance(ctx, Context):
        raise TypeError(f"{operation}: ctx must be an fssdk.Context, not {type(ctx).__name__}")


def _check_range(windows: list[Window], timestamp: int, operation: str) -> None:
    """``ValueError`` unless ``windows`` (ascending) lie within the signed 64-bit timestamps,
    checked before anything of the event is stored."""
    if windows and (windows[0].start < MIN_TIME or windows[-1].end > MAX_TIME):
        raise ValueError(
            f"{operation}: timestamp {timestamp} falls in windows {windows[0]}..{windows[-1]} "
            f"beyond the signed 64-bit timestamps [-2**63, 2**63 - 1]"
        )
