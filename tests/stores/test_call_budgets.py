"""Call budgets of the buffered store's per-record paths (counted with ``python_calls``, not
timed): the Store checks are written once in ``fssdk.Store`` and add no call here."""

from __future__ import annotations

from pathlib import Path

from fssdk import ComplexKey
from fssdk.runtime import RocksDBBackend
from tests.support import python_calls


def test_a_scope_get_or_put_of_a_flushed_scope_stays_within_its_budget(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend:
        scope = backend.store("s").scope(b"g", b"k", b"")
        scope.put(b"a", b"1")
        backend.flush()
        assert python_calls(lambda: scope.get(b"a")) == 2  # get, base_key; then Rdict.get
        assert python_calls(lambda: scope.put(b"a", b"2")) == 6  # + the scope's first write
        assert python_calls(lambda: scope.put(b"a", b"3")) == 4


def test_a_complex_key_get_or_put_stays_within_its_budget(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend:
        store = backend.store("s")
        key = ComplexKey(b"g", b"k", b"", b"a")
        store.put(key, b"1")
        backend.flush()
        assert python_calls(lambda: store.get(key)) == 7
        assert python_calls(lambda: store.put(key, b"2")) == 11
