"""Codecs: round trips, byte order equal to value order, exact boundaries and rejections."""

from __future__ import annotations

import dataclasses
import enum
import math
import struct
from collections.abc import Callable
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fssdk_advanced.codecs import (
    BoolCodec,
    BytesCodec,
    Codec,
    FloatCodec,
    IntCodec,
    JsonCodec,
    MsgpackCodec,
    PickleCodec,
    StringCodec,
    TupleCodec,
    UnorderedCodecError,
    codec_signature,
    default_codec_for,
)
from fssdk_advanced.codecs._ordered import escape_terminated, read_terminated

INT64 = st.integers(-(2**63), 2**63 - 1)


def float_key(value: float) -> tuple[int, float, float]:
    """The total order FloatCodec promises: -inf < ... < -0.0 < 0.0 < ... < inf < nan."""
    if math.isnan(value):
        return (1, 0.0, 0.0)
    return (0, value, math.copysign(1.0, value))


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or struct.pack(">d", a) == struct.pack(">d", b)


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


def compare(a: Any, b: Any) -> int:
    return sign((a > b) - (a < b))


# -- each ordered codec: round trip and order ---------------------------------------------------

ORDERED: list[tuple[str, Codec[Any], st.SearchStrategy[Any], Callable[[Any], Any]]] = [
    ("int", IntCodec(), INT64, lambda v: v),
    ("float", FloatCodec(), st.floats(), float_key),
    ("str", StringCodec(), st.text(), lambda v: v),
    ("bytes", BytesCodec(), st.binary(), lambda v: v),
    ("bool", BoolCodec(), st.booleans(), lambda v: v),
    (
        "tuple(str,int)",
        TupleCodec(StringCodec(), IntCodec()),
        st.tuples(st.text(), INT64),
        lambda v: v,
    ),
    ("tuple(int,int)", TupleCodec(IntCodec(), IntCodec()), st.tuples(INT64, INT64), lambda v: v),
    (
        "tuple(bytes,bytes,float)",
        TupleCodec(BytesCodec(), BytesCodec(), FloatCodec()),
        st.tuples(st.binary(), st.binary(), st.floats()),
        lambda v: (v[0], v[1], float_key(v[2])),
    ),
    (
        "tuple(tuple(bytes,int),bool,str)",
        TupleCodec(TupleCodec(BytesCodec(), IntCodec()), BoolCodec(), StringCodec()),
        st.tuples(st.tuples(st.binary(), INT64), st.booleans(), st.text()),
        lambda v: v,
    ),
]


@pytest.mark.parametrize(("name", "codec", "values", "key"), ORDERED, ids=[o[0] for o in ORDERED])
def test_ordered_codec_preserves_order(
    name: str, codec: Codec[Any], values: st.SearchStrategy[Any], key: Callable[[Any], Any]
) -> None:
    @given(values, values)
    def check(a: Any, b: Any) -> None:
        assert compare(codec.encode(a), codec.encode(b)) == compare(key(a), key(b))

    check()


@pytest.mark.parametrize(("name", "codec", "values", "key"), ORDERED, ids=[o[0] for o in ORDERED])
def test_ordered_codec_round_trips(
    name: str, codec: Codec[Any], values: st.SearchStrategy[Any], key: Callable[[Any], Any]
) -> None:
    @given(values)
    def check(value: Any) -> None:
        data = codec.encode(value)
        assert type(data) is bytes
        assert codec.ordered is True
        if codec.fixed_size is not None:
            assert len(data) == codec.fixed_size
        assert key(codec.decode(data)) == key(value)

    check()


# -- exact boundaries ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-(2**63), -1, 0, 1, 2**63 - 1])
def test_int_codec_round_trips_the_int64_boundaries(value: int) -> None:
    assert IntCodec().decode(IntCodec().encode(value)) == value


def test_int_codec_orders_the_extremes() -> None:
    codec = IntCodec()
    assert codec.encode(-(2**63)) == bytes(8)
    assert codec.encode(2**63 - 1) == b"\xff" * 8
    assert codec.encode(-1) < codec.encode(0) < codec.encode(1)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, -(2**100)])
def test_int_codec_rejects_out_of_range(value: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        IntCodec().encode(value)


@pytest.mark.parametrize("value", [1.5, "1", b"1", None])
def test_int_codec_rejects_non_ints(value: Any) -> None:
    with pytest.raises(TypeError, match="IntCodec encodes int"):
        IntCodec().encode(value)


def test_float_codec_total_order_of_the_special_values() -> None:
    codec = FloatCodec()
    ordered = [-math.inf, -1e308, -5e-324, -0.0, 0.0, 5e-324, 1e308, math.inf, math.nan]
    encoded = [codec.encode(v) for v in ordered]
    assert encoded == sorted(encoded)
    assert len(set(encoded)) == len(encoded)


def test_float_codec_round_trips_negative_zero() -> None:
    decoded = FloatCodec().decode(FloatCodec().encode(-0.0))
    assert decoded == 0.0
    assert math.copysign(1.0, decoded) == -1.0


def test_float_codec_puts_every_nan_above_infinity() -> None:
    codec = FloatCodec()
    negative_nan = struct.unpack(">d", b"\xff\xf8" + bytes(6))[0]
    payload_nan = struct.unpack(">d", b"\x7f\xf0" + bytes(5) + b"\x01")[0]
    for nan in (math.nan, negative_nan, payload_nan):
        assert math.isnan(nan)
        assert codec.encode(nan) == codec.encode(math.nan) > codec.encode(math.inf)
        assert math.isnan(codec.decode(codec.encode(nan)))


def test_float_codec_accepts_ints_and_rejects_strings() -> None:
    assert FloatCodec().decode(FloatCodec().encode(3)) == 3.0
    with pytest.raises(TypeError, match="FloatCodec encodes float"):
        FloatCodec().encode("3")  # type: ignore[arg-type]


def test_string_codec_is_utf8_and_orders_by_code_point() -> None:
    codec = StringCodec()
    assert codec.encode("héllo") == "héllo".encode()
    assert codec.encode("a") < codec.encode("ab") < codec.encode("b") < codec.encode("é")
    assert codec.encode("\uffff") < codec.encode("\U00010000")


def test_string_codec_rejects_surrogates_and_non_strings() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        StringCodec().encode("\ud800")
    with pytest.raises(TypeError, match="StringCodec encodes str"):
        StringCodec().encode(b"x")  # type: ignore[arg-type]


def test_bytes_codec_copies_bytes_likes_and_rejects_others() -> None:
    assert BytesCodec().encode(bytearray(b"ab")) == b"ab"  # type: ignore[arg-type]
    assert BytesCodec().encode(memoryview(b"ab")) == b"ab"  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="BytesCodec encodes bytes"):
        BytesCodec().encode("ab")  # type: ignore[arg-type]


def test_bool_codec_bytes_and_rejections() -> None:
    assert (BoolCodec().encode(False), BoolCodec().encode(True)) == (b"\x00", b"\x01")
    with pytest.raises(TypeError, match="BoolCodec encodes bool"):
        BoolCodec().encode(1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="00 or 01"):
        BoolCodec().decode(b"\x02")


def test_tuple_codec_variable_length_element_does_not_break_later_order() -> None:
    codec = TupleCodec(StringCodec(), IntCodec())
    assert codec.encode(("a", 2)) < codec.encode(("ab", 1))
    bcodec = TupleCodec(BytesCodec(), IntCodec())
    assert bcodec.encode((b"a", 9)) < bcodec.encode((b"a\x00", 0)) < bcodec.encode((b"a\x01", 0))


def test_tuple_codec_layout() -> None:
    codec = TupleCodec(BytesCodec(), BoolCodec(), BytesCodec())
    assert codec.encode((b"a\x00", True, b"z\x00")) == b"a\x00\xff\x00\x01" + b"\x01" + b"z\x00"
    assert codec.fixed_size is None
    assert TupleCodec(IntCodec(), BoolCodec()).fixed_size == 9


def test_tuple_codec_rejects_bad_construction_and_values() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TupleCodec()
    with pytest.raises(UnorderedCodecError, match="not ordered"):
        TupleCodec(StringCodec(), MsgpackCodec())
    with pytest.raises(TypeError, match="must be a codec"):
        TupleCodec(int)  # type: ignore[arg-type]
    codec = TupleCodec(StringCodec(), IntCodec())
    with pytest.raises(ValueError, match="expected a tuple of 2"):
        codec.encode(("a",))
    with pytest.raises(TypeError, match="encodes tuples"):
        codec.encode("ab")  # type: ignore[arg-type]


@given(st.lists(INT64, min_size=1, max_size=4))
def test_a_tuple_of_ints_is_its_elements_encodings(values: list[int]) -> None:
    """All-IntCodec tuples take one struct; the bytes are those of the element-wise layout."""
    codec = TupleCodec(*[IntCodec() for _ in values])
    data = codec.encode(tuple(values))
    assert data == b"".join(IntCodec().encode(value) for value in values)
    assert codec.encode(values) == data  # type: ignore[arg-type] # a list is accepted too
    assert codec.decode(data) == tuple(values)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ((1,), ValueError, "expected a tuple of 2"),
        ((1, 2, 3), ValueError, "expected a tuple of 2"),
        ((1.0, 2), TypeError, "IntCodec encodes int, not float"),
        ((2**63, 0), ValueError, "out of range"),
        ((0, -(2**63) - 1), ValueError, "out of range"),
        ({1: 2, 3: 4}, TypeError, "encodes tuples"),
    ],
)
def test_a_tuple_of_ints_rejects_what_its_elements_reject(
    value: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        TupleCodec(IntCodec(), IntCodec()).encode(value)


@pytest.mark.parametrize("data", [b"", bytes(15), bytes(17)])
def test_a_tuple_of_ints_rejects_an_encoding_of_another_size(data: bytes) -> None:
    with pytest.raises(ValueError, match="TupleCodec"):
        TupleCodec(IntCodec(), IntCodec()).decode(data)


@pytest.mark.parametrize(
    "data",
    [
        b"a",  # no terminator
        b"a\x00\x01" + bytes(7),  # int truncated
        b"a\x00\x01" + bytes(9),  # a byte left over
        b"a\x00\x05" + bytes(8),  # bad escape
    ],
)
def test_tuple_codec_decode_rejects_malformed_bytes(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"TupleCodec|unterminated|bad escape"):
        TupleCodec(StringCodec(), IntCodec()).decode(data)


@given(st.binary(), st.binary())
def test_escape_terminated_round_trips_and_keeps_order(a: bytes, b: bytes) -> None:
    assert read_terminated(escape_terminated(a) + b"rest") == (a, len(escape_terminated(a)))
    assert compare(escape_terminated(a), escape_terminated(b)) == compare(a, b)


@pytest.mark.parametrize(
    ("codec", "data"),
    [
        (IntCodec(), bytes(7)),
        (IntCodec(), bytes(9)),
        (FloatCodec(), bytes(4)),
        (StringCodec(), b"\xff\xfe"),
        (BoolCodec(), b""),
    ],
)
def test_ordered_decode_rejects_bytes_of_the_wrong_shape(codec: Codec[Any], data: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each codec words it its own way
        codec.decode(data)


# -- value codecs ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0
    label: str | None = None


@dataclasses.dataclass
class Shape:
    name: str
    points: list[Point]
    tags: set[str]
    corners: tuple[Point, Point]


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


PLAIN = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(PLAIN)
def test_msgpack_round_trips_plain_data(value: Any) -> None:
    codec = MsgpackCodec()
    assert codec.decode(codec.encode(value)) == value


PLAIN_JSON = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(PLAIN_JSON)
def test_json_round_trips_plain_data(value: Any) -> None:
    codec = JsonCodec()
    assert codec.decode(codec.encode(value)) == value


@pytest.mark.parametrize("make", [MsgpackCodec, JsonCodec], ids=["msgpack", "json"])
def test_value_codecs_round_trip_dataclasses_when_given_the_type(make: Any) -> None:
    shape = Shape("tri", [Point(1, 2.5, "a"), Point(-3)], {"x", "y"}, (Point(0), Point(1)))
    assert make(Shape).decode(make(Shape).encode(shape)) == shape
    points = [Point(1), Point(2, 1.5)]
    assert make(list[Point]).decode(make(list[Point]).encode(points)) == points
    mapping = {"a": Point(1), "b": Point(2)}
    assert make(dict[str, Point]).decode(make(dict[str, Point]).encode(mapping)) == mapping
    assert make(Point | None).decode(make(Point | None).encode(None)) is None
    colors = [Color.RED, Color.BLUE]
    assert make(list[Color]).decode(make(list[Color]).encode(colors)) == colors


def test_msgpack_round_trips_bytes_and_tuples_by_type() -> None:
    codec = MsgpackCodec(tuple[bytes, int])
    assert codec.decode(codec.encode((b"\x00\xff", 3))) == (b"\x00\xff", 3)
    codec2 = MsgpackCodec(tuple[int, ...])
    assert codec2.decode(codec2.encode((1, 2, 3))) == (1, 2, 3)
    codec3 = MsgpackCodec(frozenset[int])
    assert codec3.decode(codec3.encode(frozenset({1, 2}))) == frozenset({1, 2})


def test_msgpack_without_a_type_cannot_encode_a_dataclass() -> None:
    with pytest.raises(TypeError, match="cannot encode"):
        MsgpackCodec().encode(Point(1))


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"\x92\x01", b"\x01\x02", b"\xa2\xff\xfe"],
    ids=["empty", "reserved", "truncated", "extra", "bad-utf8"],
)
def test_msgpack_decode_raises_value_error_for_garbage(data: bytes) -> None:
    with pytest.raises(ValueError, match="cannot decode"):
        MsgpackCodec().decode(data)


def test_typed_decode_rejects_data_of_another_shape() -> None:
    untyped = MsgpackCodec()
    with pytest.raises(ValueError, match=r"field Point\.x is missing and has no default"):
        MsgpackCodec(Point).decode(untyped.encode({"y": 1.0}))
    with pytest.raises(ValueError, match="expected a list"):
        MsgpackCodec(list[Point]).decode(untyped.encode({"x": 1}))
    with pytest.raises(ValueError, match="expected int"):
        MsgpackCodec(list[int]).decode(untyped.encode(["a"]))
    with pytest.raises(ValueError, match="expected a map"):
        MsgpackCodec(dict[str, int]).decode(untyped.encode([1]))


@pytest.mark.parametrize("tp", [complex, int | str, Callable[[], int]], ids=str)
def test_value_codecs_reject_unsupported_types_at_construction(tp: Any) -> None:
    with pytest.raises(TypeError, match=r"unsupported union|no msgpack/JSON conversion"):
        MsgpackCodec(tp)


def test_json_codec_is_compact_utf8_and_rejects_bytes() -> None:
    assert JsonCodec().encode({"é": [1, None]}) == '{"é":[1,null]}'.encode()
    with pytest.raises(TypeError, match="cannot encode"):
        JsonCodec().encode(b"x")
    with pytest.raises(ValueError, match="cannot decode"):
        JsonCodec().decode(b"{")


def test_pickle_codec_round_trips_and_warns_in_its_docstring() -> None:
    codec = PickleCodec()
    value = {"point": Point(1), "set": {1, 2}, "complex": 1 + 2j}
    assert codec.decode(codec.encode(value)) == value
    assert "untrusted" in (PickleCodec.__doc__ or "")
    assert "runs code" in (PickleCodec.__doc__ or "") or "run code" in (PickleCodec.__doc__ or "")
    with pytest.raises(ValueError, match="cannot unpickle"):
        codec.decode(b"not a pickle")


def test_value_codecs_are_unordered_and_variable_size() -> None:
    for codec in (MsgpackCodec(), JsonCodec(), PickleCodec()):
        assert codec.ordered is False
        assert codec.fixed_size is None


# -- default_codec_for ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (bool, BoolCodec()),
        (int, IntCodec()),
        (float, FloatCodec()),
        (str, StringCodec()),
        (bytes, BytesCodec()),
        (None, MsgpackCodec()),
        (Point, MsgpackCodec(Point)),
        (list[Point], MsgpackCodec(list[Point])),
        (dict[str, Point], MsgpackCodec(dict[str, Point])),
    ],
    ids=str,
)
def test_default_codec_for(tp: Any, expected: Codec[Any]) -> None:
    assert default_codec_for(tp) == expected


def test_default_codec_never_picks_pickle() -> None:
    for tp in (None, object, Point, list[int], dict[str, Any], tuple[int, str]):
        assert not isinstance(default_codec_for(tp), PickleCodec)


def test_default_codec_round_trips_dataclasses_in_containers() -> None:
    codec = default_codec_for(dict[str, list[Point]])
    value = {"a": [Point(1, 2.0, "p")], "b": []}
    assert codec.decode(codec.encode(value)) == value


# -- signatures ----------------------------------------------------------------------------------


def test_codec_equality_and_repr_follow_the_signature() -> None:
    assert IntCodec() == IntCodec()
    assert IntCodec() != FloatCodec()
    assert TupleCodec(IntCodec(), StringCodec()) == TupleCodec(IntCodec(), StringCodec())
    assert TupleCodec(IntCodec(), StringCodec()) != TupleCodec(StringCodec(), IntCodec())
    assert MsgpackCodec(Point) != MsgpackCodec()
    assert repr(TupleCodec(IntCodec(), BytesCodec())) == "TupleCodec(IntCodec(), BytesCodec())"
    assert hash(MsgpackCodec(list[int])) == hash(MsgpackCodec(list[int]))


def test_signature_of_a_user_codec_is_its_qualified_name() -> None:
    class Upper:
        ordered = False
        fixed_size = None

        def encode(self, value: str) -> bytes:
            return value.upper().encode()

        def decode(self, data: bytes) -> str:
            return data.decode()

    assert isinstance(Upper(), Codec)
    assert codec_signature(Upper()).endswith("Upper")


class _ClaimsFixed:
    """An ordered codec that declares 2-byte encodings but writes any length."""

    ordered = True
    fixed_size = 2

    def encode(self, value: bytes) -> bytes:
        return value

    def decode(self, data: bytes) -> bytes:
        return data


def test_tuple_codec_refuses_an_element_breaking_its_fixed_size() -> None:
    codec = TupleCodec(_ClaimsFixed(), IntCodec())
    assert codec.decode(codec.encode((b"ab", 1))) == (b"ab", 1)
    with pytest.raises(ValueError, match="declares fixed_size 2"):
        codec.encode((b"abc", 1))


@pytest.mark.parametrize("fixed_size", [0, -1, 2.0, "8"])
def test_a_codec_with_a_nonsense_fixed_size_is_refused(fixed_size: object) -> None:
    class Odd(_ClaimsFixed):
        pass

    Odd.fixed_size = fixed_size  # type: ignore[assignment]
    with pytest.raises(TypeError, match="fixed_size must be None or a positive int"):
        TupleCodec(Odd())


def test_typed_conversion_edge_cases() -> None:
    untyped = MsgpackCodec()
    assert MsgpackCodec(list[float]).decode(untyped.encode([1, 2.5])) == [1.0, 2.5]
    with pytest.raises(ValueError, match="expected float"):
        MsgpackCodec(float).decode(untyped.encode("x"))
    with pytest.raises(ValueError, match="expected 2 elements"):
        MsgpackCodec(tuple[int, int]).encode((1, 2, 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected a list of 2"):
        MsgpackCodec(tuple[int, int]).decode(untyped.encode([1]))
    with pytest.raises(TypeError, match=r"expected .*Point"):
        MsgpackCodec(Point).encode(Shape("s", [], set(), (Point(0), Point(0))))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"expected a map for .*Point"):
        MsgpackCodec(Point).decode(untyped.encode([1]))
    literal = MsgpackCodec(Literal["a", "b"])
    assert literal.decode(literal.encode("a")) == "a"
    with pytest.raises(ValueError, match="cannot encode"):
        untyped.encode(2**64)
