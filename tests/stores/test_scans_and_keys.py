"""Scans and closing, reacquiring a closed store, ``Store.scan_keys`` and ``Store.scan_scopes``,
on every backend."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from fssdk import ClosedError, ComplexKey, ErrorCode, SDKError, Store
from fssdk.runtime import Backend, LocalContext, RocksDBBackend
from fssdk.stores import MemoryStore
from fssdk_advanced import MapState

#: The type of the ``backend_factory`` fixture (tests/conftest.py).
BackendFactory = Callable[[], Backend]


def loop_until(
    entries: Iterable[object], steps: int, then: Callable[[], None], seen: list[object]
) -> None:
    """Run a ``for`` loop over ``entries`` into ``seen``, calling ``then`` after ``steps``."""
    for entry in entries:
        seen.append(entry)
        if len(seen) == steps:
            then()


def fill(store: Store, count: int = 5) -> None:
    scope = store.scope(b"g", b"k", b"")
    for number in range(count):
        scope.put(b"%d" % number, b"v")


# -- a for loop over a scan ends with ClosedError ------------------------------------------------


@pytest.mark.parametrize("close", ["store", "backend"])
@pytest.mark.parametrize("flushed", [False, True])
def test_a_for_loop_over_a_scan_raises_once_the_store_closes(
    backend: Backend, close: str, flushed: bool
) -> None:
    store = backend.store("s")
    fill(store)
    if flushed:
        backend.flush()
    seen: list[object] = []
    scan = store.scan_complex(b"g", b"k", b"")
    closing = store if close == "store" else backend
    with pytest.raises(ClosedError) as raised:
        loop_until(scan, 2, closing.close, seen)
    assert raised.value.code is ErrorCode.RUNTIME_CLOSED
    assert seen == [(b"0", b"v"), (b"1", b"v")]


def test_a_loop_over_map_items_raises_once_the_backend_closes(backend: Backend) -> None:
    ctx = LocalContext(backend)
    scores = MapState.from_context_auto_codec(ctx, "scores", str, int)
    for number in range(4):
        scores.put(f"p{number}", number)
    for entries in (scores.all(), scores.items(), scores.keys()):
        with pytest.raises(ClosedError):
            loop_until(entries, 1, backend.close, [])


def test_a_fully_read_loop_does_not_raise_after_a_later_close(backend: Backend) -> None:
    store = backend.store("s")
    fill(store, 3)
    assert [key for key, _ in store.scan_complex(b"g", b"k", b"")] == [b"0", b"1", b"2"]
    keys = store.scan_keys(b"g")
    assert list(keys) == [b"k"]
    backend.close()
    assert list(keys) == []


def test_closing_releases_the_database_while_loop_objects_live(tmp_path: Path) -> None:
    backend = RocksDBBackend(tmp_path)
    store = backend.store("s")
    fill(store, 4)
    backend.flush()
    scan = store.scan_complex(b"g", b"k", b"")
    loop = iter(scan)
    assert next(loop) == (b"0", b"v")
    keys = store.scan_keys(b"g")
    assert next(keys) == b"k"
    scope = store.scope(b"g", b"k", b"")
    backend.close()
    with RocksDBBackend(tmp_path) as reopened:
        assert reopened.store("s").get(ComplexKey(b"g", b"k", b"", b"3")) == b"v"
    with pytest.raises(ClosedError):
        next(loop)
    with pytest.raises(ClosedError):
        next(keys)
    with pytest.raises(ClosedError):
        scope.get(b"0")
    del scan


# -- a store closed on its own is reacquired -----------------------------------------------------


def test_get_or_create_store_after_the_store_closed_gives_a_working_store(
    backend: Backend,
) -> None:
    ctx = LocalContext(backend)
    store = ctx.get_or_create_store("s")
    store.put_state(b"a", b"1")
    store.merge(ComplexKey(b"g", b"k", b"", b"l"), b"x")
    store.close()
    again = ctx.get_or_create_store("s")
    assert again is not store
    assert not again.closed
    assert again.get_state(b"a") == b"1"
    again.merge(ComplexKey(b"g", b"k", b"", b"l"), b"y")
    assert again.get(ComplexKey(b"g", b"k", b"", b"l")) == b"xy"
    assert ctx.get_or_create_store("s") is again
    backend.flush()


# -- scan_keys -----------------------------------------------------------------------------------


def test_scan_keys_lists_each_primary_key_once_in_order(backend: Backend) -> None:
    store = backend.store("s")
    for key in (b"b", b"a\x00", b"a", b"", b"c\xff"):
        for namespace in (b"", b"n"):
            for user_key in (b"1", b"2"):
                store.put(ComplexKey(b"g", key, namespace, user_key), b"v")
    store.put(ComplexKey(b"g2", b"z", b"", b""), b"v")
    store.put(ComplexKey(b"", b"y", b"", b""), b"v")
    backend.flush()
    store.put(ComplexKey(b"g", b"d", b"m", b""), b"v")
    store.merge(ComplexKey(b"g", b"e", b"", b""), b"v")
    expected = [b"", b"a", b"a\x00", b"b", b"c\xff", b"d", b"e"]
    assert list(store.scan_keys(b"g")) == expected
    assert list(store.scan_keys(b"g", namespace=b"n")) == [b"", b"a", b"a\x00", b"b", b"c\xff"]
    assert list(store.scan_keys(b"g", namespace=b"m")) == [b"d"]
    assert list(store.scan_keys(b"g2")) == [b"z"]
    assert list(store.scan_keys(b"")) == [b"y"]
    assert list(store.scan_keys(b"none")) == []


def test_scan_keys_sees_buffered_deletes_and_prefix_deletes(backend: Backend) -> None:
    store = backend.store("s")
    for key in (b"a", b"b", b"c", b"d"):
        store.put(ComplexKey(b"g", key, b"", b"1"), b"v")
        store.put(ComplexKey(b"g", key, b"n", b"1"), b"v")
    backend.flush()
    store.delete(ComplexKey(b"g", b"a", b"", b"1"))
    store.delete(ComplexKey(b"g", b"a", b"n", b"1"))
    store.scope(b"g", b"b", b"").delete_prefix()
    store.scope(b"g", b"c", b"").delete_prefix()
    store.scope(b"g", b"c", b"n").delete_prefix()
    store.scope(b"g", b"c", b"n").put(b"2", b"w")
    assert list(store.scan_keys(b"g")) == [b"b", b"c", b"d"]
    assert list(store.scan_keys(b"g", b"")) == [b"d"]
    assert list(store.scan_keys(b"g", b"n")) == [b"b", b"c", b"d"]
    backend.flush()
    assert list(store.scan_keys(b"g")) == [b"b", b"c", b"d"]


def test_scan_keys_yields_the_keys_as_of_its_creation(backend: Backend) -> None:
    store = backend.store("s")
    for key in (b"a", b"b", b"c"):
        store.put(ComplexKey(b"g", key, b"", b""), b"v")
    keys = store.scan_keys(b"g")
    assert next(keys) == b"a"
    store.delete(ComplexKey(b"g", b"b", b"", b""))
    store.put(ComplexKey(b"g", b"bb", b"", b""), b"v")
    backend.flush()
    assert list(keys) == [b"b", b"c"]


def test_scan_keys_checks_its_arguments(backend: Backend) -> None:
    store = backend.store("s")
    with pytest.raises(TypeError, match="key_group"):
        store.scan_keys("g")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="namespace"):
        store.scan_keys(b"g", "n")  # type: ignore[arg-type]


def test_a_store_without_key_listing_says_so() -> None:
    class Plain(MemoryStore):
        _scan_keys = Store._scan_keys

    with pytest.raises(SDKError, match="cannot list the keys of key group b'g'"):
        Plain("plain").scan_keys(b"g")


def test_scan_keys_survives_a_reopen(durable_backend_factory: BackendFactory) -> None:
    with durable_backend_factory() as backend:
        store = backend.store("s")
        for number in range(50):
            store.merge(ComplexKey(b"g", b"%02d" % number, b"", b"l"), b"x")
    with durable_backend_factory() as backend:
        assert list(backend.store("s").scan_keys(b"g")) == [b"%02d" % n for n in range(50)]


def test_scan_keys_ignores_writes_made_before_its_first_step(backend: Backend) -> None:
    store = backend.store("s")
    store.put(ComplexKey(b"g", b"a", b"", b""), b"v")
    backend.flush()
    keys = store.scan_keys(b"g")
    store.put(ComplexKey(b"g", b"b", b"", b""), b"v")
    store.delete(ComplexKey(b"g", b"a", b"", b""))
    backend.flush()
    assert list(keys) == [b"a"]


# -- scan_scopes ---------------------------------------------------------------------------------


def test_scan_scopes_lists_each_scope_once_in_order(backend: Backend) -> None:
    store = backend.store("s")
    for key in (b"b", b"a\x00", b"a", b""):
        for namespace in (b"n", b"", b"n\x00", b"\xff"):
            for user_key in (b"1", b"2\x00"):
                store.put(ComplexKey(b"g", key, namespace, user_key), b"v")
    store.put(ComplexKey(b"g2", b"z", b"", b""), b"v")
    store.put(ComplexKey(b"", b"y", b"", b""), b"v")
    backend.flush()
    store.put(ComplexKey(b"g", b"c", b"m", b""), b"v")
    store.merge(ComplexKey(b"g", b"a", b"m", b""), b"v")
    expected = sorted(
        [(k, ns) for k in (b"b", b"a\x00", b"a", b"") for ns in (b"n", b"", b"n\x00", b"\xff")]
        + [(b"c", b"m"), (b"a", b"m")]
    )
    assert list(store.scan_scopes(b"g")) == expected
    assert list(store.scan_scopes(b"g2")) == [(b"z", b"")]
    assert list(store.scan_scopes(b"")) == [(b"y", b"")]
    assert list(store.scan_scopes(b"none")) == []


def test_scan_scopes_sees_buffered_deletes_and_prefix_deletes(backend: Backend) -> None:
    store = backend.store("s")
    for key in (b"a", b"b"):
        for namespace in (b"", b"n", b"o"):
            store.put(ComplexKey(b"g", key, namespace, b"1"), b"v")
    backend.flush()
    store.delete(ComplexKey(b"g", b"a", b"", b"1"))
    store.scope(b"g", b"a", b"n").delete_prefix()
    store.scope(b"g", b"b", b"o").delete_prefix()
    store.scope(b"g", b"b", b"o").put(b"2", b"w")
    expected = [(b"a", b"o"), (b"b", b""), (b"b", b"n"), (b"b", b"o")]
    assert list(store.scan_scopes(b"g")) == expected
    backend.flush()
    assert list(store.scan_scopes(b"g")) == expected


def test_scan_scopes_yields_the_scopes_as_of_its_creation(backend: Backend) -> None:
    store = backend.store("s")
    for namespace in (b"a", b"b", b"c"):
        store.put(ComplexKey(b"g", b"k", namespace, b""), b"v")
    scopes = store.scan_scopes(b"g")
    assert next(scopes) == (b"k", b"a")
    store.delete(ComplexKey(b"g", b"k", b"b", b""))
    store.put(ComplexKey(b"g", b"k", b"bb", b""), b"v")
    backend.flush()
    assert list(scopes) == [(b"k", b"b"), (b"k", b"c")]


def test_scan_scopes_raises_once_the_store_closes(backend: Backend) -> None:
    store = backend.store("s")
    for namespace in (b"a", b"b", b"c"):
        store.put(ComplexKey(b"g", b"k", namespace, b""), b"v")
    seen: list[object] = []
    with pytest.raises(ClosedError):
        loop_until(store.scan_scopes(b"g"), 1, store.close, seen)
    assert seen == [(b"k", b"a")]


def test_scan_scopes_checks_its_arguments_and_a_store_without_it_says_so(
    backend: Backend,
) -> None:
    with pytest.raises(TypeError, match="key_group"):
        backend.store("s").scan_scopes("g")  # type: ignore[arg-type]

    class Plain(MemoryStore):
        _scan_scopes = Store._scan_scopes

    with pytest.raises(SDKError, match="cannot list the scopes of key group b'g'"):
        Plain("plain").scan_scopes(b"g")
