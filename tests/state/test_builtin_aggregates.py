"""The built-in aggregations (Count, Sum, Min, Max, Mean): folding like Python, their fixed
accumulator encodings on every backend, namespace merges, windows, and the values they refuse."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fssdk import ComplexKey, Context
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk_advanced import (
    AggregateFunc,
    AggregatingState,
    Count,
    FloatCodec,
    IntCodec,
    KeyedAggregatingStateFactory,
    Max,
    Mean,
    Min,
    SessionWindows,
    StringCodec,
    Sum,
    TupleCodec,
    WindowedAggregation,
    WindowResult,
)
from tests.conftest import BackendFactory

INTS = st.integers(-(2**40), 2**40)
FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=32)

#: Each built-in, the Python it must agree with, its accumulator codec, and values it takes.
BUILTINS: dict[str, tuple[Callable[[], Any], Callable[[list[Any]], Any], object, Any]] = {
    "Count()": (Count, len, IntCodec(), st.one_of(INTS, st.text())),
    "Sum(int)": (lambda: Sum(int), sum, IntCodec(), INTS),
    "Sum(float)": (lambda: Sum(float), lambda vs: sum(vs, 0.0), FloatCodec(), FLOATS),
    "Min(int)": (lambda: Min(int), min, IntCodec(), INTS),
    "Min(float)": (lambda: Min(float), min, FloatCodec(), FLOATS),
    "Max(int)": (lambda: Max(int), max, IntCodec(), INTS),
    "Max(float)": (lambda: Max(float), max, FloatCodec(), FLOATS),
    "Mean(int)": (lambda: Mean(int), lambda vs: sum(vs) / len(vs), None, INTS),
    "Mean(float)": (lambda: Mean(float), lambda vs: sum(vs, 0.0) / len(vs), None, FLOATS),
}
ACCUMULATOR_CODECS = {
    "Mean(int)": TupleCodec(IntCodec(), IntCodec()),
    "Mean(float)": TupleCodec(FloatCodec(), IntCodec()),
}


def codec_of(name: str) -> Any:
    return ACCUMULATOR_CODECS.get(name) or BUILTINS[name][2]


@pytest.mark.parametrize("name", sorted(BUILTINS))
@given(data=st.data())
def test_builtin_aggregations_fold_as_python_does(name: str, data: st.DataObject) -> None:
    make, python, _, values = BUILTINS[name]
    added = data.draw(st.lists(values, min_size=1, max_size=20))
    func = make()
    assert repr(func) == name
    state = AggregatingState.from_context_auto_codec(LocalContext(MemoryBackend()), "a", func)
    for value in added:
        state.add(value)
    assert state.get() == (python(added), True)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_accumulators_are_stored_in_their_fixed_encoding(
    backend_factory: BackendFactory, name: str
) -> None:
    make, python, _, _ = BUILTINS[name]
    codec = codec_of(name)
    added = [3, 1, 2]
    backend = backend_factory()
    state = AggregatingState.from_context_auto_codec(LocalContext(backend), "a", make())
    for value in added:
        state.add(value)
    if isinstance(backend, RocksDBBackend):
        backend.close()
        backend = backend_factory()
    with backend:
        stored = backend.store("a").get(ComplexKey(b"", b"", b"", b""))
        assert stored is not None
        assert len(stored) == codec.fixed_size in (8, 16)
        again = AggregatingState.from_context(LocalContext(backend), "a", codec, make())
        assert again.get() == (python(added), True)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_aggregations_merge_namespaces_as_one_fold(ctx: LocalContext, name: str) -> None:
    make, python, _, _ = BUILTINS[name]
    factory = KeyedAggregatingStateFactory.from_context_auto_codec(ctx, "a", b"kg", make())
    for namespace, values in (("x", [5, -2]), ("y", [7]), ("z", [0, 4, 1])):
        for value in values:
            factory.new_aggregating_state(b"k", namespace).add(value)
    factory.merge_namespaces(b"k", "x", ["y", "z"])
    assert factory.new_aggregating_state(b"k", "x").get() == (python([5, -2, 7, 0, 4, 1]), True)
    assert factory.new_aggregating_state(b"k", "y").get() == (None, False)


def test_builtin_aggregations_run_windowed_aggregations_with_typed_keys(
    backend: Backend,
) -> None:
    results: list[tuple[str, float]] = []

    def record(ctx: Context, fired: WindowResult[float]) -> None:
        results.append((fired.key, fired.result))

    ctx = LocalContext(backend)
    means = KeyedAggregatingStateFactory.from_context_auto_codec(
        ctx, "w", b"mean", Mean(float), key_codec=StringCodec()
    )
    windows: WindowedAggregation[float, float] = WindowedAggregation(
        means, SessionWindows(10), on_result=record
    )
    for ts, value in ((0, 1.0), (30, 8.0), (15, 2.5), (8, 6.0)):
        windows.add(ctx, "sensor", ts, value)
    windows.advance_watermark(ctx, 100)
    assert results == [("sensor", statistics.mean([1.0, 2.5, 6.0])), ("sensor", 8.0)]


def test_an_explicit_accumulator_type_still_chooses_the_codec(ctx: LocalContext) -> None:
    state = AggregatingState.from_context_auto_codec(ctx, "a", Mean(int), tuple[int, int])
    state.add(3)
    stored = ctx.get_or_create_store("a").get(ComplexKey(b"", b"", b"", b""))
    assert stored is not None
    assert len(stored) < 16  # msgpack of (3, 1), not the fixed encoding


@pytest.mark.parametrize("func", [Min(float), Max(float)])
def test_min_and_max_rank_negative_zero_below_zero_in_either_order(
    func: AggregateFunc[float, float, float],
) -> None:
    for values in ((0.0, -0.0), (-0.0, 0.0)):
        acc = func.create_accumulator()
        for value in values:
            acc = func.add(value, acc)
        expected = -1.0 if isinstance(func, Min) else 1.0
        assert math.copysign(1.0, func.get_result(acc)) == expected


def test_accumulators_of_no_values_are_the_identities() -> None:
    assert Count().create_accumulator() == 0
    assert Sum(float).create_accumulator() == 0.0
    assert Min(int).create_accumulator() == 2**63 - 1
    assert Max(int).create_accumulator() == -(2**63)
    assert Min(float).create_accumulator() == math.inf
    assert Max(float).create_accumulator() == -math.inf
    assert math.isnan(Mean(float).get_result(Mean(float).create_accumulator()))


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: Sum(int).add(1.5, 0), TypeError, "Sum(int): value must be an int, not float"),  # type: ignore[arg-type]
        (lambda: Sum(float).add("1", 0.0), TypeError, "Sum(float): value must be a float or"),  # type: ignore[arg-type]
        (lambda: Min(int).add(True, 0), TypeError, "Min(int): value must be an int, not bool"),
        (lambda: Min(float).add(math.nan, 0.0), ValueError, "Min(float): NaN has no order"),
        (lambda: Max(float).add(math.nan, 0.0), ValueError, "Max(float): NaN has no order"),
        (lambda: Max(int).add(2**63, 0), ValueError, "Max(int): the value 9223372036854775808"),
        (lambda: Sum(int).add(2**62, 2**62), ValueError, "Sum(int): the sum 9223372036854775808"),
        (lambda: Mean(int).merge((2**62, 1), (2**62, 1)), ValueError, "Mean(int): the sum"),
        (lambda: Sum(str), TypeError, "Sum: value_type must be int or float, not str"),  # type: ignore[type-var]
        (lambda: Mean(None), TypeError, "Mean: value_type must be int or float"),  # type: ignore[arg-type]
    ],
)
def test_bad_values_raise_naming_the_aggregation(
    call: Callable[[], object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=re.escape(words)):
        call()


def test_a_sum_past_the_64_bit_range_leaves_the_stored_accumulator_as_it_was(
    ctx: LocalContext,
) -> None:
    state = AggregatingState.from_context_auto_codec(ctx, "a", Sum(int))
    state.add(2**62)
    with pytest.raises(ValueError, match="outside the signed 64-bit range"):
        state.add(2**62)
    assert state.get() == (2**62, True)
