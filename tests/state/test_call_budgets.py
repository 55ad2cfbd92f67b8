"""Call budgets of keyed state's per-record paths on RocksDB (counted with ``python_calls``, not
timed): a handle per record, then one read or write."""

from __future__ import annotations

from pathlib import Path

from fssdk.runtime import LocalContext, RocksDBBackend
from fssdk_advanced import KeyedMapStateFactory, KeyedValueStateFactory
from tests.support import python_calls


def test_keyed_value_and_map_reads_and_writes_stay_within_their_budgets(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend, LocalContext(backend) as ctx:
        values = KeyedValueStateFactory.from_context_auto_codec(ctx, "v", b"g", int)
        maps = KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", int, int)
        values.new_keyed_value(b"k").update(1)
        maps.new_keyed_map(b"k", "cart").put(1, 2)
        backend.flush()
        assert python_calls(lambda: values.new_keyed_value(b"k").value()) == 10
        assert python_calls(lambda: maps.new_keyed_map(b"k", "cart").get(1)) == 11
        backend.flush()
        assert python_calls(lambda: values.new_keyed_value(b"k").update(2)) == 13
        backend.flush()
        assert python_calls(lambda: maps.new_keyed_map(b"k", "cart").put(1, 3)) == 14
        backend.flush()
        assert python_calls(lambda: maps.new_keyed_map(b"k", b"cart").get(1)) == 11
