"""``Store.scopes(key_group)``: the per-record path of keyed state, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fssdk import ClosedError, Store, StoreScopes
from fssdk.runtime import RocksDBBackend
from fssdk.stores import MemoryStore, _buffered
from fssdk.stores._buffered import BufferedStore


@pytest.fixture(params=["memory", "rocksdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore("s")
        return
    with RocksDBBackend(tmp_path) as backend:
        yield backend.store("s")


def test_a_scope_is_its_key_groups_scopes_with_key_and_namespace(store: Store) -> None:
    scopes = store.scopes(b"g")
    assert isinstance(scopes, StoreScopes)
    scopes.put(b"k", b"n", b"a", b"1")
    scope = scopes(b"k", b"n")
    assert scope.get(b"a") == b"1"
    assert store.scope(b"g", b"k", b"n").get(b"a") == b"1"
    assert scopes.describe(b"k", b"n", b"a") == "store 's' scope (b'g', b'k', b'n') user_key b'a'"


def test_take_refuses_a_negative_limit_and_takes_nothing_for_zero(store: Store) -> None:
    scopes = store.scopes(b"g")
    scopes.put(b"k", b"", b"a", b"1")
    assert scopes.take(b"k", b"", 0) == []
    with pytest.raises(ValueError, match="limit must be >= 0, got -1"):
        scopes.take(b"k", b"", -1)


def flushed_scope(store: Store, keys: bytes) -> StoreScopes:
    """Scopes of key group ``g`` whose scope ``(k, "")`` holds one entry per byte of ``keys``,
    written and flushed (a memory store has no buffer: it is the reference)."""
    scopes = store.scopes(b"g")
    for key in keys:
        scopes.put(b"k", b"", bytes([key]), bytes([key]))
    if isinstance(store, BufferedStore):
        store.flush()
    return scopes


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 9, 12])
def test_take_merges_buffered_deletes_and_puts_with_the_table(store: Store, limit: int) -> None:
    scopes = flushed_scope(store, b"bdfhjlnp")
    scopes.delete(b"k", b"", b"b")  # hides the table's first entry
    scopes.put(b"k", b"", b"c", b"C")  # between table entries
    scopes.put(b"k", b"", b"d", b"D")  # over a table entry
    scopes.put(b"k", b"", b"z", b"Z")  # past every table entry a bounded read sees
    scopes.delete(b"k", b"", b"y")  # a delete of nothing
    want = [(b"c", b"C"), (b"d", b"D"), *((bytes([k]),) * 2 for k in b"fhjlnp"), (b"z", b"Z")]
    assert scopes.take(b"k", b"", limit) == want[:limit]
    assert scopes.take(b"k", b"", limit, b"e") == want[2:][:limit]


def test_take_after_a_buffered_prefix_delete_or_merge_sees_them(store: Store) -> None:
    scopes = flushed_scope(store, b"bd")
    scopes.merge(b"k", b"", b"d", b"+")
    assert scopes.take(b"k", b"", 2) == [(b"b", b"b"), (b"d", b"d+")]
    scopes.delete_prefix(b"k", b"")
    scopes.put(b"k", b"", b"e", b"E")
    assert scopes.take(b"k", b"", 2) == [(b"e", b"E")]


def test_items_end_with_closed_error_when_the_store_closes(tmp_path: Path) -> None:
    backend = RocksDBBackend(tmp_path)
    store = backend.store("s")
    scopes = store.scopes(b"g")
    for user_key in (b"a", b"b", b"c"):
        scopes.put(b"k", b"", user_key, b"1")
    backend.flush()  # nothing buffered: items stream from the engine's iterator
    items = scopes.items(b"k", b"", bytes, bytes, lambda k, v: (k, v))
    assert next(items) == (b"a", b"1")
    backend.close()
    with pytest.raises(ClosedError):
        next(items)
    with pytest.raises(ClosedError):
        next(items)


def test_items_of_a_closed_store_raise_closed_error(store: Store) -> None:
    scopes = store.scopes(b"g")
    store.close()
    with pytest.raises(ClosedError):
        scopes.items(b"k", b"", bytes, bytes, lambda k, v: (k, v))


def flushed_rocksdb_scope(tmp_path: Path, count: int) -> tuple[RocksDBBackend, StoreScopes]:
    """A RocksDB store whose scope ``(g, k, "")`` holds ``count`` flushed entries, user keys
    ``b"\\x00%05d"`` (a zero byte in each, escaped on disk), values ``b"%05d"``."""
    backend = RocksDBBackend(tmp_path)
    scopes = backend.store("s").scopes(b"g")
    for index in range(count):
        scopes.put(b"k", b"", b"\x00%05d" % index, b"%05d" % index)
    backend.flush()  # nothing buffered: items stream from the engine's iterator
    return backend, scopes


def pair(user_key: bytes, value: bytes) -> tuple[bytes, bytes]:
    return user_key, value


def test_items_end_with_closed_error_when_the_store_closes_inside_a_later_chunk(
    tmp_path: Path,
) -> None:
    backend, scopes = flushed_rocksdb_scope(tmp_path, 3 * _buffered.ITEMS_FIRST_CHUNK)
    items = scopes.items(b"k", b"", bytes, bytes, pair)
    # past the first chunk, into the second, whose rest must not come out after the close
    read = [next(items) for _ in range(_buffered.ITEMS_FIRST_CHUNK + 2)]
    assert read[-1] == (b"\x00%05d" % (len(read) - 1), b"%05d" % (len(read) - 1))
    backend.close()
    with pytest.raises(ClosedError):
        next(items)
    with pytest.raises(ClosedError):
        next(items)


def test_items_of_a_flushed_scope_stream_every_entry_in_order_across_chunks(
    tmp_path: Path,
) -> None:
    count = 2 * _buffered.ITEMS_MOST_CHUNK + 3
    backend, scopes = flushed_rocksdb_scope(tmp_path, count)
    with backend:
        found = list(scopes.items(b"k", b"", bytes, bytes, pair))
    assert found == [(b"\x00%05d" % index, b"%05d" % index) for index in range(count)]


def test_items_stopped_at_the_first_entry_decode_at_most_the_first_chunk(
    tmp_path: Path,
) -> None:
    backend, scopes = flushed_rocksdb_scope(tmp_path, 4 * _buffered.ITEMS_FIRST_CHUNK)
    decoded: list[bytes] = []

    def decode(data: bytes) -> bytes:
        decoded.append(data)
        return data

    with backend:
        assert next(scopes.items(b"k", b"", decode, bytes, pair)) == (b"\x0000000", b"00000")
    assert len(decoded) == _buffered.ITEMS_FIRST_CHUNK


def test_items_hand_out_the_entries_before_an_undecodable_one_first(tmp_path: Path) -> None:
    backend, scopes = flushed_rocksdb_scope(tmp_path, 2 * _buffered.ITEMS_FIRST_CHUNK)
    bad = _buffered.ITEMS_FIRST_CHUNK + 1  # inside the second chunk, not its first entry
    calls: list[bytes] = []

    def decode(data: bytes) -> bytes:
        if data == b"%05d" % bad:
            raise ValueError("bad value")
        return data

    def undecodable(user_key: bytes, value: bytes) -> tuple[bytes, bytes]:
        calls.append(user_key)
        raise RuntimeError(f"undecodable {user_key!r}")

    with backend:
        items = scopes.items(b"k", b"", bytes, decode, undecodable)
        before = [next(items) for _ in range(bad)]
        assert before[-1] == (b"\x00%05d" % (bad - 1), b"%05d" % (bad - 1))
        assert calls == []
        with pytest.raises(RuntimeError, match=rf"undecodable b'\\x00{bad:05d}'"):
            next(items)


def test_items_end_with_closed_error_when_the_store_closes_after_an_undecodable_entry(
    tmp_path: Path,
) -> None:
    backend, scopes = flushed_rocksdb_scope(tmp_path, 8)

    def decode(data: bytes) -> bytes:
        if data == b"00001":
            raise ValueError("bad value")
        return data

    items = scopes.items(b"k", b"", bytes, decode, lambda key, value: (key, b"migrated"))
    assert [next(items) for _ in range(3)][1] == (b"\x0000001", b"migrated")
    backend.close()
    with pytest.raises(ClosedError):
        next(items)


def test_items_raise_a_decoders_other_error_at_its_own_entry(tmp_path: Path) -> None:
    backend, scopes = flushed_rocksdb_scope(tmp_path, 8)

    def decode(data: bytes) -> bytes:
        if data == b"00003":
            raise KeyError("a bug in the codec")
        return data

    with backend:
        items = scopes.items(b"k", b"", bytes, decode, pair)
        assert [next(items) for _ in range(3)][-1] == (b"\x0000002", b"00002")
        with pytest.raises(KeyError, match="a bug in the codec"):
            next(items)


def decode_pair(user_key: bytes, value: bytes) -> tuple[bytes, bytes]:
    return user_key, value


#: Each scope call with its valid arguments by name, and the operation its errors name.
CALLS: dict[str, tuple[str, dict[str, object]]] = {
    "get": ("get", {"key": b"k", "namespace": b"", "user_key": b"a"}),
    "put": ("put", {"key": b"k", "namespace": b"", "user_key": b"a", "value": b"1"}),
    "delete": ("delete", {"key": b"k", "namespace": b"", "user_key": b"a"}),
    "merge": ("merge", {"key": b"k", "namespace": b"", "user_key": b"a", "value": b"1"}),
    "delete_prefix": ("delete_prefix", {"key": b"k", "namespace": b"", "prefix": b"a"}),
    "first": ("first", {"key": b"k", "namespace": b"", "start": b"a"}),
    "take": ("scan_complex", {"key": b"k", "namespace": b"", "limit": 2, "start": b"a"}),
    "scan": ("scan_complex", {"key": b"k", "namespace": b"", "start": b"a", "end": b"b"}),
    "items": (
        "scan_complex",
        {
            "key": b"k",
            "namespace": b"",
            "decode_key": bytes,
            "decode_value": bytes,
            "undecodable": decode_pair,
            "start": b"a",
            "end": b"b",
        },
    ),
}
WRONG_ARGUMENTS = [
    (call, argument)
    for call, (_, arguments) in CALLS.items()
    for argument, value in arguments.items()
    if type(value) is bytes
]


def call(scopes: StoreScopes, name: str, arguments: dict[str, object]) -> object:
    found = getattr(scopes, name)(**arguments)
    return list(found) if name in ("scan", "items") else found


@pytest.mark.parametrize("buffered", [False, True])
@pytest.mark.parametrize(("name", "argument"), WRONG_ARGUMENTS)
def test_a_buffered_scope_call_with_an_argument_of_a_wrong_type_names_it(
    tmp_path: Path, name: str, argument: str, buffered: bool
) -> None:
    """A ``str`` where bytes belong is refused before it reaches the key layout, naming the
    operation and the argument, whichever it is, with the scope buffered or not."""
    with RocksDBBackend(tmp_path) as backend:
        scopes = backend.store("s").scopes(b"g")
        if buffered:
            scopes.put(b"k", b"", b"a", b"1")
        operation, arguments = CALLS[name]
        with pytest.raises(TypeError, match=f"^{operation}: {argument} must be bytes, not str$"):
            call(scopes, name, {**arguments, argument: "a"})


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_scope_call_on_a_closed_store_raises_closed_error(store: Store, name: str) -> None:
    scopes = store.scopes(b"g")
    store.close()
    with pytest.raises(ClosedError):
        call(scopes, name, CALLS[name][1])


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_valid_scope_call_never_reaches_the_full_argument_check(
    store: Store, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid call costs no call to ``Store._reject``, buffered scope or not."""

    def reject(*arguments: object, **keywords: object) -> None:
        raise AssertionError(f"a valid call reached _reject{arguments[1:]}")

    scopes = store.scopes(b"g")
    monkeypatch.setattr(type(store), "_reject", reject)
    call(scopes, name, CALLS[name][1])
    scopes.put(b"k", b"", b"a", b"1")
    call(scopes, name, CALLS[name][1])


def test_a_scopes_items_takes_its_scan_bounds_by_keyword_only(store: Store) -> None:
    with pytest.raises(TypeError):
        store.scopes(b"g").items(b"k", b"", bytes, bytes, decode_pair, b"a")  # type: ignore[call-arg]


def test_pop_first_removes_the_first_entry_from_start_unless_its_read_raises(store: Store) -> None:
    scopes = flushed_scope(store, b"bdf")
    scopes.delete(b"k", b"", b"b")  # a buffered delete hides the table's first entry
    scopes.put(b"k", b"", b"c", b"C")  # a buffered put before the table's next

    def refuse(user_key: bytes) -> None:
        raise ValueError(user_key)

    with pytest.raises(ValueError, match="c"):
        scopes.pop_first(b"k", b"", refuse)
    assert scopes.pop_first(b"k", b"", bytes.upper) == (b"c", b"C")
    assert scopes.pop_first(b"k", b"", bytes.upper, b"e") == (b"f", b"F")
    assert scopes.pop_first(b"k", b"", bytes.upper, b"e") is None
    assert scopes.take(b"k", b"", 9) == [(b"d", b"d")]
    store.close()
    with pytest.raises(ClosedError):
        scopes.pop_first(b"k", b"", bytes.upper)
