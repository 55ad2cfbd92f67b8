"""Savepoints: a backend rolls back exactly the writes made since its savepoint, on every store
and every kind of write, with the thresholds lowered so that the automatic flush and the sorted
index of a scope's keys are crossed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fssdk import ComplexKey, StoreInternalError
from fssdk.runtime import Backend, MemoryBackend, RocksDBBackend
from fssdk.testing import lowered_thresholds
from tests.conftest import BackendFactory

SIMPLE = [b"", b"a", b"ab", b"b"]
SCOPES = [(b"g", b"k", b""), (b"g", b"kl", b""), (b"h", b"k", b"n")]
USER_KEYS = [b"", b"u", b"uv", b"v"]
STORES = ["s", "t"]

Op = tuple[str, str, int, int, bytes]
ops = st.lists(
    st.tuples(
        st.sampled_from(["put_state", "delete_state", "put", "delete", "merge", "delete_prefix"]),
        st.sampled_from(STORES),
        st.integers(0, len(SCOPES) - 1),
        st.integers(0, 3),
        st.binary(max_size=3),
    ),
    max_size=25,
)


def apply(backend: Backend, op: Op) -> None:
    kind, name, scope, index, value = op
    store = backend.store(name)
    if kind in ("put_state", "delete_state"):
        key = SIMPLE[index]
        store.put_state(key, value) if kind == "put_state" else store.delete_state(key)
        return
    complex_key = ComplexKey(*SCOPES[scope], USER_KEYS[index])
    if kind == "put":
        store.put(complex_key, value)
    elif kind == "delete":
        store.delete(complex_key)
    elif kind == "merge":
        store.merge(complex_key, value)
    else:
        store.delete_prefix(complex_key)


def contents(backend: Backend) -> dict[str, object]:
    """Everything the stores hold, read through every kind of read."""
    seen: dict[str, object] = {}
    for name in STORES:
        store = backend.store(name)
        seen[name] = (
            [(k, store.get_state(k)) for k in SIMPLE],
            store.list_states(b"", b""),
            [list(store.scan_complex(*scope)) for scope in SCOPES],
            [store.get(ComplexKey(*scope, uk)) for scope in SCOPES for uk in USER_KEYS],
        )
    return seen


@pytest.fixture
def lowered_flush() -> Iterator[None]:
    """Every threshold at its smallest: a buffer flushes on its own every few writes (savepoints
    must hold that flush back) and sorts a scope's keys once it holds more than one."""
    with lowered_thresholds():
        yield


def check_rollback(open_backend: Callable[[], Backend], before: list[Op], under: list[Op]) -> None:
    with open_backend() as reference:
        for op in before:
            apply(reference, op)
        expected = contents(reference)
    with open_backend() as backend:
        for op in before:
            apply(backend, op)
        backend.savepoint()
        for op in under:
            apply(backend, op)
        backend.rollback()
        assert contents(backend) == expected
        for name in STORES:
            getattr(backend.store(name), "_check", lambda: None)()
        for op in under:  # the backend goes on as if the rolled-back writes never happened
            apply(backend, op)
        backend.savepoint()
        backend.release()
        after = contents(backend)
    with open_backend() as reference:
        for op in [*before, *under]:
            apply(reference, op)
        assert after == contents(reference)


def check_rocksdb_rollback(
    tmp_path_factory: pytest.TempPathFactory, before: list[Op], under: list[Op]
) -> None:
    """:func:`check_rollback` on RocksDB backends, in a new directory."""
    path = tmp_path_factory.mktemp("db")
    databases = iter(range(3))
    check_rollback(lambda: RocksDBBackend(path / str(next(databases))), before, under)


@pytest.mark.usefixtures("lowered_flush")
@settings(max_examples=150, deadline=None)
@given(before=ops, under=ops)
def test_memory_rollback_restores_exactly_what_was_there(before: list[Op], under: list[Op]) -> None:
    check_rollback(MemoryBackend, before, under)


@pytest.mark.usefixtures("lowered_flush")
@settings(max_examples=60, deadline=None)
@given(before=ops, under=ops)
def test_rocksdb_rollback_restores_exactly_what_was_there(
    tmp_path_factory: pytest.TempPathFactory, before: list[Op], under: list[Op]
) -> None:
    check_rocksdb_rollback(tmp_path_factory, before, under)


def test_a_store_flush_waits_for_the_release_and_the_backends_refuses(
    backend_factory: BackendFactory,
) -> None:
    with backend_factory() as backend:
        backend.savepoint()
        store = backend.store("opened-under-the-savepoint")
        store.put_state(b"k", b"v")
        flush = getattr(store, "flush", None)
        if flush is not None:
            flush()  # held back: a flushed write could not be rolled back
        if isinstance(backend, RocksDBBackend):
            with pytest.raises(StoreInternalError, match="flush under a savepoint"):
                backend.flush()
        backend.rollback()
        assert store.get_state(b"k") is None
        backend.savepoint()
        store.put_state(b"k", b"w")
        backend.release()
        backend.flush()
    with backend_factory() as reopened:
        if isinstance(reopened, RocksDBBackend):
            assert reopened.store("opened-under-the-savepoint").get_state(b"k") == b"w"


def test_closing_under_a_savepoint_keeps_nothing_of_it(
    durable_backend_factory: BackendFactory,
) -> None:
    with durable_backend_factory() as backend:
        backend.store("s").put_state(b"kept", b"1")
        backend.savepoint()
        backend.store("s").put_state(b"dropped", b"2")
    with durable_backend_factory() as backend:
        store = backend.store("s")
        assert (store.get_state(b"kept"), store.get_state(b"dropped")) == (b"1", None)


def test_close_stores_gives_new_store_objects_over_the_same_data(
    backend_factory: BackendFactory,
) -> None:
    with backend_factory() as backend:
        old = backend.store("s")
        old.put(ComplexKey(b"g", b"k", b"", b"u"), b"1")
        backend.close_stores()
        new = backend.store("s")
        assert new is not old
        assert old.closed
        assert new.get(ComplexKey(b"g", b"k", b"", b"u")) == b"1"


def test_on_rollback_is_called_after_a_rollback_that_undid_writes(
    backend_factory: BackendFactory,
) -> None:
    with backend_factory() as backend:
        store = backend.store("s")
        calls: list[int] = []
        store.on_rollback(lambda: calls.append(1))
        with pytest.raises(TypeError, match="on_rollback needs a callable, not int"):
            store.on_rollback(3)  # type: ignore[arg-type]
        backend.savepoint()
        backend.rollback()  # nothing undone: nothing to forget
        backend.savepoint()
        store.put(ComplexKey(b"g", b"k", b"", b"a"), b"v")
        backend.release()
        assert calls == []
        backend.savepoint()
        store.put(ComplexKey(b"g", b"k", b"", b"a"), b"w")
        backend.rollback()
        assert calls == [1]
        assert store.get(ComplexKey(b"g", b"k", b"", b"a")) == b"v"
