"""State TTL: what ``ttl=`` costs on each hot path, and its cleanup under a stream of new keys.

The ``*_ttl`` rows (built with :func:`with_ttl` beside the workloads they twin, in ``value.py``,
``maps.py``, ``queues.py`` and ``aggregate.py``) run a workload unchanged on state declared with
``ttl=StateTtl(LONG_TTL_MS)``, a day of processing time, so nothing expires during a run: the
figure is the price of stamping, checking and indexing alone, and the targets compare each with
its twin. Their raw rows write the recorded entries, stamps and expiry-index batches included.

``ttl.cleanup``: every record writes a new primary key of a keyed ValueState with ``ttl=`` and
moves a clock one tick; the TTL is :data:`LIFE` ticks, so at any time about :data:`LIFE` keys are
live and all older ones have expired. Nothing is ever read back: only the incremental cleanup
that writes run by themselves (docs/time.md) removes expired keys. The timed figure is the cost
per record, cleanup included; ``extra`` holds the store's size (keys stored, entries of the
expiry index) at ten points of an untimed run of the same stream, which level off near
:data:`LIFE` instead of growing with the number of records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Protocol

from benchmarks._data import KEY_GROUP, Write, primary_keys, scope_bounds
from benchmarks._harness import (
    Bench,
    Measurable,
    RawEnv,
    Settings,
    StoreEnv,
    Workload,
    chunked,
)
from fssdk.reserved import TTL_INDEX_KEY_GROUP

STORE = "bench-ttl"
LIFE = 500
REQUIRES = ("KeyedValueStateFactory", "IntCodec", "StateTtl")
#: The lifetime of the ``*_ttl`` rows' state, in processing-time milliseconds: one day.
LONG_TTL_MS: Final = 86_400_000
#: The name of a workload's TTL twin is the workload's name with this suffix.
SUFFIX: Final = "_ttl"


def state_entry(writes: Sequence[Write]) -> bytes:
    """The physical key of the last of ``writes`` that is not an expiry-index entry: the entry
    a state operation wrote, with or without TTL."""
    index_prefix = scope_bounds(TTL_INDEX_KEY_GROUP, KEY_GROUP, b"")[0]
    return [write.key for write in writes if not write.key.startswith(index_prefix)][-1]


def ttl_options(ttl: bool) -> dict[str, Any]:
    """The factory keywords of a ``*_ttl`` row (``ttl=StateTtl(LONG_TTL_MS)``), else none."""
    if not ttl:
        return {}
    from fssdk_advanced import StateTtl  # noqa: PLC0415 - may be absent

    return {"ttl": StateTtl(LONG_TTL_MS)}


class StoreVariant(Protocol):
    """A store-side builder that runs on TTL'd state when ``ttl`` is true."""

    def __call__(self, env: StoreEnv, n: int, settings: Settings, ttl: bool = False) -> Measurable:
        """The bench."""
        ...


class RawVariant(Protocol):
    """A raw builder that writes the TTL'd state's recorded entries when ``ttl`` is true."""

    def __call__(self, env: RawEnv, n: int, settings: Settings, ttl: bool = False) -> Measurable:
        """The bench."""
        ...


def with_ttl(
    name: str,
    store: StoreVariant,
    raw: RawVariant,
    *,
    requires: tuple[str, ...],
    **fields: Any,
) -> tuple[Workload, Workload]:
    """The workload ``name`` and its twin ``name_ttl``: the same data and operations on state
    with ``ttl=StateTtl(LONG_TTL_MS)``, compared to raw rocksdict writing that state's entries."""

    def ttl_store(env: StoreEnv, n: int, settings: Settings) -> Measurable:
        return store(env, n, settings, ttl=True)

    def ttl_raw(env: RawEnv, n: int, settings: Settings) -> Measurable:
        return raw(env, n, settings, ttl=True)

    ttl_store.__doc__ = (
        f"{store.__doc__} The state is declared with ``ttl=StateTtl({LONG_TTL_MS})`` (a day: "
        "nothing expires)."
    )
    ttl_raw.__doc__ = (
        f"{raw.__doc__} The entries are the TTL'd state's: stamped values, and the expiry-index "
        "batches its writes add."
    )
    return (
        Workload(name, store, raw, requires=requires, **fields),
        Workload(name + SUFFIX, ttl_store, ttl_raw, requires=(*requires, "StateTtl"), **fields),
    )


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
    """The entries the expiry index names (a batch names several)."""
    from fssdk_advanced.state._ttl import index_entries_of  # noqa: PLC0415 - may be absent

    scope = env.store(store).scope(TTL_INDEX_KEY_GROUP, KEY_GROUP, b"")
    with scope.scan() as scan:
        return sum(len(index_entries_of(key, value)) for key, value in scan)


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
