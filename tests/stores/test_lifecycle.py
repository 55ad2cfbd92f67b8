"""Closing ends open scans, on every backend, and frees the database for a reopen."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fssdk import ClosedError, ErrorCode
from fssdk.runtime import Backend, RocksDBBackend

BackendFactory = Callable[[], Backend]


def test_closing_the_backend_ends_open_scans(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    scope = backend.store("s").scope(b"g", b"k", b"")
    for i in range(5):
        scope.put(b"%d" % i, b"v")
    scan = scope.scan()
    assert scan.next() == (b"0", b"v")
    backend.close()
    with pytest.raises(ClosedError) as caught:
        scan.next()
    assert caught.value.code is ErrorCode.RUNTIME_CLOSED
    with pytest.raises(ClosedError):
        scan.has_next()


def test_a_scan_left_open_does_not_keep_the_database_locked(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory()
    scope = backend.store("s").scope(b"g", b"k", b"")
    scope.put(b"a", b"1")
    unfinished = scope.scan()
    assert unfinished.has_next()
    backend.close()
    with backend_factory() as reopened:
        listed = reopened.store("s").list_complex(b"g", b"k", b"", b"", b"")
        assert listed == ([b"a"] if isinstance(reopened, RocksDBBackend) else [])
