"""Keyed AggregatingState and ReducingState: per-record ``add``, a read-modify-write.

Both states keep one accumulator entry per scope, so ``add`` is a get, the fold and a put; raw
rocksdict does the get and the put of the same physical key and encoded accumulator (recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks._data import KEY_GROUP, ints, primary_keys, record_each
from benchmarks._harness import Bench, RawEnv, Settings, StoreEnv, Workload, chunked
from benchmarks._raw import read_modify_writer
from benchmarks.ttl import ttl_options, with_ttl
from fssdk import Context

#: Adds per key: each state folds this many values per run.
PER_KEY = 100
#: Adds per key of the ``*.add4`` rows: many short-lived keys, each folding 4 values.
SHORT = 4

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


def aggregating_factory(ctx: Context, ttl: bool = False) -> Any:
    """A keyed mean with a ``TupleCodec(IntCodec(), IntCodec())`` accumulator (``ttl``: the
    ``*_ttl`` rows')."""
    from fssdk_advanced import (  # noqa: PLC0415 - may be absent
        IntCodec,
        KeyedAggregatingStateFactory,
        TupleCodec,
    )

    return KeyedAggregatingStateFactory.from_context(
        ctx,
        "bench-aggregating",
        KEY_GROUP,
        TupleCodec(IntCodec(), IntCodec()),
        Mean(),
        **ttl_options(ttl),
    )


def reducing_factory(ctx: Context) -> Any:
    """A keyed maximum of ints."""
    from fssdk_advanced import IntCodec, KeyedReducingStateFactory  # noqa: PLC0415 - may be absent

    return KeyedReducingStateFactory.from_context(
        ctx, "bench-reducing", KEY_GROUP, IntCodec(), larger
    )


def records(n: int, per_key: int = PER_KEY) -> list[tuple[bytes, int]]:
    """``(primary key, int)``: ``per_key`` values for each of ``n / per_key`` keys, round robin."""
    keys = primary_keys(max(1, n // per_key))
    return [(keys[index % len(keys)], value) for index, value in enumerate(ints(n))]


def aggregating_adder(ctx: Context, ttl: bool = False) -> Callable[[tuple[bytes, int]], None]:
    """The per-record add of ``aggregate.add``."""
    new = aggregating_factory(ctx, ttl).new_aggregating_state

    def add(record: tuple[bytes, int]) -> None:
        new(record[0]).add(record[1])

    return add


def reducing_adder(ctx: Context) -> Callable[[tuple[bytes, int]], None]:
    """The per-record add of ``reduce.add``."""
    new = reducing_factory(ctx).new_reducing_state

    def add(record: tuple[bytes, int]) -> None:
        new(record[0], b"").add(record[1])

    return add


def aggregate_store(env: StoreEnv, n: int, settings: Settings, per_key: int, ttl: bool) -> Bench:
    """``new_aggregating_state(primary_key).add(int)`` per record of :func:`records`, with a
    checkpoint every 3 000."""
    new = aggregating_factory(env.ctx, ttl).new_aggregating_state
    chunks = chunked(records(n, per_key), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        for chunk in chunks:
            for key, value in chunk:
                new(key).add(value)
            flush()

    return Bench(n, run)


def aggregate_raw(env: RawEnv, n: int, settings: Settings, per_key: int, ttl: bool) -> Bench:
    """``Rdict.get`` then ``Rdict.put`` per record of :func:`aggregate_store`'s recorded
    writes."""
    per_record = record_each(partial(aggregating_adder, ttl=ttl), records(n, per_key))
    return read_modify_writer(env, per_record, settings.checkpoint_every)


def aggregate_add(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_aggregating_state(primary_key).add(int)`` into a (sum, count) mean, 100
    values for each of n/100 keys round robin, a checkpoint every 3 000 records, timed."""
    return aggregate_store(env, n, settings, PER_KEY, ttl=False)


def raw_aggregate_add(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.get`` then ``Rdict.put`` of the recorded accumulator key and value."""
    return aggregate_raw(env, n, settings, PER_KEY, ttl=False)


def aggregate_add4(env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Per record: ``new_aggregating_state(primary_key).add(int)`` into a (sum, count) mean, 4
    values for each of n/4 keys round robin, a checkpoint every 3 000 records, timed."""
    return aggregate_store(env, n, settings, SHORT, ttl)


def raw_aggregate_add4(env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Raw: ``Rdict.get`` then ``Rdict.put`` of the recorded accumulator key and value."""
    return aggregate_raw(env, n, settings, SHORT, ttl)


def reduce_store(env: StoreEnv, n: int, settings: Settings, per_key: int) -> Bench:
    """``new_reducing_state(primary_key, b"").add(int)`` per record of :func:`records`, with a
    checkpoint every 3 000."""
    new = reducing_factory(env.ctx).new_reducing_state
    chunks = chunked(records(n, per_key), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        for chunk in chunks:
            for key, value in chunk:
                new(key, b"").add(value)
            flush()

    return Bench(n, run)


def reduce_raw(env: RawEnv, n: int, settings: Settings, per_key: int) -> Bench:
    """``Rdict.get`` then ``Rdict.put`` per record of :func:`reduce_store`'s recorded writes."""
    per_record = record_each(reducing_adder, records(n, per_key))
    return read_modify_writer(env, per_record, settings.checkpoint_every)


def reduce_add(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_reducing_state(primary_key, b"").add(int)`` into a running maximum, 100
    values for each of n/100 keys round robin, a checkpoint every 3 000 records, timed."""
    return reduce_store(env, n, settings, PER_KEY)


def raw_reduce_add(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.get`` then ``Rdict.put`` of the recorded reduced key and value."""
    return reduce_raw(env, n, settings, PER_KEY)


def reduce_add4(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_reducing_state(primary_key, b"").add(int)`` into a running maximum, 4
    values for each of n/4 keys round robin, a checkpoint every 3 000 records, timed."""
    return reduce_store(env, n, settings, SHORT)


def raw_reduce_add4(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.get`` then ``Rdict.put`` of the recorded reduced key and value."""
    return reduce_raw(env, n, settings, SHORT)


AGGREGATING = ("KeyedAggregatingStateFactory", "IntCodec", "TupleCodec")
REDUCING = ("KeyedReducingStateFactory", "IntCodec")

WORKLOADS = (
    Workload("aggregate.add", aggregate_add, raw_aggregate_add, requires=AGGREGATING),
    *with_ttl("aggregate.add4", aggregate_add4, raw_aggregate_add4, requires=AGGREGATING),
    Workload("reduce.add", reduce_add, raw_reduce_add, requires=REDUCING),
    Workload("reduce.add4", reduce_add4, raw_reduce_add4, requires=REDUCING),
)
