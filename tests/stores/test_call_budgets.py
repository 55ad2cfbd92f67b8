"""Call budgets of the buffered store's per-record paths (counted with ``python_frames``, not
timed): the Store checks are written once in ``fssdk.Store`` and add no call here, and a
``StoreScope`` is its key group's ``StoreScopes`` with the key and namespace filled in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fssdk import ComplexKey
from fssdk.runtime import RocksDBBackend
from tests.support import python_frames

#: A ``compute`` change with no Python frame, for entries that exist.
APPEND: Callable[[bytes | None, bytes], bytes | None] = bytes.__add__  # type: ignore[assignment]


def test_the_scopes_of_a_key_group_read_and_write_within_their_budgets(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend:
        scopes = backend.store("s").scopes(b"g")
        scopes.put(b"k", b"", b"a", b"1")
        backend.flush()
        # get, locate; then Rdict.get
        assert len(python_frames(lambda: scopes.get(b"k", b"", b"a"))) == 2
        # put, locate, the buffer's put and the scope's first pending writes
        assert len(python_frames(lambda: scopes.put(b"k", b"", b"a", b"2"))) == 4
        assert len(python_frames(lambda: scopes.put(b"k", b"", b"a", b"3"))) == 3
        # compute of a buffered entry: locate once, the buffer's get and put (the change is C)
        assert len(python_frames(lambda: scopes.compute(b"k", b"", b"a", APPEND, b"4"))) == 4
        backend.flush()
        # of a flushed one: locate, Rdict.get, the buffer's put, the scope's first pending writes
        assert len(python_frames(lambda: scopes.compute(b"k", b"", b"a", APPEND, b"5"))) == 4
        assert scopes.get(b"k", b"", b"a") == b"345"
        # take, the scope range, then one bounded read of the table and the user keys
        assert len(python_frames(lambda: scopes.take(b"other", b"", 4))) == 4
        # first of a scope with nothing buffered: the scope range, one bounded read of the table
        backend.flush()
        assert len(python_frames(lambda: scopes.first(b"k", b""))) == 3
        assert scopes.first(b"k", b"") == (b"a", b"345")
        # pop_first of it: the same read, then the buffer's put of a delete at the key it read
        # and the scope's first pending writes (``read`` is C here)
        assert len(python_frames(lambda: scopes.pop_first(b"k", b"", len))) == 5
        assert scopes.first(b"k", b"") is None


def test_a_scope_get_or_put_of_a_flushed_scope_stays_within_its_budget(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend:
        scope = backend.store("s").scope(b"g", b"k", b"")
        scope.put(b"a", b"1")
        backend.flush()
        assert len(python_frames(lambda: scope.get(b"a"))) == 3
        assert len(python_frames(lambda: scope.put(b"a", b"2"))) == 5
        assert len(python_frames(lambda: scope.put(b"a", b"3"))) == 4


def test_a_complex_key_get_or_put_stays_within_its_budget(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend:
        store = backend.store("s")
        key = ComplexKey(b"g", b"k", b"", b"a")
        store.put(key, b"1")
        backend.flush()
        assert len(python_frames(lambda: store.get(key))) == 7
        assert len(python_frames(lambda: store.put(key, b"2"))) == 9


def test_typed_scans_of_a_flushed_scope_make_no_call_per_entry(tmp_path: Path) -> None:
    """``StoreScopes.items`` with C-level decoders: a fixed setup (the scope range, the engine's
    iterator, tracking it), then 3 calls per chunk (its read and one comprehension), the
    chunks 16, 32 and 64 entries long (production thresholds), nothing per entry."""
    with RocksDBBackend(tmp_path) as backend:
        scopes = backend.store("s").scopes(b"g")
        for index in range(100):
            scopes.put(b"large", b"", b"%03d" % index, b"1")
        for index in range(4):
            scopes.put(b"small", b"", b"%03d" % index, b"1")
        backend.flush()

        def pair(user_key: bytes, value: bytes) -> tuple[bytes, bytes]:
            return user_key, value

        def scan(key: bytes) -> int:
            return len(python_frames(lambda: list(scopes.items(key, b"", bytes, bytes, pair))))

        assert (scan(b"small"), scan(b"large")) == (13, 19)
