"""Call budgets of keyed state's per-record paths on RocksDB, with and without TTL.

Each operation runs as an operator runs it, a handle per record (``factory.new_keyed_*``) and
one call on it, against state a checkpoint flushed, and its Python-level calls are counted
(:func:`tests.support.python_frames`; deterministic, not timed). The budgets are what the design
reaches: a change that adds a frame to one of these paths fails here, with the frames it made,
instead of in a benchmark months later. Lower a budget when a change saves a frame; raise one
only with a benchmark that shows why.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fssdk.runtime import LocalContext, RocksDBBackend
from fssdk_advanced import (
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedReducingStateFactory,
    KeyedValueStateFactory,
    StateTtl,
    Sum,
)
from fssdk_advanced.state import _priority_queue as pq
from fssdk_advanced.state import _ttl as ttl_module
from tests.support import python_frames

#: operation: (calls without TTL, calls with TTL).
BUDGETS: dict[str, tuple[int, int]] = {
    "keyed read": (5, 7),
    "keyed read of an absent key": (4, 5),
    "keyed write": (7, 10),
    "keyed delete": (6, 6),
    "keyed map get": (7, 8),
    "keyed map put": (8, 11),
    "keyed map clear of 4 entries": (6, 6),
    "keyed queue add": (8, 11),
    "keyed aggregating add": (10, 14),
    "keyed reducing add": (9, 13),
    "keyed list add": (9, 16),
}
#: Iterating a map of 4 entries and one of 100, without and with TTL: about 2 calls per entry
#: (the key's and the value's decode; entries are read and decoded a chunk at a time, a few
#: calls per chunk), 4 with TTL.
ITERATION_BUDGETS: tuple[tuple[int, int], tuple[int, int]] = ((26, 224), (38, 428))
#: The four polls that drain a flushed queue of 4: the first finds no cursor (one bounded
#: ``pop_first``, then a resume point past the polled key), the second is soon after it and makes a
#: cursor from the resume point (its 2 frames were the first poll's before resume points), the
#: others refill the cursor as it learns the queue.
POLL_BUDGETS: tuple[tuple[int, ...], tuple[int, ...]] = ((10, 16, 8, 14), (18, 25, 18, 23))
#: The same polls with no checkpoint between them: a refill reads past the buffered deletes of
#: the polls before it (the write buffer's take, not its merged scan).
UNFLUSHED_POLL_BUDGETS: tuple[tuple[int, ...], ...] = ((10, 18, 7, 16), (18, 28, 18, 26))
#: A poll of one of more queues than cursors, polled in turn (``pq.poll4``): one bounded
#: ``pop_first`` from the queue's resume point (with TTL: ``first``, the stamp, then the
#: delete), the next resume point.
ROUND_ROBIN_POLL_BUDGETS: tuple[int, int] = (10, 18)


@dataclass
class States:
    """One factory of every state type, on a RocksDB backend; ``flush`` is a checkpoint's."""

    backend: RocksDBBackend
    value: KeyedValueStateFactory[int]
    map: KeyedMapStateFactory[int, int]
    queue: KeyedPriorityQueueStateFactory[int]
    aggregate: KeyedAggregatingStateFactory[int, int, int]
    reduce: KeyedReducingStateFactory[int]
    list: KeyedListStateFactory[int]

    def flush(self) -> None:
        self.backend.flush()


@pytest.fixture(params=[False, True], ids=["plain", "ttl"])
def states(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[States]:
    options: dict[str, Any] = {"ttl": StateTtl(10**12)} if request.param else {}
    # The processing-time clock as a TTL'd write reads it, a millisecond later at every reading
    # (a C callable: no frame of its own), so that each counted write is the first of its
    # clock tick, as a slow stream's writes are: the costlier path, deterministic.
    ticks = itertools.count(time.time_ns(), 1_000_000)
    monkeypatch.setattr(ttl_module, "_time_ns", ticks.__next__)
    backend = RocksDBBackend(tmp_path)
    with backend, LocalContext(backend) as ctx:
        found = States(
            backend,
            KeyedValueStateFactory.from_context_auto_codec(ctx, "v", b"g", int, **options),
            KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", int, int, **options),
            KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "q", b"g", int, **options),
            KeyedAggregatingStateFactory.from_context_auto_codec(
                ctx, "a", b"g", Sum(int), **options
            ),
            KeyedReducingStateFactory.from_context_auto_codec(ctx, "r", b"g", max, int, **options),
            KeyedListStateFactory.from_context_auto_codec(ctx, "l", b"g", int, **options),
        )
        found.value.new_keyed_value(b"k").update(1)
        for index in range(4):
            found.map.new_keyed_map(b"k", "m").put(index, index)
        found.aggregate.new_aggregating_state(b"k").add(1)
        found.reduce.new_reducing_state(b"k").add(1)
        found.list.new_keyed_list(b"k").add(1)
        found.queue.new_keyed_priority_queue(b"k").add(1)
        found.flush()
        yield found


OPERATIONS: dict[str, Callable[[States], object]] = {
    "keyed read": lambda s: s.value.new_keyed_value(b"k").value(),
    "keyed read of an absent key": lambda s: s.value.new_keyed_value(b"absent").value(),
    "keyed write": lambda s: s.value.new_keyed_value(b"k").update(2),
    "keyed delete": lambda s: s.value.new_keyed_value(b"k").clear(),
    "keyed map get": lambda s: s.map.new_keyed_map(b"k", "m").get(2),
    "keyed map put": lambda s: s.map.new_keyed_map(b"k", "m").put(2, 3),
    "keyed map clear of 4 entries": lambda s: s.map.new_keyed_map(b"k", "m").clear(),
    "keyed queue add": lambda s: s.queue.new_keyed_priority_queue(b"k").add(7),
    "keyed aggregating add": lambda s: s.aggregate.new_aggregating_state(b"k").add(2),
    "keyed reducing add": lambda s: s.reduce.new_reducing_state(b"k").add(2),
    "keyed list add": lambda s: s.list.new_keyed_list(b"k").add(2),
}


def ttl_of(states: States) -> int:
    """0 for the plain states, 1 for the TTL'd ones (the index into a budget pair)."""
    return int(states.value._ttl is not None)


def frames_of(states: States, operation: Callable[[States], object]) -> list[str]:
    """The frames ``operation`` makes on state as a checkpoint left it."""
    states.flush()
    return python_frames(functools.partial(operation, states))


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_keyed_operation_stays_within_its_call_budget(states: States, name: str) -> None:
    frames = frames_of(states, OPERATIONS[name])
    budget = BUDGETS[name][ttl_of(states)]
    assert len(frames) == budget, f"{name}: {len(frames)} calls, budget {budget}: {frames}"


def test_map_iteration_stays_within_its_call_budget_per_entry(states: States) -> None:
    def iterate(key: bytes) -> Callable[[States], object]:
        return lambda s: list(s.map.new_keyed_map(key, "m").all())

    for index in range(100):
        states.map.new_keyed_map(b"big", "m").put(index, index)
    small, large = frames_of(states, iterate(b"k")), frames_of(states, iterate(b"big"))
    per_entry = (len(large) - len(small)) / 96
    assert (len(small), len(large)) == ITERATION_BUDGETS[ttl_of(states)], (per_entry, small)


def test_the_polls_of_a_queue_of_four_stay_within_their_call_budgets(states: States) -> None:
    for value in (4, 3, 2, 1):
        states.queue.new_keyed_priority_queue(b"q").add(value)
    counts = []
    for _ in range(4):
        frames = frames_of(states, lambda s: s.queue.new_keyed_priority_queue(b"q").poll())
        counts.append(len(frames))
    assert tuple(counts) == POLL_BUDGETS[ttl_of(states)]


def test_polls_of_more_queues_than_cursors_stay_within_their_call_budget(
    states: States, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pq, "MAX_CURSORS", 1)
    keys = [b"q0", b"q1", b"q2"]
    for value in (4, 3, 2, 1):
        for key in keys:
            states.queue.new_keyed_priority_queue(key).add(value)
    counts = []
    for value in (1, 2, 3, 4):
        for key in keys:
            polled: list[object] = []

            def operation(s: States, key: bytes = key, polled: list[object] = polled) -> None:
                polled.append(s.queue.new_keyed_priority_queue(key).poll())

            counts.append(len(frames_of(states, operation)))
            assert polled == [(value, True)]
    assert not states.queue._shared._heads  # every poll was of a queue with no cursor
    assert set(counts) == {ROUND_ROBIN_POLL_BUDGETS[ttl_of(states)]}, counts


def test_the_polls_of_a_queue_between_checkpoints_stay_within_their_call_budgets(
    states: States,
) -> None:
    for value in (4, 3, 2, 1):
        states.queue.new_keyed_priority_queue(b"q").add(value)
    states.flush()
    counts = [
        len(python_frames(lambda: states.queue.new_keyed_priority_queue(b"q").poll()))
        for _ in range(4)
    ]
    assert tuple(counts) == UNFLUSHED_POLL_BUDGETS[ttl_of(states)]
