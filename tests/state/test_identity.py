"""State identity on disk: descriptors, conflicts across restarts, schema evolution, migrate=."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from fssdk import ComplexKey, StateConflictError, Store, reserved
from fssdk.reserved import IDENTITY_KEY_GROUP
from fssdk.runtime import Backend, LocalContext
from fssdk.stores import MemoryStore
from fssdk_advanced import (
    IntCodec,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedValueStateFactory,
    ListState,
    MapState,
    MsgpackCodec,
    StringCodec,
    ValueState,
)
from tests.support import in_run, record

BackendFactory = Callable[[], Backend]


POINT = record(x=int, y=int)


def write_point(ctx: LocalContext) -> None:
    ValueState.from_context(ctx, "points", MsgpackCodec(POINT)).update(POINT(1, 2))


def read_as(cls: type, **kwargs: Any) -> Callable[[LocalContext], Any]:
    def body(ctx: LocalContext) -> Any:
        return ValueState.from_context(ctx, "points", MsgpackCodec(cls), **kwargs).value()

    return body


# -- descriptors ---------------------------------------------------------------------------------


def test_the_first_declaration_writes_a_descriptor(store: Store) -> None:
    KeyedMapStateFactory(store, b"carts", StringCodec(), IntCodec(), key_codec=StringCodec())
    data = store.get(ComplexKey(IDENTITY_KEY_GROUP, b"carts", b"", b""))
    assert data is not None
    descriptor = json.loads(data)
    assert descriptor["format"] == 1
    assert descriptor["kind"] == "MapState"
    assert descriptor["ttl"] is None
    assert descriptor["codecs"]["key"]["signature"] == "StringCodec()"
    assert descriptor["codecs"]["value"]["signature"] == "IntCodec()"
    assert descriptor["primary_key"]["signature"] == "StringCodec()"


class _CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__("counting")
        self.gets = 0
        self.puts = 0

    def get(self, key: ComplexKey) -> bytes | None:
        self.gets += 1
        return super().get(key)

    def put(self, key: ComplexKey, value: bytes) -> None:
        self.puts += 1
        super().put(key, value)


def test_a_declaration_costs_one_read_and_the_first_one_write() -> None:
    store = _CountingStore()
    KeyedValueStateFactory(store, b"g", IntCodec())
    assert (store.gets, store.puts) == (1, 1)
    for _ in range(3):
        KeyedValueStateFactory(store, b"g", IntCodec())
    assert (store.gets, store.puts) == (1, 1)
    fresh = _CountingStore()
    fresh._complex.update(store._complex)  # the same data seen by a new process
    KeyedValueStateFactory(fresh, b"g", IntCodec())
    assert (fresh.gets, fresh.puts) == (1, 0)


RESERVED_GROUPS = [
    reserved.IDENTITY_KEY_GROUP,
    reserved.TTL_INDEX_KEY_GROUP,
    reserved.EVENT_TIMERS_KEY_GROUP,
    reserved.PROCESSING_TIMERS_KEY_GROUP,
    reserved.TIMER_CLOCK_KEY_GROUP,
    reserved.NAMED_TIMERS_KEY_GROUP,
    reserved.SESSIONS_KEY_GROUP,
    reserved.HIDDEN_PREFIX + b"mine",
    reserved.LIBRARY_PREFIX + b"mine",
]


@pytest.mark.parametrize("key_group", RESERVED_GROUPS)
def test_every_reserved_key_group_is_refused_for_user_state(store: Store, key_group: bytes) -> None:
    for make in (
        lambda: KeyedValueStateFactory(store, key_group, IntCodec()),
        lambda: KeyedListStateFactory(store, key_group, IntCodec()),
    ):
        with pytest.raises(ValueError, match="reserved"):
            make()


def test_a_key_group_that_only_contains_a_reserved_name_is_the_users(store: Store) -> None:
    KeyedValueStateFactory(store, b"x" + reserved.EVENT_TIMERS_KEY_GROUP, IntCodec())


def test_descriptors_stay_out_of_every_key_group(ctx: LocalContext) -> None:
    values = KeyedValueStateFactory.from_context(ctx, "s", b"", IntCodec())
    ValueState.from_context(ctx, "s", IntCodec())
    KeyedListStateFactory.from_context(ctx, "s", b"events", IntCodec())
    assert list(values.keys()) == []
    values.new_keyed_value(b"alice").update(1)
    assert list(values.keys()) == [b"alice"]


def test_a_corrupt_descriptor_raises_naming_the_key_group(store: Store) -> None:
    from fssdk import CorruptStateError

    store.put(ComplexKey(IDENTITY_KEY_GROUP, b"g", b"", b""), b"{not json")
    with pytest.raises(CorruptStateError, match=r"store 'test-store' key group b'g'"):
        KeyedValueStateFactory(store, b"g", IntCodec())


# -- conflicts across a restart -----------------------------------------------------------------


def test_the_same_declaration_after_a_restart_reads_old_values(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)
    assert in_run(durable_backend_factory, read_as(POINT)) == (POINT(1, 2), True)


def test_another_kind_after_a_restart_conflicts_naming_both(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)

    def as_list(ctx: LocalContext) -> None:
        ListState.from_context(ctx, "points", MsgpackCodec(POINT), migrate=lambda old: old)

    with pytest.raises(StateConflictError, match=r"'points'.*ValueState.*ListState"):
        in_run(durable_backend_factory, as_list)


def test_another_codec_after_a_restart_conflicts_naming_both(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, lambda ctx: ValueState.from_context(ctx, "n", IntCodec()))
    with pytest.raises(StateConflictError, match=r"IntCodec\(\).*StringCodec\(\)"):
        in_run(
            durable_backend_factory, lambda ctx: ValueState.from_context(ctx, "n", StringCodec())
        )


def test_other_primary_keys_after_a_restart_conflict(
    durable_backend_factory: BackendFactory,
) -> None:
    def declare(key_codec: Any) -> Callable[[LocalContext], object]:
        return lambda ctx: KeyedValueStateFactory.from_context(
            ctx, "n", b"g", IntCodec(), key_codec=key_codec
        )

    in_run(durable_backend_factory, declare(StringCodec()))
    in_run(durable_backend_factory, declare(StringCodec()))
    with pytest.raises(StateConflictError, match="primary keys"):
        in_run(durable_backend_factory, declare(IntCodec()))
    with pytest.raises(StateConflictError, match="primary keys"):
        in_run(durable_backend_factory, declare(None))


def test_queue_elements_are_never_migrated(durable_backend_factory: BackendFactory) -> None:
    in_run(
        durable_backend_factory,
        lambda ctx: KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec()),
    )
    with pytest.raises(StateConflictError, match=r"element.*cannot be migrated"):
        in_run(
            durable_backend_factory,
            lambda ctx: KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", StringCodec()),
        )


def test_another_value_codec_with_migrate_reads_and_rewrites_old_values(
    durable_backend_factory: BackendFactory,
) -> None:
    def write(ctx: LocalContext) -> None:
        ValueState.from_context(ctx, "n", IntCodec()).update(42)

    def read(ctx: LocalContext) -> Any:
        state = ValueState.from_context(ctx, "n", StringCodec(), migrate=lambda old: f"#{old}")
        return state.value(), ctx.get_or_create_store("n").get(ComplexKey(b"", b"", b"", b""))

    in_run(durable_backend_factory, write)
    assert in_run(durable_backend_factory, read) == (("#42", True), b"#42")


# -- schema evolution of dataclass values -------------------------------------------------------


def test_an_added_field_with_a_default_reads_old_values(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)
    grown = record(x=int, y=int, z=(int, 0))
    assert in_run(durable_backend_factory, read_as(grown)) == (grown(1, 2, 0), True)


def test_a_removed_field_is_dropped_on_read(durable_backend_factory: BackendFactory) -> None:
    in_run(durable_backend_factory, write_point)
    shrunk = record(x=int)
    assert in_run(durable_backend_factory, read_as(shrunk)) == (shrunk(1), True)


def test_a_renamed_class_reads_old_values(durable_backend_factory: BackendFactory) -> None:
    in_run(durable_backend_factory, write_point)
    renamed = record("Location", x=int, y=int)
    assert in_run(durable_backend_factory, read_as(renamed)) == (renamed(1, 2), True)


def test_a_changed_field_type_is_refused_naming_the_field(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)
    with pytest.raises(StateConflictError, match=r"'points'.*\bx\b.*migrate="):
        in_run(durable_backend_factory, read_as(record(x=str, y=int)))


def test_a_changed_field_type_is_accepted_with_migrate(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)
    text = record(x=str, y=int)

    def upgrade(old: Any) -> Any:
        return text(str(old["x"]), old["y"])

    assert in_run(durable_backend_factory, read_as(text, migrate=upgrade)) == (text("1", 2), True)

    def raw(ctx: LocalContext) -> bytes | None:
        return ctx.get_or_create_store("points").get(ComplexKey(b"", b"", b"", b""))

    assert in_run(durable_backend_factory, raw) == MsgpackCodec(text).encode(text("1", 2))


def test_a_new_field_without_a_default_is_refused_naming_the_field(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)
    with pytest.raises(StateConflictError, match=r"\bz\b"):
        in_run(durable_backend_factory, read_as(record(x=int, y=int, z=int)))


def test_a_new_field_without_a_default_is_accepted_with_migrate(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)
    grown = record(x=int, y=int, z=int)
    body = read_as(grown, migrate=lambda old: grown(old["x"], old["y"], old["x"] + old["y"]))
    assert in_run(durable_backend_factory, body) == (grown(1, 2, 3), True)


def test_a_pending_migration_still_needs_migrate(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)
    text = record(x=str, y=int)
    upgrade = read_as(text, migrate=lambda old: text(str(old["x"]), old["y"]))
    in_run(durable_backend_factory, upgrade)
    with pytest.raises(StateConflictError, match="migrate="):
        in_run(durable_backend_factory, read_as(text))


def test_another_kind_is_refused_even_with_migrate(
    durable_backend_factory: BackendFactory,
) -> None:
    in_run(durable_backend_factory, write_point)

    def as_map(ctx: LocalContext) -> None:
        MapState.from_context(ctx, "points", IntCodec(), MsgpackCodec(POINT), migrate=dict)

    with pytest.raises(StateConflictError, match="another kind"):
        in_run(durable_backend_factory, as_map)


def test_migrate_rewrites_list_elements_and_map_values(
    durable_backend_factory: BackendFactory,
) -> None:
    def write(ctx: LocalContext) -> None:
        codec: MsgpackCodec[Any] = MsgpackCodec(POINT)
        lists = KeyedListStateFactory.from_context(ctx, "l", b"g", codec)
        lists.new_keyed_list(b"k").add_all([POINT(1, 2), POINT(3, 4)])
        maps = KeyedMapStateFactory.from_context(ctx, "m", b"g", IntCodec(), codec)
        maps.new_keyed_map(b"k").put(7, POINT(5, 6))

    text = record(x=str, y=int)

    def upgrade(old: Any) -> Any:
        return text(str(old["x"]), old["y"])

    def read(ctx: LocalContext) -> Any:
        lists: KeyedListStateFactory[Any] = KeyedListStateFactory.from_context(
            ctx, "l", b"g", MsgpackCodec(text), migrate=upgrade
        )
        maps: KeyedMapStateFactory[int, Any] = KeyedMapStateFactory.from_context(
            ctx, "m", b"g", IntCodec(), MsgpackCodec(text), migrate=upgrade
        )
        return lists.new_keyed_list(b"k").get(), list(maps.new_keyed_map(b"k").items())

    def raw(ctx: LocalContext) -> Any:
        lists = ctx.get_or_create_store("l").get(ComplexKey(b"g", b"k", b"", b""))
        maps = ctx.get_or_create_store("m").get(ComplexKey(b"g", b"k", b"", IntCodec().encode(7)))
        return lists, maps

    in_run(durable_backend_factory, write)
    expected = ([text("1", 2), text("3", 4)], [(7, text("5", 6))])
    assert in_run(durable_backend_factory, read) == expected
    lists, maps = in_run(durable_backend_factory, raw)
    assert maps == MsgpackCodec(text).encode(text("5", 6))
    assert lists is not None
    assert MsgpackCodec(text).encode(text("3", 4)) in lists


def test_migrate_must_be_callable(ctx: LocalContext) -> None:
    with pytest.raises(TypeError, match="migrate must be callable"):
        ValueState.from_context(ctx, "v", IntCodec(), migrate=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="migrate must be callable"):
        KeyedValueStateFactory.from_context(
            ctx,
            "v",
            b"g",
            IntCodec(),
            migrate=3,  # type: ignore[arg-type]
        )
