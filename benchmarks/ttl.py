"""State TTL under a steady stream of new keys: the cost per record and the size of the store.

Every record writes a new primary key of a keyed ValueState with ``ttl=`` and moves a clock one
tick; the TTL is :data:`LIFE` ticks, so at any time about :data:`LIFE` keys are live and all older
ones have expired. Nothing is ever read back: only the incremental cleanup that writes run by
themselves (docs/time.md) removes expired keys. The timed figure is the cost per record, cleanup
included; ``extra`` holds the store's size (keys stored, entries of the expiry index) at ten
points of an untimed run of the same stream, which level off near :data:`LIFE` instead of
growing with the number of records.
"""

from __future__ import annotations

from typing import Any

from benchmarks._data import KEY_GROUP, primary_keys
from benchmarks._harness import Bench, Settings, StoreEnv, Workload, chunked
from fssdk.reserved import TTL_INDEX_KEY_GROUP

STORE = "bench-ttl"
LIFE = 500
REQUIRES = ("KeyedValueStateFactory", "IntCodec", "StateTtl")


class _Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _factory(env: StoreEnv, store: str, clock: _Clock) -> Any:
    from fssdk_advanced import IntCodec, KeyedValueStateFactory, StateTtl  # noqa: PLC0415

    ttl = StateTtl(LIFE, clock=clock)
    return KeyedValueStateFactory.from_context(env.ctx, store, KEY_GROUP, IntCodec(), ttl=ttl)


def _index_entries(env: StoreEnv, store: str) -> int:
    scope = env.store(store).scope(TTL_INDEX_KEY_GROUP, KEY_GROUP, b"")
    with scope.scan() as scan:
        return sum(1 for _ in scan)


def sizes_over_time(env: StoreEnv, n: int, checkpoint_every: int) -> dict[str, float]:
    """Keys stored and index entries after each tenth of a stream of n new keys (untimed)."""
    clock = _Clock()
    states = _factory(env, STORE + "-sizes", clock)
    sizes: dict[str, float] = {}
    marks = {max(1, n * tenth // 10) for tenth in range(1, 11)}
    for count, key in enumerate(primary_keys(n), start=1):
        clock.now = count
        states.new_keyed_value(key).update(count)
        if count % checkpoint_every == 0:
            env.flush()
        if count in marks:
            sizes[f"keys_at_{count}"] = float(sum(1 for _ in states.keys(None)))
            sizes[f"index_at_{count}"] = float(_index_entries(env, STORE + "-sizes"))
    return sizes


def ttl_cleanup(env: StoreEnv, n: int, settings: Settings) -> Bench:
    """Per record: ``new_keyed_value(new key).update(int)`` on a ValueState with
    ``ttl=StateTtl(500)`` while a clock moves one tick per record, a checkpoint (backend flush)
    every 3 000 records; the writes' own incremental cleanup removes the expired keys."""
    clock = _Clock()
    new = _factory(env, STORE, clock).new_keyed_value
    chunks = chunked(list(enumerate(primary_keys(n), start=1)), settings.checkpoint_every)
    flush = env.flush

    def run() -> None:
        for chunk in chunks:
            for count, key in chunk:
                clock.now += 1
                new(key).update(count)
            flush()

    return Bench(n, run, extra=sizes_over_time(env, n, settings.checkpoint_every))


WORKLOADS = (Workload("ttl.cleanup", ttl_cleanup, requires=REQUIRES),)
