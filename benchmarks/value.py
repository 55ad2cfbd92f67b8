"""Keyed ValueState: the per-record update and read of a value per primary key.

An operator holds one factory and asks it for the state of each record's key, so every operation
here creates its handle with ``new_keyed_value`` and includes that cost. Raw rocksdict does the
same puts and gets on the physical keys and values the state writes (recorded, see
:mod:`benchmarks._data`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks._data import KEY_GROUP, Write, flat, ints, primary_keys, record_each
from benchmarks._harness import Bench, Generations, RawEnv, Settings, StoreEnv, Workload, chunked
from benchmarks._raw import apply, getter, writer
from benchmarks.ttl import state_entry, ttl_options, with_ttl
from fssdk import Context

STORE = "bench-value"
REQUIRES = ("KeyedValueStateFactory", "IntCodec")


def factory(ctx: Context, ttl: bool = False) -> Any:
    """The keyed int ValueState factory every value workload uses (``ttl``: the ``*_ttl`` rows')."""
    from fssdk_advanced import IntCodec, KeyedValueStateFactory  # noqa: PLC0415 - may be absent

    return KeyedValueStateFactory.from_context(
        ctx, STORE, KEY_GROUP, IntCodec(), **ttl_options(ttl)
    )


def updates(n: int, generation: int = 0) -> list[tuple[bytes, int]]:
    """``(primary key, int)``: each of n primary keys once, in record order."""
    return list(zip(primary_keys(n, generation=generation), ints(n), strict=True))


def _updater(ctx: Context, ttl: bool = False) -> Callable[[tuple[bytes, int]], None]:
    new = factory(ctx, ttl).new_keyed_value

    def update(record: tuple[bytes, int]) -> None:
        new(record[0], b"").update(record[1])

    return update


def value_update(env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Per record: ``new_keyed_value(primary_key, b"").update(int)`` over n primary keys in
    shuffled order (factory made once), a checkpoint (backend flush) every 3 000 records, timed."""
    new = factory(env.ctx, ttl).new_keyed_value
    chunks = chunked(updates(n), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        for chunk in chunks:
            for key, value in chunk:
                new(key, b"").update(value)
            flush()

    return Bench(n, run)


def raw_value_update(env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Raw: ``Rdict.put`` of the physical key and encoded value each update writes (raw-batch:
    a WriteBatch per 3 000)."""
    writes = flat(record_each(partial(_updater, ttl=ttl), updates(n)))
    return writer(env, writes, settings.checkpoint_every, ops=n)


def reads(n: int) -> list[bytes]:
    """The primary keys of :func:`updates` in another seeded order."""
    return primary_keys(n, seed=1)


def _populate(env: StoreEnv, ttl: bool, records: list[tuple[bytes, int]]) -> Any:
    states = factory(env.ctx, ttl)
    for key, value in records:
        states.new_keyed_value(key, b"").update(value)
    env.flush()
    return states


def _reader(new: Callable[[bytes, bytes], Any], keys: list[bytes]) -> Bench:
    def run() -> None:
        for key in keys:
            new(key, b"").value()

    return Bench(len(keys), run)


def value_read(env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Per record: ``new_keyed_value(primary_key, b"").value()`` of n flushed values, each once,
    in an order unrelated to the write order (decode included)."""
    return _reader(_populate(env, ttl, updates(n)).new_keyed_value, reads(n))


def _recorded(
    ttl: bool, records: list[tuple[bytes, int]]
) -> tuple[list[Write], dict[bytes, bytes]]:
    """The writes of updating each of ``records``, and the physical key of each primary key's
    value."""
    per_record = record_each(partial(_updater, ttl=ttl), records)
    keys = {key: state_entry(writes) for (key, _), writes in zip(records, per_record, strict=True)}
    return flat(per_record), keys


def raw_value_read(env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Raw: ``Rdict.get`` of each value's physical key, in the same order."""
    writes, key_of = _recorded(ttl, updates(n))
    apply(env.db, writes)
    return getter(env, [key_of[key] for key in reads(n)])


def misses(n: int) -> list[bytes]:
    """n primary keys that :func:`updates` never writes, in a seeded order."""
    return primary_keys(n, generation=1, seed=1)


def value_read_miss(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_value(primary_key, b"").value()`` of n primary keys that have no
    value, each once, while n others have a flushed value (the answer is ``(None, False)``)."""
    return _reader(_populate(env, False, updates(n)).new_keyed_value, misses(n))


def raw_value_read_miss(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.get`` (which answers None) of the physical keys those values would have, in
    the same order, while the n others are written."""
    apply(env.db, _recorded(False, updates(n))[0])
    key_of = _recorded(False, [(key, 0) for key in misses(n)])[1]
    return getter(env, [key_of[key] for key in misses(n)])


def deletes(n: int, generation: int) -> list[bytes]:
    """The primary keys of :func:`updates` ``(n, generation)`` in another seeded order."""
    return primary_keys(n, generation=generation, seed=1)


def value_delete(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_value(primary_key, b"").clear()`` of n flushed values (written and
    flushed untimed, fresh keys every run) in another order, a checkpoint every 3 000, timed."""
    new = factory(env.ctx).new_keyed_value
    every = settings.checkpoint_every
    runs = Generations(lambda gen: (updates(n, gen), chunked(deletes(n, gen), every)))
    flush = env.flush

    def setup() -> None:
        runs.advance()
        _populate(env, False, runs.current[0])

    def run() -> None:
        for chunk in runs.current[1]:
            for key in chunk:
                new(key, b"").clear()
            flush()

    return Bench(n, run, setup=setup)


def _clearer(ctx: Context) -> Callable[[bytes], None]:
    new = factory(ctx).new_keyed_value

    def clear(key: bytes) -> None:
        new(key, b"").clear()

    return clear


def raw_value_delete(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: the recorded values written untimed (the first run's again for every run), then
    ``Rdict.delete`` of each recorded physical key, in the same order."""
    puts = flat(record_each(_updater, updates(n)))
    bench = writer(env, flat(record_each(_clearer, deletes(n, 0))), settings.checkpoint_every)

    def setup() -> None:
        apply(env.db, puts)

    bench.setup = setup
    return bench


WORKLOADS = (
    *with_ttl("value.update", value_update, raw_value_update, requires=REQUIRES, batch_row=True),
    *with_ttl("value.read", value_read, raw_value_read, requires=REQUIRES),
    Workload("value.read_miss", value_read_miss, raw_value_read_miss, requires=REQUIRES),
    Workload("value.delete", value_delete, raw_value_delete, requires=REQUIRES),
)
