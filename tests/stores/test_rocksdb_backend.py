"""RocksDBBackend and RocksDBTable where the database refuses: locked, not a database, not
written by fssdk, a checkpoint that cannot be written, a read-only table."""

from __future__ import annotations

from pathlib import Path

import pytest
from rocksdict import AccessType, Options, Rdict

from fssdk import ClosedError, ComplexKey, StoreIOError
from fssdk.runtime import RocksDBBackend
from fssdk.stores import RocksDBStore
from fssdk.stores import _rocksdb as rocksdb_module
from fssdk.stores._rocksdb import RocksDBTable


def test_a_second_backend_on_an_open_directory_is_refused_as_locked(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path / "db"), pytest.raises(StoreIOError, match="is locked"):
        RocksDBBackend(tmp_path / "db")


def test_a_file_is_refused_as_a_state_directory_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a database")
    with pytest.raises(StoreIOError, match=r"cannot open state directory .*file"):
        RocksDBBackend(tmp_path / "file")


def test_a_database_with_stores_but_no_format_version_is_refused(tmp_path: Path) -> None:
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    db = Rdict(str(tmp_path / "db"), options)
    db.create_column_family("store:orders", Options(raw_mode=True))
    db.close()
    with pytest.raises(StoreIOError, match="not written by fssdk"):
        RocksDBBackend(tmp_path / "db")


def test_a_checkpoint_that_cannot_be_written_is_a_store_io_error(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    backend = RocksDBBackend(tmp_path / "db")
    with backend:
        backend.store("s").put_state(b"a", b"1")
        with pytest.raises(StoreIOError, match=r"checkpoint to .*taken.* failed"):
            backend.checkpoint(tmp_path / "taken")


def test_a_read_only_table_reads_and_refuses_writes(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path / "db") as backend:
        backend.store("s").put(ComplexKey(b"g", b"k", b"", b"u"), b"1")
    db = Rdict(
        str(tmp_path / "db"),
        Options(raw_mode=True),
        access_type=AccessType.read_only(),
        column_families={"store:s": Options(raw_mode=True)},
    )
    try:
        table = RocksDBTable.reading("s", db.get_column_family("store:s"))
        assert [value for _, value in table.run(b"", b"\xff")] == [b"1"]
        with pytest.raises(ClosedError, match="read-only"):
            table.write(lambda writer: writer.put(b"x", b"y"))
        table.close()
        with pytest.raises(ClosedError, match="closed table"):
            table.run(b"", b"\xff")
    finally:
        db.close()


@pytest.mark.parametrize("skippable", [1, 4, 64])
def test_a_run_past_many_deleted_keys_reads_through_a_bounded_iterator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skippable: int
) -> None:
    """Reads of ranges followed by tombstones only (drained queues) stop at the range's end,
    on both sides of SKIPPABLE_KEYS, and give the same answers."""
    monkeypatch.setattr(rocksdb_module, "SKIPPABLE_KEYS", skippable)
    with RocksDBBackend(tmp_path) as backend:
        store = backend.store("s")
        assert isinstance(store, RocksDBStore)
        scopes = store.scopes(b"g")
        for key in range(40):
            for user_key in range(3):
                scopes.put(b"k%02d" % key, b"", b"%d" % user_key, b"v")
        backend.flush()
        for key in range(40):  # point deletes, as queue polls make
            for user_key in range(3) if key % 10 else range(1):
                scopes.delete(b"k%02d" % key, b"", b"%d" % user_key)
        backend.flush()
        table = store._buffer.table
        assert isinstance(table, RocksDBTable)
        bounded: list[bytes] = []
        run = table._bounded_run

        def counted(low: bytes, high: bytes, limit: int | None) -> list[tuple[bytes, bytes]]:
            bounded.append(low)
            return run(low, high, limit)

        table._bounded_run = counted  # type: ignore[method-assign]
        for key in range(40):
            expected = [(b"1", b"v"), (b"2", b"v")] if key % 10 == 0 else []
            assert scopes.take(b"k%02d" % key, b"", 4) == expected, key
            assert scopes.first(b"k%02d" % key, b"") == (expected[0] if expected else None)
        # The deleted scopes before a live one (or the end) hold 3 tombstones each: a run
        # from one skips up to 27 before it finds its end.
        assert bool(bounded) is (skippable < 27)
