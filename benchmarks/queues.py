"""Keyed PriorityQueueState: per-record add, peek and poll on many small queues.

Raw rocksdict writes the entries the queues write (recorded), peeks with a fresh iterator and
one seek per peek, and polls as a well-built raw queue would: one seek from the last polled key
(past the tombstones it left), read the head, delete it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from rocksdict import ReadOptions

from benchmarks._data import (
    KEY_GROUP,
    SEED,
    bounds_of,
    flat,
    ints,
    primary_keys,
    record_each,
)
from benchmarks._harness import (
    Bench,
    Generations,
    RawEnv,
    Settings,
    StoreEnv,
    Workload,
    chunked,
)
from benchmarks._raw import apply, writer
from benchmarks.ttl import state_entry, ttl_options, with_ttl
from fssdk import Context

STORE = "bench-queue"
REQUIRES = ("KeyedPriorityQueueStateFactory", "IntCodec")
#: Elements per queue in ``pq.add``, ``pq.peek`` and ``pq.poll``.
LENGTH = 100
#: Elements per queue in ``pq.add4`` and ``pq.poll4``: many short queues, as per-key timers are.
SHORT = 4


def factory(ctx: Context, ttl: bool = False) -> Any:
    """The keyed int PriorityQueueState factory every queue workload uses (``ttl``: the
    ``*_ttl`` rows')."""
    from fssdk_advanced import (  # noqa: PLC0415 - may be absent
        IntCodec,
        KeyedPriorityQueueStateFactory,
    )

    return KeyedPriorityQueueStateFactory.from_context(
        ctx, STORE, KEY_GROUP, IntCodec(), **ttl_options(ttl)
    )


def adds(n: int, generation: int = 0, length: int = LENGTH) -> list[tuple[bytes, int]]:
    """``(primary key, int)``: ``length`` elements for each of ``n / length`` queues, round
    robin."""
    keys = primary_keys(max(1, n // length), generation=generation)
    return [(keys[index % len(keys)], value) for index, value in enumerate(ints(n))]


def adder(ctx: Context, ttl: bool = False) -> Callable[[tuple[bytes, int]], None]:
    """The per-record add, for recording the raw rows' writes."""
    new = factory(ctx, ttl).new_keyed_priority_queue

    def add(record: tuple[bytes, int]) -> None:
        new(record[0], b"").add(record[1])

    return add


def fill(env: StoreEnv, states: Any, records: Sequence[tuple[bytes, int]], every: int) -> None:
    """Add ``records`` untimed, with the usual checkpoints, ending with one."""
    new = states.new_keyed_priority_queue
    for chunk in chunked(records, every):
        for key, value in chunk:
            new(key, b"").add(value)
        env.flush()


def add_store(env: StoreEnv, n: int, settings: Settings, length: int, ttl: bool) -> Bench:
    """Add n ints to n/length fresh queues (new every run) round robin, a checkpoint every 3 000
    adds; per add."""
    new = factory(env.ctx, ttl).new_keyed_priority_queue
    runs = Generations(lambda gen: chunked(adds(n, gen, length), settings.checkpoint_every))
    flush = env.flush

    def run() -> None:
        for chunk in runs.current:
            for key, value in chunk:
                new(key, b"").add(value)
            flush()

    return Bench(n, run, setup=runs.advance)


def add_raw(env: RawEnv, n: int, settings: Settings, length: int, ttl: bool) -> Bench:
    """``Rdict.put`` of the recorded entries of :func:`add_store`'s first run, every run."""
    records = adds(n, length=length)
    writes = flat(record_each(partial(adder, ttl=ttl), records))
    return writer(env, writes, settings.checkpoint_every, ops=n)


def pq_add(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_priority_queue(primary_key, b"").add(int)``, n random ints over
    n/100 queues round robin (fresh queues every run), a checkpoint every 3 000 records, timed."""
    return add_store(env, n, settings, LENGTH, ttl=False)


def raw_pq_add(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.put`` of each recorded element entry (raw-batch: a WriteBatch per 3 000);
    every run puts the first run's entries again, which costs RocksDB what new keys would."""
    return add_raw(env, n, settings, LENGTH, ttl=False)


def pq_add4(env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Per record: ``new_keyed_priority_queue(primary_key, b"").add(int)``, n random ints over
    n/4 queues round robin, 4 each (fresh queues every run), a checkpoint every 3 000, timed."""
    return add_store(env, n, settings, SHORT, ttl)


def raw_pq_add4(env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Raw: ``Rdict.put`` of each recorded element entry (raw-batch: a WriteBatch per 3 000);
    every run puts the first run's entries again."""
    return add_raw(env, n, settings, SHORT, ttl)


def peek_order(n: int, length: int = LENGTH) -> list[bytes]:
    """n peeks: each of the ``n / length`` queues ``length`` times, in shuffled order."""
    keys = primary_keys(max(1, n // length))
    order = [keys[index % len(keys)] for index in range(n)]
    random.Random(SEED + 1).shuffle(order)
    return order


def pq_peek(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_priority_queue(primary_key, b"").peek()`` over n/100 flushed queues
    of 100, each peeked 100 times in shuffled order (decode included)."""
    states = factory(env.ctx)
    fill(env, states, adds(n), settings.checkpoint_every)
    new = states.new_keyed_priority_queue
    order = peek_order(n)

    def run() -> None:
        for key in order:
            new(key, b"").peek()

    return Bench(n, run, setup=env.flush)


def raw_pq_peek(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: per peek a fresh iterator bounded by the queue's scope, one seek to its start, and
    the head's key."""
    records = adds(n)
    per_record = record_each(adder, records)
    apply(env.db, flat(per_record))
    bounds = {
        key: bounds_of(state_entry(writes))
        for (key, _), writes in zip(records, per_record, strict=True)
    }
    options: dict[bytes, Any] = {}
    for key, (_, high) in bounds.items():
        options[key] = ReadOptions()
        options[key].set_iterate_upper_bound(high)
    order = [(bounds[key][0], options[key]) for key in peek_order(n)]
    db = env.db

    def run() -> None:
        new_iter = db.iter
        for low, read_options in order:
            cursor = new_iter(read_options)
            cursor.seek(low)
            if cursor.valid():
                cursor.key()

    return Bench(n, run)


def poll_order(
    n: int, generation: int, length: int = LENGTH
) -> tuple[list[tuple[bytes, int]], list[bytes]]:
    """The adds of one run's queues (``length`` each) and the n polls that drain them, round
    robin."""
    records = adds(n, generation, length)
    keys = primary_keys(max(1, n // length), generation=generation)
    return records, [keys[index % len(keys)] for index in range(n)]


def drain_store(env: StoreEnv, n: int, settings: Settings, length: int, ttl: bool = False) -> Bench:
    """Drain n/length queues of ``length`` (filled and flushed untimed, fresh every run) round
    robin, a checkpoint every 3 000 polls; per poll."""
    states = factory(env.ctx, ttl)
    new = states.new_keyed_priority_queue
    runs = Generations(lambda gen: poll_order(n, gen, length))
    polls: list[Sequence[bytes]] = []
    flush = env.flush

    def setup() -> None:
        runs.advance()
        records, order = runs.current
        fill(env, states, records, settings.checkpoint_every)
        polls[:] = chunked(order, settings.checkpoint_every)

    def run() -> None:
        for chunk in polls:
            for key in chunk:
                new(key, b"").poll()
            flush()

    return Bench(n, run, setup=setup)


class RawDrain:
    """Raw polls: per queue a cursor at the last polled key; a poll seeks there, reads, deletes."""

    def __init__(self, env: RawEnv, bounds: dict[bytes, tuple[bytes, bytes]]) -> None:
        self.db = env.db
        self.cursor = {key: low for key, (low, _) in bounds.items()}
        self.options: dict[bytes, Any] = {}
        for key, (_, high) in bounds.items():
            self.options[key] = ReadOptions()
            self.options[key].set_iterate_upper_bound(high)

    def poll(self, keys: Sequence[bytes]) -> None:
        """Poll the queue of each of ``keys`` once, in order."""
        new_iter, delete = self.db.iter, self.db.delete
        cursor, options = self.cursor, self.options
        for key in keys:
            it = new_iter(options[key])
            it.seek(cursor[key])
            if it.valid():
                head = it.key()
                it.value()
                delete(head)
                cursor[key] = head


def drain_raw(env: RawEnv, n: int, settings: Settings, length: int, ttl: bool = False) -> Bench:
    """The raw drain of :func:`drain_store`'s queues: the recorded entries written untimed (the
    first run's again for every run), then per poll a fresh bounded iterator, one seek from the
    queue's last polled key, the head read and deleted."""
    records, order = poll_order(n, 0, length)
    per_record = record_each(partial(adder, ttl=ttl), records)
    writes = flat(per_record)
    bounds = {
        key: bounds_of(state_entry(w)) for (key, _), w in zip(records, per_record, strict=True)
    }
    chunks = chunked(order, settings.checkpoint_every)
    drains: list[RawDrain] = []

    def setup() -> None:
        apply(env.db, writes)
        drains[:] = [RawDrain(env, bounds)]

    def run() -> None:
        drain = drains[0]
        for chunk in chunks:
            drain.poll(chunk)

    return Bench(n, run, setup=setup)


def pq_poll(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_priority_queue(primary_key, b"").poll()`` draining n/100 queues of
    100 (filled and flushed untimed, fresh every run) round robin, a checkpoint every 3 000."""
    return drain_store(env, n, settings, LENGTH)


def raw_pq_poll(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: the recorded entries written untimed (the first run's again for every run), then per
    poll a fresh bounded iterator, one seek from the queue's last polled key, the head read and
    deleted."""
    return drain_raw(env, n, settings, LENGTH)


def pq_poll4(env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Per record: ``new_keyed_priority_queue(primary_key, b"").poll()`` draining n/4 queues of
    4 (filled and flushed untimed, fresh every run) round robin, a checkpoint every 3 000."""
    return drain_store(env, n, settings, SHORT, ttl)


def raw_pq_poll4(env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Bench:
    """Raw: the same queues' entries written untimed, then per poll a bounded seek from the
    queue's last polled key, the head read and deleted."""
    return drain_raw(env, n, settings, SHORT, ttl)


WORKLOADS = (
    Workload("pq.add", pq_add, raw_pq_add, requires=REQUIRES, batch_row=True),
    Workload("pq.peek", pq_peek, raw_pq_peek, requires=REQUIRES),
    Workload("pq.poll", pq_poll, raw_pq_poll, requires=REQUIRES),
    *with_ttl("pq.add4", pq_add4, raw_pq_add4, requires=REQUIRES, batch_row=True),
    *with_ttl("pq.poll4", pq_poll4, raw_pq_poll4, requires=REQUIRES),
)
