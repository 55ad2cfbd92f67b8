"""Keyed ListState: per-record appends, and reads of whole lists.

Raw rocksdict has no merge operator, so its cheapest append is a put of the element as an entry
of its own (at the operand key RocksDBStore uses, recorded from the state's own writes), and
reading a list back is one bounded iteration over its entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._data import KEY_GROUP, bounds_of, flat, ints, primary_keys, record_each
from benchmarks._harness import (
    Bench,
    Generations,
    RawEnv,
    Settings,
    StoreEnv,
    Workload,
    chunked,
)
from benchmarks._raw import apply, scanner, writer
from fssdk import Context

STORE = "bench-list"
REQUIRES = ("KeyedListStateFactory", "IntCodec")
#: Elements per list in ``list.add`` and ``list.get``.
LENGTH = 100


def factory(ctx: Context) -> Any:
    """The keyed int ListState factory every list workload uses."""
    from fssdk_advanced import IntCodec, KeyedListStateFactory  # noqa: PLC0415 - may be absent

    return KeyedListStateFactory.from_context(ctx, STORE, KEY_GROUP, IntCodec())


def appends(n: int, generation: int = 0, length: int = LENGTH) -> list[tuple[bytes, int]]:
    """``(primary key, int)``: ``length`` appends to each of ``n / length`` lists, round robin."""
    keys = primary_keys(max(1, n // length), generation=generation)
    return [(keys[index % len(keys)], value) for index, value in enumerate(ints(n))]


def adder(ctx: Context) -> Callable[[tuple[bytes, int]], None]:
    """The per-record append, for recording the raw rows' writes."""
    new = factory(ctx).new_keyed_list

    def add(record: tuple[bytes, int]) -> None:
        new(record[0], b"").add(record[1])

    return add


def list_add(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_list(primary_key, b"").add(int)``, n appends spread round robin
    over n/100 lists (fresh lists every run), a checkpoint every 3 000 records, timed."""
    new = factory(env.ctx).new_keyed_list
    runs = Generations(lambda gen: chunked(appends(n, gen), settings.checkpoint_every))
    flush = env.flush

    def run() -> None:
        for chunk in runs.current:
            for key, value in chunk:
                new(key, b"").add(value)
            flush()

    return Bench(n, run, setup=runs.advance)


def raw_list_add(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.put`` of each element as its own entry at the recorded operand key (raw-batch:
    a WriteBatch per 3 000); every run puts the first run's entries again, which costs RocksDB
    what new keys would."""
    return writer(env, flat(record_each(adder, appends(n))), settings.checkpoint_every, ops=n)


def list_get(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per op: ``new_keyed_list(primary_key, b"").get()`` of a list of 100 ints (decode
    included), each of n/100 flushed lists once per run, in shuffled order."""
    states = factory(env.ctx)
    for key, value in appends(n):
        states.new_keyed_list(key, b"").add(value)
    env.flush()
    new = states.new_keyed_list
    keys = primary_keys(max(1, n // LENGTH), seed=1)

    def run() -> None:
        for key in keys:
            new(key, b"").get()

    return Bench(len(keys), run, setup=env.flush)


def raw_list_get(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: one bounded ``Rdict.items`` iteration over each list's element entries."""
    records = appends(n)
    per_record = record_each(adder, records)
    apply(env.db, flat(per_record))
    bounds = {
        key: bounds_of(writes[-1].key) for (key, _), writes in zip(records, per_record, strict=True)
    }
    keys = primary_keys(max(1, n // LENGTH), seed=1)
    bench = scanner(env, [bounds[key] for key in keys], n)
    bench.ops = len(keys)
    return bench


WORKLOADS = (
    Workload("list.add", list_add, raw_list_add, requires=REQUIRES, batch_row=True),
    Workload("list.get", list_get, raw_list_get, requires=REQUIRES, unit="get of 100"),
)
