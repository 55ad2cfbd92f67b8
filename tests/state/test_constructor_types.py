"""The constructors keep precise types for ``mypy --strict`` users (CI type-checks this file:
each ``assert_type`` is checked there, and is a no-op when the test runs)."""

from __future__ import annotations

from typing import Any, assert_type

import fssdk_advanced as fa
from fssdk.runtime import LocalContext
from fssdk_advanced import IntCodec, StringCodec


class Mean:
    def create_accumulator(self) -> tuple[float, int]:
        return (0.0, 0)

    def add(self, value: float, acc: tuple[float, int]) -> tuple[float, int]:
        return (acc[0] + value, acc[1] + 1)

    def get_result(self, acc: tuple[float, int]) -> float:
        return acc[0] / acc[1]

    def merge(self, a: tuple[float, int], b: tuple[float, int]) -> tuple[float, int]:
        return (a[0] + b[0], a[1] + b[1])


def _add(a: int, b: int) -> int:
    return a + b


def test_non_keyed_constructors_type_their_states(ctx: LocalContext) -> None:
    assert_type(fa.ValueState.from_context_auto_codec(ctx, "v", int), fa.ValueState[int])
    assert_type(fa.ValueState.from_context_auto_codec(ctx, "v2"), fa.ValueState[Any])
    value = fa.ValueState.from_context(ctx, "v3", IntCodec(), migrate=int)
    assert_type(value, fa.ValueState[int])
    assert_type(fa.ListState.from_context_auto_codec(ctx, "l", str), fa.ListState[str])
    assert_type(fa.MapState.from_context_auto_codec(ctx, "m", str, int), fa.MapState[str, int])
    assert_type(fa.MapState.from_context_auto_codec(ctx, "m2", str), fa.MapState[str, Any])
    queue = fa.PriorityQueueState.from_context(ctx, "q", IntCodec(), ttl=None)
    assert_type(queue, fa.PriorityQueueState[int])
    mean = fa.AggregatingState.from_context_auto_codec(ctx, "a", Mean())
    assert_type(mean, fa.AggregatingState[float, tuple[float, int], float])
    assert_type(fa.ReducingState.from_context(ctx, "r", IntCodec(), _add), fa.ReducingState[int])
    assert value.value() == (None, False)


def test_keyed_constructors_type_their_factories_and_states(ctx: LocalContext) -> None:
    values = fa.KeyedValueStateFactory.from_context_auto_codec(
        ctx, "v", b"g", int, key_codec=StringCodec()
    )
    assert_type(values, fa.KeyedValueStateFactory[int])
    assert_type(values.new_keyed_value("alice", "w1"), fa.ValueState[int])
    lists = fa.KeyedListStateFactory.from_context(ctx, "l", b"g", StringCodec(), ttl=None)
    assert_type(lists, fa.KeyedListStateFactory[str])
    maps = fa.KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", str, int)
    assert_type(maps, fa.KeyedMapStateFactory[str, int])
    assert_type(maps.new_keyed_map(b"k", b"cart"), fa.MapState[str, int])
    queues = fa.KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "q", b"g", int)
    assert_type(queues, fa.KeyedPriorityQueueStateFactory[int])
    means = fa.KeyedAggregatingStateFactory.from_context_auto_codec(ctx, "a", b"g", Mean(), tuple)
    assert_type(means, fa.KeyedAggregatingStateFactory[float, tuple[float, int], float])
    sums = fa.KeyedReducingStateFactory.from_context(ctx, "r", b"g", IntCodec(), _add)
    assert_type(sums, fa.KeyedReducingStateFactory[int])
    assert_type(sums.new_reducing_state(b"k", "w1"), fa.ReducingState[int])
    assert values.new_keyed_value("alice", "w1").value() == (None, False)
