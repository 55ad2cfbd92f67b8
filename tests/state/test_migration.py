"""Schema evolution across runs: lists whose element framing changes, the history of older
schemas a descriptor keeps, and ``migrate_all``, which finishes a migration. On every backend
(memory: stores reopened as a new process sees them)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from fssdk import ComplexKey, CorruptStateError, NotInitializedError, StateConflictError, Store
from fssdk.reserved import IDENTITY_KEY_GROUP
from fssdk.runtime import Backend, LocalContext, RocksDBBackend
from fssdk.stores import _buffer
from fssdk_advanced import (
    AggregatingState,
    IntCodec,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedReducingStateFactory,
    KeyedValueStateFactory,
    ListState,
    MapState,
    MsgpackCodec,
    ReducingState,
    StringCodec,
    ValueState,
)
from fssdk_advanced.state._migration import migrate_all
from fssdk_advanced.time import StateTtl
from tests.support import CountingStore, in_run, record

BackendFactory = Callable[[], Backend]

MIN_INT = -(2**63)


def descriptor(ctx: LocalContext, store: str, key_group: bytes = b"") -> dict[str, Any]:
    data = ctx.get_or_create_store(store).get(ComplexKey(IDENTITY_KEY_GROUP, key_group, b"", b""))
    assert data is not None
    loaded: dict[str, Any] = json.loads(data)
    return loaded


class Calls:
    """A migrate function that records what it was given and maps it through ``convert``."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        self.convert = convert
        self.seen: list[Any] = []

    def __call__(self, old: Any) -> Any:
        self.seen.append(old)
        return self.convert(old)


def legacy_list(codec: dict[str, Any], entry: bytes) -> Callable[[LocalContext], None]:
    """Writes list ``"l"`` as an older fssdk did: a descriptor without ``fixed_size`` or
    ``history``, its codec described by ``codec``, and ``entry`` as its elements."""

    def write(ctx: LocalContext) -> None:
        legacy = {
            "format": 1,
            "kind": "ListState",
            "codecs": {"value": codec},
            "primary_key": None,
            "ttl": None,
        }
        store = ctx.get_or_create_store("l")
        store.put(ComplexKey(IDENTITY_KEY_GROUP, b"", b"", b""), json.dumps(legacy).encode())
        store.put(ComplexKey(b"", b"", b"", b""), entry)

    return write


# -- lists whose element framing changes ---------------------------------------------------------


def test_a_fixed_size_list_read_as_length_prefixed_migrates_each_old_element(
    reopening_backend_factory: BackendFactory,
) -> None:
    in_run(
        reopening_backend_factory,
        lambda ctx: ListState.from_context(ctx, "l", IntCodec()).add_all([MIN_INT, MIN_INT]),
    )
    migrate = Calls(lambda old: "m" + str(old))

    def read(ctx: LocalContext) -> list[str]:
        return ListState.from_context(ctx, "l", StringCodec(), migrate=migrate).get()

    assert in_run(reopening_backend_factory, read) == [f"m{MIN_INT}", f"m{MIN_INT}"]
    assert migrate.seen == [MIN_INT, MIN_INT]


def test_a_length_prefixed_list_read_as_fixed_size_migrates_each_old_element(
    reopening_backend_factory: BackendFactory,
) -> None:
    in_run(
        reopening_backend_factory,
        lambda ctx: ListState.from_context(ctx, "l", StringCodec()).add("abcdefg"),
    )

    def read(ctx: LocalContext) -> list[int]:
        return ListState.from_context(ctx, "l", IntCodec(), migrate=len).get()

    assert in_run(reopening_backend_factory, read) == [7]


def test_a_list_of_ints_read_as_strings_is_migrated_not_corrupt(
    reopening_backend_factory: BackendFactory,
) -> None:
    in_run(
        reopening_backend_factory,
        lambda ctx: ListState.from_context(ctx, "l", IntCodec()).add_all([1, 2, 3]),
    )

    def read(ctx: LocalContext) -> list[str]:
        return ListState.from_context(ctx, "l", StringCodec(), migrate=str).get()

    assert in_run(reopening_backend_factory, read) == ["1", "2", "3"]


def test_a_keyed_list_is_reframed_in_every_key_and_namespace_before_it_is_used(
    reopening_backend_factory: BackendFactory,
) -> None:
    scopes = [(b"k%d" % k, b"ns%d" % n) for k in range(5) for n in range(3)]

    def write(ctx: LocalContext) -> None:
        lists = KeyedListStateFactory.from_context(ctx, "l", b"g", IntCodec())
        for number, (key, namespace) in enumerate(scopes):
            lists.new_keyed_list(key, namespace).add_all([MIN_INT, number])

    def upgrade(ctx: LocalContext) -> dict[tuple[bytes, bytes], list[str]]:
        lists = KeyedListStateFactory.from_context(
            ctx, "l", b"g", StringCodec(), migrate=lambda old: f"#{old}"
        )
        lists.new_keyed_list(b"k0", b"ns0").add("new")
        return {scope: lists.new_keyed_list(*scope).get() for scope in scopes}

    def later(ctx: LocalContext) -> tuple[list[str], dict[str, Any]]:
        lists = KeyedListStateFactory.from_context(ctx, "l", b"g", StringCodec())
        return lists.new_keyed_list(b"k0", b"ns0").get(), descriptor(ctx, "l", b"g")

    in_run(reopening_backend_factory, write)
    expected = {scope: [f"#{MIN_INT}", f"#{n}"] for n, scope in enumerate(scopes)}
    expected[(b"k0", b"ns0")].append("new")
    assert in_run(reopening_backend_factory, upgrade) == expected
    elements, stored = in_run(reopening_backend_factory, later)
    assert elements == [f"#{MIN_INT}", "#0", "new"]
    assert "migrating_from" not in stored
    assert "reframing" not in stored


def test_a_reframing_interrupted_midway_resumes_exactly(
    reopening_backend_factory: BackendFactory,
) -> None:
    keys = [b"k%d" % number for number in range(6)]

    def write(ctx: LocalContext) -> None:
        lists = KeyedListStateFactory.from_context(ctx, "l", b"g", IntCodec())
        for number, key in enumerate(keys):
            lists.new_keyed_list(key).add_all([number, 10 * number])

    class Crash(Exception):
        pass

    def crashing(old: int) -> str:
        if old == 30:  # the second element of k3: after the pass recorded k3 as in progress
            raise Crash
        return f"#{old}"

    def upgrade(migrate: Callable[[int], str]) -> Callable[[LocalContext], Any]:
        def body(ctx: LocalContext) -> Any:
            lists = KeyedListStateFactory.from_context(
                ctx, "l", b"g", StringCodec(), migrate=migrate
            )
            return [lists.new_keyed_list(key).get() for key in keys]

        return body

    in_run(reopening_backend_factory, write)
    with pytest.raises(Crash):
        in_run(reopening_backend_factory, upgrade(crashing))
    progress = in_run(reopening_backend_factory, lambda ctx: descriptor(ctx, "l", b"g"))
    assert progress["reframing"]["scope"] == [b"k3".hex(), b"".hex()]
    finished = in_run(reopening_backend_factory, upgrade(lambda old: f"#{old}"))
    assert finished == [[f"#{n}", f"#{10 * n}"] for n in range(6)]


def test_an_interrupted_reframing_must_be_finished_before_another_change(
    reopening_backend_factory: BackendFactory,
) -> None:
    def write(ctx: LocalContext) -> None:
        ListState.from_context(ctx, "l", IntCodec()).add_all([1, 2])

    def failing(old: int) -> str:
        raise RuntimeError("migrate failed")

    def declare(codec: Any, migrate: Any) -> Callable[[LocalContext], Any]:
        return lambda ctx: ListState.from_context(ctx, "l", codec, migrate=migrate).get()

    in_run(reopening_backend_factory, write)
    with pytest.raises(RuntimeError):
        in_run(reopening_backend_factory, declare(StringCodec(), failing))
    with pytest.raises(StateConflictError, match="interrupted"):
        in_run(reopening_backend_factory, declare(MsgpackCodec(), lambda old: old))
    assert in_run(reopening_backend_factory, declare(StringCodec(), str)) == ["1", "2"]


def test_a_list_whose_framing_changes_during_a_pending_migration_is_refused(
    reopening_backend_factory: BackendFactory,
) -> None:
    old = record(x=int)
    new = record(x=str)

    def write(ctx: LocalContext) -> None:
        ListState.from_context(ctx, "l", MsgpackCodec(old)).add(old(1))

    def lazily(ctx: LocalContext) -> Any:
        migrate = lambda value: new(str(value["x"]))  # noqa: E731
        return ListState.from_context(ctx, "l", MsgpackCodec(new), migrate=migrate).get()

    def reframed(ctx: LocalContext) -> Any:
        return ListState.from_context(ctx, "l", IntCodec(), migrate=lambda value: 0).get()

    in_run(reopening_backend_factory, write)
    assert in_run(reopening_backend_factory, lazily) == [new("1")]
    with pytest.raises(StateConflictError, match=r"framed another way.*finish that one first"):
        in_run(reopening_backend_factory, reframed)


def test_an_element_that_does_not_decode_under_the_old_codec_raises_naming_it(
    reopening_backend_factory: BackendFactory,
) -> None:
    def write(ctx: LocalContext) -> None:
        ListState.from_context(ctx, "l", StringCodec()).add_all(["ok", "bad"])
        scope = ctx.get_or_create_store("l").scope(b"", b"", b"")
        scope.put(b"", b"\x02ok\x01\xff")

    in_run(reopening_backend_factory, write)
    with pytest.raises(CorruptStateError, match=r"list element #1 does not decode as before"):
        in_run(
            reopening_backend_factory,
            lambda ctx: ListState.from_context(ctx, "l", IntCodec(), migrate=len),
        )


def test_a_list_of_a_custom_codec_recorded_without_its_framing_is_refused_not_guessed(
    reopening_backend_factory: BackendFactory,
) -> None:
    codec = {"signature": "mod.Fixed4", "schema": {"codec": "mod.Fixed4"}}
    in_run(reopening_backend_factory, legacy_list(codec, b"abcdwxyz"))
    with pytest.raises(StateConflictError, match="does not record how the old ones are"):
        in_run(
            reopening_backend_factory,
            lambda ctx: ListState.from_context(ctx, "l", StringCodec(), migrate=bytes.decode),
        )


# -- the history of older schemas ----------------------------------------------------------------


POINT = record(x=int, y=int)
POINT_X = record(x=int)


def declare_point(cls: type, **kwargs: Any) -> Callable[[LocalContext], Any]:
    def body(ctx: LocalContext) -> Any:
        return ValueState.from_context(ctx, "points", MsgpackCodec(cls), **kwargs).value()

    return body


def write_point(ctx: LocalContext) -> None:
    ValueState.from_context(ctx, "points", MsgpackCodec(POINT)).update(POINT(1, 2))


def test_a_field_removed_then_readded_with_another_type_is_refused_naming_both_types(
    reopening_backend_factory: BackendFactory,
) -> None:
    in_run(reopening_backend_factory, write_point)
    assert in_run(reopening_backend_factory, declare_point(POINT_X)) == (POINT_X(1), True)
    text = record(x=int, y=(str, ""))
    with pytest.raises(
        StateConflictError,
        match=r"field Point\.y changed type from int to str \(values written under the earlier "
        r".*migrate=.*migrate_all",
    ):
        in_run(reopening_backend_factory, declare_point(text))


def test_a_field_readded_with_another_type_reads_old_values_through_migrate(
    reopening_backend_factory: BackendFactory,
) -> None:
    in_run(reopening_backend_factory, write_point)
    in_run(reopening_backend_factory, declare_point(POINT_X))
    text = record(x=int, y=(str, ""))
    upgrade = Calls(lambda old: text(old["x"], str(old.get("y", ""))))
    assert in_run(reopening_backend_factory, declare_point(text, migrate=upgrade)) == (
        text(1, "2"),
        True,
    )
    assert upgrade.seen == [{"x": 1, "y": 2}]


def test_a_field_readded_with_its_old_type_reads_the_old_values(
    reopening_backend_factory: BackendFactory,
) -> None:
    in_run(reopening_backend_factory, write_point)
    in_run(reopening_backend_factory, declare_point(POINT_X))
    again = record(x=int, y=(int, 0))
    assert in_run(reopening_backend_factory, declare_point(again)) == (again(1, 2), True)


def test_the_history_survives_every_later_compatible_change(
    reopening_backend_factory: BackendFactory,
) -> None:
    in_run(reopening_backend_factory, write_point)
    in_run(reopening_backend_factory, declare_point(POINT_X))
    in_run(reopening_backend_factory, declare_point(record(x=int, z=(int, 0))))
    stored = in_run(reopening_backend_factory, lambda ctx: descriptor(ctx, "points"))
    fields = [
        [f["name"] for f in e["schema"]["type"]["fields"]] for e in stored["history"]["value"]
    ]
    assert fields == [["x", "y"], ["x"]]
    with pytest.raises(StateConflictError, match=r"Point\.y changed type"):
        in_run(reopening_backend_factory, declare_point(record(x=int, y=(str, ""))))


def test_migrate_all_clears_the_history_so_a_field_may_come_back_with_another_type(
    reopening_backend_factory: BackendFactory,
) -> None:
    in_run(reopening_backend_factory, write_point)

    def finish(ctx: LocalContext) -> int:
        return ValueState.from_context(ctx, "points", MsgpackCodec(POINT_X)).migrate_all()

    assert in_run(reopening_backend_factory, finish) == 1
    text = record(x=int, y=(str, ""))
    assert in_run(reopening_backend_factory, declare_point(text)) == (text(1, ""), True)


def test_a_descriptor_written_without_history_or_framing_still_reads(
    reopening_backend_factory: BackendFactory,
) -> None:
    codec = {"signature": "IntCodec()", "schema": {"codec": "int"}}
    write = legacy_list(codec, IntCodec().encode(5) + IntCodec().encode(6))

    def read(ctx: LocalContext) -> tuple[list[str], dict[str, Any]]:
        state = ListState.from_context(ctx, "l", StringCodec(), migrate=str)
        return state.get(), descriptor(ctx, "l")

    in_run(reopening_backend_factory, write)
    elements, stored = in_run(reopening_backend_factory, read)
    assert elements == ["5", "6"]
    assert stored["codecs"]["value"] == {
        "signature": "StringCodec()",
        "schema": {"codec": "str"},
        "fixed_size": None,
    }


# -- migrate_all ---------------------------------------------------------------------------------


NUMBER = record("Number", n=int)
TEXT = record("Number", n=str)


def to_text(old: Any) -> Any:
    return TEXT(str(old["n"]))


#: Per state kind: ``(state under cls, write v, read back, what 7 reads back as under TEXT)``.
KINDS: dict[
    str, tuple[Callable[..., Any], Callable[[Any, Any], Any], Callable[[Any], Any], Any]
] = {
    "value": (
        lambda ctx, cls, **kw: ValueState.from_context(ctx, "s", MsgpackCodec(cls), **kw),
        lambda state, v: state.update(v),
        lambda state: state.value(),
        (TEXT("7"), True),
    ),
    "list": (
        lambda ctx, cls, **kw: ListState.from_context(ctx, "s", MsgpackCodec(cls), **kw),
        lambda state, v: state.add_all([v, v]),
        lambda state: state.get(),
        [TEXT("7"), TEXT("7")],
    ),
    "map": (
        lambda ctx, cls, **kw: MapState.from_context(
            ctx, "s", StringCodec(), MsgpackCodec(cls), **kw
        ),
        lambda state, v: [state.put(k, v) for k in ("a", "b")],
        lambda state: list(state.items()),
        [("a", TEXT("7")), ("b", TEXT("7"))],
    ),
    "reducing": (
        lambda ctx, cls, **kw: ReducingState.from_context(
            ctx, "s", MsgpackCodec(cls), lambda a, b: b, **kw
        ),
        lambda state, v: state.add(v),
        lambda state: state.get(),
        (TEXT("7"), True),
    ),
    "aggregating": (
        lambda ctx, cls, **kw: AggregatingState.from_context(
            ctx, "s", MsgpackCodec(cls), Last(), **kw
        ),
        lambda state, v: state.add(v),
        lambda state: state.get(),
        (TEXT("7"), True),
    ),
}


class Last:
    def create_accumulator(self) -> Any:
        return None

    def add(self, value: Any, acc: Any) -> Any:
        return value

    def get_result(self, acc: Any) -> Any:
        return acc

    def merge(self, a: Any, b: Any) -> Any:
        return b


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_migrate_all_rewrites_every_value_so_later_runs_need_no_migrate(
    reopening_backend_factory: BackendFactory, kind: str
) -> None:
    make, write, read, expected = KINDS[kind]
    in_run(reopening_backend_factory, lambda ctx: write(make(ctx, NUMBER), NUMBER(7)))

    def finish(ctx: LocalContext) -> tuple[int, int, Any]:
        state = make(ctx, TEXT, migrate=to_text)
        return state.migrate_all(), state.migrate_all(), descriptor(ctx, "s")

    first, second, stored = in_run(reopening_backend_factory, finish)
    assert (first, second) == (1 if kind != "map" else 2, 0)
    assert "migrating_from" not in stored
    assert in_run(reopening_backend_factory, lambda ctx: read(make(ctx, TEXT))) == expected


def test_migrate_all_covers_every_key_and_namespace_of_a_factory(
    reopening_backend_factory: BackendFactory,
) -> None:
    scopes = [(b"k%d" % k, b"n%d" % n) for k in range(4) for n in range(3)]

    def write(ctx: LocalContext) -> None:
        values: Any = KeyedValueStateFactory.from_context(ctx, "v", b"g", MsgpackCodec(NUMBER))
        for number, scope in enumerate(scopes):
            values.new_keyed_value(*scope).update(NUMBER(number))

    def finish(ctx: LocalContext) -> int:
        values: Any = KeyedValueStateFactory.from_context(
            ctx, "v", b"g", MsgpackCodec(TEXT), migrate=to_text
        )
        values.new_keyed_value(b"k0", b"n0").value()  # migrated on read already
        return int(values.migrate_all())

    def read(ctx: LocalContext) -> list[Any]:
        values: Any = KeyedValueStateFactory.from_context(ctx, "v", b"g", MsgpackCodec(TEXT))
        return [values.new_keyed_value(*scope).value()[0] for scope in scopes]

    in_run(reopening_backend_factory, write)
    assert in_run(reopening_backend_factory, finish) == len(scopes) - 1
    assert in_run(reopening_backend_factory, read) == [TEXT(str(n)) for n in range(len(scopes))]


def test_migrate_all_interrupted_midway_finishes_when_run_again(
    reopening_backend_factory: BackendFactory,
) -> None:
    def write(ctx: LocalContext) -> None:
        lists: Any = KeyedListStateFactory.from_context(ctx, "l", b"g", MsgpackCodec(NUMBER))
        for number in range(10):
            lists.new_keyed_list(b"k%d" % number).add_all([NUMBER(number), NUMBER(-number)])

    def crashing(old: Any) -> Any:
        if old["n"] == 6:
            raise RuntimeError("crash")
        return to_text(old)

    def finish(migrate: Callable[[Any], Any]) -> Callable[[LocalContext], int]:
        def body(ctx: LocalContext) -> int:
            lists = KeyedListStateFactory.from_context(
                ctx, "l", b"g", MsgpackCodec(TEXT), migrate=migrate
            )
            return lists.migrate_all()

        return body

    def read(ctx: LocalContext) -> list[Any]:
        lists: Any = KeyedListStateFactory.from_context(ctx, "l", b"g", MsgpackCodec(TEXT))
        return [lists.new_keyed_list(b"k%d" % number).get() for number in range(10)]

    in_run(reopening_backend_factory, write)
    with pytest.raises(RuntimeError, match="crash"):
        in_run(reopening_backend_factory, finish(crashing))
    assert in_run(reopening_backend_factory, finish(to_text)) == 4
    assert in_run(reopening_backend_factory, read) == [
        [TEXT(str(n)), TEXT(str(-n))] for n in range(10)
    ]


def test_migrate_all_keeps_the_expiry_of_ttl_values(
    reopening_backend_factory: BackendFactory,
) -> None:
    clock = [0]
    ttl = StateTtl(100, clock=lambda: clock[0])

    def values(ctx: LocalContext, cls: type) -> Any:
        return KeyedMapStateFactory.from_context(
            ctx, "m", b"g", StringCodec(), MsgpackCodec(cls), ttl=ttl
        )

    def write(ctx: LocalContext) -> None:
        values(ctx, POINT).new_keyed_map(b"k").put("a", POINT(1, 2))

    def finish(ctx: LocalContext) -> int:
        clock[0] = 50
        return int(values(ctx, POINT_X).migrate_all())

    text = record(x=int, y=(str, ""))

    def read(ctx: LocalContext) -> Any:
        return list(values(ctx, text).new_keyed_map(b"k").items())

    in_run(reopening_backend_factory, write)
    assert in_run(reopening_backend_factory, finish) == 1
    clock[0] = 99
    assert in_run(reopening_backend_factory, read) == [("a", text(1, ""))]
    clock[0] = 100
    assert in_run(reopening_backend_factory, read) == []


def test_migrate_all_of_a_state_not_declared_in_this_process_names_what_is(
    ctx: LocalContext,
) -> None:
    KeyedValueStateFactory.from_context(ctx, "v", b"declared", IntCodec())
    with pytest.raises(NotInitializedError, match=r"b'other'.*declared: b'declared'"):
        migrate_all(ctx.get_or_create_store("v"), b"other")


def test_a_priority_queue_has_no_values_to_migrate(ctx: LocalContext) -> None:
    queue = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())
    queue.new_keyed_priority_queue(b"k").add(3)
    assert migrate_all(ctx.get_or_create_store("q"), b"g") == 0
    assert list(queue.new_keyed_priority_queue(b"k").all()) == [3]


class ScopeCountingStore(CountingStore):
    """A CountingStore that also lists scopes and logs the order of listing and writing."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.log: list[str] = []

    def scan_scopes(self, key_group: bytes) -> Any:
        for scope in self.inner.scan_scopes(key_group):
            self.log.append("scope")
            yield scope

    def put(self, key: ComplexKey, value: bytes) -> None:
        self.log.append("put")
        super().put(key, value)


def test_migrate_all_streams_one_scan_per_scope_and_one_put_per_old_value(
    backend: Backend,
) -> None:
    inner = backend.store("s")
    old = KeyedReducingStateFactory(CountingStore(inner), b"g", IntCodec(), lambda a, b: a + b)
    for number in range(20):
        old.new_reducing_state(b"k%02d" % number).add(number)
    store = ScopeCountingStore(inner)  # another store object: as a new process sees the data
    new = KeyedReducingStateFactory(store, b"g", StringCodec(), lambda a, b: a + b, migrate=str)
    store.reset()
    store.log.clear()
    assert new.migrate_all() == 20
    assert (store.scans, store.writes) == (20, 21)  # and the descriptor
    assert store.log[:4] == ["scope", "put", "scope", "put"]


def test_migrate_all_memory_does_not_grow_with_the_state(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_buffer, "AUTO_FLUSH_WRITES", 64)

    def peak(count: int) -> int:
        path = tmp_path / f"db{count}"
        with RocksDBBackend(path) as backend:
            ctx = LocalContext(backend)
            ints = KeyedValueStateFactory.from_context(ctx, "v", b"g", IntCodec())
            for number in range(count):
                ints.new_keyed_value(b"%08d" % number).update(number)
        with RocksDBBackend(path) as backend:
            ctx = LocalContext(backend)
            values = KeyedValueStateFactory.from_context(ctx, "v", b"g", StringCodec(), migrate=str)
            tracemalloc.start()
            try:
                assert values.migrate_all() == count
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    small, large = peak(500), peak(5000)
    assert large < small * 2, (small, large)
