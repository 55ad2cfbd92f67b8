"""``Store.scopes(key_group)``: the per-record path of keyed state, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fssdk import ClosedError, Store, StoreScopes
from fssdk.runtime import RocksDBBackend
from fssdk.stores import MemoryStore
from fssdk.stores._buffered import BufferedStore


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


def flushed_scope(store: Store, keys: bytes) -> StoreScopes:
    """Scopes of key group ``g`` whose scope ``(k, "")`` holds one entry per byte of ``keys``,
    written and flushed (a memory store has no buffer: it is the reference)."""
    scopes = store.scopes(b"g")
    for key in keys:
        scopes.put(b"k", b"", bytes([key]), bytes([key]))
    if isinstance(store, BufferedStore):
        store.flush()
    return scopes


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 9, 12])
def test_take_merges_buffered_deletes_and_puts_with_the_table(store: Store, limit: int) -> None:
    scopes = flushed_scope(store, b"bdfhjlnp")
    scopes.delete(b"k", b"", b"b")  # hides the table's first entry
    scopes.put(b"k", b"", b"c", b"C")  # between table entries
    scopes.put(b"k", b"", b"d", b"D")  # over a table entry
    scopes.put(b"k", b"", b"z", b"Z")  # past every table entry a bounded read sees
    scopes.delete(b"k", b"", b"y")  # a delete of nothing
    want = [(b"c", b"C"), (b"d", b"D"), *((bytes([k]),) * 2 for k in b"fhjlnp"), (b"z", b"Z")]
    assert scopes.take(b"k", b"", limit) == want[:limit]
    assert scopes.take(b"k", b"", limit, b"e") == want[2:][:limit]


def test_take_after_a_buffered_prefix_delete_or_merge_sees_them(store: Store) -> None:
    scopes = flushed_scope(store, b"bd")
    scopes.merge(b"k", b"", b"d", b"+")
    assert scopes.take(b"k", b"", 2) == [(b"b", b"b"), (b"d", b"d+")]
    scopes.delete_prefix(b"k", b"")
    scopes.put(b"k", b"", b"e", b"E")
    assert scopes.take(b"k", b"", 2) == [(b"e", b"E")]


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
