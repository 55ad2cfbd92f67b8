"""MapState and KeyedMapStateFactory on every backend."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from fssdk import ComplexKey, CorruptStateError
from fssdk.runtime import Backend, LocalContext, MemoryBackend
from fssdk_advanced import (
    BytesCodec,
    FloatCodec,
    IntCodec,
    JsonCodec,
    KeyedMapState,
    KeyedMapStateFactory,
    MapState,
    MsgpackCodec,
    StringCodec,
    TupleCodec,
    UnorderedCodecError,
)


@dataclasses.dataclass
class Item:
    name: str
    qty: int


@pytest.fixture
def scores(ctx: LocalContext) -> MapState[str, int]:
    state = MapState.from_context(ctx, "m", StringCodec(), IntCodec())
    for name, score in [("b", 2), ("ab", 12), ("a", 1), ("", 0), ("c", 3)]:
        state.put(name, score)
    return state


def test_missing_key_is_none_not_found(ctx: LocalContext) -> None:
    state = MapState.from_context(ctx, "m", StringCodec(), IntCodec())
    assert state.get("x") == (None, False)
    assert not state.contains("x")
    assert state.is_empty()
    assert list(state.all()) == []


def test_put_get_overwrite_contains(ctx: LocalContext) -> None:
    state = MapState.from_context(ctx, "m", StringCodec(), IntCodec())
    state.put("a", 1)
    state.put("a", 2)
    assert state.get("a") == (2, True)
    assert state.contains("a")
    assert not state.is_empty()


def test_delete_removes_one_key_and_ignores_missing(scores: MapState[str, int]) -> None:
    scores.delete("ab")
    scores.delete("zz")
    assert scores.get("ab") == (None, False)
    assert scores.get("a") == (1, True)


def test_clear_empties_the_map(scores: MapState[str, int]) -> None:
    scores.clear()
    assert scores.is_empty()
    assert list(scores.all()) == []
    scores.put("n", 5)
    assert list(scores.all()) == [("n", 5)]


def test_all_is_in_key_order(scores: MapState[str, int]) -> None:
    assert list(scores.all()) == [("", 0), ("a", 1), ("ab", 12), ("b", 2), ("c", 3)]


def test_int_and_float_keys_iterate_numerically(ctx: LocalContext) -> None:
    ints = MapState.from_context(ctx, "i", IntCodec(), StringCodec())
    floats = MapState.from_context(ctx, "f", FloatCodec(), StringCodec())
    for key in (10, -1, 0, -(2**63), 2**63 - 1, 2):
        ints.put(key, str(key))
        floats.put(float(key), str(key))
    floats.put(-0.0, "-0.0")
    floats.put(float("inf"), "inf")
    assert [k for k, _ in ints.all()] == [-(2**63), -1, 0, 2, 10, 2**63 - 1]
    assert [v for _, v in floats.all()] == [
        "-9223372036854775808",
        "-1",
        "-0.0",
        "0",
        "2",
        "10",
        "9223372036854775807",
        "inf",
    ]


def test_tuple_keys_iterate_in_tuple_order(ctx: LocalContext) -> None:
    state = MapState.from_context(ctx, "m", TupleCodec(StringCodec(), IntCodec()), IntCodec())
    for key in [("ab", 1), ("a", 2), ("a", -5), ("b", 0)]:
        state.put(key, 0)
    assert [k for k, _ in state.all()] == [("a", -5), ("a", 2), ("ab", 1), ("b", 0)]


def test_items_range_and_reverse(scores: MapState[str, int]) -> None:
    assert list(scores.items(start="a", end="b")) == [("a", 1), ("ab", 12)]
    assert list(scores.items(start="ab")) == [("ab", 12), ("b", 2), ("c", 3)]
    assert list(scores.items(end="ab")) == [("", 0), ("a", 1)]
    assert list(scores.items(reverse=True)) == [("c", 3), ("b", 2), ("ab", 12), ("a", 1), ("", 0)]
    assert list(scores.items(start="a", end="c", reverse=True)) == [("b", 2), ("ab", 12), ("a", 1)]
    assert list(scores.keys(start="b")) == ["b", "c"]
    assert list(scores.values(end="b", reverse=True)) == [12, 1, 0]


def test_empty_ranges_yield_nothing(scores: MapState[str, int]) -> None:
    assert list(scores.items(start="b", end="b")) == []
    assert list(scores.items(start="c", end="a")) == []
    assert list(scores.items(end="")) == []
    assert list(scores.keys(start="zz")) == []


def test_iteration_sees_the_map_as_it_was_when_it_started(scores: MapState[str, int]) -> None:
    seen = []
    for key, value in scores.all():
        seen.append(key)
        scores.delete(key)
        scores.put(key + "z", value)
    assert seen == ["", "a", "ab", "b", "c"]
    assert [k for k, _ in scores.all()] == ["abz", "az", "bz", "cz", "z"]


def test_values_of_any_type_with_a_typed_value_codec(ctx: LocalContext) -> None:
    state = MapState.from_context_auto_codec(ctx, "m", int, Item)
    state.put(3, Item("pen", 2))
    assert state.get(3) == (Item("pen", 2), True)
    json_state = MapState.from_context(ctx, "j", BytesCodec(), JsonCodec(list[Item]))
    json_state.put(b"\x00", [Item("a", 1)])
    assert list(json_state.all()) == [(b"\x00", [Item("a", 1)])]


def test_layout_is_one_entry_per_key(ctx: LocalContext) -> None:
    state = MapState.from_context(ctx, "m", StringCodec(), IntCodec())
    state.put("k", 5)
    store = ctx.get_or_create_store("m")
    assert store.list_complex(b"", b"", b"", b"", b"") == [b"k"]
    assert store.get(ComplexKey(b"", b"", b"", b"k")) == IntCodec().encode(5)


def test_unordered_key_codecs_are_rejected_at_construction(ctx: LocalContext) -> None:
    with pytest.raises(UnorderedCodecError, match="key_codec MsgpackCodec"):
        MapState.from_context(ctx, "m", MsgpackCodec(), IntCodec())
    with pytest.raises(TypeError, match="not ordered"):
        KeyedMapStateFactory.from_context(ctx, "m", b"g", JsonCodec(), IntCodec())
    with pytest.raises(ValueError, match="key_type=None has no ordered codec"):
        MapState.from_context_auto_codec(ctx, "m")
    with pytest.raises(UnorderedCodecError, match=r"key_type=.*Item has no ordered codec"):
        KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", Item, int)


def test_keyed_map_uses_the_map_name_as_namespace(ctx: LocalContext) -> None:
    factory = KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", str, int)
    factory.new_keyed_map(b"user1", "cart").put("apple", 2)
    store = ctx.get_or_create_store("m")
    assert store.list_complex(b"g", b"user1", b"cart", b"", b"") == [b"apple"]
    assert isinstance(factory.new_keyed_map(b"user1", "cart"), KeyedMapState)


def test_keyed_maps_are_isolated(ctx: LocalContext) -> None:
    factory = KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", str, int)
    other = KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"h", str, int)
    factory.new_keyed_map(b"user1", "cart").put("a", 1)
    factory.new_keyed_map(b"user1", "wish").put("b", 2)
    factory.new_keyed_map(b"user12", "cart").put("c", 3)
    other.new_keyed_map(b"user1", "cart").put("d", 4)
    assert list(factory.new_keyed_map(b"user1", "cart").all()) == [("a", 1)]
    assert list(factory.new_keyed_map(b"user1", "wish").all()) == [("b", 2)]
    assert list(other.new_keyed_map(b"user1", "cart").all()) == [("d", 4)]
    factory.new_keyed_map(b"user1", "cart").clear()
    assert factory.new_keyed_map(b"user1", "cart").is_empty()
    assert list(factory.new_keyed_map(b"user12", "cart").all()) == [("c", 3)]
    assert list(factory.new_keyed_map(b"user1", "wish").all()) == [("b", 2)]


def test_maps_survive_reopen(backend_factory: Callable[[], Backend]) -> None:
    with backend_factory() as backend:
        if isinstance(backend, MemoryBackend):
            pytest.skip("the memory backend keeps nothing across reopen")
        ctx = LocalContext(backend)
        factory = KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", int, str)
        state = factory.new_keyed_map(b"u", "m")
        state.put(2, "two")
        state.put(1, "one")
    with backend_factory() as backend:
        ctx = LocalContext(backend)
        factory = KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", int, str)
        assert list(factory.new_keyed_map(b"u", "m").all()) == [(1, "one"), (2, "two")]


def test_a_corrupt_value_raises_and_is_never_skipped(ctx: LocalContext) -> None:
    factory = KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", str, int)
    state = factory.new_keyed_map(b"user1", "w")
    state.put("a", 1)
    state.put("c", 3)
    ctx.get_or_create_store("m").put(ComplexKey(b"g", b"user1", b"w", b"b"), b"\x01")
    with pytest.raises(CorruptStateError, match=r"'m'.*b'g'.*b'user1'.*b'w'.*user_key b'b'"):
        list(state.all())
    with pytest.raises(CorruptStateError, match="map value does not decode"):
        state.get("b")
    assert state.get("c") == (3, True)
    assert list(state.keys()) == ["a", "b", "c"]


def test_a_corrupt_key_raises(ctx: LocalContext) -> None:
    state = MapState.from_context(ctx, "m", IntCodec(), IntCodec())
    state.put(1, 1)
    ctx.get_or_create_store("m").put(ComplexKey(b"", b"", b"", b"\x01\x02"), IntCodec().encode(0))
    with pytest.raises(CorruptStateError, match="map key does not decode") as info:
        list(state.items())
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(CorruptStateError, match="map key does not decode"):
        list(state.keys())


def test_bad_arguments(ctx: LocalContext) -> None:
    factory = KeyedMapStateFactory.from_context_auto_codec(ctx, "m", b"g", str, int)
    with pytest.raises(TypeError, match="map_name must be str or bytes"):
        factory.new_keyed_map(b"u", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="new_keyed_map: primary_key and namespace must be bytes"):
        factory.new_keyed_map("u", "name")
    with pytest.raises(TypeError, match="StringCodec encodes str"):
        factory.new_keyed_map(b"u").put(1, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="value_codec must be a codec"):
        MapState.from_context(ctx, "m2", StringCodec(), "int")  # type: ignore[arg-type]
