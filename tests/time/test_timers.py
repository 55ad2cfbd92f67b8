"""TimerService: behaviour on every backend, the cost claims by counted store operations, and a
hypothesis state machine against a model (a set of timers per time domain).

The cost tests wrap the store in :class:`CountingStore`, which forwards every call and counts
reads (point reads, scans opened, entries a scan yields) and writes; they never time anything.
"""

from __future__ import annotations

import inspect
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import fssdk_advanced.time as time_package
from fssdk import ComplexKey, CorruptStateError, Store
from fssdk.reserved import EVENT_TIMERS_KEY_GROUP, TIMER_CLOCK_KEY_GROUP
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk.stores import MemoryStore
from fssdk_advanced.time import StateTtl, Timer, TimerService, _timers
from tests.support import CountingStore, machine_examples

MIN, MAX = -(2**63), 2**63 - 1


@pytest.fixture
def timers(store: Store) -> TimerService:
    return TimerService(store)


def fire(iterator: Iterator[Timer]) -> list[tuple[int, bytes, bytes]]:
    return [tuple(timer) for timer in iterator]  # type: ignore[misc]


def test_the_time_package_exports_exactly_its_documented_names() -> None:
    names = {"EventTimeClock", "StateTtl", "Timer", "TimerService", "processing_time_ms"}
    names |= {"KeyedProcessDriver", "KeyedTimers", "PendingTimer", "ProcessTimer"}
    assert list(time_package.__all__) == sorted(names)
    assert {name for name in vars(time_package) if not name.startswith("_")} == names
    assert all(inspect.getdoc(getattr(time_package, name)) for name in names)


# -- behaviour on every backend ------------------------------------------------------------------


def test_due_timers_fire_in_timestamp_then_key_then_namespace_order(timers: TimerService) -> None:
    for key, ns, ts in [
        (b"b", b"", 5),
        (b"a", b"y", 5),
        (b"a", b"x", 5),
        (b"c", b"", 1),
        (b"a\x00", b"", 5),
        (b"z", b"", 6),
    ]:
        timers.register_event_time_timer(key, ns, ts)
    assert fire(timers.advance_watermark(5)) == [
        (1, b"c", b""),
        (5, b"a", b"x"),
        (5, b"a", b"y"),
        (5, b"a\x00", b""),
        (5, b"b", b""),
    ]
    assert fire(timers.advance_watermark(6)) == [(6, b"z", b"")]


def test_a_timer_registered_twice_fires_once(timers: TimerService) -> None:
    timers.register_event_time_timer(b"k", b"w", 10)
    timers.register_event_time_timer(b"k", b"w", 10)
    assert fire(timers.advance_watermark(10)) == [(10, b"k", b"w")]
    assert fire(timers.advance_watermark(100)) == []


def test_timers_that_are_not_due_wait(timers: TimerService) -> None:
    timers.register_event_time_timer(b"k", b"", 10)
    assert fire(timers.advance_watermark(9)) == []
    assert fire(timers.advance_watermark(10)) == [(10, b"k", b"")]


def test_a_deleted_timer_does_not_fire(timers: TimerService) -> None:
    timers.register_event_time_timer(b"k", b"", 10)
    timers.register_event_time_timer(b"k", b"", 11)
    timers.delete_event_time_timer(b"k", b"", 10)
    timers.delete_event_time_timer(b"never", b"", 10)
    assert fire(timers.advance_watermark(20)) == [(11, b"k", b"")]


def test_time_domains_are_separate(timers: TimerService) -> None:
    timers.register_event_time_timer(b"e", b"", 5)
    timers.register_processing_time_timer(b"p", b"", 5)
    timers.delete_processing_time_timer(b"e", b"", 5)
    assert fire(timers.advance_processing_time(5)) == [(5, b"p", b"")]
    assert fire(timers.advance_watermark(5)) == [(5, b"e", b"")]
    assert (timers.current_watermark, timers.current_processing_time) == (5, 5)


def test_a_timer_registered_while_firing_fires_in_the_same_advance_if_due(
    timers: TimerService,
) -> None:
    timers.register_event_time_timer(b"a", b"", 1)
    fired = []
    for timer in timers.advance_watermark(10):
        fired.append(tuple(timer))
        if timer.timestamp == 1:
            timers.register_event_time_timer(b"a", b"", 7)
            timers.register_event_time_timer(b"a", b"", 11)
            timers.register_event_time_timer(b"b", b"", 0)
    assert fired == [(1, b"a", b""), (0, b"b", b""), (7, b"a", b"")]
    assert fire(timers.advance_watermark(11)) == [(11, b"a", b"")]


def test_a_timer_deleted_while_firing_does_not_fire(timers: TimerService) -> None:
    for ts in (1, 2, 3):
        timers.register_event_time_timer(b"a", b"", ts)
    fired = []
    for timer in timers.advance_watermark(3):
        fired.append(timer.timestamp)
        timers.delete_event_time_timer(b"a", b"", 2)
    assert fired == [1, 3]


def test_the_watermark_never_goes_back(timers: TimerService) -> None:
    assert timers.current_watermark is None
    assert fire(timers.advance_watermark(10)) == []
    timers.register_event_time_timer(b"late", b"", 8)
    assert fire(timers.advance_watermark(3)) == [(8, b"late", b"")]
    assert timers.current_watermark == 10


def test_the_watermark_is_recorded_even_if_the_iterator_is_never_consumed(
    timers: TimerService,
) -> None:
    timers.register_event_time_timer(b"a", b"", 5)
    timers.advance_watermark(7)
    assert timers.current_watermark == 7
    assert fire(timers.advance_watermark(0)) == [(5, b"a", b"")]


def test_timers_left_in_a_dropped_iterator_fire_at_the_next_advance(timers: TimerService) -> None:
    for ts in (1, 2, 3):
        timers.register_event_time_timer(b"a", b"", ts)
    firing = timers.advance_watermark(3)
    assert next(firing).timestamp == 1
    del firing
    assert [t.timestamp for t in timers.advance_watermark(3)] == [2, 3]


def test_extreme_timestamps(timers: TimerService) -> None:
    timers.register_event_time_timer(b"a", b"", MAX)
    timers.register_event_time_timer(b"a", b"", MIN)
    assert fire(timers.advance_watermark(MIN)) == [(MIN, b"a", b"")]
    assert fire(timers.advance_watermark(MAX - 1)) == []
    assert fire(timers.advance_watermark(MAX)) == [(MAX, b"a", b"")]


def test_many_timers_fire_in_order_across_refills(timers: TimerService) -> None:
    stamps = [(i * 7919) % 1000 for i in range(1000)]
    for ts in stamps:
        timers.register_event_time_timer(b"k%d" % (ts % 3), b"", ts)
    fired = fire(timers.advance_watermark(499))
    assert fired == sorted((ts, b"k%d" % (ts % 3), b"") for ts in stamps if ts <= 499)
    timers._check()
    assert len(fire(timers.advance_watermark(999))) == 500


def test_the_cached_head_stays_bounded_when_many_timers_join_it(timers: TimerService) -> None:
    assert fire(timers.advance_watermark(-1)) == []  # the head is known: the queue is empty
    for ts in range(300, 0, -1):
        timers.register_event_time_timer(b"k", b"", ts)
    head = _timers._SHARED[timers.store].event
    assert len(head.window) <= 2 * _timers.WINDOW
    timers._check()
    assert [t.timestamp for t in timers.advance_watermark(300)] == list(range(1, 301))
    timers._check()


def test_timers_and_the_clocks_survive_a_restart(backend_factory: Callable[[], Backend]) -> None:
    with backend_factory() as backend:
        if isinstance(backend, MemoryBackend):
            pytest.skip("MemoryBackend keeps nothing once closed")
        timers = TimerService.from_context(LocalContext(backend), "timers")
        timers.register_event_time_timer(b"a", b"", 5)
        timers.register_event_time_timer(b"b", b"", 20)
        timers.register_processing_time_timer(b"p", b"", 100)
        assert fire(timers.advance_watermark(10)) == [(5, b"a", b"")]
        assert fire(timers.advance_processing_time(50)) == []
    with backend_factory() as backend:
        timers = TimerService.from_context(LocalContext(backend), "timers")
        assert (timers.current_watermark, timers.current_processing_time) == (10, 50)
        assert fire(timers.advance_watermark(20)) == [(20, b"b", b"")]
        assert fire(timers.advance_processing_time(100)) == [(100, b"p", b"")]


def test_services_on_one_store_share_their_head(store: Store) -> None:
    first, second = TimerService(store), TimerService(store)
    first.register_event_time_timer(b"a", b"", 5)
    assert fire(second.advance_watermark(1)) == []
    second.register_event_time_timer(b"b", b"", 3)
    assert fire(first.advance_watermark(5)) == [(3, b"b", b""), (5, b"a", b"")]
    assert second.current_watermark == 5


def test_event_time_clock_reads_the_watermark(timers: TimerService) -> None:
    clock = timers.event_time_clock(initial=-1)
    assert clock() == -1
    timers.advance_watermark(42)
    assert clock() == 42
    assert StateTtl(10, clock=clock).time_domain == "event-time"
    assert timers.event_time_clock()() == 42
    assert TimerService(MemoryStore("fresh")).event_time_clock()() == MIN


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda t: t.register_event_time_timer("k", b"", 1), TypeError, "key must be bytes"),
        (lambda t: t.register_event_time_timer(b"k", None, 1), TypeError, "namespace must be"),
        (lambda t: t.register_event_time_timer(b"k", b"", 1.0), TypeError, "timestamp must be"),
        (lambda t: t.register_event_time_timer(b"k", b"", True), TypeError, "timestamp must be"),
        (lambda t: t.delete_event_time_timer(b"k", b"", 2**63), ValueError, "timestamp must be"),
        (lambda t: t.register_processing_time_timer(b"k", b"", MIN - 1), ValueError, "timestamp"),
        (lambda t: t.delete_processing_time_timer(1, b"", 1), TypeError, "key must be bytes"),
        (lambda t: t.advance_watermark("1"), TypeError, "advance_watermark: watermark must be"),
        (lambda t: t.advance_processing_time(2**63), ValueError, "now must be"),
        (lambda t: t.event_time_clock(initial=None), TypeError, "initial must be"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(
    timers: TimerService,
    call: Callable[[TimerService], object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        call(timers)


def test_repr_names_the_store_and_the_clocks(timers: TimerService) -> None:
    timers.advance_watermark(7)
    assert repr(timers) == (f"<TimerService of {timers.store!r} watermark=7 processing_time=None>")


def test_from_context_needs_a_context_and_a_store() -> None:
    with pytest.raises(TypeError, match=r"ctx must be an fssdk\.Context"):
        TimerService.from_context(object(), "timers")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"store must be an fssdk\.Store"):
        TimerService(object())  # type: ignore[arg-type]


def test_a_corrupt_timer_key_raises_naming_the_store_and_stays(store: Store) -> None:
    store.put(ComplexKey(EVENT_TIMERS_KEY_GROUP, b"", b"", b"\x00\x01"), b"")
    timers = TimerService(store)
    with pytest.raises(CorruptStateError, match="timer key does not decode") as caught:
        fire(timers.advance_watermark(MAX))
    assert "test-store" in str(caught.value)
    assert store.get(ComplexKey(EVENT_TIMERS_KEY_GROUP, b"", b"", b"\x00\x01")) == b""


def test_a_corrupt_clock_raises_naming_the_store(store: Store) -> None:
    store.put(ComplexKey(TIMER_CLOCK_KEY_GROUP, b"", b"", _timers.WATERMARK_KEY), b"xx")
    with pytest.raises(CorruptStateError, match="clock does not decode"):
        TimerService(store)


# -- costs, by counting store operations ---------------------------------------------------------


@pytest.fixture
def counted(store: Store) -> CountingStore:
    return CountingStore(store)


def test_registering_and_deleting_write_once_and_read_nothing(counted: CountingStore) -> None:
    timers = TimerService(counted)
    for ts in range(200):
        timers.register_event_time_timer(b"k", b"", ts)
    counted.reset()
    timers.register_event_time_timer(b"k", b"", 5_000)
    timers.register_processing_time_timer(b"k", b"", -1)
    timers.delete_event_time_timer(b"k", b"", 100)
    timers.delete_processing_time_timer(b"k", b"", 3)
    assert (counted.writes, counted.reads, counted.scans) == (4, 0, 0)


def test_an_advance_that_fires_nothing_reads_nothing(counted: CountingStore) -> None:
    timers = TimerService(counted)
    for ts in range(1_000, 2_000):
        timers.register_event_time_timer(b"k", b"", ts)
    fire(timers.advance_watermark(0))  # the first advance of a service learns the head
    counted.reset()
    for watermark in range(1, 999):
        assert fire(timers.advance_watermark(watermark)) == []
    assert (counted.reads, counted.scans, counted.scanned) == (0, 0, 0)
    assert counted.writes == 998  # the watermark itself


def test_an_advance_over_an_empty_queue_reads_nothing(counted: CountingStore) -> None:
    timers = TimerService(counted)
    fire(timers.advance_processing_time(0))
    counted.reset()
    fire(timers.advance_processing_time(1))
    fire(timers.advance_processing_time(1))
    assert (counted.reads, counted.scans, counted.writes) == (0, 0, 1)


@pytest.mark.parametrize("k", [1, 2, 5, 64, 300])
def test_advancing_past_k_due_timers_reads_at_most_k_plus_a_window(
    counted: CountingStore, k: int
) -> None:
    timers = TimerService(counted)
    n = 2_000
    for ts in range(n):
        timers.register_event_time_timer(b"key", b"", ts)
    fire(timers.advance_watermark(-1))
    timers.delete_event_time_timer(b"key", b"", 0)  # empties the cached head: refills are needed
    counted.reset()
    assert len(fire(timers.advance_watermark(k))) == k
    assert counted.scanned <= k + _timers.WINDOW
    assert counted.scans <= k // _timers.WINDOW + 1
    assert counted.writes == k + 1  # k deletes and the watermark
    assert counted.reads == 0


def test_a_cold_service_seeks_once_then_reads_nothing(store: Store) -> None:
    timers = TimerService(store)
    for ts in range(100, 600):
        timers.register_event_time_timer(b"k", b"", ts)
    cold = CountingStore(store)
    restarted = TimerService(cold)
    assert cold.reads == 2  # the two clocks
    cold.reset()
    assert fire(restarted.advance_watermark(50)) == []
    assert cold.scans == 1
    assert cold.scanned == _timers.WINDOW
    cold.reset()
    assert fire(restarted.advance_watermark(60)) == []
    assert (cold.scans, cold.scanned, cold.reads) == (0, 0, 0)


# -- a state machine against a model -------------------------------------------------------------

KEYS = st.sampled_from([b"", b"a", b"ab", b"a\x00", b"\xff"])
NAMESPACES = st.sampled_from([b"", b"w", b"w\x00"])
STAMPS = st.one_of(st.integers(-3, 40), st.sampled_from([MIN, MAX]))
DOMAINS = st.sampled_from(["event", "processing"])
ACTION = st.tuples(st.booleans(), KEYS, NAMESPACES, STAMPS)  # (register?, key, ns, ts)
MAX_RESTARTS = 3
#: Timers one bulk step registers at most.
MAX_BULK = 300


class _Harness:
    """A backend that can be restarted: RocksDB is closed and reopened over the same directory;
    memory keeps its MemoryStore and wraps it in a new store object (a cold head cache)."""

    def __init__(self, kind: str) -> None:
        self.directory = tempfile.mkdtemp(prefix="fssdk-timers-") if kind == "rocksdb" else None
        self.restarts = 0
        self.backend = self._open()

    def _open(self) -> Backend:
        if self.directory is None:
            return MemoryBackend()
        return RocksDBBackend(Path(self.directory) / "db")

    def service(self) -> TimerService:
        store = self.backend.store("timers")
        if self.directory is None:
            store = CountingStore(store)
        return TimerService(store)

    def restart(self) -> None:
        if self.directory is not None:
            self.backend.close()
            self.backend = self._open()
        self.restarts += 1

    def close(self) -> None:
        self.backend.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


class TimerMachine(RuleBasedStateMachine):
    """The service against ``model[domain]``, a set of (ts, key, ns), and the two clocks."""

    backend_kind: ClassVar[str] = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.harness = _Harness(self.backend_kind)
        self.timers = self.harness.service()
        self.model: dict[str, set[tuple[int, bytes, bytes]]] = {"event": set(), "processing": set()}
        self.clock: dict[str, int | None] = {"event": None, "processing": None}

    def _register(self, domain: str, key: bytes, ns: bytes, ts: int) -> None:
        if domain == "event":
            self.timers.register_event_time_timer(key, ns, ts)
        else:
            self.timers.register_processing_time_timer(key, ns, ts)
        self.model[domain].add((ts, key, ns))

    def _delete(self, domain: str, key: bytes, ns: bytes, ts: int) -> None:
        if domain == "event":
            self.timers.delete_event_time_timer(key, ns, ts)
        else:
            self.timers.delete_processing_time_timer(key, ns, ts)
        self.model[domain].discard((ts, key, ns))

    @rule(domain=DOMAINS, key=KEYS, ns=NAMESPACES, ts=STAMPS, twice=st.booleans())
    def register(self, domain: str, key: bytes, ns: bytes, ts: int, twice: bool) -> None:
        self._register(domain, key, ns, ts)
        if twice:
            self._register(domain, key, ns, ts)

    @rule(
        domain=DOMAINS,
        start=st.integers(-3, 40),
        spread=st.integers(1, 60),
        count=st.integers(0, MAX_BULK),
    )
    def register_bulk(self, domain: str, start: int, spread: int, count: int) -> None:
        """Up to MAX_BULK timers in one step, at ``spread`` timestamps from ``start`` (under as
        many keys as it takes to keep them distinct): a queue longer than the cached head."""
        for number in range(count):
            key = b"bulk%d" % (number // spread)
            self._register(domain, key, b"", start + number % spread)

    @rule(domain=DOMAINS, data=st.data())
    def delete(self, domain: str, data: st.DataObject) -> None:
        known = sorted(self.model[domain])
        existing: bool = bool(known) and data.draw(st.booleans(), label="existing")
        timers = st.sampled_from(known) if existing else st.tuples(STAMPS, KEYS, NAMESPACES)
        ts, key, ns = data.draw(timers, label="timer")
        self._delete(domain, key, ns, ts)

    @rule(
        domain=DOMAINS,
        to=STAMPS,
        actions=st.lists(st.lists(ACTION, max_size=3), max_size=4),
        take=st.one_of(st.none(), st.integers(0, 3)),
    )
    def advance(
        self,
        domain: str,
        to: int,
        actions: list[list[tuple[bool, bytes, bytes, int]]],
        take: int | None,
    ) -> None:
        """Advance, registering and deleting timers after each of the first fired ones, and
        maybe dropping the iterator after ``take`` timers."""
        current = self.clock[domain]
        bound = to if current is None else max(current, to)
        self.clock[domain] = bound
        firing = (
            self.timers.advance_watermark(to)
            if domain == "event"
            else self.timers.advance_processing_time(to)
        )
        fired = 0
        for timer in firing:
            due = [t for t in self.model[domain] if t[0] <= bound]
            assert due, f"fired {timer} with nothing due"
            assert tuple(timer) == min(due)
            self.model[domain].remove(min(due))
            if fired < len(actions):
                for register, key, ns, ts in actions[fired]:
                    if register:
                        self._register(domain, key, ns, ts)
                    else:
                        self._delete(domain, key, ns, ts)
            fired += 1
            if take is not None and fired >= take:
                break
        if take is None or fired < take:
            assert not [t for t in self.model[domain] if t[0] <= bound]

    @precondition(lambda self: self.harness.restarts < MAX_RESTARTS)
    @rule()
    def restart(self) -> None:
        self.harness.restart()
        self.timers = self.harness.service()

    @rule()
    def flush(self) -> None:
        self.harness.backend.flush()

    @invariant()
    def clocks_agree(self) -> None:
        assert self.timers.current_watermark == self.clock["event"]
        assert self.timers.current_processing_time == self.clock["processing"]

    @invariant()
    def heads_agree_with_the_store(self) -> None:
        self.timers._check()

    def teardown(self) -> None:
        self.harness.close()


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_the_timer_service_matches_its_model(thresholds: str, kind: str) -> None:
    """On RocksDB a third of the profile's examples (at least 10): each opens a database."""
    machine = type(f"TimerMachineOn{kind.title()}", (TimerMachine,), {"backend_kind": kind})
    current = settings()
    examples = current.max_examples if kind == "memory" else max(10, current.max_examples // 3)
    examples = machine_examples(examples, thresholds)
    run_state_machine_as_test(machine, settings=settings(current, max_examples=examples))


def test_a_context_without_engine_timers_keeps_timers_in_its_store() -> None:
    with LocalContext(MemoryBackend()) as ctx:
        assert ctx.engine_timers("timers") is None
        timers = TimerService.from_context(ctx, "timers")
        assert type(timers) is TimerService
        assert timers.store is ctx.get_or_create_store("timers")
