"""The conformance kit on the project's own stores, and on the reference itself.

The project's own stores get more examples than the profile's default: each machine runs
``max(floor, profile's max_examples)`` operation sequences of the profile's
``stateful_step_count`` steps (``ci``: 100-200 sequences of 40 steps; ``thorough``: 2 000 of 100).
"""

from __future__ import annotations

import ast
import itertools
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

import fssdk.stores._buffer as write_buffer
from fssdk import ComplexKey, Store
from fssdk.runtime import RocksDBBackend
from fssdk.stores import MemoryStore
from fssdk.testing import StoreMismatch, check_store, store_machine
from fssdk.testing._model import NaiveStore
from tests.support import machine_examples


def examples(floor: int) -> int:
    """At least ``floor`` examples, more when the active profile asks for more."""
    return max(floor, settings().max_examples)


class RocksDBStores:
    """Makes, reopens and disposes of RocksDBStores, one fresh database directory per store.

    ``close_store_first`` makes ``reopen`` close the store before its backend, as a caller that
    only holds the store would.
    """

    def __init__(self, root: Path, *, close_store_first: bool = False) -> None:
        self.root = root
        self.close_store_first = close_store_first
        self.backends: dict[Store, RocksDBBackend] = {}
        self.numbers = itertools.count()

    def make(self) -> Store:
        backend = RocksDBBackend(self.root / str(next(self.numbers)))
        store = backend.store("conformance")
        self.backends[store] = backend
        return store

    def reopen(self, store: Store) -> Store:
        backend = self.backends.pop(store)
        if self.close_store_first:
            store.close()
        backend.close()
        reopened = RocksDBBackend(backend.path)
        fresh = reopened.store(store.name)
        self.backends[fresh] = reopened
        return fresh

    def teardown(self, store: Store) -> None:
        backend = self.backends.pop(store)
        backend.close()
        shutil.rmtree(backend.path)

    def close_all(self) -> None:
        for backend in self.backends.values():
            backend.close()
        self.backends.clear()


@pytest.fixture
def rocksdb_stores(tmp_path: Path) -> Iterator[RocksDBStores]:
    stores = RocksDBStores(tmp_path)
    yield stores
    stores.close_all()


def test_memory_store_conforms() -> None:
    check_store(MemoryStore, max_examples=examples(200))


def test_memory_store_matches_the_naive_model() -> None:
    """The reference is not trusted blindly: MemoryStore against a dict and ``sorted()``."""
    machine = store_machine(MemoryStore, reference=NaiveStore)
    run_state_machine_as_test(
        machine, settings=settings(settings(), max_examples=examples(200), deadline=None)
    )


def test_rocksdb_store_conforms_across_flushes_and_reopens(
    thresholds: str, rocksdb_stores: RocksDBStores
) -> None:
    check_store(
        rocksdb_stores.make,
        reopen=rocksdb_stores.reopen,
        teardown=rocksdb_stores.teardown,
        max_examples=machine_examples(examples(200), thresholds),
    )


def test_rocksdb_store_conforms_with_a_tiny_write_buffer(
    rocksdb_stores: RocksDBStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Automatic flushes every 3 writes land in the middle of merge runs, scans and folds; the
    store is closed on its own before its backend at each reopen."""
    monkeypatch.setattr(write_buffer, "AUTO_FLUSH_WRITES", 3)
    rocksdb_stores.close_store_first = True
    check_store(
        rocksdb_stores.make,
        reopen=rocksdb_stores.reopen,
        teardown=rocksdb_stores.teardown,
        max_examples=examples(100),
    )


class MergeOverwrites(MemoryStore):
    """A store whose ``merge`` replaces the value: the kit must catch it, and replay it."""

    def merge(self, key: ComplexKey, value: bytes) -> None:
        self.put(key, value)


def test_a_failure_replays_from_its_printed_blob() -> None:
    with pytest.raises(StoreMismatch) as caught:
        check_store(MergeOverwrites, max_examples=200)
    notes = "\n".join(caught.value.__notes__)
    found = re.search(r"@reproduce_failure\('([^']+)', (b'[^']+')\)", notes)
    assert found is not None, notes
    version, blob = found.group(1), ast.literal_eval(found.group(2))
    with pytest.raises(StoreMismatch) as replayed:
        check_store(MergeOverwrites, reproduce_failure=(version, blob))
    assert str(replayed.value) == str(caught.value)


def test_a_seed_replays_the_same_run() -> None:
    messages = []
    for _ in range(2):
        with pytest.raises(StoreMismatch) as caught:
            check_store(MergeOverwrites, max_examples=200, seed=1234)
        messages.append("\n".join(caught.value.__notes__))
    assert messages[0] == messages[1]
