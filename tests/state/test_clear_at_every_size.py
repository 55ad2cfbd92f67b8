"""Every state type that clears with a prefix delete, at sizes on both sides of each threshold.

``MapState.clear`` and ``PriorityQueueState.clear`` (keyed, non-keyed, with TTL) are one
``delete_prefix`` of their scope. On RocksDB a scope past ``ORDERED_AT`` buffered entries used to
ignore it, so a map of 100 entries was still full after ``clear()``. Each test runs on every
backend under both threshold settings (the ``thresholds`` fixture), reads the sizes from the
thresholds in force (the write buffer's, the queue's window) and checks the state before and
after a flush; the last one after a reopen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fssdk.stores._buffer as write_buffer
import fssdk_advanced.state._priority_queue as pq
from fssdk.runtime import Backend, LocalContext
from fssdk_advanced.codecs import IntCodec
from fssdk_advanced.state import (
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    MapState,
    PriorityQueueState,
)
from fssdk_advanced.time import StateTtl
from tests.support import sizes_around

BackendFactory = Callable[[], Backend]
NEIGHBOURS = (b"a\x00", b"ab", b"")


def sizes() -> list[int]:
    return sizes_around(write_buffer.ORDERED_AT, write_buffer.SMALL_RANGE, pq.WINDOW, 2 * pq.WINDOW)


def ttls() -> list[StateTtl | None]:
    return [None, StateTtl(1_000, clock=lambda: 0)]


def assert_empty_map(state: Any, size: int) -> None:
    assert list(state.all()) == []
    assert state.is_empty()
    for key in (0, size // 2, size - 1):
        assert state.get(key) == (None, False)


def assert_empty_queue(queue: Any) -> None:
    """Empty through the queue and in the store: a cleared queue's cursor knows it is empty
    and reads nothing, so only the store shows entries the clear failed to delete."""
    with queue._scope.scan() as left:
        assert list(left) == []
    assert queue.peek() == (None, False)
    assert queue.is_empty()
    assert list(queue.all()) == []
    assert queue.poll() == (None, False)


def test_map_clear_empties_the_map_at_every_size(thresholds: str, ctx: LocalContext) -> None:
    for ttl in ttls():
        for size in sizes():
            state = MapState.from_context(ctx, f"map-{size}-{ttl}", IntCodec(), IntCodec(), ttl=ttl)
            for key in range(size):
                state.put(key, -key)
            state.clear()
            assert_empty_map(state, size)
            ctx.backend.flush()
            assert_empty_map(state, size)
            state.put(size, 1)
            assert list(state.all()) == [(size, 1)]


def test_map_entries_put_after_a_clear_are_the_only_ones_left(
    thresholds: str, ctx: LocalContext
) -> None:
    for size in sizes():
        state = MapState.from_context(ctx, f"map-{size}", IntCodec(), IntCodec())
        for key in range(size):
            state.put(key, key)
        state.clear()
        for key in range(0, size, 2):
            state.put(key, -key)
        expected = [(key, -key) for key in range(0, size, 2)]
        assert list(state.all()) == expected
        ctx.backend.flush()
        assert list(state.all()) == expected
        assert list(state.items(reverse=True)) == expected[::-1]


def test_keyed_map_clear_empties_one_key_and_leaves_its_neighbours_at_every_size(
    thresholds: str, ctx: LocalContext
) -> None:
    for ttl in ttls():
        for size in sizes():
            maps = KeyedMapStateFactory.from_context(
                ctx, f"maps-{size}-{ttl}", b"g", IntCodec(), IntCodec(), ttl=ttl
            )
            for primary_key in (b"a", *NEIGHBOURS):
                state = maps.new_keyed_map(primary_key, "m")
                for key in range(size):
                    state.put(key, key)
            maps.new_keyed_map(b"a", "m").clear()
            for flushed in (False, True):
                if flushed:
                    ctx.backend.flush()
                assert_empty_map(maps.new_keyed_map(b"a", "m"), size)
                for primary_key in NEIGHBOURS:
                    state = maps.new_keyed_map(primary_key, "m")
                    assert list(state.all()) == [(key, key) for key in range(size)]


def test_priority_queue_clear_empties_the_queue_at_every_size(
    thresholds: str, ctx: LocalContext
) -> None:
    """Elements added largest first land in the cursor's window, which overflows past
    ``2 * WINDOW``; a few polls first move the cursor past tombstones."""
    for ttl in ttls():
        for size in sizes():
            queue = PriorityQueueState.from_context(ctx, f"queue-{size}-{ttl}", IntCodec(), ttl=ttl)
            for element in range(size, 0, -1):
                queue.add(element)
            for element in range(1, min(size, 3) + 1):
                assert queue.poll() == (element, True)
            queue.clear()
            assert_empty_queue(queue)
            for element in (7, 3, 5):
                queue.add(element)
            ctx.backend.flush()
            assert [queue.poll() for _ in range(4)] == [
                (3, True),
                (5, True),
                (7, True),
                (None, False),
            ]


def test_keyed_priority_queue_clear_leaves_the_queues_of_other_keys_at_every_size(
    thresholds: str, ctx: LocalContext
) -> None:
    for ttl in ttls():
        for size in sizes():
            queues = KeyedPriorityQueueStateFactory.from_context(
                ctx, f"queues-{size}-{ttl}", b"g", IntCodec(), ttl=ttl
            )
            for primary_key in (b"a", *NEIGHBOURS):
                queue = queues.new_keyed_priority_queue(primary_key)
                for element in range(size):
                    queue.add(element)
            queues.new_keyed_priority_queue(b"a").clear()
            for flushed in (False, True):
                if flushed:
                    ctx.backend.flush()
                assert_empty_queue(queues.new_keyed_priority_queue(b"a"))
                for primary_key in NEIGHBOURS:
                    queue = queues.new_keyed_priority_queue(primary_key)
                    assert list(queue.all()) == list(range(size))


def test_a_clear_holds_after_a_reopen_at_every_size(
    thresholds: str, durable_backend_factory: BackendFactory
) -> None:
    with durable_backend_factory() as backend:
        ctx = LocalContext(backend)
        for size in sizes():
            state = MapState.from_context(ctx, f"map-{size}", IntCodec(), IntCodec())
            queue = PriorityQueueState.from_context(ctx, f"queue-{size}", IntCodec())
            for element in range(size):
                state.put(element, element)
                queue.add(element)
            state.clear()
            queue.clear()
            state.put(-1, -1)
    with durable_backend_factory() as backend:
        ctx = LocalContext(backend)
        for size in sizes():
            state = MapState.from_context(ctx, f"map-{size}", IntCodec(), IntCodec())
            assert list(state.all()) == [(-1, -1)]
            assert_empty_queue(PriorityQueueState.from_context(ctx, f"queue-{size}", IntCodec()))
