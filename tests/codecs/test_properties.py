"""Property: a value codec either refuses a value or reads it back equal; never writes junk.

Types are drawn from everything the typed codecs support, values from each type and from near
misses (a wrong leaf anywhere: a str in a list[int], a float for an int field, a tuple key, an
int beyond 64 bits, bytes in JSON, ...).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import typing
from typing import Any, Literal, Optional

from hypothesis import given
from hypothesis import strategies as st

from fssdk_advanced.codecs import JsonCodec, MsgpackCodec


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    label: str | None = None


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


CHOICE = Literal["a", "b", 1]
FORMATS = ("msgpack", "json")
CODECS = {"msgpack": MsgpackCodec, "json": JsonCodec}

HASHABLE_JUNK: st.SearchStrategy[Any] = st.one_of(
    st.integers(),
    st.floats(),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.booleans(),
    st.none(),
    st.tuples(st.integers(0, 3)),
    st.frozensets(st.integers(0, 3), max_size=2),
    st.sampled_from(Color),
    st.sampled_from(Level),
    st.builds(Point, st.integers(-3, 3)),
    st.builds(Point, st.floats(allow_nan=False)),
)
JUNK: st.SearchStrategy[Any] = st.one_of(
    HASHABLE_JUNK,
    st.integers(2**63, 2**70),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.tuples(st.integers(0, 3)), st.integers(), max_size=1),
    st.dictionaries(st.integers(0, 3), st.text(max_size=2), max_size=2),
    st.sets(st.integers(0, 3), max_size=2),
    st.builds(bytearray, st.binary(max_size=2)),
)

SCALAR_TYPES: list[object] = [int, float, str, bool, type(None), Color, Level, CHOICE, Point, Any]
KEY_TYPES: dict[str, list[object]] = {
    "msgpack": [int, str, bool, bytes, Color, CHOICE],
    "json": [int, str, Color],
}
SET_TYPES: list[object] = [int, str, bytes, Color, Point]


def of(generic: Any, *args: Any) -> Any:
    """``generic[args]`` for type expressions built at run time."""
    return generic[args if len(args) > 1 else args[0]]


def types(fmt: str) -> st.SearchStrategy[Any]:
    """Type expressions a typed codec of ``fmt`` supports, nested a few levels."""
    leaves = st.sampled_from(SCALAR_TYPES + ([bytes] if fmt == "msgpack" else []))
    sets = [t for t in SET_TYPES if fmt == "msgpack" or t is not bytes]

    def nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            inner.map(lambda t: of(list, t)),
            inner.map(lambda t: of(tuple, t, ...)),
            st.tuples(inner, inner).map(lambda ab: of(tuple, *ab)),
            st.sampled_from(sets).map(lambda t: of(set, t)),
            st.sampled_from(sets).map(lambda t: of(frozenset, t)),
            st.tuples(st.sampled_from(KEY_TYPES[fmt]), inner).map(lambda kv: of(dict, *kv)),
            inner.map(lambda t: of(Optional, t)),
        )

    return st.recursive(leaves, nested, max_leaves=4)


def values(tp: Any, fmt: str, miss: bool) -> st.SearchStrategy[Any]:
    """Values of ``tp``; with ``miss``, any part may be a near miss instead."""
    valid = _valid(tp, fmt, miss)
    return st.one_of(valid, JUNK) if miss else valid


def _scalars(fmt: str) -> dict[object, st.SearchStrategy[Any]]:
    return {
        int: st.integers(-(2**63), 2**64 - 1) if fmt == "msgpack" else st.integers(),
        float: st.floats(),
        str: st.text(max_size=4),
        bool: st.booleans(),
        type(None): st.none(),
        bytes: st.binary(max_size=4),
        Color: st.sampled_from(Color),
        Level: st.sampled_from(Level),
        CHOICE: st.sampled_from(["a", "b", 1]),
    }


def plain(fmt: str) -> st.SearchStrategy[Any]:
    """Plain data that ``fmt`` stores as it is."""
    leaves: st.SearchStrategy[Any] = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(), st.text(max_size=3)
    )
    if fmt == "msgpack":
        leaves = st.one_of(leaves, st.binary(max_size=3))
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2)
        ),
        max_leaves=4,
    )


def _hashable(tp: Any, fmt: str, miss: bool) -> st.SearchStrategy[Any]:
    element = _valid(tp, fmt, miss)
    return st.one_of(element, HASHABLE_JUNK) if miss else element


def _valid(tp: Any, fmt: str, miss: bool) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    args: tuple[Any, ...] = typing.get_args(tp)
    if tp is Any:
        return plain(fmt)
    if tp is Point:
        return st.builds(Point, values(int, fmt, miss), values(str | None, fmt, miss))
    scalar = _scalars(fmt).get(tp)
    if scalar is not None:
        return scalar
    if origin is tuple and args[-1] is not Ellipsis:
        return st.tuples(*(values(arg, fmt, miss) for arg in args))
    builders: dict[object, Any] = {
        list: lambda: st.lists(values(args[0], fmt, miss), max_size=3),
        tuple: lambda: st.lists(values(args[0], fmt, miss), max_size=3).map(tuple),
        set: lambda: st.sets(_hashable(args[0], fmt, miss), max_size=3),
        frozenset: lambda: st.frozensets(_hashable(args[0], fmt, miss), max_size=3),
        dict: lambda: st.dictionaries(
            _hashable(args[0], fmt, miss), values(args[1], fmt, miss), max_size=3
        ),
    }
    if origin in builders:
        return builders[origin]()  # type: ignore[no-any-return]
    (inner,) = [arg for arg in args if arg is not type(None)]  # X | None
    return st.one_of(st.none(), values(inner, fmt, miss))


def same(a: Any, b: Any) -> bool:
    """``a == b``, except that NaN equals NaN and -0.0 differs from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def check(codec: Any, value: Any, must_encode: bool) -> None:
    """Encode refuses with TypeError/ValueError, or decode returns an equal value."""
    if must_encode:
        data = codec.encode(value)
    else:
        try:
            data = codec.encode(value)
        except (TypeError, ValueError):
            return
    decoded = codec.decode(data)
    assert same(decoded, value), f"{codec!r}: {value!r} read back as {decoded!r}"
    assert codec.encode(decoded) == data, f"{codec!r}: {value!r} re-encodes differently"


def typed_case(miss: bool) -> st.SearchStrategy[tuple[Any, Any]]:
    @st.composite
    def case(draw: st.DrawFn) -> tuple[Any, Any]:
        fmt = draw(st.sampled_from(FORMATS))
        tp = draw(types(fmt))
        return CODECS[fmt](tp), draw(values(tp, fmt, miss))

    return case()


@given(typed_case(miss=False))
def test_typed_codecs_round_trip_every_value_of_their_type(case: tuple[Any, Any]) -> None:
    codec, value = case
    check(codec, value, must_encode=True)


@given(typed_case(miss=True))
def test_typed_codecs_refuse_or_round_trip_near_misses(case: tuple[Any, Any]) -> None:
    codec, value = case
    check(codec, value, must_encode=False)


PLAIN_LEAVES: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4), st.binary(max_size=4)
)
PLAIN_OR_NOT: st.SearchStrategy[Any] = st.recursive(
    st.one_of(PLAIN_LEAVES, JUNK),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(st.one_of(PLAIN_LEAVES, HASHABLE_JUNK), inner, max_size=3),
    ),
    max_leaves=8,
)


@given(st.sampled_from(FORMATS), PLAIN_OR_NOT)
def test_untyped_codecs_refuse_or_round_trip_anything(fmt: str, value: Any) -> None:
    check(CODECS[fmt](), value, must_encode=False)


@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats()),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_untyped_codecs_store_all_plain_data(value: Any) -> None:
    check(MsgpackCodec(), value, must_encode=True)
    check(JsonCodec(), value, must_encode=True)
