"""Windows: assigners against a brute-force model, WindowedAggregation's semantics (emit modes,
session merges, typed keys, the 64-bit bounds, old state dirs), its per-event costs, and a state
machine checking it (out of order, lateness, session merges, reopen) against a model."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import fssdk_advanced
import fssdk_advanced.windows
from fssdk import Context, Store
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk_advanced import (
    IntCodec,
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedReducingStateFactory,
    StringCodec,
    TimerService,
)
from fssdk_advanced.windows import (
    SESSIONS_KEY_GROUP,
    SessionWindows,
    SlidingWindows,
    TumblingWindows,
    Window,
    WindowAssigner,
    WindowedAggregation,
    WindowResult,
)
from fssdk_advanced.windows._aggregation import _SessionIndex
from tests.conftest import BackendFactory
from tests.support import CountingStore, machine_examples

MAX_TIME = 2**63 - 1
TIMES = st.integers(-10_000, 10_000)


class Count:
    """Count and sum of the values: ``(count, total)``."""

    def create_accumulator(self) -> list[int]:
        return [0, 0]

    def add(self, value: int, acc: list[int]) -> list[int]:
        return [acc[0] + 1, acc[1] + value]

    def get_result(self, acc: list[int]) -> tuple[int, int]:
        return (acc[0], acc[1])

    def merge(self, a: list[int], b: list[int]) -> list[int]:
        return [a[0] + b[0], a[1] + b[1]]


def brute_force(size: int, slide: int, offset: int, timestamp: int) -> list[Window]:
    """Every window ``[offset + k*slide, ... + size)`` holding ``timestamp``, by enumeration."""
    k = (timestamp - offset) // slide
    starts = (offset + j * slide for j in range(k - size // slide - 2, k + 2))
    return [Window(s, s + size) for s in starts if s <= timestamp < s + size]


@given(st.integers(1, 50), st.data(), TIMES)
def test_tumbling_windows_hold_exactly_their_timestamps(size: int, data: Any, ts: int) -> None:
    offset = data.draw(st.integers(1 - size, size - 1))
    assert TumblingWindows(size, offset).assign(ts) == brute_force(size, size, offset, ts)


@given(st.integers(1, 50), st.data(), TIMES)
def test_sliding_windows_hold_exactly_their_timestamps(size: int, data: Any, ts: int) -> None:
    slide = data.draw(st.integers(1, size))
    offset = data.draw(st.integers(1 - slide, slide - 1))
    windows = SlidingWindows(size, slide, offset).assign(ts)
    assert windows == brute_force(size, slide, offset, ts)
    assert windows == sorted(windows)


@given(st.integers(1, 30), st.data(), TIMES)
def test_a_span_is_exactly_the_timestamps_with_the_same_windows(
    size: int, data: Any, ts: int
) -> None:
    slide = data.draw(st.integers(1, size))
    offset = data.draw(st.integers(1 - slide, slide - 1))
    for assigner in (TumblingWindows(size, offset), SlidingWindows(size, slide, offset)):
        lo, hi = assigner.span(ts)
        windows = assigner.assign(ts)
        assert lo <= ts < hi
        assert all(assigner.assign(other) == windows for other in range(lo, hi))
        assert assigner.assign(lo - 1) != windows
        assert assigner.assign(hi) != windows


def test_the_default_span_is_the_timestamp_alone() -> None:
    assert SessionWindows(10).span(42) == (42, 43)


@given(st.integers(1, 50), TIMES)
def test_a_session_window_starts_at_its_event(gap: int, ts: int) -> None:
    assert SessionWindows(gap).assign(ts) == [Window(ts, ts + gap)]


@given(TIMES, TIMES, TIMES, TIMES)
def test_window_ids_sort_as_start_then_end(a: int, b: int, c: int, d: int) -> None:
    assert (Window(a, b).encode() < Window(c, d).encode()) == ((a, b) < (c, d))
    assert Window.decode(Window(a, b).encode()) == Window(a, b)


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: TumblingWindows(0), ValueError, "size must be positive"),
        (lambda: TumblingWindows(10, 10), ValueError, "offset must satisfy abs(offset) < size=10"),
        (lambda: TumblingWindows(10, -10), ValueError, "abs(offset) < size=10, got -10"),
        (lambda: TumblingWindows(1.5), TypeError, "size must be an int"),  # type: ignore[arg-type]
        (lambda: SlidingWindows(10, 0), ValueError, "slide must be positive"),
        (lambda: SlidingWindows(10, 20), ValueError, "must not exceed size"),
        (
            lambda: SlidingWindows(10, 5, -5),
            ValueError,
            "offset must satisfy abs(offset) < slide=5",
        ),
        (lambda: SessionWindows(-1), ValueError, "gap must be positive"),
        (lambda: SessionWindows("5"), TypeError, "gap must be an int"),  # type: ignore[arg-type]
    ],
)
def test_bad_window_sizes_raise_naming_the_argument(
    make: Callable[[], object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=re.escape(words)):
        make()


def test_a_negative_offset_shifts_windows_back_as_flinks_idiom_does() -> None:
    day, hour = 86_400_000, 3_600_000
    utc_plus_8 = TumblingWindows(day, -8 * hour)
    assert utc_plus_8.offset == 16 * hour
    assert utc_plus_8.assign(0) == [Window(-8 * hour, 16 * hour)]
    assert utc_plus_8.assign(16 * hour) == [Window(16 * hour, 40 * hour)]
    assert SlidingWindows(60, 20, -5).assign(0) == SlidingWindows(60, 20, 15).assign(0)


def test_the_package_exports_its_documented_names() -> None:
    names = set(fssdk_advanced.windows.__all__)
    assert {"TumblingWindows", "SlidingWindows", "SessionWindows", "WindowedAggregation"} <= names
    for name in (
        "TumblingWindows",
        "SlidingWindows",
        "SessionWindows",
        "Window",
        "WindowedAggregation",
        "WindowResult",
    ):
        assert name in fssdk_advanced.__all__
        assert getattr(fssdk_advanced, name) is getattr(fssdk_advanced.windows, name)


# -- WindowedAggregation: examples -------------------------------------------------------------


class Recorder:
    """Collects what the callbacks receive: results as ``(key, window, result, late,
    watermark)`` and late values as ``(key, ts, value)``, and the contexts they came with."""

    def __init__(self) -> None:
        self.results: list[tuple[Any, ...]] = []
        self.late: list[tuple[Any, int, Any]] = []
        self.contexts: list[Context] = []

    def result(self, ctx: Context, out: WindowResult[Any]) -> None:
        self.contexts.append(ctx)
        self.results.append(tuple(out))

    def on_late(self, ctx: Context, key: Any, ts: int, value: Any) -> None:
        self.contexts.append(ctx)
        self.late.append((key, ts, value))


def counting(store: Store, assigner: WindowAssigner, rec: Recorder, **kw: Any) -> Any:
    factory = KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly())
    return WindowedAggregation(factory, assigner, on_result=rec.result, on_late=rec.on_late, **kw)


class _SumOnly:
    def create_accumulator(self) -> int:
        return 0

    def add(self, value: int, acc: int) -> int:
        return acc + value

    def get_result(self, acc: int) -> int:
        return acc

    def merge(self, a: int, b: int) -> int:
        return a + b


def test_tumbling_windows_fire_when_the_watermark_passes_their_end(ctx: LocalContext) -> None:
    store = ctx.get_or_create_store("windows")
    rec = Recorder()
    agg = counting(store, TumblingWindows(10), rec)
    for ts, value in ((3, 1), (12, 10), (7, 2), (1, 4)):
        assert agg.add(ctx, b"k", ts, value)
    agg.advance_watermark(ctx, 8)
    assert rec.results == []
    agg.advance_watermark(ctx, 9)
    assert rec.results == [(b"k", Window(0, 10), 7, False, 9)]
    assert not agg.add(ctx, b"k", 9, 100)
    assert rec.late == [(b"k", 9, 100)]
    agg.advance_watermark(ctx, 100)
    assert rec.results[1:] == [(b"k", Window(10, 20), 10, False, 100)]
    assert list(KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly()).keys()) == []


def test_on_end_and_late_fires_at_the_end_then_per_late_value_then_clears(
    ctx: LocalContext,
) -> None:
    rec = Recorder()
    agg = counting(ctx.get_or_create_store("windows"), TumblingWindows(10), rec, allowed_lateness=5)
    agg.add(ctx, b"k", 3, 1)
    agg.advance_watermark(ctx, 9)
    assert rec.results == [(b"k", Window(0, 10), 1, False, 9)]
    assert agg.add(ctx, b"k", 4, 2)
    assert rec.results[-1] == (b"k", Window(0, 10), 3, True, 9)
    agg.advance_watermark(ctx, 14)
    assert not agg.add(ctx, b"k", 5, 4)
    assert rec.late == [(b"k", 5, 4)]
    assert len(rec.results) == 2


def test_on_close_fires_once_when_the_window_closes_with_its_late_values(
    ctx: LocalContext,
) -> None:
    store = ctx.get_or_create_store("windows")
    rec = Recorder()
    agg = counting(store, TumblingWindows(10), rec, allowed_lateness=5, emit="on_close")
    agg.add(ctx, b"k", 3, 1)
    agg.advance_watermark(ctx, 9)
    assert agg.add(ctx, b"k", 4, 2)
    agg.advance_watermark(ctx, 13)
    assert rec.results == []
    agg.advance_watermark(ctx, 14)
    assert rec.results == [(b"k", Window(0, 10), 3, False, 14)]
    assert not agg.add(ctx, b"k", 5, 4)
    agg.advance_watermark(ctx, 1000)
    assert len(rec.results) == 1
    assert list(KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly()).keys()) == []


def test_every_update_emits_every_update_and_nothing_at_the_close(ctx: LocalContext) -> None:
    rec = Recorder()
    store = ctx.get_or_create_store("windows")
    agg = counting(store, SlidingWindows(10, 5), rec, emit="every_update", allowed_lateness=3)
    agg.add(ctx, b"k", 7, 1)
    assert rec.results == [
        (b"k", Window(0, 10), 1, False, None),
        (b"k", Window(5, 15), 1, False, None),
    ]
    agg.advance_watermark(ctx, 9)
    agg.add(ctx, b"k", 8, 2)
    assert rec.results[2:] == [
        (b"k", Window(0, 10), 3, True, 9),
        (b"k", Window(5, 15), 3, False, 9),
    ]
    agg.advance_watermark(ctx, 100)
    assert len(rec.results) == 4


@pytest.mark.parametrize(
    ("old", "new"), [("final", "'on_end_and_late'"), ("current", "'every_update'")]
)
def test_the_old_emit_spellings_are_refused_naming_their_replacement(
    store: Store, old: str, new: str
) -> None:
    with pytest.raises(ValueError, match=f"got '{old}'; for '{old}' use {new}"):
        counting(store, TumblingWindows(10), Recorder(), emit=old)


def test_callbacks_receive_the_context_they_were_called_with(backend: Backend) -> None:
    adding, advancing = LocalContext(backend), LocalContext(backend)
    factory = KeyedAggregatingStateFactory(backend.store("w"), b"w", IntCodec(), _SumOnly())

    def emit(ctx: Context, fired: WindowResult[int]) -> None:
        ctx.emit(b"%d" % fired.result)

    def route(ctx: Context, key: bytes, ts: int, value: int) -> None:
        ctx.emit(b"late %d" % value, 1)

    agg = WindowedAggregation(factory, TumblingWindows(10), on_result=emit, on_late=route)
    agg.add(adding, b"k", 3, 5)
    agg.advance_watermark(advancing, 9)
    agg.add(adding, b"k", 4, 6)
    assert advancing.emitted == [(0, b"5")]
    assert adding.emitted == [(1, b"late 6")]


def test_bad_arguments_raise_naming_them(ctx: LocalContext) -> None:
    factory = KeyedAggregatingStateFactory(
        ctx.get_or_create_store("w"), b"w", IntCodec(), _SumOnly()
    )
    with pytest.raises(TypeError, match="state must be a KeyedAggregatingStateFactory"):
        WindowedAggregation(object(), TumblingWindows(1), on_result=print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="assigner must be a WindowAssigner"):
        WindowedAggregation(factory, 5, on_result=print)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="allowed_lateness must be >= 0"):
        WindowedAggregation(factory, TumblingWindows(1), on_result=print, allowed_lateness=-1)
    with pytest.raises(ValueError, match="emit must be one of 'on_close', 'on_end_and_late'"):
        WindowedAggregation(factory, TumblingWindows(1), on_result=print, emit="all")  # type: ignore[arg-type]
    agg = WindowedAggregation(factory, TumblingWindows(1), on_result=print)
    with pytest.raises(TypeError, match="key must be bytes"):
        agg.add(ctx, "k", 1, 1)
    with pytest.raises(TypeError, match="timestamp must be an int"):
        agg.add(ctx, b"k", 1.0, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"add: ctx must be an fssdk\.Context, not bytes"):
        agg.add(b"k", 1, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"advance_watermark: ctx must be an fssdk\.Context"):
        agg.advance_watermark(9, 9)  # type: ignore[arg-type]


# -- sessions ------------------------------------------------------------------------------------


def test_a_bridging_event_merges_two_sessions_and_moves_their_timer(ctx: LocalContext) -> None:
    rec = Recorder()
    agg = counting(ctx.get_or_create_store("windows"), SessionWindows(10), rec)
    agg.add(ctx, b"k", 0, 1)
    agg.add(ctx, b"k", 15, 2)
    agg.add(ctx, b"k", 8, 4)
    agg.advance_watermark(ctx, 17)
    assert rec.results == []
    agg.advance_watermark(ctx, 24)
    assert rec.results == [(b"k", Window(0, 25), 7, False, 24)]


@pytest.mark.parametrize("order", [(0, 3000), (3000, 0)])
def test_sessions_that_touch_merge_as_in_flink(ctx: LocalContext, order: tuple[int, int]) -> None:
    rec = Recorder()
    agg = counting(ctx.get_or_create_store("windows"), SessionWindows(3000), rec)
    for ts in order:
        agg.add(ctx, b"k", ts, 1)
    agg.advance_watermark(ctx, MAX_TIME)
    assert rec.results == [(b"k", Window(0, 6000), 2, False, MAX_TIME)]


def test_reducing_and_list_states_hold_window_contents(ctx: LocalContext) -> None:
    rec = Recorder()
    sums = KeyedReducingStateFactory(
        ctx.get_or_create_store("sums"), b"r", IntCodec(), lambda a, b: a + b
    )
    lists = KeyedListStateFactory(ctx.get_or_create_store("lists"), b"l", IntCodec())
    sessions = SessionWindows(10)
    by_sum: WindowedAggregation[int, int] = WindowedAggregation(
        sums, sessions, on_result=rec.result
    )
    by_list: WindowedAggregation[int, list[int]] = WindowedAggregation(
        lists, sessions, on_result=rec.result
    )
    for ts in (20, 0, 8):
        by_sum.add(ctx, b"k", ts, ts)
        by_list.add(ctx, b"k", ts, ts)
    by_sum.advance_watermark(ctx, 100)
    by_list.advance_watermark(ctx, 100)
    assert rec.results == [
        (b"k", Window(0, 18), 8, False, 100),
        (b"k", Window(20, 30), 20, False, 100),
        (b"k", Window(0, 18), [0, 8], False, 100),
        (b"k", Window(20, 30), [20], False, 100),
    ]


def write_old_rule_sessions(store: Store, sessions: dict[Window, int]) -> None:
    """What the aggregation stored before touching sessions merged: each of ``sessions`` (key
    ``b"k"``, gap 3000) with its sum, its entry in the session set and its timer."""
    contents = KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly())
    index = _SessionIndex(store, SESSIONS_KEY_GROUP, IntCodec(), IntCodec())
    timers = TimerService(store)
    for window, total in sessions.items():
        contents.new_aggregating_state(b"k", window.encode().hex()).add(total)
        index.new_keyed_map(b"k").put(window.start, window.end)
        timers.register_event_time_timer(b"k", window.encode(), window.max_timestamp)


def test_adjacent_sessions_of_an_older_state_dir_merge_on_an_event_touching_both(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory()
    write_old_rule_sessions(backend.store("windows"), {Window(0, 3000): 1, Window(3000, 6000): 2})
    if isinstance(backend, RocksDBBackend):
        backend.close()
        backend = backend_factory()
    with backend, LocalContext(backend) as ctx:
        rec = Recorder()
        agg = counting(backend.store("windows"), SessionWindows(3000), rec)
        agg.add(ctx, b"k", 3000, 4)
        agg.advance_watermark(ctx, MAX_TIME)
        assert rec.results == [(b"k", Window(0, 6000), 7, False, MAX_TIME)]
        index = _SessionIndex(backend.store("windows"), SESSIONS_KEY_GROUP, IntCodec(), IntCodec())
        assert list(index.keys()) == []


# -- typed keys, 64-bit bounds ------------------------------------------------------------------


def test_typed_keys_go_in_and_come_out_decoded(backend_factory: BackendFactory) -> None:
    rec = Recorder()

    def bind(backend: Backend) -> WindowedAggregation[int, int]:
        factory = KeyedAggregatingStateFactory(
            backend.store("w"), b"w", IntCodec(), _SumOnly(), key_codec=StringCodec()
        )
        return WindowedAggregation(
            factory, SessionWindows(10), on_result=rec.result, on_late=rec.on_late
        )

    backend = backend_factory()
    with LocalContext(backend) as ctx:
        agg = bind(backend)
        agg.add(ctx, "alice", 0, 1)
        agg.add(ctx, "bob", 5, 2)
        agg.add(ctx, "alice", 9, 3)
    if isinstance(backend, RocksDBBackend):
        backend.close()
        backend = backend_factory()
    with backend, LocalContext(backend) as ctx:
        agg = bind(backend)
        agg.advance_watermark(ctx, 30)
        assert not agg.add(ctx, "alice", 1, 4)
        with pytest.raises(
            TypeError, match=r"WindowedAggregation\.add: key b.alice. does not encode"
        ):
            agg.add(ctx, b"alice", 40, 1)
    assert rec.results == [
        ("bob", Window(5, 15), 2, False, 30),
        ("alice", Window(0, 19), 4, False, 30),
    ]
    assert rec.late == [("alice", 1, 4)]


def test_the_largest_allowed_lateness_saturates_the_close_timer(ctx: LocalContext) -> None:
    store = ctx.get_or_create_store("windows")
    rec = Recorder()
    agg = counting(store, TumblingWindows(10), rec, allowed_lateness=MAX_TIME)
    assert agg.add(ctx, b"k", 5, 1)
    agg.advance_watermark(ctx, 2**62)
    assert agg.add(ctx, b"k", 6, 2)
    assert rec.results == [
        (b"k", Window(0, 10), 1, False, 2**62),
        (b"k", Window(0, 10), 3, True, 2**62),
    ]
    agg.advance_watermark(ctx, MAX_TIME)
    assert not agg.add(ctx, b"k", 7, 4)
    assert list(KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly()).keys()) == []


@pytest.mark.parametrize(
    ("assigner", "ts"),
    [
        (SlidingWindows(10, 5), MAX_TIME - 7),
        (TumblingWindows(10), MAX_TIME),
        (SessionWindows(10), MAX_TIME - 5),
        (SlidingWindows(10, 5), -(2**63)),
    ],
)
def test_an_event_whose_windows_leave_the_64_bit_range_is_refused_storing_nothing(
    ctx: LocalContext, assigner: WindowAssigner, ts: int
) -> None:
    store = ctx.get_or_create_store("windows")
    agg = counting(store, assigner, Recorder())
    with pytest.raises(ValueError, match=f"timestamp {ts} falls in windows .* beyond the signed"):
        agg.add(ctx, b"k", ts, 1)
    assert list(KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly()).keys()) == []
    assert list(_SessionIndex(store, SESSIONS_KEY_GROUP, IntCodec(), IntCodec()).keys()) == []
    assert list(agg.timers.advance_watermark(MAX_TIME)) == []


# -- costs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("emit", "lateness", "reads", "writes"),
    [
        # 6001 falls in three sliding windows; two hold values already, [6000, 6060) is new
        ("on_end_and_late", 0, 3, 4),  # three contents writes, the new window's timer
        ("on_end_and_late", 5, 3, 5),  # the new window's timer at the end and at the close
        ("on_close", 5, 3, 4),
        ("every_update", 5, 6, 4),  # reading each window's result to emit it
    ],
)
def test_an_event_costs_a_read_and_a_write_per_window_and_timers_only_for_a_new_one(
    store: Store, emit: str, lateness: int, reads: int, writes: int
) -> None:
    counted = CountingStore(store)
    ctx = LocalContext(MemoryBackend())
    agg = counting(
        counted, SlidingWindows(60, 20), Recorder(), emit=emit, allowed_lateness=lateness
    )
    for ts in range(0, 6000, 7):
        agg.add(ctx, b"k", ts, 1)
    counted.reset()
    agg.add(ctx, b"k", 6001, 1)
    assert (counted.reads, counted.scans, counted.writes) == (reads, 0, writes)


def test_a_new_aggregation_registers_the_timers_of_open_windows_again(store: Store) -> None:
    """What an aggregation remembers of registered timers is not state: a new one (a restart)
    writes each open window's timer once more, the same entry, and every window fires once."""
    ctx = LocalContext(MemoryBackend())
    rec = Recorder()
    counting(store, TumblingWindows(10), rec).add(ctx, b"k", 3, 1)
    counted = CountingStore(store)
    agg = counting(counted, TumblingWindows(10), rec)
    agg.add(ctx, b"k", 4, 2)
    assert counted.writes == 2  # contents and the timer again
    counted.reset()
    agg.add(ctx, b"k", 5, 3)
    assert counted.writes == 1
    agg.advance_watermark(ctx, 9)
    assert rec.results == [(b"k", Window(0, 10), 6, False, 9)]
    assert list(agg.timers.advance_watermark(MAX_TIME)) == []


def test_a_bridging_session_event_reads_only_its_two_neighbours(store: Store) -> None:
    counted = CountingStore(store)
    ctx = LocalContext(MemoryBackend())
    rec = Recorder()
    agg = counting(counted, SessionWindows(10), rec)
    for ts in range(0, 20_000, 100):
        agg.add(ctx, b"k", ts, 1)
        agg.add(ctx, b"k", ts + 15, 1)
    counted.reset()
    agg.add(ctx, b"k", 10_008, 1)
    assert counted.scans == 2
    assert counted.scanned <= 2
    assert counted.reads <= 4  # the merge: target and two sources; the add: one
    counted.reset()
    agg.add(ctx, b"k", 10_025, 1)  # touches the end of the session just merged
    assert (counted.scans, counted.scanned) == (2, 1)
    agg.advance_watermark(ctx, 10_040)
    assert (b"k", Window(10_000, 10_035), 4, False, 10_040) in rec.results


# -- the state machine -------------------------------------------------------------------------


class Model:
    """The windows recomputed from the events: open windows and their values, per key."""

    def __init__(self, assigner: WindowAssigner, lateness: int, emit: str) -> None:
        self.assigner, self.lateness, self.emit = assigner, lateness, emit
        self.open: dict[tuple[bytes, Window], list[int]] = {}
        self.watermark: int | None = None
        self.results: list[tuple[Any, ...]] = []
        self.late: list[tuple[bytes, int, Any]] = []

    def close_time(self, window: Window) -> int:
        return min(window.max_timestamp + self.lateness, MAX_TIME)

    def closed(self, window: Window) -> bool:
        wm = self.watermark
        return wm is not None and self.close_time(window) <= wm

    def emitted(self, key: bytes, window: Window, late: bool) -> None:
        self.results.append((key, window, sum(self.open[key, window]), late, self.watermark))

    def add(self, key: bytes, ts: int, value: int) -> None:
        if self.assigner.merging:
            (merged,) = self.assigner.assign(ts)
            touching = [
                w
                for (k, w) in self.open
                if k == key and w.start <= merged.end and merged.start <= w.end
            ]
            if not touching and self.closed(merged):
                self.late.append((key, ts, value))
                return
            values: list[int] = []
            for w in touching:
                values += self.open.pop((key, w))
                merged = Window(min(merged.start, w.start), max(merged.end, w.end))
            self.open[key, merged] = values
            windows = [merged]
        else:
            windows = [w for w in self.assigner.assign(ts) if not self.closed(w)]
            if not windows:
                self.late.append((key, ts, value))
                return
        for w in windows:
            self.open.setdefault((key, w), []).append(value)
            wm = self.watermark
            ended = wm is not None and w.max_timestamp <= wm
            if self.emit == "every_update" or (ended and self.emit == "on_end_and_late"):
                self.emitted(key, w, ended)

    def advance(self, watermark: int) -> None:
        old = self.watermark
        if old is not None and watermark <= old:
            return
        self.watermark = watermark
        due = []
        for key, w in self.open:
            if (
                self.emit == "on_end_and_late"
                and (old is None or w.max_timestamp > old)
                and (w.max_timestamp <= watermark)
            ):
                due.append((w.max_timestamp, key, w.encode(), 0, w))
            if self.close_time(w) <= watermark:
                due.append((self.close_time(w), key, w.encode(), 1, w))
        for _, key, _, kind, w in sorted(due):
            if kind == 0:
                self.emitted(key, w, False)
            else:
                if self.emit == "on_close":
                    self.emitted(key, w, False)
                del self.open[key, w]


KEYS = st.sampled_from([b"a", b"b", b"a\x00"])
#: Events one bulk step adds at most.
MAX_BULK = 300
ASSIGNERS = st.sampled_from(
    [
        TumblingWindows(10),
        TumblingWindows(7, 3),
        SlidingWindows(10, 5),
        SlidingWindows(9, 2, 1),
        SessionWindows(5),
        SessionWindows(12),
    ]
)


class WindowMachine(RuleBasedStateMachine):
    backend_kind: ClassVar[str] = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="fssdk-windows-")
        self.backend: Backend = self._open()
        self.reopens = 0
        self.model: Model | None = None

    def _open(self) -> Backend:
        if self.backend_kind == "memory":
            return MemoryBackend()
        return RocksDBBackend(Path(self.directory) / "db")

    def _bind(self) -> None:
        assert self.model is not None
        store = LocalContext(self.backend).get_or_create_store("windows")
        factory = KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly())
        self.ctx = LocalContext(self.backend)
        self.agg = WindowedAggregation(
            factory,
            self.model.assigner,
            on_result=self.record,
            on_late=self.record_late,
            allowed_lateness=self.model.lateness,
            emit=self.model.emit,  # type: ignore[arg-type]
        )

    def record(self, ctx: Context, out: WindowResult[Any]) -> None:
        assert ctx is self.ctx
        self.results.append(tuple(out))

    def record_late(self, ctx: Context, key: bytes, ts: int, value: Any) -> None:
        assert ctx is self.ctx
        self.late.append((key, ts, value))

    @precondition(lambda self: self.model is None)
    @rule(
        assigner=ASSIGNERS,
        lateness=st.sampled_from([0, 0, 3, 20, MAX_TIME]),
        emit=st.sampled_from(["on_close", "on_end_and_late", "every_update"]),
    )
    def configure(self, assigner: WindowAssigner, lateness: int, emit: str) -> None:
        self.model = Model(assigner, lateness, emit)
        self.results: list[Any] = []
        self.late: list[Any] = []
        self._bind()

    @precondition(lambda self: self.model is not None)
    @rule(key=KEYS, ts=st.integers(0, 80), value=st.integers(1, 9))
    def add(self, key: bytes, ts: int, value: int) -> None:
        assert self.model is not None
        late_before = len(self.model.late)
        accepted = self.agg.add(self.ctx, key, ts, value)
        self.model.add(key, ts, value)
        assert accepted == (len(self.model.late) == late_before)

    @precondition(lambda self: self.model is not None)
    @rule(
        keys=st.integers(1, 40),
        start=st.integers(0, 80),
        count=st.integers(0, MAX_BULK),
    )
    def add_bulk(self, keys: int, start: int, count: int) -> None:
        """Up to MAX_BULK events in one step over ``keys`` keys, timestamps climbing from
        ``start``: many windows and timers at once, past the timer service's cached head."""
        for number in range(count):
            self.add(b"bulk%d" % (number % keys), start + number // keys % 40, 1 + number % 9)

    @precondition(lambda self: self.model is not None)
    @rule(step=st.integers(-5, 25))
    def advance(self, step: int) -> None:
        assert self.model is not None
        watermark = (self.model.watermark or 0) + step
        self.agg.advance_watermark(self.ctx, watermark)
        self.model.advance(watermark)

    @precondition(
        lambda self: self.model is not None and self.backend_kind == "rocksdb" and self.reopens < 2
    )
    @rule()
    def reopen(self) -> None:
        self.backend.close()
        self.backend = self._open()
        self.reopens += 1
        self._bind()

    @invariant()
    def emissions_match_the_model(self) -> None:
        if self.model is not None:
            assert self.results == self.model.results
            assert self.late == self.model.late

    def teardown(self) -> None:
        self.backend.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class WindowMachineOnRocksDB(WindowMachine):
    backend_kind = "rocksdb"


@pytest.mark.parametrize(
    "machine", [WindowMachine, WindowMachineOnRocksDB], ids=["memory", "rocksdb"]
)
def test_windowed_aggregation_matches_its_model(
    thresholds: str, machine: type[WindowMachine]
) -> None:
    """On RocksDB a third of the profile's examples (at least 10): each opens a database."""
    current = settings()
    examples = current.max_examples
    if machine is WindowMachineOnRocksDB:
        examples = max(10, examples // 3)
    examples = machine_examples(examples, thresholds)
    run_state_machine_as_test(machine, settings=settings(current, max_examples=examples))
