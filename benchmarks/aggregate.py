"""Keyed AggregatingState and ReducingState: per-record ``add``, a read-modify-write.

Both states keep one accumulator entry per scope, so ``add`` is a get, the fold and a put; raw
rocksdict does the get and the put of the same physical key and encoded accumulator (recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._data import KEY_GROUP, flat, ints, primary_keys, record_each
from benchmarks._harness import Bench, RawEnv, Settings, StoreEnv, Workload, chunked
from benchmarks._raw import read_modify_writer
from fssdk import Context

#: Adds per key: each state folds this many values per run.
PER_KEY = 100

Acc = tuple[int, int]


class Mean:
    """The mean of ints, through a ``(sum, count)`` accumulator."""

    def create_accumulator(self) -> Acc:
        """``(0, 0)``."""
        return (0, 0)

    def add(self, value: int, accumulator: Acc) -> Acc:
        """One more value."""
        return (accumulator[0] + value, accumulator[1] + 1)

    def get_result(self, accumulator: Acc) -> float:
        """Sum over count."""
        return accumulator[0] / accumulator[1]

    def merge(self, a: Acc, b: Acc) -> Acc:
        """Both accumulators' values."""
        return (a[0] + b[0], a[1] + b[1])


def larger(a: int, b: int) -> int:
    """The reduce function: the maximum so far."""
    return a if a >= b else b


def aggregating_factory(ctx: Context) -> Any:
    """A keyed mean with a ``TupleCodec(IntCodec(), IntCodec())`` accumulator."""
    from fssdk_advanced import (  # noqa: PLC0415 - may be absent
        IntCodec,
        KeyedAggregatingStateFactory,
        TupleCodec,
    )

    return KeyedAggregatingStateFactory.from_context(
        ctx, "bench-aggregating", KEY_GROUP, TupleCodec(IntCodec(), IntCodec()), Mean()
    )


def reducing_factory(ctx: Context) -> Any:
    """A keyed maximum of ints."""
    from fssdk_advanced import IntCodec, KeyedReducingStateFactory  # noqa: PLC0415 - may be absent

    return KeyedReducingStateFactory.from_context(
        ctx, "bench-reducing", KEY_GROUP, IntCodec(), larger
    )


def records(n: int) -> list[tuple[bytes, int]]:
    """``(primary key, int)``: ``PER_KEY`` values for each of ``n / PER_KEY`` keys, round robin."""
    keys = primary_keys(max(1, n // PER_KEY))
    return [(keys[index % len(keys)], value) for index, value in enumerate(ints(n))]


def aggregating_adder(ctx: Context) -> Callable[[tuple[bytes, int]], None]:
    """The per-record add of ``aggregate.add``."""
    new = aggregating_factory(ctx).new_aggregating_state

    def add(record: tuple[bytes, int]) -> None:
        new(record[0]).add(record[1])

    return add


def reducing_adder(ctx: Context) -> Callable[[tuple[bytes, int]], None]:
    """The per-record add of ``reduce.add``."""
    new = reducing_factory(ctx).new_reducing_state

    def add(record: tuple[bytes, int]) -> None:
        new(record[0], b"").add(record[1])

    return add


def aggregate_add(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_aggregating_state(primary_key).add(int)`` into a (sum, count) mean, 100
    values for each of n/100 keys round robin, a checkpoint every 3 000 records, timed."""
    new = aggregating_factory(env.ctx).new_aggregating_state
    chunks = chunked(records(n), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        for chunk in chunks:
            for key, value in chunk:
                new(key).add(value)
            flush()

    return Bench(n, run)


def raw_aggregate_add(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.get`` then ``Rdict.put`` of the recorded accumulator key and value."""
    writes = flat(record_each(aggregating_adder, records(n)))
    return read_modify_writer(env, writes, settings.checkpoint_every)


def reduce_add(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_reducing_state(primary_key, b"").add(int)`` into a running maximum, 100
    values for each of n/100 keys round robin, a checkpoint every 3 000 records, timed."""
    new = reducing_factory(env.ctx).new_reducing_state
    chunks = chunked(records(n), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        for chunk in chunks:
            for key, value in chunk:
                new(key, b"").add(value)
            flush()

    return Bench(n, run)


def raw_reduce_add(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.get`` then ``Rdict.put`` of the recorded reduced key and value."""
    writes = flat(record_each(reducing_adder, records(n)))
    return read_modify_writer(env, writes, settings.checkpoint_every)


WORKLOADS = (
    Workload(
        "aggregate.add",
        aggregate_add,
        raw_aggregate_add,
        requires=("KeyedAggregatingStateFactory", "IntCodec", "TupleCodec"),
    ),
    Workload(
        "reduce.add", reduce_add, raw_reduce_add, requires=("KeyedReducingStateFactory", "IntCodec")
    ),
)
