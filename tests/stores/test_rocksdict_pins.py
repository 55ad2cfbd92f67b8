"""Pins the rocksdict behaviours RocksDBStore relies on, so a new rocksdict version that changes
one of them fails here first, with a name that says which."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rocksdict import Options, Rdict, ReadOptions

from fssdk.runtime import RocksDBBackend


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Rdict]:
    database = Rdict(str(tmp_path / "db"), Options(raw_mode=True))
    for i in range(2_000):
        database[b"k%05d" % i] = b"v" * 64
    yield database
    database.close()


def test_items_iterator_is_a_snapshot(db: Rdict) -> None:
    items = db.items(from_key=b"k01990")
    db[b"k01995x"] = b"new"
    assert [key for key, _ in items] == [b"k%05d" % i for i in range(1990, 2000)]


def test_upper_bound_applies_to_backward_iteration(db: Rdict) -> None:
    options = ReadOptions()
    options.set_iterate_upper_bound(b"k00003")
    keys = [key for key, _ in db.items(backwards=True, from_key=b"k00003", read_opt=options)]
    assert keys == [b"k00002", b"k00001", b"k00000"]


def test_store_scan_outlives_the_call_that_created_it(tmp_path: Path) -> None:
    """rocksdict's iterator points into its ReadOptions' bound: the store must keep it alive.

    When it did not, a scan stopped after one entry or ran past its scope into the next one.
    """
    with RocksDBBackend(tmp_path / "store") as backend:
        store = backend.store("s")
        small, large, after = (store.scope(b"g", key, b"") for key in (b"a", b"b", b"c"))
        for i in range(5):
            small.put(b"%05d" % i, b"v")
        for i in range(100):
            large.put(b"%05d" % i, b"v" * 64)
            after.put(b"%05d" % i, b"w")
        backend.flush()
        assert len(list(small.scan())) == 5
        assert len(list(large.scan())) == 100
        assert len(list(large.scan(reverse=True))) == 100


def test_a_locked_directory_is_reported(tmp_path: Path) -> None:
    first = Rdict(str(tmp_path / "db"), Options(raw_mode=True))
    try:
        with pytest.raises(Exception, match=r"(?i)lock"):
            Rdict(str(tmp_path / "db"), Options(raw_mode=True))
    finally:
        first.close()
