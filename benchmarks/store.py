"""Store-level workloads: the byte Store that every state type is built on, against raw rocksdict.

These bound what typed state can reach: a state operation is at least one Store operation plus
its codec. The raw rows write and read the very physical keys and values RocksDBStore writes.
"""

from __future__ import annotations

from benchmarks._data import (
    KEY_GROUP,
    Write,
    ints,
    operand_physical,
    physical,
    primary_keys,
    scope_bounds,
    u64,
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
from benchmarks._raw import apply, getter, scanner, writer
from fssdk import ComplexKey

USER_KEY = b"v"
#: Appends per key in ``store.merge`` and entries per scope in ``store.scan``.
PER_KEY = 100


def put_ops(n: int) -> list[tuple[bytes, bytes]]:
    """``(primary key, value)`` of ``store.put``: each of ``n`` keys once, in record order."""
    return list(zip(primary_keys(n), (u64(v) for v in ints(n)), strict=True))


def store_put(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``Store.put(ComplexKey(group, primary_key, b"", b"v"), 8-byte value)`` over n
    primary keys in shuffled order, a checkpoint (backend flush) every 3 000 records, timed."""
    store = env.store("bench")
    chunks = chunked(put_ops(n), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        put = store.put
        for chunk in chunks:
            for key, value in chunk:
                put(ComplexKey(KEY_GROUP, key, b"", USER_KEY), value)
            flush()

    return Bench(n, run)


def raw_put(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.put`` of the same physical keys and values (raw-batch: a WriteBatch per
    3 000)."""
    writes = [
        Write(physical(ComplexKey(KEY_GROUP, key, b"", USER_KEY)), value)
        for key, value in put_ops(n)
    ]
    return writer(env, writes, settings.checkpoint_every)


def read_order(n: int) -> list[bytes]:
    """The primary keys of ``put_ops(n)`` in another seeded order, for the reading workloads."""
    return primary_keys(n, seed=1)


def store_get(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``Store.get(ComplexKey(...))`` of one of n flushed entries, each once, in an
    order unrelated to the write order."""
    store = env.store("bench")
    for key, value in put_ops(n):
        store.put(ComplexKey(KEY_GROUP, key, b"", USER_KEY), value)
    env.flush()
    keys = read_order(n)

    def run() -> None:
        get = store.get
        for key in keys:
            get(ComplexKey(KEY_GROUP, key, b"", USER_KEY))

    return Bench(n, run)


def raw_get(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: ``Rdict.get`` of the same physical keys in the same order."""
    apply(
        env.db,
        [
            Write(physical(ComplexKey(KEY_GROUP, key, b"", USER_KEY)), value)
            for key, value in put_ops(n)
        ],
    )
    keys = [physical(ComplexKey(KEY_GROUP, key, b"", USER_KEY)) for key in read_order(n)]
    return getter(env, keys)


def merge_ops(n: int, generation: int) -> list[tuple[bytes, bytes]]:
    """``(primary key, 8-byte operand)``: ``PER_KEY`` appends to each of ``n / PER_KEY`` keys,
    round robin."""
    keys = primary_keys(max(1, n // PER_KEY), generation=generation)
    values = [u64(v) for v in ints(n)]
    return [(keys[index % len(keys)], value) for index, value in enumerate(values)]


def store_merge(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``Store.merge`` of 8 bytes onto one of n/100 keys (100 appends each, round
    robin, fresh keys every run), a checkpoint every 3 000 records, timed."""
    store = env.store("bench")
    generations = Generations(lambda gen: chunked(merge_ops(n, gen), settings.checkpoint_every))
    flush = env.flush

    def run() -> None:
        merge = store.merge
        for chunk in generations.current:
            for key, value in chunk:
                merge(ComplexKey(KEY_GROUP, key, b"", USER_KEY), value)
            flush()

    return Bench(n, run, setup=generations.advance)


def raw_merge(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw (no merge operator): ``Rdict.put`` of each operand as its own entry, at the operand
    key RocksDBStore uses (raw-batch: a WriteBatch per 3 000)."""

    def build(generation: int) -> list[Write]:
        return [
            Write(operand_physical(ComplexKey(KEY_GROUP, key, b"", USER_KEY), seq), value)
            for seq, (key, value) in enumerate(merge_ops(n, generation), start=1)
        ]

    generations = Generations(build)
    benches: list[Bench] = []

    def setup() -> None:
        generations.advance()
        benches[:] = [writer(env, generations.current, settings.checkpoint_every)]

    def run() -> None:
        benches[0].run()

    return Bench(n, run, setup=setup)


def scan_scopes(n: int) -> list[bytes]:
    """Primary keys of the scopes ``store.scan`` iterates: n entries, ``PER_KEY`` per scope."""
    return primary_keys(max(1, n // PER_KEY))


def scan_entries(n: int) -> list[tuple[bytes, bytes, bytes]]:
    """``(primary key, user key, value)`` of ``store.scan``'s n entries."""
    values = [u64(v) for v in ints(n)]
    scopes = scan_scopes(n)
    return [
        (scopes[index // PER_KEY], b"k%07d" % (index % PER_KEY), value)
        for index, value in enumerate(values)
    ]


def store_scan(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per entry: ``Store.scan_complex`` of whole scopes of 100 flushed entries (n entries in
    all), consuming each ``(user_key, value)``."""
    store = env.store("bench")
    for key, user_key, value in scan_entries(n):
        store.put(ComplexKey(KEY_GROUP, key, b"", user_key), value)
    env.flush()
    scopes = scan_scopes(n)

    def run() -> None:
        scan = store.scan_complex
        for key in scopes:
            for _pair in scan(KEY_GROUP, key, b""):
                pass

    return Bench(n, run)


def raw_scan(env: RawEnv, n: int, settings: Settings) -> Bench:
    """Raw: per scope a ``ReadOptions`` with the scope's upper bound and ``Rdict.items(from_key=
    low)`` over the same physical keys, consuming each ``(key, value)``."""
    apply(
        env.db,
        [
            Write(physical(ComplexKey(KEY_GROUP, key, b"", user_key)), value)
            for key, user_key, value in scan_entries(n)
        ],
    )
    return scanner(env, [scope_bounds(KEY_GROUP, key, b"") for key in scan_scopes(n)], n)


WORKLOADS = (
    Workload("store.put", store_put, raw_put, batch_row=True),
    Workload("store.get", store_get, raw_get),
    Workload("store.merge", store_merge, raw_merge, batch_row=True),
    Workload("store.scan", store_scan, raw_scan, unit="entry"),
)
