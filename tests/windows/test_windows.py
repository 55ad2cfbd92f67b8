"""Windows: assigners against a brute-force model, WindowedAggregation's semantics, and a state
machine checking it (out of order, lateness, session merges, reopen) against a model."""

from __future__ import annotations

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
from fssdk import Store
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk_advanced import (
    IntCodec,
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedReducingStateFactory,
)
from fssdk_advanced.windows import (
    SessionWindows,
    SlidingWindows,
    TumblingWindows,
    Window,
    WindowAssigner,
    WindowedAggregation,
    WindowResult,
)
from tests.support import CountingStore, machine_examples

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
    offset = data.draw(st.integers(0, size - 1))
    assert TumblingWindows(size, offset).assign(ts) == brute_force(size, size, offset, ts)


@given(st.integers(1, 50), st.data(), TIMES)
def test_sliding_windows_hold_exactly_their_timestamps(size: int, data: Any, ts: int) -> None:
    slide = data.draw(st.integers(1, size))
    offset = data.draw(st.integers(0, slide - 1))
    windows = SlidingWindows(size, slide, offset).assign(ts)
    assert windows == brute_force(size, slide, offset, ts)
    assert windows == sorted(windows)


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
        (lambda: TumblingWindows(10, 10), ValueError, "offset must be in [0, size=10)"),
        (lambda: TumblingWindows(1.5), TypeError, "size must be an int"),  # type: ignore[arg-type]
        (lambda: SlidingWindows(10, 0), ValueError, "slide must be positive"),
        (lambda: SlidingWindows(10, 20), ValueError, "must not exceed size"),
        (lambda: SlidingWindows(10, 5, 5), ValueError, "offset must be in [0, slide=5)"),
        (lambda: SessionWindows(-1), ValueError, "gap must be positive"),
        (lambda: SessionWindows("5"), TypeError, "gap must be an int"),  # type: ignore[arg-type]
    ],
)
def test_bad_window_sizes_raise_naming_the_argument(
    make: Callable[[], object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words.replace("[", r"\[").replace(")", r"\)")):
        make()


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
    def __init__(self) -> None:
        self.results: list[tuple[bytes, Window, Any]] = []
        self.late: list[tuple[bytes, int, Any]] = []

    def result(self, out: WindowResult[Any]) -> None:
        self.results.append(tuple(out))

    def on_late(self, key: bytes, ts: int, value: Any) -> None:
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


def test_tumbling_windows_fire_when_the_watermark_passes_their_end(store: Store) -> None:
    rec = Recorder()
    agg = counting(store, TumblingWindows(10), rec)
    for ts, value in ((3, 1), (12, 10), (7, 2), (1, 4)):
        assert agg.add(b"k", ts, value)
    agg.advance_watermark(8)
    assert rec.results == []
    agg.advance_watermark(9)
    assert rec.results == [(b"k", Window(0, 10), 7)]
    assert not agg.add(b"k", 9, 100)
    assert rec.late == [(b"k", 9, 100)]
    agg.advance_watermark(100)
    assert rec.results[1:] == [(b"k", Window(10, 20), 10)]
    assert list(KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly()).keys()) == []


def test_allowed_lateness_refires_then_clears(store: Store) -> None:
    rec = Recorder()
    agg = counting(store, TumblingWindows(10), rec, allowed_lateness=5)
    agg.add(b"k", 3, 1)
    agg.advance_watermark(9)
    assert rec.results == [(b"k", Window(0, 10), 1)]
    assert agg.add(b"k", 4, 2)
    assert rec.results[-1] == (b"k", Window(0, 10), 3)
    agg.advance_watermark(14)
    assert not agg.add(b"k", 5, 4)
    assert rec.late == [(b"k", 5, 4)]
    assert len(rec.results) == 2


def test_current_mode_emits_every_update_and_nothing_at_the_end(store: Store) -> None:
    rec = Recorder()
    agg = counting(store, SlidingWindows(10, 5), rec, emit="current")
    agg.add(b"k", 7, 1)
    assert rec.results == [(b"k", Window(0, 10), 1), (b"k", Window(5, 15), 1)]
    agg.advance_watermark(100)
    assert len(rec.results) == 2


def test_a_bridging_event_merges_two_sessions_and_moves_their_timer(store: Store) -> None:
    rec = Recorder()
    agg = counting(store, SessionWindows(10), rec)
    agg.add(b"k", 0, 1)
    agg.add(b"k", 15, 2)
    agg.add(b"k", 8, 4)
    agg.advance_watermark(17)
    assert rec.results == []
    agg.advance_watermark(24)
    assert rec.results == [(b"k", Window(0, 25), 7)]


def test_reducing_and_list_states_hold_window_contents(backend: Backend) -> None:
    rec = Recorder()
    sums = KeyedReducingStateFactory(backend.store("sums"), b"r", IntCodec(), lambda a, b: a + b)
    lists = KeyedListStateFactory(backend.store("lists"), b"l", IntCodec())
    sessions = SessionWindows(10)
    by_sum: WindowedAggregation[int, int] = WindowedAggregation(
        sums, sessions, on_result=rec.result
    )
    by_list: WindowedAggregation[int, list[int]] = WindowedAggregation(
        lists, sessions, on_result=rec.result
    )
    for ts in (20, 0, 8):
        by_sum.add(b"k", ts, ts)
        by_list.add(b"k", ts, ts)
    by_sum.advance_watermark(100)
    by_list.advance_watermark(100)
    assert rec.results == [
        (b"k", Window(0, 18), 8),
        (b"k", Window(20, 30), 20),
        (b"k", Window(0, 18), [0, 8]),
        (b"k", Window(20, 30), [20]),
    ]


def test_bad_arguments_raise_naming_them(store: Store) -> None:
    factory = KeyedAggregatingStateFactory(store, b"w", IntCodec(), _SumOnly())
    with pytest.raises(TypeError, match="state must be a KeyedAggregatingStateFactory"):
        WindowedAggregation(object(), TumblingWindows(1), on_result=print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="assigner must be a WindowAssigner"):
        WindowedAggregation(factory, 5, on_result=print)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="allowed_lateness must be >= 0"):
        WindowedAggregation(factory, TumblingWindows(1), on_result=print, allowed_lateness=-1)
    with pytest.raises(ValueError, match="emit must be 'final' or 'current'"):
        WindowedAggregation(factory, TumblingWindows(1), on_result=print, emit="all")  # type: ignore[arg-type]
    agg = WindowedAggregation(factory, TumblingWindows(1), on_result=print)
    with pytest.raises(TypeError, match="key must be bytes"):
        agg.add("k", 1, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timestamp must be an int"):
        agg.add(b"k", 1.0, 1)  # type: ignore[arg-type]


# -- costs ---------------------------------------------------------------------------------------


def test_an_event_costs_a_read_and_two_writes_per_window_and_no_scan(store: Store) -> None:
    counted = CountingStore(store)
    agg = counting(counted, SlidingWindows(60, 20), Recorder())
    for ts in range(0, 6000, 7):
        agg.add(b"k", ts, 1)
    counted.reset()
    agg.add(b"k", 6001, 1)
    assert (counted.reads, counted.scans, counted.writes) == (3, 0, 6)


def test_a_bridging_session_event_reads_only_its_two_neighbours(store: Store) -> None:
    counted = CountingStore(store)
    rec = Recorder()
    agg = counting(counted, SessionWindows(10), rec)
    for ts in range(0, 20_000, 100):
        agg.add(b"k", ts, 1)
        agg.add(b"k", ts + 15, 1)
    counted.reset()
    agg.add(b"k", 10_008, 1)
    assert counted.scans == 2
    assert counted.scanned <= 2
    assert counted.reads <= 4  # the merge: target and two sources; the add: one
    agg.advance_watermark(10_030)
    assert (b"k", Window(10_000, 10_025), 3) in rec.results


# -- the state machine -------------------------------------------------------------------------


class Model:
    """The windows recomputed from the events: open windows and their values, per key."""

    def __init__(self, assigner: WindowAssigner, lateness: int, emit: str) -> None:
        self.assigner, self.lateness, self.emit = assigner, lateness, emit
        self.open: dict[tuple[bytes, Window], list[int]] = {}
        self.watermark: int | None = None
        self.results: list[tuple[bytes, Window, Any]] = []
        self.late: list[tuple[bytes, int, Any]] = []

    def closed(self, window: Window) -> bool:
        wm = self.watermark
        return wm is not None and window.max_timestamp + self.lateness <= wm

    def add(self, key: bytes, ts: int, value: int) -> None:
        if self.assigner.merging:
            (merged,) = self.assigner.assign(ts)
            touching = [
                w
                for (k, w) in self.open
                if k == key and w.start < merged.end and merged.start < w.end
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
            if self.emit == "current" or (wm is not None and w.max_timestamp <= wm):
                self.results.append((key, w, sum(self.open[key, w])))

    def advance(self, watermark: int) -> None:
        old = self.watermark
        if old is not None and watermark <= old:
            return
        self.watermark = watermark
        due = []
        for key, w in self.open:
            if (
                self.emit == "final"
                and (old is None or w.max_timestamp > old)
                and (w.max_timestamp <= watermark)
            ):
                due.append((w.max_timestamp, key, w.encode(), 0, w))
            if w.max_timestamp + self.lateness <= watermark:
                due.append((w.max_timestamp + self.lateness, key, w.encode(), 1, w))
        for _, key, _, kind, w in sorted(due):
            if kind == 0:
                self.results.append((key, w, sum(self.open[key, w])))
            else:
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
        self.agg = WindowedAggregation(
            factory,
            self.model.assigner,
            on_result=self.record,
            on_late=self.record_late,
            allowed_lateness=self.model.lateness,
            emit=self.model.emit,  # type: ignore[arg-type]
        )

    def record(self, out: WindowResult[Any]) -> None:
        self.results.append(tuple(out))

    def record_late(self, key: bytes, ts: int, value: Any) -> None:
        self.late.append((key, ts, value))

    @precondition(lambda self: self.model is None)
    @rule(
        assigner=ASSIGNERS,
        lateness=st.sampled_from([0, 0, 3, 20]),
        emit=st.sampled_from(["final", "current"]),
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
        accepted = self.agg.add(key, ts, value)
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
        self.agg.advance_watermark(watermark)
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
