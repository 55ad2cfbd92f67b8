"""WindowedAggregation: per key, values folded into event-time windows, emitted by watermarks.

Layout, all in the store of the state factory given (give the aggregation a store of its own):

- contents: the factory's key group; one namespace per (key, window), the window's id
  (:data:`WINDOW_ID`; for :class:`KeyedAggregatingStateFactory`, whose namespaces are names,
  the id in hex, which keeps the order).
- timers: a :class:`TimerService` on the same store; per window a timer at its last timestamp
  (firing, ``emit="final"`` only) and one at last timestamp + allowed lateness (cleanup), with
  the key as timer key and the window id as namespace. With no lateness they are one timer.
- sessions (session windows only): a :class:`KeyedMapStateFactory` in key group
  :data:`SESSIONS_KEY_GROUP`, per key the open sessions' ``start -> end``: the ordered set of
  Flink's ``MergingWindowSet``.

Costs per event: for each of its windows one read and one write of the contents and one or two
timer writes; for session windows also two bounded scans of the key's sessions (the one before
the event and the one starting within ``gap`` after it: the only neighbours it can bridge) and,
per merged neighbour, one merge of contents (one get, put and delete), one index delete and one
or two timer deletes. No event scans all of a key's windows. Firing a window: one read, one
delete (and one index delete for sessions) beyond the timer's own cost.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Final, Generic, Literal, NamedTuple, Protocol, TypeVar

from fssdk import CorruptStateError
from fssdk.reserved import SESSIONS_KEY_GROUP
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


EmitMode = Literal["final", "current"]


class _SessionIndex(KeyedMapStateFactory[int, int]):
    """The open sessions of each key (start -> end), kept in the reserved key group."""

    __slots__ = ()
    _LIBRARY_STATE = True


class WindowResult(NamedTuple, Generic[R]):
    """One emission: the key, the window, and the aggregate of the window's values so far."""

    key: bytes
    window: Window
    result: R


class _Contents(Protocol):
    """Per (key, window id) contents, over one of the three Keyed factories."""

    def add(self, key: bytes, window_id: bytes, value: Any) -> None: ...
    def get(self, key: bytes, window_id: bytes) -> tuple[Any, bool]: ...
    def clear(self, key: bytes, window_id: bytes) -> None: ...
    def merge(self, key: bytes, target: bytes, sources: list[bytes]) -> None: ...


class _Aggregating:
    __slots__ = ("factory",)

    def __init__(self, factory: KeyedAggregatingStateFactory[Any, Any, Any]) -> None:
        self.factory = factory

    def add(self, key: bytes, window_id: bytes, value: Any) -> None:
        self.factory.new_aggregating_state(key, window_id.hex()).add(value)

    def get(self, key: bytes, window_id: bytes) -> tuple[Any, bool]:
        return self.factory.new_aggregating_state(key, window_id.hex()).get()

    def clear(self, key: bytes, window_id: bytes) -> None:
        self.factory.new_aggregating_state(key, window_id.hex()).clear()

    def merge(self, key: bytes, target: bytes, sources: list[bytes]) -> None:
        self.factory.merge_namespaces(key, target.hex(), [source.hex() for source in sources])


class _Reducing:
    __slots__ = ("factory",)

    def __init__(self, factory: KeyedReducingStateFactory[Any]) -> None:
        self.factory = factory

    def add(self, key: bytes, window_id: bytes, value: Any) -> None:
        self.factory.new_reducing_state(key, window_id).add(value)

    def get(self, key: bytes, window_id: bytes) -> tuple[Any, bool]:
        return self.factory.new_reducing_state(key, window_id).get()

    def clear(self, key: bytes, window_id: bytes) -> None:
        self.factory.new_reducing_state(key, window_id).clear()

    def merge(self, key: bytes, target: bytes, sources: list[bytes]) -> None:
        self.factory.merge_namespaces(key, target, sources)


class _Collecting:
    __slots__ = ("factory",)

    def __init__(self, factory: KeyedListStateFactory[Any]) -> None:
        self.factory = factory

    def add(self, key: bytes, window_id: bytes, value: Any) -> None:
        self.factory.new_keyed_list(key, window_id).add(value)

    def get(self, key: bytes, window_id: bytes) -> tuple[Any, bool]:
        values = self.factory.new_keyed_list(key, window_id).get()
        return (values, True) if values else (None, False)

    def clear(self, key: bytes, window_id: bytes) -> None:
        self.factory.new_keyed_list(key, window_id).clear()

    def merge(self, key: bytes, target: bytes, sources: list[bytes]) -> None:
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
    value) or a :class:`KeyedListStateFactory` (the list of values), created without
    ``key_codec`` (keys are bytes) in a store used by nothing else.

    Semantics (Flink's event-time windows with allowed lateness):

    - :meth:`add` puts a value in every window of its timestamp whose last timestamp plus
      ``allowed_lateness`` is above the watermark. A value that fits no such window is late:
      ``add`` returns False and hands it to ``on_late`` (if given); nothing is stored.
    - ``emit="final"``: a window's result goes to ``on_result`` once the watermark reaches its
      last timestamp, and again after each later value accepted within the lateness.
      ``emit="current"``: after every value it takes.
    - Once the watermark reaches last timestamp + lateness the window's state and bookkeeping
      are cleared.
    - Session windows merge when an event's window overlaps open sessions of its key: their
      contents merge through the state's namespace merge and their timers move to the merged
      window.

    Call :meth:`advance_watermark` from ``process_watermark``. Costs: see the module docstring.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> from fssdk_advanced import IntCodec, TumblingWindows
    >>> sums = KeyedReducingStateFactory.from_context(
    ...     LocalContext(MemoryBackend()), "sums", b"sum", IntCodec(), lambda a, b: a + b)
    >>> windows = WindowedAggregation(sums, TumblingWindows(10), on_result=print)
    >>> windows.add(b"k", 3, 1), windows.add(b"k", 12, 5), windows.add(b"k", 7, 2)
    (True, True, True)
    >>> windows.advance_watermark(9)
    WindowResult(key=b'k', window=Window(start=0, end=10), result=3)
    >>> windows.add(b"k", 8, 4)
    False
    """

    __slots__ = (
        "_contents",
        "_lateness",
        "_on_late",
        "_on_result",
        "_sessions",
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
        on_result: Callable[[WindowResult[R]], None],
        on_late: Callable[[bytes, int, T], None] | None = None,
        allowed_lateness: int = 0,
        emit: EmitMode = "final",
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
        if emit not in ("final", "current"):
            raise ValueError(f"{owner}: emit must be 'final' or 'current', got {emit!r}")
        store = state.store
        self.assigner: Final = assigner
        self.emit: Final = emit
        self.timers: Final = TimerService(store)
        self._lateness = allowed_lateness
        self._on_result = on_result
        self._on_late = on_late
        self._sessions: KeyedMapStateFactory[int, int] | None = None
        if assigner.merging:
            self._sessions = _SessionIndex(store, SESSIONS_KEY_GROUP, IntCodec(), IntCodec())

    @property
    def current_watermark(self) -> int | None:
        """The largest watermark advanced to (``None`` before the first); survives a restart."""
        return self.timers.current_watermark

    def add(self, key: bytes, timestamp: int, value: T) -> bool:
        """Add ``value`` at ``timestamp`` to ``key``'s windows; False if it was late.

        Emits through ``on_result`` when ``emit="current"`` or when a window that already fired
        takes a late value. A late value goes to ``on_late`` and is not stored.
        """
        if type(key) is not bytes:
            raise TypeError(f"WindowedAggregation.add: key must be bytes, not {type(key).__name__}")
        timestamp = check_timestamp(timestamp, "WindowedAggregation.add")
        watermark = self.timers.current_watermark
        if self._sessions is not None:
            windows = self._merge_session(key, timestamp, watermark)
        else:
            windows = [
                window
                for window in self.assigner.assign(timestamp)
                if not self._closed(window, watermark)
            ]
        if not windows:
            if self._on_late is not None:
                self._on_late(key, timestamp, value)
            return False
        for window in windows:
            window_id = window.encode()
            self._contents.add(key, window_id, value)
            self._register(key, window, window_id)
            if self.emit == "current" or (
                watermark is not None and window.max_timestamp <= watermark
            ):
                self._emit(key, window, window_id)
        return True

    def advance_watermark(self, watermark: int) -> None:
        """Move event time to ``watermark``: emit the windows it ends, clear those past lateness.

        Windows fire in (timestamp, key, window) order. Costs per fired window: see the module.
        """
        lateness = self._lateness
        for timer in self.timers.advance_watermark(watermark):
            try:
                window = Window.decode(timer.namespace)
            except ValueError as exc:
                raise CorruptStateError(
                    f"store {self.timers.store.name!r}: timer {timer} does not name a window: {exc}"
                ) from exc
            if self.emit == "final" and timer.timestamp == window.max_timestamp:
                self._emit(timer.key, window, timer.namespace)
            if timer.timestamp == window.max_timestamp + lateness:
                self._contents.clear(timer.key, timer.namespace)
                if self._sessions is not None:
                    self._sessions.new_keyed_map(timer.key).delete(window.start)

    # -- internals ---------------------------------------------------------------------------

    def _closed(self, window: Window, watermark: int | None) -> bool:
        """True when ``window`` is past its lateness (its state is, or is about to be, gone)."""
        return watermark is not None and window.max_timestamp + self._lateness <= watermark

    def _emit(self, key: bytes, window: Window, window_id: bytes) -> None:
        result, found = self._contents.get(key, window_id)
        if found:
            self._on_result(WindowResult(key, window, result))

    def _timestamps(self, window: Window) -> tuple[int, ...]:
        cleanup = window.max_timestamp + self._lateness
        if self.emit == "final" and self._lateness:
            return (window.max_timestamp, cleanup)
        return (cleanup,)

    def _register(self, key: bytes, window: Window, window_id: bytes) -> None:
        watermark = self.timers.current_watermark
        for timestamp in self._timestamps(window):
            if watermark is None or timestamp > watermark:
                self.timers.register_event_time_timer(key, window_id, timestamp)

    def _merge_session(self, key: bytes, timestamp: int, watermark: int | None) -> list[Window]:
        """The session the event at ``timestamp`` belongs to, after merging the open sessions
        its window overlaps (at most the one before it and the one starting within the gap);
        ``[]`` if that session is past its lateness."""
        assert self._sessions is not None
        (new,) = self.assigner.assign(timestamp)
        sessions = self._sessions.new_keyed_map(key)
        overlapping = [
            Window(start, end)
            for start, end in itertools.islice(sessions.items(end=timestamp + 1, reverse=True), 1)
            if end > timestamp
        ]
        overlapping += [Window(start, end) for start, end in sessions.items(timestamp + 1, new.end)]
        start = min([new.start, *(window.start for window in overlapping)])
        end = max([new.end, *(window.end for window in overlapping)])
        merged = Window(start, end)
        if not overlapping and self._closed(merged, watermark):
            return []
        if overlapping != [merged]:
            merged_id = merged.encode()
            sources = []
            for window in overlapping:
                window_id = window.encode()
                sources.append(window_id)
                sessions.delete(window.start)
                for at in self._timestamps(window):
                    self.timers.delete_event_time_timer(key, window_id, at)
            if sources:
                self._contents.merge(key, merged_id, sources)
            sessions.put(merged.start, merged.end)
        return [merged]
