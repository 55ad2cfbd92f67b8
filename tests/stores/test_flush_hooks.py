"""``Store.on_flush`` and ``Store.in_savepoint``: a caller that holds writes back until a flush
(the TTL index) is called before every flush that writes, never under a savepoint, and what it
writes then goes into the same batch as the writes before it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fssdk import ClosedError, ComplexKey, Store
from fssdk.runtime import MemoryBackend, RocksDBBackend
from fssdk.stores import MemoryStore, RocksDBStore
from fssdk.testing import lowered_thresholds
from tests.conftest import BackendFactory

HELD = ComplexKey(b"held", b"k", b"", b"")


def holder(store: Store, values: list[bytes]) -> Callable[[], None]:
    """A hook that writes ``values`` (as it found them) under :data:`HELD` and counts its calls
    under a simple key; it asserts that it never runs under a savepoint."""
    calls = [0]

    def write_pending() -> None:
        assert not store.in_savepoint
        calls[0] += 1
        store.put_state(b"calls", str(calls[0]).encode())
        for index, value in enumerate(values):
            store.put(ComplexKey(b"held", b"k", b"", b"%d" % index), value)
        values.clear()

    return write_pending


def calls(store: Store) -> int:
    found = store.get_state(b"calls")
    return 0 if found is None else int(found)


def test_a_store_without_a_flush_declines_and_never_calls() -> None:
    store = MemoryStore("m")
    called: list[int] = []
    assert store.on_flush(lambda: called.append(1)) is False
    store.put(HELD, b"v")
    with MemoryBackend() as backend:
        backend.flush()
    assert called == []


def test_a_hook_must_be_callable_and_the_store_open(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend:
        store = backend.store("s")
        with pytest.raises(TypeError, match="on_flush needs a callable, not int"):
            store.on_flush(3)  # type: ignore[arg-type]
        store.close()
        with pytest.raises(ClosedError):
            store.on_flush(lambda: None)


def test_every_flush_of_a_buffering_store_calls_the_hook_first(tmp_path: Path) -> None:
    pending: list[bytes] = []
    backend = RocksDBBackend(tmp_path / "db")
    with backend:
        store = backend.store("s")
        assert isinstance(store, RocksDBStore)
        hook = holder(store, pending)
        assert store.on_flush(hook) is True
        pending.append(b"1")
        store.flush()
        assert (calls(store), store.get(ComplexKey(b"held", b"k", b"", b"0"))) == (1, b"1")
        store.put(ComplexKey(b"g", b"k", b"", b"a"), b"v")
        store.flush()
        assert calls(store) == 1  # called once: the flush after it forgot it
        for flush in (backend.flush, lambda: backend.checkpoint(tmp_path / "copy")):
            store.on_flush(hook)
            store.put(ComplexKey(b"g", b"k", b"", b"a"), b"v")
            flush()
        assert calls(store) == 3
        store.on_flush(hook)
        pending.append(b"2")
        backend.close_stores()
    with RocksDBBackend(tmp_path / "db") as reopened:
        store = reopened.store("s")
        assert calls(store) == 4  # close_stores flushed (the store's close found no hook)
        assert store.get(ComplexKey(b"held", b"k", b"", b"0")) == b"2"
    with RocksDBBackend(tmp_path / "copy") as copy:
        assert calls(copy.store("s")) == 3


def test_a_hook_is_forgotten_once_called_and_one_that_raises_stays(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend:
        store = backend.store("s")
        assert isinstance(store, RocksDBStore)
        order: list[str] = []

        def failing() -> None:
            order.append("failing")
            if order.count("failing") == 1:
                raise RuntimeError("not now")

        store.on_flush(lambda: order.append("first"))
        store.on_flush(failing)
        store.on_flush(lambda: order.append("last"))
        store.put(ComplexKey(b"g", b"k", b"", b"a"), b"v")
        with pytest.raises(RuntimeError, match="not now"):
            store.flush()
        store.flush()  # the failed hook and those after it run again, the first does not
        store.flush()
        assert order == ["first", "failing", "failing", "last"]
        assert store._buffer._hooks == []


def test_the_hook_waits_for_the_release_of_a_savepoint(
    backend_factory: BackendFactory,
) -> None:
    pending: list[bytes] = []
    with backend_factory() as backend:
        store = backend.store("s")
        assert not store.in_savepoint
        flushes = store.on_flush(holder(store, pending))
        assert flushes is isinstance(backend, RocksDBBackend)
        backend.savepoint()
        assert store.in_savepoint
        assert backend.store("opened-under-it").in_savepoint
        pending.append(b"1")
        getattr(store, "flush", lambda: None)()  # held back until the release
        assert calls(store) == 0
        backend.rollback()
        assert not store.in_savepoint
        backend.savepoint()
        getattr(store, "flush", lambda: None)()
        backend.release()  # the flush it held back runs now, the hook first
        assert not store.in_savepoint
        assert calls(store) == (1 if flushes else 0)


def test_an_automatic_flush_calls_the_hook_and_its_writes_join_that_batch(
    tmp_path: Path,
) -> None:
    with lowered_thresholds(), RocksDBBackend(tmp_path) as backend:
        store = backend.store("s")
        assert isinstance(store, RocksDBStore)
        table = store._buffer.table
        batches: list[int] = []
        write = table.write

        def counted(fill: Callable[..., None]) -> None:
            batches.append(1)
            write(fill)

        table.write = counted  # type: ignore[method-assign]
        pending: list[bytes] = []
        store.on_flush(holder(store, pending))
        for index in range(7):
            pending.append(b"%d" % index)
            store.put(ComplexKey(b"g", b"k", b"", b"%d" % index), b"v")
        # The 8th write (AUTO_FLUSH_WRITES lowered to 8) flushes: the hook's 8 writes would
        # flush again, and wait for the flush running it, which writes all in one batch.
        assert batches == []
        store.put(ComplexKey(b"g", b"k", b"", b"7"), b"v")
        assert batches == [1]
        assert calls(store) == 1
        assert len(list(store.scan_complex(b"held", b"k", b""))) == 7
        assert store._buffer.writes == 0
