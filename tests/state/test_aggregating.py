"""AggregatingState, AggregateFunc and KeyedAggregatingStateFactory on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fssdk import ComplexKey, CorruptStateError, StateConflictError
from fssdk.runtime import Backend, LocalContext, MemoryBackend
from fssdk_advanced import (
    AggregateFunc,
    AggregatingState,
    IntCodec,
    KeyedAggregatingState,
    KeyedAggregatingStateFactory,
    MsgpackCodec,
    ReducingState,
    TupleCodec,
)

Acc = tuple[int, int]


class Mean(AggregateFunc[int, Acc, float]):
    """Count and sum in the accumulator; the mean as the result."""

    def create_accumulator(self) -> Acc:
        return (0, 0)

    def add(self, value: int, accumulator: Acc) -> Acc:
        return (accumulator[0] + 1, accumulator[1] + value)

    def get_result(self, accumulator: Acc) -> float:
        return accumulator[1] / accumulator[0]

    def merge(self, a: Acc, b: Acc) -> Acc:
        return (a[0] + b[0], a[1] + b[1])


class Collect:
    """A structural AggregateFunc (no base class) keeping the values in arrival order."""

    def create_accumulator(self) -> list[str]:
        return []

    def add(self, value: str, accumulator: list[str]) -> list[str]:
        accumulator.append(value)
        return accumulator

    def get_result(self, accumulator: list[str]) -> str:
        return ",".join(accumulator)

    def merge(self, a: list[str], b: list[str]) -> list[str]:
        return a + b


ACC_CODEC = TupleCodec(IntCodec(), IntCodec())


def test_empty_aggregate_is_none_not_found(ctx: LocalContext) -> None:
    assert AggregatingState.from_context(ctx, "a", ACC_CODEC, Mean()).get() == (None, False)


def test_add_folds_into_the_accumulator(ctx: LocalContext) -> None:
    state = AggregatingState.from_context(ctx, "a", ACC_CODEC, Mean())
    for value in (1, 2, 6):
        state.add(value)
    assert state.get() == (3.0, True)


def test_only_the_accumulator_is_stored(ctx: LocalContext) -> None:
    state = AggregatingState.from_context(ctx, "a", ACC_CODEC, Mean())
    state.add(4)
    state.add(8)
    store = ctx.get_or_create_store("a")
    assert store.list_complex(b"", b"", b"", b"", b"") == [b""]
    assert store.get(ComplexKey(b"", b"", b"", b"")) == ACC_CODEC.encode((2, 12))


def test_clear_drops_the_accumulator(ctx: LocalContext) -> None:
    state = AggregatingState.from_context(ctx, "a", ACC_CODEC, Mean())
    state.add(3)
    state.clear()
    assert state.get() == (None, False)
    state.add(5)
    assert state.get() == (5.0, True)


def test_auto_codec_with_a_structural_func(ctx: LocalContext) -> None:
    state = AggregatingState.from_context_auto_codec(ctx, "a", Collect(), list[str])
    state.add("x")
    state.add("y")
    assert state.get() == ("x,y", True)
    untyped = AggregatingState.from_context_auto_codec(ctx, "b", Collect())
    untyped.add("z")
    assert untyped.get() == ("z", True)


def test_keyed_aggregates_use_the_state_name_as_namespace(ctx: LocalContext) -> None:
    factory = KeyedAggregatingStateFactory.from_context(ctx, "a", b"g", ACC_CODEC, Mean())
    factory.new_aggregating_state(b"user1", "w1").add(2)
    factory.new_aggregating_state(b"user1").add(10)
    store = ctx.get_or_create_store("a")
    assert store.get(ComplexKey(b"g", b"user1", b"w1", b"")) == ACC_CODEC.encode((1, 2))
    assert factory.new_aggregating_state(b"user1", "").get() == (10.0, True)
    assert factory.new_aggregating_state(b"user1", "w1").get() == (2.0, True)
    assert factory.new_aggregating_state(b"user12", "w1").get() == (None, False)
    assert isinstance(factory.new_aggregating_state(b"x"), KeyedAggregatingState)


def test_keyed_aggregates_are_isolated_by_key_group(ctx: LocalContext) -> None:
    first = KeyedAggregatingStateFactory.from_context_auto_codec(
        ctx, "a", b"g1", Mean(), tuple[int, int]
    )
    second = KeyedAggregatingStateFactory.from_context_auto_codec(
        ctx, "a", b"g2", Mean(), tuple[int, int]
    )
    first.new_aggregating_state(b"u").add(1)
    second.new_aggregating_state(b"u").add(3)
    assert first.new_aggregating_state(b"u").get() == (1.0, True)
    assert second.new_aggregating_state(b"u").get() == (3.0, True)
    first.new_aggregating_state(b"u").clear()
    assert second.new_aggregating_state(b"u").get() == (3.0, True)


def test_merge_namespaces_folds_sources_into_the_target(ctx: LocalContext) -> None:
    factory = KeyedAggregatingStateFactory.from_context(ctx, "a", b"g", ACC_CODEC, Mean())
    factory.new_aggregating_state(b"u", "w1").add(1)
    factory.new_aggregating_state(b"u", "w2").add(2)
    factory.new_aggregating_state(b"u", "w2").add(3)
    factory.new_aggregating_state(b"u", "t").add(6)
    factory.merge_namespaces(b"u", "t", ["w1", "w2", "empty", "t"])
    assert factory.new_aggregating_state(b"u", "t").get() == (3.0, True)
    assert factory.new_aggregating_state(b"u", "w1").get() == (None, False)
    assert factory.new_aggregating_state(b"u", "w2").get() == (None, False)


def test_merge_namespaces_reads_a_repeated_source_once(ctx: LocalContext) -> None:
    factory = KeyedAggregatingStateFactory.from_context(ctx, "a", b"g", ACC_CODEC, Mean())
    factory.new_aggregating_state(b"u", "w1").add(2)
    factory.merge_namespaces(b"u", "t", ["w1", "w1"])
    assert ctx.get_or_create_store("a").get(ComplexKey(b"g", b"u", b"t", b"")) == (
        ACC_CODEC.encode((1, 2))
    )


def test_merge_namespaces_of_nothing_writes_nothing(ctx: LocalContext) -> None:
    factory = KeyedAggregatingStateFactory.from_context(ctx, "a", b"g", ACC_CODEC, Mean())
    factory.merge_namespaces(b"u", "t", ["w1"])
    assert factory.new_aggregating_state(b"u", "t").get() == (None, False)


def test_merge_namespaces_keeps_merge_order(ctx: LocalContext) -> None:
    factory = KeyedAggregatingStateFactory.from_context_auto_codec(
        ctx, "a", b"g", Collect(), list[str]
    )
    factory.new_aggregating_state(b"u", "w1").add("a")
    factory.new_aggregating_state(b"u", "w2").add("b")
    factory.merge_namespaces(b"u", "new", ["w1", "w2"])
    assert factory.new_aggregating_state(b"u", "new").get() == ("a,b", True)


def test_aggregates_survive_reopen(backend_factory: Callable[[], Backend]) -> None:
    with backend_factory() as backend:
        if isinstance(backend, MemoryBackend):
            pytest.skip("the memory backend keeps nothing across reopen")
        ctx = LocalContext(backend)
        KeyedAggregatingStateFactory.from_context(
            ctx, "a", b"g", ACC_CODEC, Mean()
        ).new_aggregating_state(b"u", "w").add(4)
    with backend_factory() as backend:
        factory = KeyedAggregatingStateFactory.from_context(
            LocalContext(backend), "a", b"g", ACC_CODEC, Mean()
        )
        factory.new_aggregating_state(b"u", "w").add(6)
        assert factory.new_aggregating_state(b"u", "w").get() == (5.0, True)


def test_a_corrupt_accumulator_raises_on_add_and_get(ctx: LocalContext) -> None:
    factory = KeyedAggregatingStateFactory.from_context(ctx, "a", b"g", ACC_CODEC, Mean())
    ctx.get_or_create_store("a").put(ComplexKey(b"g", b"u", b"w", b""), b"\x00")
    state = factory.new_aggregating_state(b"u", "w")
    with pytest.raises(CorruptStateError, match=r"'a'.*b'g'.*b'u'.*b'w'.*accumulator") as info:
        state.get()
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(CorruptStateError, match="accumulator does not decode"):
        state.add(1)
    with pytest.raises(CorruptStateError, match="accumulator does not decode"):
        factory.merge_namespaces(b"u", "t", ["w"])


def test_agg_func_without_the_four_methods_is_rejected(ctx: LocalContext) -> None:
    class Half:
        def create_accumulator(self) -> int:
            return 0

        def add(self, value: int, accumulator: int) -> int:
            return accumulator + value

    with pytest.raises(TypeError, match="Half lacks get_result, merge"):
        AggregatingState.from_context(ctx, "a", IntCodec(), Half())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="agg_func must be an AggregateFunc"):
        KeyedAggregatingStateFactory.from_context_auto_codec(ctx, "a", b"g", len)  # type: ignore[arg-type]


def test_aggregate_func_is_an_abstract_protocol() -> None:
    assert isinstance(Mean(), AggregateFunc)
    assert isinstance(Collect(), AggregateFunc)
    assert not isinstance(object(), AggregateFunc)

    class Incomplete(AggregateFunc[int, int, int]):
        def create_accumulator(self) -> int:
            return 0

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]


def test_identity_conflicts_with_other_kinds_and_codecs(ctx: LocalContext) -> None:
    AggregatingState.from_context(ctx, "a", ACC_CODEC, Mean())
    AggregatingState.from_context(ctx, "a", TupleCodec(IntCodec(), IntCodec()), Mean())
    with pytest.raises(StateConflictError):
        AggregatingState.from_context(ctx, "a", MsgpackCodec(), Mean())
    with pytest.raises(StateConflictError, match="AggregatingState"):
        ReducingState.from_context(ctx, "a", ACC_CODEC, lambda a, b: a)


def test_bad_arguments(ctx: LocalContext) -> None:
    factory = KeyedAggregatingStateFactory.from_context(ctx, "a", b"g", ACC_CODEC, Mean())
    with pytest.raises(TypeError, match="state_name must be str or bytes"):
        factory.new_aggregating_state(b"u", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="primary_key and namespace must be bytes"):
        factory.new_aggregating_state("u")
    with pytest.raises(TypeError, match="acc_codec must be a codec"):
        AggregatingState.from_context(ctx, "b", None, Mean())  # type: ignore[arg-type]
