"""Scaling curves: how an operation's cost moves with the size of the state it works on.

- ``scaling.list_add``: ListState.add while lists grow from L to 2L elements, L = 10 ... 100 000;
  a constant cost means appends are O(appended bytes) whatever the length, across checkpoints.
- ``scaling.pq_poll``: PriorityQueueState.poll late in the drain of queues of N elements,
  N = 1 000 ... 1 000 000 (one queue from 100 000 up, enough queues below it that every figure
  times as many polls); polls leave a RocksDB tombstone each, so a poll that walks from the start
  of the queue gets slower the more was polled.
- ``scaling.map_iter``: MapState iteration cost per entry for maps of 10 ... 100 000 entries,
  against raw rocksdict iterating the same entries.
- ``scaling.clear_loop``: ``put``, ``clear``, ``get`` on one MapState entry, repeated N times on
  a fresh database; a constant cost per iteration means ``clear`` does not leave work behind
  that later reads pay for.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rocksdict import Options, Rdict

from benchmarks import lists, maps, queues
from benchmarks._data import bounds_of, flat, primary_keys, record_each
from benchmarks._harness import (
    MEMORY,
    Bench,
    Generations,
    RawEnv,
    Settings,
    StoreEnv,
    Workload,
    chunked,
    timed,
)
from benchmarks._raw import apply, fresh
from fssdk import Context
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend

#: Appends per run of ``scaling.list_add`` at short lengths (spread over many lists).
LIST_APPENDS = 20_000
#: Entries iterated per run of ``scaling.map_iter`` (spread over many maps at small sizes).
MAP_ENTRIES = 100_000
#: ``scaling.pq_poll`` times the last fifth of the drain.
TIMED_FRACTION = 5
#: Elements per figure of ``scaling.pq_poll`` at small sizes (spread over many queues).
QUEUE_ELEMENTS = 100_000


def _list_count(length: int, settings: Settings) -> int:
    appends = LIST_APPENDS if not settings.quick else LIST_APPENDS // 10
    return max(1, appends // length)


def list_add(env: StoreEnv, length: int, settings: Settings) -> Bench:
    """Per append: max(1, 20 000 / L) fresh lists are built to L elements by appends with the
    usual checkpoints (untimed), then each gets L more appends round robin, a checkpoint every
    3 000, timed: the cost per append while lists grow from L to 2L."""
    states = lists.factory(env.ctx)
    new = states.new_keyed_list
    count = _list_count(length, settings)
    every = settings.checkpoint_every

    def build(generation: int) -> list[Sequence[tuple[bytes, int]]]:
        prefill = lists.appends(count * length, generation, length)
        for chunk in chunked(prefill, every):
            for key, value in chunk:
                new(key, b"").add(value)
            env.flush()
        return chunked(lists.appends(count * length, generation, length), every)

    runs = Generations(build)
    flush = env.flush

    def run() -> None:
        for chunk in runs.current:
            for key, value in chunk:
                new(key, b"").add(value)
            flush()

    return Bench(count * length, run, setup=runs.advance)


def _list_lengths(settings: Settings) -> tuple[int, ...]:
    return settings.list_lengths


@dataclass
class DrainBench:
    """Fill queues of ``size`` elements in all, poll 4/5 untimed, then time the last fifth in parts.

    The untimed part leaves the tombstones a long drain leaves; the timed polls (one equal part
    per sample, warm-up included) are the ones late in the drain, where a poll that walks
    tombstones is slowest.
    """

    size: int
    fill: Callable[[], None]
    drain: Callable[[int], None]
    ops: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def prepare(self, samples: int) -> None:
        """Fill the queue and drain all but its last fifth, untimed."""
        self.fill()
        timed_polls = max(samples, self.size // TIMED_FRACTION)
        self.drain(self.size - timed_polls)
        self.ops = timed_polls // samples

    def sample(self) -> float:
        """The next ``ops`` polls, timed (with their checkpoints); nanoseconds per poll."""
        return timed(lambda: self.drain(self.ops)) / self.ops

    def finish(self) -> None:
        """Nothing to add."""


def _queue_count(size: int, settings: Settings) -> int:
    elements = QUEUE_ELEMENTS if not settings.quick else QUEUE_ELEMENTS // 10
    return max(1, elements // size)


class _PollOrder:
    """The queues of one figure and the round-robin order in which the drain polls them."""

    def __init__(self, size: int, settings: Settings) -> None:
        count = _queue_count(size, settings)
        self.adds = queues.adds(count * size, 0, size)
        self.keys = primary_keys(count)
        self.total = count * size
        self._position = 0

    def take(self, polls: int, every: int) -> list[list[bytes]]:
        """The next ``polls`` queue keys, in checkpoint intervals of ``every``."""
        keys, count = self.keys, len(self.keys)
        start, self._position = self._position, self._position + polls
        order = [keys[index % count] for index in range(start, start + polls)]
        return [order[offset : offset + every] for offset in range(0, polls, every)]


def pq_poll(env: StoreEnv, size: int, settings: Settings) -> DrainBench:
    """Per poll: ``new_keyed_priority_queue(key, b"").poll()`` on queues of N random ints
    (max(1, 100 000 / N) of them, filled with the usual checkpoints, untimed) drained round robin,
    timed over the last fifth of the drain, a checkpoint every 3 000 polls and after each part."""
    states = queues.factory(env.ctx)
    new = states.new_keyed_priority_queue
    every = settings.checkpoint_every
    flush = env.flush
    order = _PollOrder(size, settings)

    def fill() -> None:
        queues.fill(env, states, order.adds, every)

    def drain(polls: int) -> None:
        for chunk in order.take(polls, every):
            for key in chunk:
                new(key, b"").poll()
            flush()

    return DrainBench(order.total, fill, drain)


def raw_pq_poll(env: RawEnv, size: int, settings: Settings) -> DrainBench:
    """Raw: the recorded entries of the same queues written untimed, then per poll a fresh
    bounded iterator, one seek from the queue's last polled key, the head read and deleted."""
    every = settings.checkpoint_every
    order = _PollOrder(size, settings)
    drains: list[queues.RawDrain] = []

    def fill() -> None:
        per_record = record_each(queues.adder, order.adds)
        apply(env.db, flat(per_record))
        bounds = {
            key: bounds_of(writes[-1].key)
            for (key, _), writes in zip(order.adds, per_record, strict=True)
        }
        drains.append(queues.RawDrain(env, bounds))

    def drain(polls: int) -> None:
        for chunk in order.take(polls, every):
            drains[0].poll(chunk)

    return DrainBench(order.total, fill, drain)


def _queue_sizes(settings: Settings) -> tuple[int, ...]:
    return settings.queue_sizes


def _map_count(size: int, settings: Settings) -> int:
    entries = MAP_ENTRIES if not settings.quick else MAP_ENTRIES // 20
    return max(1, entries // size)


def map_iter(env: StoreEnv, size: int, settings: Settings) -> Bench:
    """Per entry: ``for k, v in new_keyed_map(primary_key, "m").all()`` over max(1, 100 000 / S)
    flushed maps of S entries (keys and values decoded)."""
    return maps.iterate_store(env, _map_count(size, settings) * size, size)


def raw_map_iter(env: RawEnv, size: int, settings: Settings) -> Bench:
    """Raw: one bounded ``Rdict.items`` over each map's scope, consuming ``(key, value)`` bytes."""
    return maps.iterate_raw(env, _map_count(size, settings) * size, size)


def _map_sizes(settings: Settings) -> tuple[int, ...]:
    return settings.map_sizes


CLEAR_LOOP_STORE = "bench-clear-loop"


def _clear_loop_map(ctx: Context) -> Any:
    from fssdk_advanced import MapState  # noqa: PLC0415 - may be absent

    return MapState.from_context_auto_codec(ctx, CLEAR_LOOP_STORE, str, int)


@dataclass
class FreshBench:
    """Each sample runs a loop on state that ``open_fresh`` builds anew in ``root`` (untimed).

    For workloads whose cost depends on what earlier iterations left in the database: every
    sample starts from an empty one. ``open_fresh(path)`` returns the loop and a closer; ``root``
    is removed after the last sample.
    """

    ops: int
    open_fresh: Callable[[Path], tuple[Callable[[], None], Callable[[], None]]]
    extra: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="fssdk-bench-fresh-"))
        weakref.finalize(self, shutil.rmtree, self.root, True)
        self._opened = 0
        self._close: Callable[[], None] | None = None

    def prepare(self, samples: int) -> None:
        """Nothing: each sample opens its own state."""

    def _close_current(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None

    def sample(self) -> float:
        """Close the previous state, open a fresh one (untimed), then time the loop."""
        self._close_current()
        self._opened += 1
        loop, self._close = self.open_fresh(self.root / f"db{self._opened}")
        return timed(loop) / self.ops

    def finish(self) -> None:
        """Close the last state and remove every database."""
        self._close_current()
        shutil.rmtree(self.root, ignore_errors=True)


def clear_loop(env: StoreEnv, loops: int, settings: Settings) -> FreshBench:
    """Per iteration: ``m.put("a", i); m.clear(); m.get("a")`` on a non-keyed
    ``MapState[str, int]``, N times, each sample on a fresh backend of the row's kind (the issue's
    loop)."""

    def open_fresh(path: Path) -> tuple[Callable[[], None], Callable[[], None]]:
        backend: Backend = MemoryBackend() if env.target == MEMORY else RocksDBBackend(path)
        ctx = LocalContext(backend)
        state = _clear_loop_map(ctx)

        def loop() -> None:
            put, clear, get = state.put, state.clear, state.get
            for index in range(loops):
                put("a", index)
                clear()
                get("a")

        def close() -> None:
            ctx.close()
            backend.close()

        return loop, close

    return FreshBench(loops, open_fresh)


def _clear_loop_putter(ctx: Context) -> Callable[[int], None]:
    state = _clear_loop_map(ctx)

    def put(index: int) -> None:
        state.put("a", index)

    return put


def raw_clear_loop(env: RawEnv, loops: int, settings: Settings) -> FreshBench:
    """Raw: ``Rdict.put``, ``Rdict.delete`` and ``Rdict.get`` of the entry's physical key, N
    times, each sample on a fresh database: what a clear that leaves nothing behind costs (a raw
    ``delete_range`` in place of the delete grows with N, as the clear does)."""
    writes = flat(record_each(_clear_loop_putter, range(loops)))
    if len(writes) != loops or any(write.value is None for write in writes):
        raise RuntimeError(f"expected {loops} recorded puts, got {writes[:3]}...")
    key = fresh(writes[0].key)
    values = [write.value for write in writes]

    def open_fresh(path: Path) -> tuple[Callable[[], None], Callable[[], None]]:
        db = Rdict(str(path), Options(raw_mode=True))

        def loop() -> None:
            put, delete, get = db.put, db.delete, db.get
            for value in values:
                put(key, value)
                delete(key)
                get(key)

        return loop, db.close

    return FreshBench(loops, open_fresh)


def _clear_loops(settings: Settings) -> tuple[int, ...]:
    return settings.clear_loops


WORKLOADS = (
    Workload(
        "scaling.list_add",
        list_add,
        points=_list_lengths,
        requires=lists.REQUIRES,
        curve=True,
        unit="add",
    ),
    Workload(
        "scaling.pq_poll",
        pq_poll,
        raw_pq_poll,
        points=_queue_sizes,
        requires=queues.REQUIRES,
        curve=True,
        unit="poll",
    ),
    Workload(
        "scaling.map_iter",
        map_iter,
        raw_map_iter,
        points=_map_sizes,
        requires=maps.REQUIRES,
        curve=True,
        unit="entry",
    ),
    Workload(
        "scaling.clear_loop",
        clear_loop,
        raw_clear_loop,
        points=_clear_loops,
        requires=("MapState",),
        curve=True,
        unit="iteration",
    ),
)
