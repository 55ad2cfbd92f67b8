"""``Store.scopes(key_group)``: the per-record path of keyed state, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fssdk import ClosedError, Store, StoreScopes
from fssdk.runtime import RocksDBBackend
from fssdk.stores import MemoryStore


@pytest.fixture(params=["memory", "rocksdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore("s")
        return
    with RocksDBBackend(tmp_path) as backend:
        yield backend.store("s")


def test_a_scope_is_its_key_groups_scopes_with_key_and_namespace(store: Store) -> None:
    scopes = store.scopes(b"g")
    assert isinstance(scopes, StoreScopes)
    scopes.put(b"k", b"n", b"a", b"1")
    scope = scopes(b"k", b"n")
    assert scope.get(b"a") == b"1"
    assert store.scope(b"g", b"k", b"n").get(b"a") == b"1"
    assert scopes.describe(b"k", b"n", b"a") == "store 's' scope (b'g', b'k', b'n') user_key b'a'"


def test_take_refuses_a_negative_limit_and_takes_nothing_for_zero(store: Store) -> None:
    scopes = store.scopes(b"g")
    scopes.put(b"k", b"", b"a", b"1")
    assert scopes.take(b"k", b"", 0) == []
    with pytest.raises(ValueError, match="limit must be >= 0, got -1"):
        scopes.take(b"k", b"", -1)


def test_items_end_with_closed_error_when_the_store_closes(tmp_path: Path) -> None:
    backend = RocksDBBackend(tmp_path)
    store = backend.store("s")
    scopes = store.scopes(b"g")
    for user_key in (b"a", b"b", b"c"):
        scopes.put(b"k", b"", user_key, b"1")
    backend.flush()  # nothing buffered: items stream from the engine's iterator
    items = scopes.items(b"k", b"", bytes, bytes, lambda k, v: (k, v))
    assert next(items) == (b"a", b"1")
    backend.close()
    with pytest.raises(ClosedError):
        next(items)
    with pytest.raises(ClosedError):
        next(items)


def test_items_of_a_closed_store_raise_closed_error(store: Store) -> None:
    scopes = store.scopes(b"g")
    store.close()
    with pytest.raises(ClosedError):
        scopes.items(b"k", b"", bytes, bytes, lambda k, v: (k, v))
