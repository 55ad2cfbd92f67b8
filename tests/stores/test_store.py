"""The Store contract (API.md section 1), on every backend through the ``store`` fixtures.

Each test states one behaviour. Tests of what survives a close and a reopen take
``durable_backend_factory`` and are skipped for MemoryBackend, which keeps nothing once closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from fssdk import (
    ClosedError,
    ComplexKey,
    ErrorCode,
    InvalidStoreNameError,
    SDKError,
    Store,
    StoreScope,
)
from fssdk.runtime import Backend, LocalContext

BackendFactory = Callable[[], Backend]


def ck(key_group: bytes, key: bytes, namespace: bytes, user_key: bytes) -> ComplexKey:
    return ComplexKey(key_group, key, namespace, user_key)


def scope_items(store: Store, key_group: bytes, key: bytes, namespace: bytes) -> list[Any]:
    with store.scan_complex(key_group, key, namespace) as it:
        return list(it)


Scope = tuple[bytes, bytes, bytes]


def fill(store: Store, user_keys: list[bytes], scope: Scope = (b"g", b"k", b"")) -> None:
    for user_key in user_keys:
        store.put(ComplexKey(*scope, user_key), b"v" + user_key)


def flush(backend: Backend) -> None:
    backend.flush()


# -- simple keys -------------------------------------------------------------------------------


def test_get_state_of_a_missing_key_is_none(store: Store) -> None:
    assert store.get_state(b"missing") is None


def test_put_state_then_get_state_returns_the_value(store: Store) -> None:
    store.put_state(b"k", b"v")
    assert store.get_state(b"k") == b"v"


def test_put_state_replaces_the_value(store: Store, backend: Backend) -> None:
    store.put_state(b"k", b"old")
    flush(backend)
    store.put_state(b"k", b"new")
    assert store.get_state(b"k") == b"new"
    flush(backend)
    assert store.get_state(b"k") == b"new"


def test_an_empty_simple_value_is_present_not_missing(store: Store, backend: Backend) -> None:
    store.put_state(b"k", b"")
    assert store.get_state(b"k") == b""
    assert store.list_states(b"", b"") == [b"k"]
    flush(backend)
    assert store.get_state(b"k") == b""


def test_delete_state_removes_the_key_and_ignores_a_missing_one(
    store: Store, backend: Backend
) -> None:
    store.put_state(b"k", b"v")
    flush(backend)
    store.delete_state(b"k")
    store.delete_state(b"never-written")
    assert store.get_state(b"k") is None
    assert store.list_states(b"", b"") == []


SIMPLE_KEYS = [b"", b"\x00", b"a", b"a\x00", b"ab", b"b", b"\xff", b"\xff\xff"]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (b"", b"", SIMPLE_KEYS),
        (b"a", b"b", [b"a", b"a\x00", b"ab"]),
        (b"a\x00", b"ab", [b"a\x00"]),
        (b"a", b"a\x00", [b"a"]),
        (b"\x00", b"\x01", [b"\x00"]),
        (b"c", b"", [b"\xff", b"\xff\xff"]),
        (b"", b"\x00", [b""]),
        (b"b", b"a", []),
        (b"b", b"b", []),
    ],
)
def test_list_states_is_ascending_from_start_inclusive_to_end_exclusive(
    store: Store, start: bytes, end: bytes, expected: list[bytes]
) -> None:
    for key in reversed(SIMPLE_KEYS):
        store.put_state(key, b"v")
    assert store.list_states(start, end) == expected


def test_simple_and_complex_keys_never_see_each_other(store: Store) -> None:
    store.put_state(b"k", b"simple")
    store.put(ck(b"", b"", b"", b"k"), b"complex")
    store.put(ck(b"k", b"", b"", b""), b"complex too")
    assert store.get_state(b"k") == b"simple"
    assert store.list_states(b"", b"") == [b"k"]
    assert store.list_complex(b"", b"", b"", b"", b"") == [b"k"]
    store.delete_prefix(ck(b"", b"", b"", b""))
    store.delete_prefix(ck(b"k", b"", b"", b""))
    assert store.get_state(b"k") == b"simple"
    store.delete_state(b"k")
    store.put(ck(b"", b"", b"", b"k"), b"complex")
    assert store.get(ck(b"", b"", b"", b"k")) == b"complex"


# -- complex keys ------------------------------------------------------------------------------


HARD_KEYS = [
    ck(b"", b"", b"", b""),
    ck(b"\x00", b"\x00", b"\x00", b"\x00"),
    ck(b"\xff", b"\xff", b"\xff", b"\xff"),
    ck(b"\x00\x01", b"\x00\xff", b"\x00\x00", b"\x00\x02"),
    ck(b"g", b"", b"\x00", b""),
    ck(b"g\x00", b"", b"", b"\xff\x00"),
]


@pytest.mark.parametrize("key", HARD_KEYS, ids=repr)
def test_put_get_delete_with_empty_and_escape_bytes(
    store: Store, backend: Backend, key: ComplexKey
) -> None:
    others = [other for other in HARD_KEYS if other != key]
    store.put(key, b"value")
    assert store.get(key) == b"value"
    assert all(store.get(other) is None for other in others)
    flush(backend)
    assert store.get(key) == b"value"
    assert scope_items(store, *key.scope) == [(key.user_key, b"value")]
    store.delete(key)
    assert store.get(key) is None
    flush(backend)
    assert store.get(key) is None
    assert scope_items(store, *key.scope) == []


def test_get_of_a_missing_key_is_none(store: Store) -> None:
    assert store.get(ck(b"g", b"k", b"", b"missing")) is None


def test_delete_of_a_missing_key_does_nothing(store: Store) -> None:
    store.put(ck(b"g", b"k", b"", b"a"), b"1")
    store.delete(ck(b"g", b"k", b"", b"b"))
    assert scope_items(store, b"g", b"k", b"") == [(b"a", b"1")]


def test_an_empty_value_is_present_not_missing(store: Store, backend: Backend) -> None:
    key = ck(b"g", b"k", b"", b"u")
    store.put(key, b"")
    assert store.get(key) == b""
    flush(backend)
    assert store.get(key) == b""
    assert store.list_complex(b"g", b"k", b"", b"", b"") == [b"u"]
    assert scope_items(store, b"g", b"k", b"") == [(b"u", b"")]
    assert store.scope(b"g", b"k", b"").first() == (b"u", b"")


COLLIDING_SCOPES = [
    ((b"ab", b"c", b""), (b"a", b"bc", b"")),
    ((b"", b"ab", b""), (b"a", b"b", b"")),
    ((b"a", b"", b"b"), (b"", b"a", b"b")),
    ((b"g", b"k\x00", b""), (b"g", b"k", b"\x00")),
    ((b"g", b"k\x00\x01", b""), (b"g", b"k", b"")),
    ((b"g", b"k", b"\xff"), (b"g", b"k\xff", b"")),
]


@pytest.mark.parametrize(("first", "second"), COLLIDING_SCOPES, ids=repr)
def test_scopes_that_collide_under_concatenation_are_separate(
    store: Store, first: Scope, second: Scope
) -> None:
    store.put(ComplexKey(*first, b"u"), b"first")
    store.merge(ComplexKey(*first, b"m"), b"first")
    store.put(ComplexKey(*second, b"u"), b"second")
    assert store.get(ComplexKey(*first, b"u")) == b"first"
    assert store.get(ComplexKey(*second, b"m")) is None
    assert scope_items(store, *first) == [(b"m", b"first"), (b"u", b"first")]
    assert scope_items(store, *second) == [(b"u", b"second")]
    store.delete_prefix(ComplexKey(*first, b""))
    assert scope_items(store, *first) == []
    assert store.list_complex(*second, b"", b"") == [b"u"]


def test_primary_key_user1_never_sees_user12(store: Store, backend: Backend) -> None:
    store.put(ck(b"g", b"user1", b"", b"a"), b"1")
    store.put(ck(b"g", b"user12", b"", b"a"), b"12")
    store.put(ck(b"g", b"user12", b"", b""), b"12")
    flush(backend)
    assert scope_items(store, b"g", b"user1", b"") == [(b"a", b"1")]
    assert store.list_complex(b"g", b"user1", b"", b"", b"") == [b"a"]
    assert store.get(ck(b"g", b"user1", b"", b"2a")) is None
    store.delete_prefix(ck(b"g", b"user1", b"", b""))
    assert scope_items(store, b"g", b"user1", b"") == []
    assert scope_items(store, b"g", b"user12", b"") == [(b"", b"12"), (b"a", b"12")]


# -- merge -------------------------------------------------------------------------------------


def test_merge_onto_a_missing_key_starts_from_empty(store: Store) -> None:
    store.merge(ck(b"g", b"k", b"", b"u"), b"a")
    store.merge(ck(b"g", b"k", b"", b"e"), b"")
    assert store.get(ck(b"g", b"k", b"", b"u")) == b"a"
    assert store.get(ck(b"g", b"k", b"", b"e")) == b""


@pytest.mark.parametrize("flush_between", [False, True])
def test_merge_after_put_appends(store: Store, backend: Backend, flush_between: bool) -> None:
    key = ck(b"g", b"k", b"", b"u")
    store.put(key, b"base")
    if flush_between:
        flush(backend)
    store.merge(key, b"+1")
    store.merge(key, b"+2")
    assert store.get(key) == b"base+1+2"
    flush(backend)
    assert store.get(key) == b"base+1+2"


@pytest.mark.parametrize("flush_between", [False, True])
def test_merge_after_delete_starts_from_empty(
    store: Store, backend: Backend, flush_between: bool
) -> None:
    key = ck(b"g", b"k", b"", b"u")
    store.put(key, b"old")
    store.merge(key, b"+old")
    flush(backend)
    store.delete(key)
    if flush_between:
        flush(backend)
    store.merge(key, b"new")
    assert store.get(key) == b"new"
    flush(backend)
    assert scope_items(store, b"g", b"k", b"") == [(b"u", b"new")]


def test_put_after_merges_replaces_them(store: Store, backend: Backend) -> None:
    key = ck(b"g", b"k", b"", b"u")
    for part in (b"a", b"b", b"c"):
        store.merge(key, part)
        flush(backend)
    store.put(key, b"z")
    assert store.get(key) == b"z"
    flush(backend)
    store.merge(key, b"!")
    assert store.get(key) == b"z!"
    assert scope_items(store, b"g", b"k", b"") == [(b"u", b"z!")]


def test_many_merges_across_flushes_read_back_in_order(store: Store, backend: Backend) -> None:
    key = ck(b"g", b"k", b"", b"list")
    neighbour = ck(b"g", b"k", b"", b"list\x00")
    store.put(neighbour, b"n")
    expected = b""
    for number in range(300):
        part = b"%d," % number
        store.merge(key, part)
        expected += part
        if number % 7 == 0:
            flush(backend)
        if number % 50 == 0:
            assert store.get(key) == expected
    assert store.get(key) == expected
    assert scope_items(store, b"g", b"k", b"") == [(b"list", expected), (b"list\x00", b"n")]
    with store.scan_complex(b"g", b"k", b"", reverse=True) as it:
        assert list(it) == [(b"list\x00", b"n"), (b"list", expected)]


def test_many_merges_survive_reopens(durable_backend_factory: BackendFactory) -> None:
    key = ck(b"g", b"k", b"", b"list")
    expected = b""
    for round_ in range(4):
        with durable_backend_factory() as backend:
            store = backend.store("s")
            assert store.get(key) == (expected or None)
            for number in range(100):
                part = b"%d.%d," % (round_, number)
                store.merge(key, part)
                expected += part
                if number % 9 == 0:
                    backend.flush()
    with durable_backend_factory() as backend:
        assert backend.store("s").get(key) == expected
        assert scope_items(backend.store("s"), b"g", b"k", b"") == [(b"list", expected)]


# -- delete_prefix -----------------------------------------------------------------------------


PREFIX_KEYS = [b"", b"\x00", b"\x00\x00", b"\x00\xff", b"a", b"a\x00", b"ab", b"abc", b"b"]
PREFIX_KEYS += [b"\xff", b"\xff\x00"]


@pytest.mark.parametrize(
    ("prefix", "removed"),
    [
        (b"a", [b"a", b"a\x00", b"ab", b"abc"]),
        (b"ab", [b"ab", b"abc"]),
        (b"a\x00", [b"a\x00"]),
        (b"\x00", [b"\x00", b"\x00\x00", b"\x00\xff"]),
        (b"\x00\x00", [b"\x00\x00"]),
        (b"\xff", [b"\xff", b"\xff\x00"]),
        (b"c", []),
        (b"", PREFIX_KEYS),
    ],
)
@pytest.mark.parametrize("via_scope", [False, True])
def test_delete_prefix_removes_the_user_keys_that_start_with_the_prefix(
    store: Store, backend: Backend, prefix: bytes, removed: list[bytes], via_scope: bool
) -> None:
    fill(store, PREFIX_KEYS[: len(PREFIX_KEYS) // 2])
    flush(backend)
    fill(store, PREFIX_KEYS[len(PREFIX_KEYS) // 2 :])
    store.merge(ck(b"g", b"k", b"", b"ab"), b"+")
    fill(store, PREFIX_KEYS, scope=(b"g", b"k2", b""))
    if via_scope:
        store.scope(b"g", b"k", b"").delete_prefix(prefix)
    else:
        store.delete_prefix(ck(b"g", b"k", b"", prefix))
    kept = [key for key in PREFIX_KEYS if key not in removed]
    assert store.list_complex(b"g", b"k", b"", b"", b"") == kept
    assert all(store.get(ck(b"g", b"k", b"", key)) is None for key in removed)
    assert store.list_complex(b"g", b"k2", b"", b"", b"") == PREFIX_KEYS


def test_merge_after_delete_prefix_starts_from_empty(store: Store, backend: Backend) -> None:
    key = ck(b"g", b"k", b"", b"ab")
    store.merge(key, b"old")
    flush(backend)
    store.merge(key, b"+old")
    store.delete_prefix(ck(b"g", b"k", b"", b"a"))
    store.merge(key, b"new")
    assert store.get(key) == b"new"


# -- scans and lists ---------------------------------------------------------------------------


SCAN_KEYS = [b"", b"\x00", b"a", b"a\x00", b"ab", b"b", b"\xff"]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (b"", b"", SCAN_KEYS),
        (b"a", b"", [b"a", b"a\x00", b"ab", b"b", b"\xff"]),
        (b"", b"a", [b"", b"\x00"]),
        (b"a", b"a\x00", [b"a"]),
        (b"a\x00", b"b", [b"a\x00", b"ab"]),
        (b"\x00", b"\x00\x00", [b"\x00"]),
        (b"aa", b"az", [b"ab"]),
        (b"b", b"a", []),
        (b"c", b"\xff", []),
    ],
)
@pytest.mark.parametrize("reverse", [False, True])
def test_scans_are_ordered_by_user_key_within_their_bounds(
    store: Store,
    backend: Backend,
    *,
    start: bytes,
    end: bytes,
    expected: list[bytes],
    reverse: bool,
) -> None:
    fill(store, SCAN_KEYS[::2])
    flush(backend)
    fill(store, SCAN_KEYS[1::2])
    store.merge(ck(b"g", b"k", b"", b"ab"), b"+")
    fill(store, [b"x"], scope=(b"g", b"k\x00", b""))
    fill(store, [b"x"], scope=(b"g", b"", b"k"))
    values = {key: b"v" + key + (b"+" if key == b"ab" else b"") for key in SCAN_KEYS}
    with store.scan_complex(b"g", b"k", b"", start=start, end=end, reverse=reverse) as it:
        pairs = list(it)
    ordered = expected[::-1] if reverse else expected
    assert pairs == [(key, values[key]) for key in ordered]
    assert store.list_complex(b"g", b"k", b"", start, end) == expected
    with store.scope(b"g", b"k", b"").scan(start=start, end=end, reverse=reverse) as it:
        assert list(it) == pairs


def test_scans_and_lists_of_an_empty_scope_are_empty(store: Store) -> None:
    store.put(ck(b"g", b"k", b"n", b"u"), b"v")
    assert scope_items(store, b"g", b"k", b"") == []
    assert store.list_complex(b"g", b"k", b"", b"", b"") == []
    assert store.scope(b"g", b"k", b"").first() is None


def test_scope_first_is_the_smallest_user_key_from_start(store: Store) -> None:
    fill(store, SCAN_KEYS)
    scope = store.scope(b"g", b"k", b"")
    assert scope.first() == (b"", b"v")
    assert scope.first(b"a\x00") == (b"a\x00", b"va\x00")
    assert scope.first(b"aa") == (b"ab", b"vab")
    assert scope.first(b"\xff\x00") is None


@pytest.mark.parametrize("maker", ["scope", "scopes"])
def test_scope_handles_read_and_write_their_scope(store: Store, maker: str) -> None:
    makers: dict[str, Callable[[], StoreScope]] = {
        "scope": lambda: store.scope(b"g", b"k", b"n"),
        "scopes": lambda: store.scopes(b"g")(b"k", b"n"),
    }
    scope = makers[maker]()
    scope.put(b"a", b"1")
    scope.merge(b"a", b"2")
    scope.merge(b"b", b"3")
    assert scope.get(b"a") == b"12"
    assert store.get(ck(b"g", b"k", b"n", b"b")) == b"3"
    scope.delete(b"b")
    assert scope.get(b"b") is None
    with scope.scan() as it:
        assert list(it) == [(b"a", b"12")]
    scope.delete_prefix()
    assert scope.first() is None


# -- the Iterator ------------------------------------------------------------------------------


def test_iterator_has_next_next_and_stop_iteration(store: Store) -> None:
    fill(store, [b"a", b"b"])
    it = store.scan_complex(b"g", b"k", b"")
    assert it.has_next()
    assert it.has_next()
    assert it.next() == (b"a", b"va")
    assert it.next() == (b"b", b"vb")
    assert not it.has_next()
    with pytest.raises(StopIteration):
        it.next()
    it.close()


def test_iterator_is_a_python_iterator_and_a_context_manager(store: Store) -> None:
    fill(store, [b"a", b"b", b"c"])
    assert [user_key for user_key, _ in store.scan_complex(b"g", b"k", b"")] == [b"a", b"b", b"c"]
    with store.scan_complex(b"g", b"k", b"") as it:
        assert next(it) == (b"a", b"va")
        assert it.has_next()
        assert list(it) == [(b"b", b"vb"), (b"c", b"vc")]
    assert not it.has_next()


def test_a_closed_iterator_is_exhausted(store: Store) -> None:
    fill(store, [b"a", b"b"])
    it = store.scan_complex(b"g", b"k", b"")
    assert it.next() == (b"a", b"va")
    it.close()
    it.close()
    assert not it.has_next()
    with pytest.raises(StopIteration):
        it.next()


def delete_each(store: Store) -> None:
    for user_key in (b"b", b"c", b"d"):
        store.delete(ck(b"g", b"k", b"", user_key))


def put_ahead(store: Store) -> None:
    for user_key in (b"c", b"bb", b"z"):
        store.put(ck(b"g", b"k", b"", user_key), b"new")


def merge_ahead(store: Store) -> None:
    store.merge(ck(b"g", b"k", b"", b"d"), b"+")


def delete_the_scope(store: Store) -> None:
    store.delete_prefix(ck(b"g", b"k", b"", b""))


def delete_the_scope_then_refill(store: Store) -> None:
    store.delete_prefix(ck(b"g", b"k", b"", b""))
    store.put(ck(b"g", b"k", b"", b"c"), b"other")


WRITES_DURING_A_SCAN: dict[str, Callable[[Store], None]] = {
    write.__name__: write
    for write in (
        delete_each,
        put_ahead,
        merge_ahead,
        delete_the_scope,
        delete_the_scope_then_refill,
    )
}


@pytest.mark.parametrize("write", sorted(WRITES_DURING_A_SCAN))
@pytest.mark.parametrize("reverse", [False, True])
def test_writes_during_a_scan_do_not_change_what_it_yields(
    store: Store, backend: Backend, write: str, reverse: bool
) -> None:
    fill(store, [b"a", b"b", b"c"])
    flush(backend)
    fill(store, [b"d"])
    store.merge(ck(b"g", b"k", b"", b"c"), b"!")
    before = [(b"a", b"va"), (b"b", b"vb"), (b"c", b"vc!"), (b"d", b"vd")]
    with store.scan_complex(b"g", b"k", b"", reverse=reverse) as it:
        first = it.next()
        WRITES_DURING_A_SCAN[write](store)
        flush(backend)
        rest = list(it)
    assert [first, *rest] == (before[::-1] if reverse else before)


def test_a_scan_opened_before_writes_ignores_them_even_unread(store: Store) -> None:
    fill(store, [b"a"])
    it = store.scan_complex(b"g", b"k", b"")
    store.put(ck(b"g", b"k", b"", b"b"), b"later")
    store.delete(ck(b"g", b"k", b"", b"a"))
    assert list(it) == [(b"a", b"va")]


# -- what survives a reopen --------------------------------------------------------------------


KEY = ck(b"g", b"k\x00", b"", b"u")


def nothing(store: Store) -> None:
    return None


def merge_twice(store: Store) -> None:
    store.merge(KEY, b"+1")
    store.merge(KEY, b"+2")


class ReopenCase:
    """A write made after ``setup`` was flushed, and what must hold after a reopen."""

    def __init__(
        self,
        setup: Callable[[Store], object],
        write: Callable[[Store], object],
        check: Callable[[Store], bool],
    ) -> None:
        self.setup, self.write, self.check = setup, write, check


REOPEN_CASES: dict[str, ReopenCase] = {
    "put_state": ReopenCase(
        nothing,
        lambda s: s.put_state(b"k", b""),
        lambda s: s.get_state(b"k") == b"" and s.list_states(b"", b"") == [b"k"],
    ),
    "delete_state": ReopenCase(
        lambda s: s.put_state(b"k", b"v"),
        lambda s: s.delete_state(b"k"),
        lambda s: s.get_state(b"k") is None,
    ),
    "put": ReopenCase(
        lambda s: s.put(KEY, b"old"), lambda s: s.put(KEY, b"new"), lambda s: s.get(KEY) == b"new"
    ),
    "delete": ReopenCase(
        lambda s: s.merge(KEY, b"old"), lambda s: s.delete(KEY), lambda s: s.get(KEY) is None
    ),
    "merge": ReopenCase(
        lambda s: s.put(KEY, b"base"), merge_twice, lambda s: s.get(KEY) == b"base+1+2"
    ),
    "merge-onto-missing": ReopenCase(
        nothing, lambda s: s.merge(KEY, b""), lambda s: s.get(KEY) == b""
    ),
    "delete_prefix": ReopenCase(
        lambda s: fill(s, [b"a", b"ab", b"b"]),
        lambda s: s.delete_prefix(ck(b"g", b"k", b"", b"a")),
        lambda s: s.list_complex(b"g", b"k", b"", b"", b"") == [b"b"],
    ),
}


@pytest.mark.parametrize("case", sorted(REOPEN_CASES))
@pytest.mark.parametrize("close", ["backend", "store-then-backend", "context"])
def test_every_kind_of_write_survives_a_reopen(
    durable_backend_factory: BackendFactory, case: str, close: str
) -> None:
    backend = durable_backend_factory()
    context = LocalContext(backend)
    store = context.get_or_create_store("s")
    REOPEN_CASES[case].setup(store)
    backend.flush()
    REOPEN_CASES[case].write(store)
    if close == "store-then-backend":
        store.close()
    if close == "context":
        context.close()
    backend.close()
    with durable_backend_factory() as reopened:
        assert REOPEN_CASES[case].check(reopened.store("s"))


def test_a_store_closed_on_its_own_keeps_its_buffered_writes(
    durable_backend_factory: BackendFactory,
) -> None:
    """Regression: RocksDBStore.close() used to drop the writes still in its buffer."""
    backend = durable_backend_factory()
    store = backend.store("s")
    store.put(KEY, b"v")
    store.close()
    backend.close()
    with durable_backend_factory() as reopened:
        assert reopened.store("s").get(KEY) == b"v"


def test_named_stores_are_separate_and_one_name_is_one_store(backend: Backend) -> None:
    first, second = backend.store("first"), backend.store("second")
    assert backend.store("first") is first
    first.put_state(b"k", b"1")
    first.put(KEY, b"1")
    assert second.get_state(b"k") is None
    assert second.get(KEY) is None
    assert second.list_states(b"", b"") == []


# -- bad input ---------------------------------------------------------------------------------


WRONG_TYPES: list[tuple[str, Callable[[Any], object], str]] = [
    ("put_state", lambda s: s.put_state("k", b"v"), "key"),
    ("put_state", lambda s: s.put_state(b"k", bytearray(b"v")), "value"),
    ("get_state", lambda s: s.get_state(None), "key"),
    ("delete_state", lambda s: s.delete_state(1), "key"),
    ("list_states", lambda s: s.list_states("", b""), "start_inclusive"),
    ("list_states", lambda s: s.list_states(b"", None), "end_exclusive"),
    ("put", lambda s: s.put((b"g", b"k", b"", b"u"), b"v"), "key"),
    ("put", lambda s: s.put(KEY, "v"), "value"),
    ("get", lambda s: s.get(b"u"), "key"),
    ("delete", lambda s: s.delete(None), "key"),
    ("merge", lambda s: s.merge(KEY, memoryview(b"v")), "value"),
    ("merge", lambda s: s.merge("u", b"v"), "key"),
    ("delete_prefix", lambda s: s.delete_prefix(b"u"), "key"),
    ("list_complex", lambda s: s.list_complex("g", b"k", b"", b"", b""), "key_group"),
    ("list_complex", lambda s: s.list_complex(b"g", None, b"", b"", b""), "key"),
    ("list_complex", lambda s: s.list_complex(b"g", b"k", 0, b"", b""), "namespace"),
    ("list_complex", lambda s: s.list_complex(b"g", b"k", b"", "a", b""), "start_inclusive"),
    ("list_complex", lambda s: s.list_complex(b"g", b"k", b"", b"", "z"), "end_exclusive"),
    ("scan_complex", lambda s: s.scan_complex(b"g", "k", b""), "key"),
    ("scan_complex", lambda s: s.scan_complex(b"g", b"k", b"", start="a"), "start"),
    ("scan_complex", lambda s: s.scan_complex(b"g", b"k", b"", end=1), "end"),
    ("scope", lambda s: s.scope(b"g", b"k", "n"), "namespace"),
    ("scopes", lambda s: s.scopes("g"), "key_group"),
    ("scopes()()", lambda s: s.scopes(b"g")(b"k", None), "namespace"),
    ("scope().put", lambda s: s.scope(b"g", b"k", b"").put("u", b"v"), "user_key"),
    ("scope().get", lambda s: s.scope(b"g", b"k", b"").get(1), "user_key"),
    ("ComplexKey", lambda s: ComplexKey(b"g", b"k", cast(Any, "n"), b"u"), "namespace"),
]


@pytest.mark.parametrize(
    ("call", "argument"),
    [case[1:] for case in WRONG_TYPES],
    ids=[f"{case[0]}-{case[2]}" for case in WRONG_TYPES],
)
def test_a_wrong_argument_type_raises_type_error_naming_the_argument(
    store: Store, call: Callable[[Any], object], argument: str
) -> None:
    with pytest.raises(TypeError, match=rf"\b{argument}\b"):
        call(store)


OPERATIONS: dict[str, Callable[[Store], object]] = {
    "put_state": lambda s: s.put_state(b"k", b"v"),
    "get_state": lambda s: s.get_state(b"k"),
    "delete_state": lambda s: s.delete_state(b"k"),
    "list_states": lambda s: s.list_states(b"", b""),
    "put": lambda s: s.put(KEY, b"v"),
    "get": lambda s: s.get(KEY),
    "delete": lambda s: s.delete(KEY),
    "merge": lambda s: s.merge(KEY, b"v"),
    "delete_prefix": lambda s: s.delete_prefix(KEY),
    "list_complex": lambda s: s.list_complex(*KEY.scope, b"", b""),
    "scan_complex": lambda s: s.scan_complex(*KEY.scope),
    "scope": lambda s: s.scope(*KEY.scope),
    "scopes": lambda s: s.scopes(KEY.key_group),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("how", ["store", "backend", "backend-twice"])
def test_every_operation_on_a_closed_store_raises_runtime_closed(
    backend: Backend, operation: str, how: str
) -> None:
    store = backend.store("s")
    store.put(KEY, b"v")
    if how == "store":
        store.close()
    else:
        backend.close()
        if how == "backend-twice":
            backend.close()
    assert store.closed
    with pytest.raises(SDKError) as caught:
        OPERATIONS[operation](store)
    assert caught.value.code is ErrorCode.RUNTIME_CLOSED


def test_scope_handles_of_a_closed_store_raise_runtime_closed(backend: Backend) -> None:
    scope = backend.store("s").scope(b"g", b"k", b"")
    scope.put(b"u", b"v")
    backend.close()
    calls: list[Callable[[], object]] = [
        lambda: scope.get(b"u"),
        lambda: scope.put(b"u", b"v"),
        lambda: scope.merge(b"u", b"v"),
        lambda: scope.delete(b"u"),
        lambda: scope.delete_prefix(b""),
        scope.scan,
        scope.first,
    ]
    for call in calls:
        with pytest.raises(ClosedError) as caught:
            call()
        assert caught.value.code is ErrorCode.RUNTIME_CLOSED


def test_a_closed_context_raises_runtime_closed(backend: Backend) -> None:
    context = LocalContext(backend)
    context.close()
    calls: list[Callable[[], object]] = [
        lambda: context.get_or_create_store("s"),
        lambda: context.emit(b"x"),
        lambda: context.emit_watermark(1),
    ]
    for call in calls:
        with pytest.raises(ClosedError) as caught:
            call()
        assert caught.value.code is ErrorCode.RUNTIME_CLOSED


@pytest.mark.parametrize("order", ["context-first", "backend-first"])
def test_backend_and_context_close_are_idempotent_in_either_order(
    backend_factory: BackendFactory, order: str
) -> None:
    backend = backend_factory()
    context = LocalContext(backend)
    store = context.get_or_create_store("s")
    store.put(KEY, b"v")
    closers = [context.close, backend.close]
    if order == "backend-first":
        closers.reverse()
    for close in closers * 2:
        close()
    assert backend.closed
    assert store.closed
    with pytest.raises(ClosedError):
        backend.store("s")
    with pytest.raises(ClosedError):
        context.get_or_create_store("s")


@pytest.mark.parametrize("name", ["", None, 1, b"store"], ids=repr)
def test_an_invalid_store_name_raises_store_invalid_name(backend: Backend, name: Any) -> None:
    with pytest.raises(InvalidStoreNameError) as caught:
        backend.store(name)
    assert caught.value.code is ErrorCode.STORE_INVALID_NAME
    with pytest.raises(InvalidStoreNameError) as caught:
        LocalContext(backend).get_or_create_store(name)
    assert caught.value.code is ErrorCode.STORE_INVALID_NAME


def test_the_stores_package_imports_without_rocksdict_and_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inside the Function Stream component rocksdict is absent: ``fssdk.stores`` still imports
    (the buffered store and the write buffer need it), and ``RocksDBStore`` names the cause."""
    import importlib.util
    import sys

    import fssdk.stores

    monkeypatch.setitem(sys.modules, "rocksdict", None)  # an import of it raises ImportError
    monkeypatch.delitem(sys.modules, "fssdk.stores._rocksdb")
    spec = importlib.util.spec_from_file_location(
        "_stores_without_rocksdict", fssdk.stores.__file__
    )
    assert spec is not None
    assert spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    assert copy.MemoryStore is fssdk.stores.MemoryStore
    with pytest.raises(ImportError, match="RocksDBStore needs rocksdict"):
        copy.RocksDBStore  # noqa: B018 - the attribute access is what is tested
    with pytest.raises(AttributeError, match="has no attribute 'Other'"):
        copy.Other  # noqa: B018
