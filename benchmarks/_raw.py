"""The raw rocksdict side of the workloads: the same physical writes, reads and scans, no layer.

Every helper takes the keys and values the store itself writes (computed or recorded, see
:mod:`benchmarks._data`) and returns a :class:`Bench` doing exactly that work on the database:
``Rdict.put``/``delete`` per write (the ``raw-batch`` row: one ``WriteBatch`` per checkpoint
interval), ``Rdict.get`` per read, ``Rdict.items`` with the scope's upper bound per scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rocksdict import ReadOptions, WriteBatch

from benchmarks._data import Write
from benchmarks._harness import Bench, RawEnv, chunked


def fresh(data: bytes) -> bytes:
    """A new copy of ``data``, allocated now.

    Raw rows take their keys from the recorded writes, allocated in write order; read in another
    order, those scattered objects cost a cache miss each that the state rows, which build their
    keys per record, never pay (~0.4 µs per get measured here). Copying a raw row's keys in the
    order it uses them removes that bias.
    """
    return bytes(bytearray(data))


def apply(db: Any, writes: Sequence[Write]) -> None:
    """Write ``writes`` untimed (to populate a database before a reading workload)."""
    batch = WriteBatch(raw_mode=True)
    for count, write in enumerate(writes, start=1):
        if write.value is None:
            batch.delete(write.key)
        else:
            batch.put(write.key, write.value)
        if count % 10_000 == 0:
            db.write(batch)
            batch = WriteBatch(raw_mode=True)
    db.write(batch)


def writer(env: RawEnv, writes: Sequence[Write], every: int, ops: int | None = None) -> Bench:
    """A bench that performs ``writes`` in order: ``ops`` operations (default: one per write)."""
    db = env.db
    chunks = chunked([(fresh(write.key), write.value) for write in writes], every)
    deletes = any(write.value is None for write in writes)
    if env.batched:

        def run() -> None:
            write = db.write
            for chunk in chunks:
                batch = WriteBatch(raw_mode=True)
                put, delete = batch.put, batch.delete
                for key, value in chunk:
                    if value is None:
                        delete(key)
                    else:
                        put(key, value)
                write(batch)

    elif deletes:

        def run() -> None:
            put, delete = db.put, db.delete
            for chunk in chunks:
                for key, value in chunk:
                    if value is None:
                        delete(key)
                    else:
                        put(key, value)

    else:

        def run() -> None:
            put = db.put
            for chunk in chunks:
                for key, value in chunk:
                    put(key, value)

    return Bench(len(writes) if ops is None else ops, run)


def getter(env: RawEnv, keys: Sequence[bytes]) -> Bench:
    """A bench that reads each of ``keys`` with ``Rdict.get``."""
    db = env.db
    keys = [fresh(key) for key in keys]

    def run() -> None:
        get = db.get
        for key in keys:
            get(key)

    return Bench(len(keys), run)


def scanner(env: RawEnv, bounds: Sequence[tuple[bytes, bytes]], entries: int) -> Bench:
    """A bench that iterates every ``[low, high)`` range whole; ``entries`` in all."""
    db = env.db
    bounds = [(fresh(low), fresh(high)) for low, high in bounds]

    def run() -> None:
        items = db.items
        for low, high in bounds:
            options = ReadOptions()
            options.set_iterate_upper_bound(high)
            for _pair in items(from_key=low, read_opt=options):
                pass

    return Bench(entries, run)


def read_modify_writer(env: RawEnv, per_record: Sequence[Sequence[Write]], every: int) -> Bench:
    """A bench that, per record, reads the key of its first write with ``Rdict.get`` and then
    puts all its writes; one operation per record.

    The raw form of a read-modify-write (an aggregate's accumulator): the get's result is not
    used, since the values to put are the ones the state wrote. A TTL'd state's record also
    puts its expiry-index entry after the accumulator.
    """
    db = env.db
    chunks = chunked(
        [
            (fresh(writes[0].key), [(fresh(write.key), write.value) for write in writes])
            for writes in per_record
        ],
        every,
    )

    def run() -> None:
        get, put = db.get, db.put
        for chunk in chunks:
            for key, puts in chunk:
                get(key)
                for physical, value in puts:
                    put(physical, value)

    def run_single() -> None:
        get, put = db.get, db.put
        for chunk in chunks:
            for key, ((_, value),) in chunk:
                get(key)
                put(key, value)

    single = all(len(writes) == 1 for writes in per_record)
    return Bench(len(per_record), run_single if single else run)
