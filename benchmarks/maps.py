"""MapState: per-record puts, gets and clears of keyed maps, and full iteration of maps.

Raw rocksdict puts and gets the physical keys and values the maps write (recorded), iterates
each map's scope with one bounded ``Rdict.items`` and clears it with one ``Rdict.delete_range``;
the MapState figures include decoding keys and values, the raw ones hand out bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks._data import KEY_GROUP, SEED, bounds_of, flat, ints, primary_keys, record_each
from benchmarks._harness import Bench, Generations, RawEnv, Settings, StoreEnv, Workload, chunked
from benchmarks._raw import apply, fresh, getter, scanner, writer
from benchmarks.ttl import state_entry, ttl_options, with_ttl
from fssdk import Context

STORE = "bench-map"
MAP_NAME = "m"
REQUIRES = ("KeyedMapStateFactory", "IntCodec")
#: Entries per map in ``map.put``, ``map.get`` and ``map.iterate``.
SIZE = 100
#: Entries per map in ``map.clear``.
CLEAR_SIZE = 4


def factory(ctx: Context, ttl: bool = False) -> Any:
    """The keyed int -> int MapState factory every map workload uses (``ttl``: the ``*_ttl``
    rows')."""
    from fssdk_advanced import IntCodec, KeyedMapStateFactory  # noqa: PLC0415 - may be absent

    return KeyedMapStateFactory.from_context(
        ctx, STORE, KEY_GROUP, IntCodec(), IntCodec(), **ttl_options(ttl)
    )


def entries(n: int, size: int = SIZE) -> list[tuple[bytes, int, int]]:
    """``(primary key, map key, value)``: n entries, ``size`` per map, in shuffled order."""
    maps = primary_keys(max(1, n // size))
    values = ints(n)
    found = [(maps[index // size], index % size, values[index]) for index in range(n)]
    random.Random(SEED).shuffle(found)
    return found


def putter(ctx: Context, ttl: bool = False) -> Callable[[tuple[bytes, int, int]], None]:
    """The per-record put, for recording the raw rows' writes."""
    new = factory(ctx, ttl).new_keyed_map

    def put(record: tuple[bytes, int, int]) -> None:
        new(record[0], MAP_NAME).put(record[1], record[2])

    return put


def map_put(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_map(primary_key, "m").put(int, int)``, n entries over n/100 maps
    in shuffled order, a checkpoint every 3 000 records, timed."""
    new = factory(env.ctx).new_keyed_map
    chunks = chunked(entries(n), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        for chunk in chunks:
            for key, map_key, value in chunk:
                new(key, MAP_NAME).put(map_key, value)
            flush()

    return Bench(n, run)


def raw_map_put(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.put`` of each recorded physical key and value (raw-batch: a WriteBatch per
    3 000)."""
    return writer(env, flat(record_each(putter, entries(n))), settings.checkpoint_every, ops=n)


def _populate(env: StoreEnv, n: int, size: int = SIZE, ttl: bool = False) -> Any:
    states = factory(env.ctx, ttl)
    for key, map_key, value in entries(n, size):
        states.new_keyed_map(key, MAP_NAME).put(map_key, value)
    env.flush()
    return states


def map_get(env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Per record: ``new_keyed_map(primary_key, "m").get(int)`` of each of n flushed entries once,
    in another shuffled order (decode included)."""
    new = _populate(env, n, ttl=ttl).new_keyed_map
    reads = entries(n)
    random.Random(1).shuffle(reads)

    def run() -> None:
        for key, map_key, _ in reads:
            new(key, MAP_NAME).get(map_key)

    return Bench(n, run, setup=env.flush)


def raw_map_get(env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Raw: ``Rdict.get`` of the same physical keys in the same order."""
    records = entries(n)
    per_record = record_each(partial(putter, ttl=ttl), records)
    apply(env.db, flat(per_record))
    key_of = {
        (key, map_key): state_entry(writes)
        for (key, map_key, _), writes in zip(records, per_record, strict=True)
    }
    reads = entries(n)
    random.Random(1).shuffle(reads)
    return getter(env, [key_of[(key, map_key)] for key, map_key, _ in reads])


def iterate_store(env: StoreEnv, n: int, size: int, ttl: bool = False) -> Bench:
    """Iterate every map of :func:`entries` ``(n, size)`` whole; per entry."""
    new = _populate(env, n, size, ttl).new_keyed_map
    maps = primary_keys(max(1, n // size), seed=1)

    def run() -> None:
        for key in maps:
            for _entry in new(key, MAP_NAME).all():
                pass

    return Bench(n, run, setup=env.flush)


def iterate_raw(env: RawEnv, n: int, size: int, ttl: bool = False) -> Bench:
    """Iterate the scope of every map of :func:`entries` ``(n, size)``; per entry."""
    records = entries(n, size)
    per_record = record_each(partial(putter, ttl=ttl), records)
    apply(env.db, flat(per_record))
    bounds = {
        key: bounds_of(state_entry(writes))
        for (key, _, _), writes in zip(records, per_record, strict=True)
    }
    return scanner(env, [bounds[key] for key in primary_keys(max(1, n // size), seed=1)], n)


def map_iterate(env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Per entry: ``for k, v in new_keyed_map(primary_key, "m").all()`` over n/100 flushed maps of
    100 entries (keys and values decoded)."""
    return iterate_store(env, n, SIZE, ttl)


def raw_map_iterate(env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Raw: one bounded ``Rdict.items`` over each map's scope, consuming ``(key, value)`` bytes."""
    return iterate_raw(env, n, SIZE, ttl)


def clear_fill(n: int, generation: int) -> list[tuple[bytes, int, int]]:
    """``(primary key, map key, value)``: ``CLEAR_SIZE`` entries for each of n fresh maps."""
    maps = primary_keys(n, generation=generation)
    values = ints(n * CLEAR_SIZE, seed=SEED + generation)
    found = [
        (maps[index // CLEAR_SIZE], index % CLEAR_SIZE, value) for index, value in enumerate(values)
    ]
    random.Random(SEED + generation).shuffle(found)
    return found


def clear_order(n: int, generation: int) -> list[bytes]:
    """The n maps of :func:`clear_fill` in another seeded order."""
    return primary_keys(n, generation=generation, seed=1)


def map_clear(env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Per record: ``new_keyed_map(primary_key, "m").clear()`` of n maps of 4 entries (filled and
    flushed untimed, fresh maps every run) in shuffled order, a checkpoint every 3 000, timed."""
    new = factory(env.ctx, ttl).new_keyed_map
    every = settings.checkpoint_every
    runs = Generations(lambda gen: (clear_fill(n, gen), chunked(clear_order(n, gen), every)))
    flush = env.flush

    def setup() -> None:
        runs.advance()
        for chunk in chunked(runs.current[0], every):
            for key, map_key, value in chunk:
                new(key, MAP_NAME).put(map_key, value)
            flush()

    def run() -> None:
        for chunk in runs.current[1]:
            for key in chunk:
                new(key, MAP_NAME).clear()
            flush()

    return Bench(n, run, setup=setup)


def raw_map_clear(env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Raw: the recorded entries of the same maps written untimed, then per map one
    ``Rdict.delete_range`` over its scope, in the same order."""
    db = env.db
    ranges: list[list[tuple[bytes, bytes]]] = []

    def build(generation: int) -> None:
        records = clear_fill(n, generation)
        per_record = record_each(partial(putter, ttl=ttl), records)
        apply(db, flat(per_record))
        bounds = {
            key: bounds_of(state_entry(writes))
            for (key, _, _), writes in zip(records, per_record, strict=True)
        }
        ranges[:] = [
            [
                (fresh(low), fresh(high))
                for low, high in (bounds[key] for key in clear_order(n, generation))
            ]
        ]

    runs = Generations(build)

    def run() -> None:
        delete_range = db.delete_range
        for low, high in ranges[0]:
            delete_range(low, high)

    return Bench(n, run, setup=runs.advance)


def _clears(settings: Settings) -> tuple[int, ...]:
    return (settings.records // 5,)


def nonkeyed(ctx: Context) -> Any:
    """The non-keyed int -> int MapState of ``map.iterate_nonkeyed``."""
    from fssdk_advanced import IntCodec, MapState  # noqa: PLC0415 - may be absent

    return MapState.from_context(ctx, STORE + "-nonkeyed", IntCodec(), IntCodec())


def nonkeyed_entries(n: int) -> list[tuple[int, int]]:
    """``(map key, value)``: n entries in shuffled order."""
    found = list(zip(range(n), ints(n), strict=True))
    random.Random(SEED).shuffle(found)
    return found


def _nonkeyed_putter(ctx: Context) -> Callable[[tuple[int, int]], None]:
    put = nonkeyed(ctx).put

    def put_entry(record: tuple[int, int]) -> None:
        put(record[0], record[1])

    return put_entry


def map_iterate_nonkeyed(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per entry: ``for k, v in map.all()`` over one flushed non-keyed MapState of n entries
    (keys and values decoded)."""
    state = nonkeyed(env.ctx)
    for key, value in nonkeyed_entries(n):
        state.put(key, value)
    env.flush()

    def run() -> None:
        for _entry in state.all():
            pass

    return Bench(n, run, setup=env.flush)


def raw_map_iterate_nonkeyed(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: one bounded ``Rdict.items`` over the map's scope, consuming ``(key, value)`` bytes."""
    writes = flat(record_each(_nonkeyed_putter, nonkeyed_entries(n)))
    apply(env.db, writes)
    return scanner(env, [bounds_of(writes[0].key)], n)


WORKLOADS = (
    Workload("map.put", map_put, raw_map_put, requires=REQUIRES, batch_row=True),
    *with_ttl("map.get", map_get, raw_map_get, requires=REQUIRES),
    *with_ttl("map.iterate", map_iterate, raw_map_iterate, requires=REQUIRES, unit="entry"),
    Workload(
        "map.iterate_nonkeyed",
        map_iterate_nonkeyed,
        raw_map_iterate_nonkeyed,
        requires=("MapState", "IntCodec"),
        unit="entry",
    ),
    *with_ttl(
        "map.clear", map_clear, raw_map_clear, points=_clears, requires=REQUIRES, unit="clear"
    ),
)
