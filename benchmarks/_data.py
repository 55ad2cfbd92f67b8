"""The data every row of a workload shares, and the physical keys the raw rows write.

All data comes from seeded generators, so each target of a workload sees exactly the same
primary keys, values and order. Raw rocksdict rows write the physical keys and values the store
itself writes (same bytes, same lengths): for store-level workloads they are computed with the
key format; for typed state they are recorded by running the same operations on a
:func:`recording <record_writes>` store, so they follow whatever layout the state library uses.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from fssdk import ComplexKey
from fssdk._keyformat import LAYOUT
from fssdk.reserved import TTL_INDEX_KEY_GROUP
from fssdk.runtime import LocalContext, MemoryBackend
from fssdk.stores import MemoryStore

T = TypeVar("T")

SEED: Final = 0x5EED
KEY_GROUP: Final = b"bench"


def primary_keys(n: int, *, generation: int = 0, seed: int = SEED) -> list[bytes]:
    """``n`` distinct primary keys of equal length (12 bytes) in a seeded, shuffled order.

    ``generation`` (0-99) gives a disjoint set of the same length, for runs that need fresh keys.
    """
    if not 0 <= generation < 100:
        raise ValueError(f"generation must be in [0, 100), not {generation}")
    keys = [b"%02d-u%08x" % (generation, index) for index in range(n)]
    random.Random(seed).shuffle(keys)
    return keys


def ints(n: int, *, seed: int = SEED, bound: int = 2**31) -> list[int]:
    """``n`` seeded pseudo-random ints in ``[0, bound)``."""
    rng = random.Random(seed)
    return [rng.randrange(bound) for _ in range(n)]


def u64(value: int) -> bytes:
    """``value`` as 8 big-endian bytes (the store-level workloads' values)."""
    return value.to_bytes(8, "big")


def physical(ck: ComplexKey) -> bytes:
    """The physical key RocksDBStore writes for ``ck``'s base entry."""
    return LAYOUT.base_key(LAYOUT.scope_prefix(*ck.scope), ck.user_key)


def operand_physical(ck: ComplexKey, seq: int) -> bytes:
    """The physical key RocksDBStore writes for merge operand ``seq`` of ``ck``."""
    return LAYOUT.operand_after(physical(ck), seq)


def scope_bounds(key_group: bytes, key: bytes, namespace: bytes) -> tuple[bytes, bytes]:
    """``[low, high)`` of the physical keys of one scope."""
    prefix = LAYOUT.scope_prefix(key_group, key, namespace)
    return prefix, LAYOUT.successor(prefix)


@dataclass(frozen=True)
class Write:
    """One physical write a store received: ``value`` ``None`` is a delete.

    A merge is recorded as a put of its own operand entry, which is what RocksDBStore persists
    and the cheapest append raw RocksDB (which has no merge operator) can do. The merges into
    one TTL expiry index batch are recorded as its first: the write buffer joins a batch's
    merges into one write, and a batch holds a bounded number of entries.
    """

    key: bytes
    value: bytes | None


class _RecordingStore(MemoryStore):
    """A MemoryStore that records the writes it receives, as physical writes."""

    def __init__(self, name: str, writes: list[Write]) -> None:
        super().__init__(name)
        self._writes = writes
        self._seq = 0
        self._batches: set[ComplexKey] = set()

    def put_state(self, key: bytes, value: bytes) -> None:
        super().put_state(key, value)
        self._writes.append(Write(LAYOUT.simple_key(key), value))

    def delete_state(self, key: bytes) -> None:
        super().delete_state(key)
        self._writes.append(Write(LAYOUT.simple_key(key), None))

    def put(self, key: ComplexKey, value: bytes) -> None:
        super().put(key, value)
        self._writes.append(Write(physical(key), value))

    def delete(self, key: ComplexKey) -> None:
        super().delete(key)
        self._writes.append(Write(physical(key), None))

    def merge(self, key: ComplexKey, value: bytes) -> None:
        super().merge(key, value)
        if key in self._batches:
            return
        self._seq += 1
        if key.key_group == TTL_INDEX_KEY_GROUP:
            self._batches.add(key)
        self._writes.append(Write(operand_physical(key, self._seq), value))


class _RecordingBackend(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[Write] = []

    def _store(self, name: str) -> MemoryStore:
        store = self._stores.get(name)
        if store is None:
            store = self._stores[name] = _RecordingStore(name, self.writes)
        return store


def record_writes(operations: Callable[[LocalContext], None]) -> list[Write]:
    """The physical writes ``operations`` makes through a fresh context, in order."""
    backend = _RecordingBackend()
    ctx = LocalContext(backend)
    try:
        operations(ctx)
    finally:
        ctx.close()
    return backend.writes


def record_each(
    bind: Callable[[LocalContext], Callable[[T], object]], items: Sequence[T]
) -> list[list[Write]]:
    """The physical writes of each call ``op(item)``, where ``op = bind(ctx)`` on a fresh context.

    ``bind`` creates the state (or factory) once, as the store-side workload does, and returns
    the per-record operation.
    """
    backend = _RecordingBackend()
    per_item: list[list[Write]] = []
    ctx = LocalContext(backend)
    try:
        op = bind(ctx)
        writes = backend.writes
        for item in items:
            start = len(writes)
            op(item)
            per_item.append(writes[start:])
    finally:
        ctx.close()
    return per_item


def flat(per_item: Sequence[Sequence[Write]]) -> list[Write]:
    """All writes of :func:`record_each`, in order."""
    return [write for writes in per_item for write in writes]


def bounds_of(physical_key: bytes) -> tuple[bytes, bytes]:
    """``[low, high)`` of the scope that ``physical_key`` (a base or operand entry) belongs to."""
    key_group, key, namespace, *_ = LAYOUT.decode_components(physical_key)
    return scope_bounds(key_group, key, namespace)
