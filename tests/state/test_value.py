"""ValueState and KeyedValueStateFactory on every backend."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from fssdk import ComplexKey, CorruptStateError, InvalidStoreNameError, StateConflictError
from fssdk.runtime import Backend, LocalContext, MemoryBackend
from fssdk_advanced import (
    IntCodec,
    KeyedValueState,
    KeyedValueStateFactory,
    ListState,
    MsgpackCodec,
    StringCodec,
    ValueState,
)


@dataclasses.dataclass
class Session:
    user: str
    clicks: list[int]


def test_unset_value_is_none_not_found(ctx: LocalContext) -> None:
    assert ValueState.from_context(ctx, "v", IntCodec()).value() == (None, False)


def test_update_then_value(ctx: LocalContext) -> None:
    state = ValueState.from_context(ctx, "v", IntCodec())
    state.update(-(2**63))
    assert state.value() == (-(2**63), True)
    state.update(7)
    assert state.value() == (7, True)


def test_clear_unsets_and_clearing_twice_is_harmless(ctx: LocalContext) -> None:
    state = ValueState.from_context(ctx, "v", StringCodec())
    state.update("x")
    state.clear()
    assert state.value() == (None, False)
    state.clear()
    assert state.value() == (None, False)


def test_none_is_a_value_with_msgpack(ctx: LocalContext) -> None:
    state = ValueState.from_context_auto_codec(ctx, "v")
    state.update(None)
    assert state.value() == (None, True)


def test_auto_codec_round_trips_a_dataclass(ctx: LocalContext) -> None:
    state = ValueState.from_context_auto_codec(ctx, "v", Session)
    state.update(Session("ann", [1, 2]))
    assert state.value() == (Session("ann", [1, 2]), True)


def test_layout_is_the_encoding_at_the_empty_user_key(ctx: LocalContext) -> None:
    ValueState.from_context(ctx, "v", IntCodec()).update(5)
    store = ctx.get_or_create_store("v")
    assert store.get(ComplexKey(b"", b"", b"", b"")) == IntCodec().encode(5)


def test_two_handles_of_one_identity_are_the_same_state(ctx: LocalContext) -> None:
    ValueState.from_context(ctx, "v", IntCodec()).update(1)
    assert ValueState.from_context(ctx, "v", IntCodec()).value() == (1, True)
    keyed = KeyedValueStateFactory.from_context(ctx, "v", b"", IntCodec())
    assert keyed.new_keyed_value(b"", b"").value() == (1, True)


def test_store_names_do_not_share_values(ctx: LocalContext) -> None:
    ValueState.from_context(ctx, "a", IntCodec()).update(1)
    assert ValueState.from_context(ctx, "b", IntCodec()).value() == (None, False)


def test_keyed_values_are_isolated_by_primary_key_namespace_and_key_group(
    ctx: LocalContext,
) -> None:
    clicks = KeyedValueStateFactory.from_context(ctx, "v", b"clicks", IntCodec())
    views = KeyedValueStateFactory.from_context(ctx, "v", b"views", IntCodec())
    clicks.new_keyed_value(b"user1", b"").update(1)
    clicks.new_keyed_value(b"user1", b"w1").update(2)
    views.new_keyed_value(b"user1", b"").update(3)
    assert clicks.new_keyed_value(b"user1", b"").value() == (1, True)
    assert clicks.new_keyed_value(b"user1", b"w1").value() == (2, True)
    assert views.new_keyed_value(b"user1", b"").value() == (3, True)
    assert clicks.new_keyed_value(b"user12", b"").value() == (None, False)
    assert clicks.new_keyed_value(b"user", b"1").value() == (None, False)
    assert clicks.new_keyed_value(b"user1", b"w").value() == (None, False)
    assert ValueState.from_context(ctx, "other", IntCodec()).value() == (None, False)


def test_keyed_clear_only_touches_its_scope(ctx: LocalContext) -> None:
    factory = KeyedValueStateFactory.from_context_auto_codec(ctx, "v", b"g", str)
    factory.new_keyed_value(b"a", b"").update("x")
    factory.new_keyed_value(b"b", b"").update("y")
    factory.new_keyed_value(b"a", b"").clear()
    assert factory.new_keyed_value(b"a", b"").value() == (None, False)
    assert factory.new_keyed_value(b"b", b"").value() == ("y", True)


def test_keyed_value_state_is_the_value_state_class(ctx: LocalContext) -> None:
    factory = KeyedValueStateFactory.from_context(ctx, "v", b"g", IntCodec())
    assert isinstance(factory.new_keyed_value(b"k", b""), KeyedValueState)
    assert KeyedValueState is ValueState


def test_values_survive_reopen(backend_factory: Callable[[], Backend]) -> None:
    with backend_factory() as backend:
        if isinstance(backend, MemoryBackend):
            pytest.skip("the memory backend keeps nothing across reopen")
        ctx = LocalContext(backend)
        ValueState.from_context(ctx, "v", IntCodec()).update(42)
        KeyedValueStateFactory.from_context(ctx, "k", b"g", IntCodec()).new_keyed_value(
            b"u", b"w"
        ).update(7)
    with backend_factory() as backend:
        ctx = LocalContext(backend)
        assert ValueState.from_context(ctx, "v", IntCodec()).value() == (42, True)
        factory = KeyedValueStateFactory.from_context(ctx, "k", b"g", IntCodec())
        assert factory.new_keyed_value(b"u", b"w").value() == (7, True)


def test_corrupt_bytes_raise_corrupt_state_error_naming_store_and_scope(
    ctx: LocalContext,
) -> None:
    factory = KeyedValueStateFactory.from_context(ctx, "v", b"g", IntCodec())
    ctx.get_or_create_store("v").put(ComplexKey(b"g", b"user1", b"w", b""), b"\x01\x02")
    with pytest.raises(CorruptStateError, match=r"'v'.*b'g'.*b'user1'.*b'w'") as info:
        factory.new_keyed_value(b"user1", b"w").value()
    assert isinstance(info.value.__cause__, ValueError)
    assert isinstance(info.value, ValueError)


def test_declaring_one_store_as_two_kinds_conflicts(ctx: LocalContext) -> None:
    ValueState.from_context(ctx, "v", IntCodec())
    with pytest.raises(StateConflictError, match=r"ValueState.*ListState"):
        ListState.from_context(ctx, "v", IntCodec())


def test_declaring_one_identity_with_other_codecs_conflicts(ctx: LocalContext) -> None:
    KeyedValueStateFactory.from_context(ctx, "v", b"g", IntCodec())
    with pytest.raises(StateConflictError, match=r"IntCodec\(\).*StringCodec\(\)"):
        KeyedValueStateFactory.from_context(ctx, "v", b"g", StringCodec())
    with pytest.raises(StateConflictError):
        KeyedValueStateFactory.from_context(ctx, "v", b"g", MsgpackCodec())
    KeyedValueStateFactory.from_context(ctx, "v", b"other", StringCodec())


def test_bad_arguments_raise_errors_naming_them(ctx: LocalContext) -> None:
    with pytest.raises(TypeError, match=r"ctx must be an fssdk\.Context"):
        ValueState.from_context(object(), "v", IntCodec())  # type: ignore[arg-type]
    with pytest.raises(InvalidStoreNameError):
        ValueState.from_context(ctx, "", IntCodec())
    with pytest.raises(TypeError, match="codec must be a codec"):
        ValueState.from_context(ctx, "v", int)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key_group must be bytes"):
        KeyedValueStateFactory.from_context(ctx, "v", "g", IntCodec())  # type: ignore[arg-type]
    factory = KeyedValueStateFactory.from_context(ctx, "w", b"g", IntCodec())
    with pytest.raises(TypeError, match="new_keyed_value: primary_key and namespace"):
        factory.new_keyed_value("user", b"")
    with pytest.raises(TypeError, match="new_keyed_value: namespace must be str or bytes"):
        factory.new_keyed_value(b"user", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out of range"):
        factory.new_keyed_value(b"user", b"").update(2**63)
