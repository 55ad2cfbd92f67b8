"""ReducingState and KeyedReducingStateFactory on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fssdk import ComplexKey, CorruptStateError, StateConflictError
from fssdk.runtime import Backend, LocalContext, MemoryBackend
from fssdk_advanced import (
    IntCodec,
    KeyedReducingState,
    KeyedReducingStateFactory,
    ReducingState,
    StringCodec,
    ValueState,
)


def concat(a: str, b: str) -> str:
    """Not commutative: shows which operand is the stored value."""
    return a + b


def test_empty_reduction_is_none_not_found(ctx: LocalContext) -> None:
    assert ReducingState.from_context(ctx, "r", IntCodec(), max).get() == (None, False)


def test_first_add_stores_the_value_then_reduce_folds_current_with_new(
    ctx: LocalContext,
) -> None:
    state = ReducingState.from_context(ctx, "r", StringCodec(), concat)
    state.add("a")
    assert state.get() == ("a", True)
    state.add("b")
    state.add("c")
    assert state.get() == ("abc", True)


def test_layout_is_the_reduced_value_at_the_empty_user_key(ctx: LocalContext) -> None:
    state = ReducingState.from_context(ctx, "r", IntCodec(), max)
    state.add(3)
    state.add(9)
    state.add(4)
    store = ctx.get_or_create_store("r")
    assert store.list_complex(b"", b"", b"", b"", b"") == [b""]
    assert store.get(ComplexKey(b"", b"", b"", b"")) == IntCodec().encode(9)


def test_clear(ctx: LocalContext) -> None:
    state: ReducingState[int] = ReducingState.from_context_auto_codec(ctx, "r", min, int)
    state.add(3)
    state.clear()
    assert state.get() == (None, False)
    state.add(5)
    assert state.get() == (5, True)


def test_auto_codec_without_a_type_uses_msgpack(ctx: LocalContext) -> None:
    state: ReducingState[list[int]] = ReducingState.from_context_auto_codec(
        ctx, "r", lambda a, b: [*a, *b]
    )
    state.add([1])
    state.add([2, 3])
    assert state.get() == ([1, 2, 3], True)


def test_keyed_reductions_are_isolated(ctx: LocalContext) -> None:
    factory = KeyedReducingStateFactory.from_context(ctx, "r", b"g", StringCodec(), concat)
    other = KeyedReducingStateFactory.from_context_auto_codec(ctx, "r", b"h", concat, str)
    factory.new_reducing_state(b"user1", b"").add("a")
    factory.new_reducing_state(b"user1", b"w").add("b")
    factory.new_reducing_state(b"user12", b"").add("c")
    other.new_reducing_state(b"user1").add("d")
    assert factory.new_reducing_state(b"user1", b"").get() == ("a", True)
    assert factory.new_reducing_state(b"user1", b"w").get() == ("b", True)
    assert factory.new_reducing_state(b"user12").get() == ("c", True)
    assert other.new_reducing_state(b"user1", b"").get() == ("d", True)
    factory.new_reducing_state(b"user1", b"").clear()
    assert factory.new_reducing_state(b"user1", b"w").get() == ("b", True)
    assert isinstance(factory.new_reducing_state(b"x"), KeyedReducingState)


def test_merge_namespaces_reduces_in_order_and_clears_sources(ctx: LocalContext) -> None:
    factory = KeyedReducingStateFactory.from_context(ctx, "r", b"g", StringCodec(), concat)
    factory.new_reducing_state(b"u", b"t").add("t")
    factory.new_reducing_state(b"u", b"w1").add("1")
    factory.new_reducing_state(b"u", b"w2").add("2")
    factory.merge_namespaces(b"u", b"t", [b"w1", b"none", b"w2", b"t"])
    assert factory.new_reducing_state(b"u", b"t").get() == ("t12", True)
    assert factory.new_reducing_state(b"u", b"w1").get() == (None, False)
    assert factory.new_reducing_state(b"u", b"w2").get() == (None, False)
    factory.merge_namespaces(b"u", b"fresh", [b"t"])
    assert factory.new_reducing_state(b"u", b"fresh").get() == ("t12", True)
    factory.merge_namespaces(b"u", b"nothing", [b"none"])
    assert factory.new_reducing_state(b"u", b"nothing").get() == (None, False)


def test_merge_namespaces_reads_a_repeated_source_once(ctx: LocalContext) -> None:
    factory = KeyedReducingStateFactory.from_context(ctx, "r", b"g", StringCodec(), concat)
    factory.new_reducing_state(b"u", b"").add("a")
    factory.merge_namespaces(b"u", b"w", [b"", b""])
    assert factory.new_reducing_state(b"u", b"w").get() == ("a", True)


def test_reductions_survive_reopen(backend_factory: Callable[[], Backend]) -> None:
    with backend_factory() as backend:
        if isinstance(backend, MemoryBackend):
            pytest.skip("the memory backend keeps nothing across reopen")
        KeyedReducingStateFactory.from_context(
            LocalContext(backend), "r", b"g", StringCodec(), concat
        ).new_reducing_state(b"u", b"w").add("a")
    with backend_factory() as backend:
        factory = KeyedReducingStateFactory.from_context(
            LocalContext(backend), "r", b"g", StringCodec(), concat
        )
        factory.new_reducing_state(b"u", b"w").add("b")
        assert factory.new_reducing_state(b"u", b"w").get() == ("ab", True)


def test_a_corrupt_value_raises_on_add_and_get(ctx: LocalContext) -> None:
    factory = KeyedReducingStateFactory.from_context(ctx, "r", b"g", StringCodec(), concat)
    ctx.get_or_create_store("r").put(ComplexKey(b"g", b"u", b"w", b""), b"\xff")
    state = factory.new_reducing_state(b"u", b"w")
    with pytest.raises(CorruptStateError, match=r"'r'.*b'g'.*b'u'.*b'w'") as info:
        state.get()
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
    with pytest.raises(CorruptStateError, match="reduced value does not decode"):
        state.add("x")
    with pytest.raises(CorruptStateError):
        factory.merge_namespaces(b"u", b"t", [b"w"])


def test_identity_conflicts(ctx: LocalContext) -> None:
    ReducingState.from_context(ctx, "r", IntCodec(), max)
    ReducingState.from_context(ctx, "r", IntCodec(), min)
    with pytest.raises(StateConflictError, match="ReducingState"):
        ValueState.from_context(ctx, "r", IntCodec())
    with pytest.raises(StateConflictError):
        ReducingState.from_context(ctx, "r", StringCodec(), concat)


def test_bad_arguments(ctx: LocalContext) -> None:
    with pytest.raises(TypeError, match="reduce_func must be callable"):
        ReducingState.from_context(ctx, "r", IntCodec(), 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="reduce_func must be callable"):
        KeyedReducingStateFactory.from_context_auto_codec(ctx, "r", b"g", None)  # type: ignore[arg-type]
    factory = KeyedReducingStateFactory.from_context(ctx, "r2", b"g", IntCodec(), max)
    with pytest.raises(TypeError, match="new_reducing_state: namespace must be str or bytes"):
        factory.new_reducing_state(b"u", 1)  # type: ignore[arg-type]
