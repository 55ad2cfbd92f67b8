"""Store.delete_prefix at sizes on both sides of every write-buffer threshold, on every backend.

A scope whose buffered entries pass ``ORDERED_AT`` is kept sorted; a prefix delete used to drop
its entries from the container the scope held before that switch, so past 64 buffered entries a
``delete_prefix`` did nothing (on RocksDB, also after a flush and a reopen). Each test runs
under both threshold settings (the ``thresholds`` fixture) and reads the sizes from the
thresholds in force, so it covers 0 and 1 entries, each threshold minus one, at, plus one, and
well past it. After each step the scope is read every way a store offers: scan both ways,
``first``, ``list_complex`` and point gets, of the survivors and of the deleted keys.
"""

from __future__ import annotations

from collections.abc import Callable

import fssdk.stores._buffer as write_buffer
from fssdk import ComplexKey, Store
from fssdk.runtime import Backend
from tests.support import sizes_around

BackendFactory = Callable[[], Backend]
Scope = tuple[bytes, bytes, bytes]


def scopes_by_size() -> list[tuple[int, Scope]]:
    """A size on either side of each write-buffer threshold, and a scope of its own for it."""
    sizes = sizes_around(write_buffer.ORDERED_AT, write_buffer.SMALL_RANGE)
    return [(size, (b"g", b"%d" % size, b"")) for size in sizes]


def fill(
    store: Store, scope: Scope, user_keys: list[bytes], tag: bytes = b"v"
) -> dict[bytes, bytes]:
    """Put ``tag + user key`` at each user key of ``scope``; the model of what was written."""
    written = {user_key: tag + user_key for user_key in user_keys}
    for user_key, value in written.items():
        store.put(ComplexKey(*scope, user_key), value)
    return written


def numbered(prefix: bytes, count: int) -> list[bytes]:
    return [prefix + b"%05d" % number for number in range(count)]


def check(store: Store, scope: Scope, live: dict[bytes, bytes], gone: list[bytes]) -> None:
    """``scope`` holds exactly ``live``: every read agrees, and each key of ``gone`` is missing."""
    want = sorted(live.items())
    assert list(store.scan_complex(*scope)) == want
    assert list(store.scan_complex(*scope, reverse=True)) == want[::-1]
    assert store.list_complex(*scope, b"", b"") == [user_key for user_key, _ in want]
    assert store.scope(*scope).first() == (want[0] if want else None)
    for user_key, value in want:
        assert store.get(ComplexKey(*scope, user_key)) == value
    for user_key in gone:
        assert store.get(ComplexKey(*scope, user_key)) is None


def check_around_a_flush(
    backend: Backend, scope: Scope, live: dict[bytes, bytes], gone: list[bytes]
) -> None:
    """:func:`check` with the writes buffered, then again once ``backend`` has flushed them."""
    store = backend.store("s")
    check(store, scope, live, gone)
    backend.flush()
    check(store, scope, live, gone)


def test_delete_prefix_of_a_user_key_prefix_removes_the_ten_keys_under_it(
    thresholds: str, backend_factory: BackendFactory
) -> None:
    """The report's example: 100 buffered keys 000..099, then ``delete_prefix(user_key=b"05")``."""
    with backend_factory() as backend:
        store = backend.store("s")
        scope = (b"g", b"k", b"")
        written = fill(store, scope, [b"%03d" % number for number in range(100)])
        store.delete_prefix(ComplexKey(*scope, b"05"))
        gone = [b"%03d" % number for number in range(50, 60)]
        live = {key: value for key, value in written.items() if key not in gone}
        check_around_a_flush(backend, scope, live, gone)


def test_delete_prefix_empties_a_scope_of_buffered_entries_at_every_size(
    thresholds: str, backend_factory: BackendFactory
) -> None:
    with backend_factory() as backend:
        store = backend.store("s")
        for size, scope in scopes_by_size():
            neighbour = (b"g", b"%d\x00" % size, b"")
            kept = fill(store, neighbour, numbered(b"", 3))
            gone = list(fill(store, scope, numbered(b"", size)))
            store.scope(*scope).delete_prefix()
            check(store, neighbour, kept, [])
            check_around_a_flush(backend, scope, {}, gone)
            check(store, neighbour, kept, [])


def test_delete_prefix_of_a_user_key_prefix_keeps_the_rest_of_the_scope_at_every_size(
    thresholds: str, backend_factory: BackendFactory
) -> None:
    with backend_factory() as backend:
        store = backend.store("s")
        for size, scope in scopes_by_size():
            gone = list(fill(store, scope, numbered(b"a", size)))
            kept = fill(store, scope, [b"", b"\x00", *numbered(b"b", size)])
            store.delete_prefix(ComplexKey(*scope, b"a"))
            check_around_a_flush(backend, scope, kept, gone)


def test_delete_prefix_removes_flushed_and_buffered_entries_alike_at_every_size(
    thresholds: str, backend_factory: BackendFactory
) -> None:
    with backend_factory() as backend:
        store = backend.store("s")
        for size, scope in scopes_by_size():
            flushed = list(fill(store, scope, numbered(b"f", size)))
            backend.flush()
            buffered = list(fill(store, scope, numbered(b"b", size)))
            store.scope(*scope).delete_prefix()
            check_around_a_flush(backend, scope, {}, flushed + buffered)


def test_entries_written_after_a_delete_prefix_survive_it_at_every_size(
    thresholds: str, backend_factory: BackendFactory
) -> None:
    with backend_factory() as backend:
        store = backend.store("s")
        for size, scope in scopes_by_size():
            user_keys = numbered(b"", size)
            fill(store, scope, user_keys)
            store.scope(*scope).delete_prefix()
            again = fill(store, scope, user_keys[::2], tag=b"again")
            gone = user_keys[1::2]
            check_around_a_flush(backend, scope, again, gone)


def test_clearing_a_scope_refilled_round_after_round_leaves_it_empty_at_every_size(
    thresholds: str, backend_factory: BackendFactory
) -> None:
    """From the second round the range was range-deleted recently: its deletes become point
    deletes when the table holds at most ``SMALL_RANGE`` entries there, a range delete above."""
    with backend_factory() as backend:
        store = backend.store("s")
        for size, scope in scopes_by_size():
            for round_ in range(3):
                user_keys = list(fill(store, scope, numbered(b"%d" % round_, size)))
                if round_ % 2:
                    backend.flush()
                store.scope(*scope).delete_prefix()
                backend.flush()
                check(store, scope, {}, user_keys)


def test_delete_prefix_empties_a_scope_filled_across_automatic_flushes(
    thresholds: str, backend_factory: BackendFactory
) -> None:
    with backend_factory() as backend:
        store = backend.store("s")
        flush_at = write_buffer.AUTO_FLUSH_WRITES
        for size in sizes_around(flush_at, most=flush_at + 1):
            scope = (b"g", b"%d" % size, b"")
            gone = list(fill(store, scope, numbered(b"a", size)))
            kept = fill(store, scope, [b"b"])
            store.delete_prefix(ComplexKey(*scope, b"a"))
            check_around_a_flush(backend, scope, kept, gone[:: max(1, size // 50)])


def test_a_delete_prefix_holds_after_a_reopen_at_every_size(
    thresholds: str, durable_backend_factory: BackendFactory
) -> None:
    expected: dict[Scope, tuple[dict[bytes, bytes], list[bytes]]] = {}
    with durable_backend_factory() as backend:
        store = backend.store("s")
        for size, scope in scopes_by_size():
            gone = list(fill(store, scope, numbered(b"a", size)))
            kept = fill(store, scope, numbered(b"b", 2))
            store.delete_prefix(ComplexKey(*scope, b"a"))
            expected[scope] = kept, gone
    with durable_backend_factory() as backend:
        store = backend.store("s")
        for scope, (kept, gone) in expected.items():
            check(store, scope, kept, gone)
