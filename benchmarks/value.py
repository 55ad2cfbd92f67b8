"""Keyed ValueState: the per-record update and read of a value per primary key.

An operator holds one factory and asks it for the state of each record's key, so every operation
here creates its handle with ``new_keyed_value`` and includes that cost. Raw rocksdict does the
same puts and gets on the physical keys and values the state writes (recorded, see
:mod:`benchmarks._data`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._data import KEY_GROUP, flat, ints, primary_keys, record_each
from benchmarks._harness import Bench, RawEnv, Settings, StoreEnv, Workload, chunked
from benchmarks._raw import apply, getter, writer
from fssdk import Context

STORE = "bench-value"
REQUIRES = ("KeyedValueStateFactory", "IntCodec")


def factory(ctx: Context) -> Any:
    """The keyed int ValueState factory every value workload uses."""
    from fssdk_advanced import IntCodec, KeyedValueStateFactory  # noqa: PLC0415 - may be absent

    return KeyedValueStateFactory.from_context(ctx, STORE, KEY_GROUP, IntCodec())


def updates(n: int) -> list[tuple[bytes, int]]:
    """``(primary key, int)``: each of n primary keys once, in record order."""
    return list(zip(primary_keys(n), ints(n), strict=True))


def _updater(ctx: Context) -> Callable[[tuple[bytes, int]], None]:
    new = factory(ctx).new_keyed_value

    def update(record: tuple[bytes, int]) -> None:
        new(record[0], b"").update(record[1])

    return update


def value_update(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_value(primary_key, b"").update(int)`` over n primary keys in
    shuffled order (factory made once), a checkpoint (backend flush) every 3 000 records, timed."""
    new = factory(env.ctx).new_keyed_value
    chunks = chunked(updates(n), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        for chunk in chunks:
            for key, value in chunk:
                new(key, b"").update(value)
            flush()

    return Bench(n, run)


def raw_value_update(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.put`` of the physical key and encoded value each update writes (raw-batch:
    a WriteBatch per 3 000)."""
    writes = flat(record_each(_updater, updates(n)))
    return writer(env, writes, settings.checkpoint_every, ops=n)


def reads(n: int) -> list[bytes]:
    """The primary keys of :func:`updates` in another seeded order."""
    return primary_keys(n, seed=1)


def value_read(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_value(primary_key, b"").value()`` of n flushed values, each once,
    in an order unrelated to the write order (decode included)."""
    states = factory(env.ctx)
    for key, value in updates(n):
        states.new_keyed_value(key, b"").update(value)
    env.flush()
    new = states.new_keyed_value
    keys = reads(n)

    def run() -> None:
        for key in keys:
            new(key, b"").value()

    return Bench(n, run)


def raw_value_read(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.get`` of each value's physical key, in the same order."""
    records = updates(n)
    per_record = record_each(_updater, records)
    apply(env.db, flat(per_record))
    key_of = {key: writes[-1].key for (key, _), writes in zip(records, per_record, strict=True)}
    return getter(env, [key_of[key] for key in reads(n)])


WORKLOADS = (
    Workload("value.update", value_update, raw_value_update, requires=REQUIRES, batch_row=True),
    Workload("value.read", value_read, raw_value_read, requires=REQUIRES),
)
