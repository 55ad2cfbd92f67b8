"""Keyed factories: the cost of asking a factory for the state of each record's key.

An operator creates its factories once and calls ``new_keyed_*`` per record, so this cost is paid
on every record on top of the state operation. No store access happens here, so there is no raw
rocksdict row; compare with a Python dict lookup (~0.1 µs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks import aggregate, lists, maps, queues, value
from benchmarks._data import primary_keys
from benchmarks._harness import Bench, Settings, StoreEnv, Workload
from fssdk import Context


def _creations(
    make: Callable[[Context], Any], method: str, argument: Any
) -> Callable[[StoreEnv, int, Settings], Bench]:
    def build(env: StoreEnv, n: int, settings: Settings) -> Bench:
        new = getattr(make(env.ctx), method)
        keys = primary_keys(n)

        def run() -> None:
            for key in keys:
                new(key, argument)

        return Bench(n, run)

    build.__doc__ = (
        f"Per record: ``factory.{method}(primary_key, {argument!r})`` for each of n primary keys "
        "in shuffled order; the handle is dropped unused."
    )
    return build


WORKLOADS = (
    Workload(
        "factory.value", _creations(value.factory, "new_keyed_value", b""), requires=value.REQUIRES
    ),
    Workload(
        "factory.list", _creations(lists.factory, "new_keyed_list", b""), requires=lists.REQUIRES
    ),
    Workload(
        "factory.map",
        _creations(maps.factory, "new_keyed_map", maps.MAP_NAME),
        requires=maps.REQUIRES,
    ),
    Workload(
        "factory.pq",
        _creations(queues.factory, "new_keyed_priority_queue", b""),
        requires=queues.REQUIRES,
    ),
    Workload(
        "factory.aggregating",
        _creations(aggregate.aggregating_factory, "new_aggregating_state", ""),
        requires=("KeyedAggregatingStateFactory", "IntCodec", "TupleCodec"),
    ),
    Workload(
        "factory.reducing",
        _creations(aggregate.reducing_factory, "new_reducing_state", b""),
        requires=("KeyedReducingStateFactory", "IntCodec"),
    ),
)
