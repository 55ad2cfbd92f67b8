"""Codecs never write what they cannot read back: the regressions of issue 10, items 1 to 5."""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest

from fssdk.runtime import LocalContext
from fssdk_advanced import ValueState
from fssdk_advanced.codecs import (
    FloatCodec,
    IntCodec,
    JsonCodec,
    MsgpackCodec,
    codec_schema,
    default_codec_for,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Point:
    x: int


@dataclasses.dataclass
class Node:
    name: str
    children: list[Node] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Tree:
    """Mutually recursive with Branch."""

    root: Branch | None = None


@dataclasses.dataclass
class Branch:
    label: str
    left: Tree
    right: Tree


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


# -- 1. typed codecs refuse on encode what decode would refuse ----------------------------------


def test_state_refuses_a_list_element_of_the_wrong_type_and_keeps_the_old_value(
    ctx: LocalContext,
) -> None:
    state = ValueState.from_context_auto_codec(ctx, "v", list[int])
    state.update([1, 2])
    with pytest.raises(TypeError, match=r"\[1\]: expected int, got str 'two'"):
        state.update([1, "two"])  # type: ignore[list-item]
    assert state.value() == ([1, 2], True)


def test_state_refuses_a_dataclass_field_of_the_wrong_type(ctx: LocalContext) -> None:
    state = ValueState.from_context_auto_codec(ctx, "p", Point)
    with pytest.raises(TypeError, match=r"Point\.x: expected int, got float 1\.5"):
        state.update(Point(1.5))  # type: ignore[arg-type]
    assert state.value() == (None, False)


def test_untyped_state_refuses_a_tuple_dict_key(ctx: LocalContext) -> None:
    state = ValueState.from_context_auto_codec(ctx, "u")
    with pytest.raises(TypeError, match=r"tuple key \(1, 2\)"):
        state.update({(1, 2): 3})
    assert state.value() == (None, False)


@pytest.mark.parametrize(
    ("codec", "value", "error", "where"),
    [
        (MsgpackCodec(list[int]), [1, "two"], TypeError, r"\[1\]: expected int"),
        (JsonCodec(list[int]), [1, "two"], TypeError, r"\[1\]: expected int"),
        (MsgpackCodec(Point), Point(1.5), TypeError, r"Point\.x: expected int"),  # type: ignore[arg-type]
        (MsgpackCodec(list[Node]), [Node("a", [Node(1)])], TypeError, r"\[0\]\.children\[0\]"),  # type: ignore[arg-type]
        (MsgpackCodec(dict[str, int]), {"a": 1, 2: 3}, TypeError, r"\[2\] \(the key\)"),
        (MsgpackCodec(dict[str, int]), {"a": "b"}, TypeError, r"\['a'\]: expected int"),
        (MsgpackCodec(tuple[int, str]), (1, 2), TypeError, r"\[1\]: expected str"),
        (MsgpackCodec(tuple[int, str]), (1, "a", 3), ValueError, "expected 2 elements"),
        (MsgpackCodec(list[int]), (1, 2), TypeError, "expected list"),
        (MsgpackCodec(tuple[int, ...]), [1, 2], TypeError, "expected tuple"),
        (MsgpackCodec(set[int]), [1, 2], TypeError, "expected set"),
        (MsgpackCodec(int), 2**64, ValueError, "out of msgpack's range"),
        (MsgpackCodec(Point), Point(2**64), ValueError, r"Point\.x: int .* out of msgpack's range"),
        (MsgpackCodec(int), 1.0, TypeError, "expected int"),
        (MsgpackCodec(bool), 1, TypeError, "expected bool"),
        (MsgpackCodec(str), b"a", TypeError, "expected str"),
        (MsgpackCodec(bytes), "a", TypeError, "expected bytes"),
        (MsgpackCodec(None.__class__), 0, TypeError, "expected None"),
        (MsgpackCodec(Color), "red", TypeError, "expected .*Color"),
        (MsgpackCodec(Literal["a", "b"]), "c", ValueError, "expected one of"),
        (MsgpackCodec(Literal[1]), True, ValueError, "expected one of"),
        (MsgpackCodec(float), 2**53 + 1, ValueError, "no exact 64-bit float"),
        (MsgpackCodec(list[Any]), [(1, 2)], TypeError, r"\[0\]: a tuple would read back"),
        (MsgpackCodec(), [1, (1, 2)], TypeError, r"\[1\]: a tuple would read back"),
        (MsgpackCodec(), {1, 2}, TypeError, "set is not plain data"),
        (MsgpackCodec(), Point(1), TypeError, "Point is not plain data"),
        (MsgpackCodec(), {"a": {"b": (1,)}}, TypeError, r"\.a\.b: a tuple"),
        (MsgpackCodec(), 2**64, ValueError, "out of msgpack's range"),
        (JsonCodec(), b"x", TypeError, "JSON has no bytes"),
        (JsonCodec(), {"a": [b"x"]}, TypeError, r"\.a\[0\]: JSON has no bytes"),
        (JsonCodec(), (1, 2), TypeError, "a tuple would read back"),
    ],
    ids=str,
)
def test_encode_refuses_with_the_path_of_the_offending_part(
    codec: Any, value: Any, error: type[Exception], where: str
) -> None:
    with pytest.raises(error, match=where):
        codec.encode(value)


@pytest.mark.parametrize("make", [MsgpackCodec, JsonCodec], ids=["msgpack", "json"])
def test_circular_values_are_refused_with_a_value_error(make: Any) -> None:
    loop: list[Any] = []
    loop.append(loop)
    for codec in (make(), make(list[Any])):
        with pytest.raises(ValueError, match="cannot encode"):
            codec.encode(loop)


# int, float and bool: what is accepted is stored as a value that reads back equal.


@pytest.mark.parametrize("make", [MsgpackCodec, JsonCodec], ids=["msgpack", "json"])
def test_numbers_and_their_subclasses_read_back_equal(make: Any) -> None:
    ints = make(list[int])
    assert ints.decode(ints.encode([True, Level.HIGH, -1])) == [1, 2, -1]
    assert [type(v) for v in ints.decode(ints.encode([True, Level.HIGH]))] == [int, int]
    floats = make(list[float])
    decoded = floats.decode(floats.encode([3, True, -0.0, math.inf, 2.5]))
    assert decoded == [3.0, 1.0, 0.0, math.inf, 2.5]
    assert all(type(v) is float for v in decoded)
    assert math.copysign(1.0, decoded[2]) == -1.0
    (nan,) = floats.decode(floats.encode([math.nan]))
    assert math.isnan(nan)
    bools = make(list[bool])
    assert bools.decode(bools.encode([True, False])) == [True, False]
    untyped = make()
    assert untyped.decode(untyped.encode([Level.LOW, True, 1.5])) == [1, True, 1.5]


def test_bytes_likes_read_back_as_equal_bytes() -> None:
    codec = MsgpackCodec(list[bytes])
    value = [b"a", bytearray(b"b"), memoryview(b"c")]
    assert codec.decode(codec.encode(value)) == [b"a", b"b", b"c"]  # type: ignore[arg-type]
    assert MsgpackCodec().decode(MsgpackCodec().encode(bytearray(b"\x00"))) == b"\x00"


@pytest.mark.parametrize("make", [MsgpackCodec, JsonCodec], ids=["msgpack", "json"])
def test_optionals_enums_literals_and_nested_tuples_round_trip(make: Any) -> None:
    cases: list[tuple[object, object]] = [
        (int | None, None),
        (int | None, 3),
        (list[Point | None], [None, Point(1)]),
        (Color, Color.BLUE),
        (dict[str, Color], {"a": Color.RED}),
        (Literal["a", 1, None], 1),
        (Literal["a", 1, None], None),
        (list[Literal[Color.RED, "x"]], [Color.RED, "x"]),
        (tuple[tuple[int, str], tuple[float, ...]], ((1, "a"), (0.5, -1.0))),
        (tuple[tuple[int, ...], ...], ((), (1, 2))),
        (frozenset[tuple[int, str]], frozenset({(1, "a"), (2, "b")})),
    ]
    for tp, value in cases:
        codec = make(tp)
        assert codec.decode(codec.encode(value)) == value, tp


def test_msgpack_dict_keys_of_scalar_types_round_trip() -> None:
    codec = MsgpackCodec(dict[Color, list[int]])
    assert codec.decode(codec.encode({Color.RED: [1]})) == {Color.RED: [1]}
    untyped = MsgpackCodec()
    value = {1: "a", "b": 2, b"c": None, None: 1.5, False: [], 2.5: {}}
    assert untyped.decode(untyped.encode(value)) == value


@pytest.mark.parametrize("make", [MsgpackCodec, JsonCodec], ids=["msgpack", "json"])
def test_dicts_of_any_take_plain_keys(make: Any) -> None:
    for tp in (dict, dict[Any, int], dict[str, Any]):
        codec = make(tp)
        assert codec.decode(codec.encode({"a": 1})) == {"a": 1}
        with pytest.raises(TypeError, match=r"tuple key \(1,\)|got tuple"):
            codec.encode({(1,): 1})
    assert MsgpackCodec(dict).decode(MsgpackCodec(dict).encode({1: 2})) == {1: 2}
    with pytest.raises(TypeError, match="expected str, got int 1"):
        JsonCodec(dict).encode({1: 2})


@pytest.mark.parametrize(
    "tp", [dict[tuple[int, int], str], dict[Point, int], dict[frozenset[int], int]], ids=str
)
def test_msgpack_refuses_dict_keys_that_would_not_read_back_at_construction(tp: Any) -> None:
    with pytest.raises(TypeError, match="map keys must be"):
        MsgpackCodec(tp)


def test_enums_with_values_that_cannot_be_stored_are_refused_at_construction() -> None:
    class Pair(enum.Enum):
        A = (1, 2)

    with pytest.raises(TypeError, match=r"value \(1, 2\) is not a scalar"):
        MsgpackCodec(Pair)


def test_decode_names_the_offending_field() -> None:
    data = MsgpackCodec().encode([{"name": "a", "children": [{"name": 3}]}])
    with pytest.raises(ValueError, match=r"\[0\]\.children\[0\]\.name: expected str"):
        MsgpackCodec(list[Node]).decode(data)


# -- 2. JSON keys -------------------------------------------------------------------------------


def test_json_refuses_non_string_keys_without_a_type() -> None:
    with pytest.raises(TypeError, match="JSON object keys are strings, got int key 1"):
        JsonCodec().encode({1: "a", None: "c"})
    with pytest.raises(TypeError, match="got NoneType key None"):
        JsonCodec().encode({"ok": {None: "c"}})


def test_json_with_int_keys_round_trips() -> None:
    codec = JsonCodec(dict[int, str])
    value = {1: "a", -20: "b", 10**30: "c"}
    assert codec.encode({1: "a"}) == b'{"1":"a"}'
    assert codec.decode(codec.encode(value)) == value
    with pytest.raises(ValueError, match="an int key"):
        codec.decode(b'{"01":"a"}')
    with pytest.raises(TypeError, match="expected int key"):
        codec.encode({"1": "a"})  # type: ignore[dict-item]


def test_json_str_valued_enum_keys_round_trip() -> None:
    codec = JsonCodec(dict[Color, int])
    assert codec.decode(codec.encode({Color.RED: 1})) == {Color.RED: 1}


@pytest.mark.parametrize(
    "tp", [dict[float, str], dict[bool, str], dict[Level, str], dict[bytes, str], bytes], ids=str
)
def test_json_refuses_types_it_cannot_hold_at_construction(tp: Any) -> None:
    with pytest.raises(TypeError, match="JSON"):
        JsonCodec(tp)


# -- 3. sets in a canonical order ---------------------------------------------------------------

_ENCODE_SETS = """
import sys
from fssdk_advanced.codecs import JsonCodec, MsgpackCodec
words = {f"w{i}" for i in range(40)}
pairs = frozenset((i % 7, f"p{i}") for i in range(30))
mixed = {None, True, 2, 2.5, float("nan"), "s", b"b"}
out = [
    MsgpackCodec(set[str]).encode(words),
    JsonCodec(set[str]).encode(words),
    MsgpackCodec(frozenset[tuple[int, str]]).encode(pairs),
    MsgpackCodec(dict[str, set[str]]).encode({"a": words}),
    MsgpackCodec(set).encode(mixed),
]
sys.stdout.write(b"|".join(out).hex())
"""


def _encode_sets(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", _ENCODE_SETS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_set_encodings_do_not_depend_on_the_hash_seed() -> None:
    assert _encode_sets("1") == _encode_sets("2") == _encode_sets("3")


def test_sets_are_written_sorted() -> None:
    assert MsgpackCodec(set[int]).encode({3, 1, 2}) == MsgpackCodec().encode([1, 2, 3])
    assert JsonCodec(set[str]).encode({"b", "a"}) == b'["a","b"]'


# -- 4. recursive dataclasses -------------------------------------------------------------------


def test_a_self_referential_dataclass_gets_a_working_default_codec() -> None:
    codec = default_codec_for(Node)
    tree = Node("a", [Node("b"), Node("c", [Node("d")])])
    assert codec.decode(codec.encode(tree)) == tree
    json_codec = JsonCodec(list[Node])
    assert json_codec.decode(json_codec.encode([tree])) == [tree]


def test_mutually_recursive_dataclasses_round_trip_and_describe_themselves_by_reference() -> None:
    codec = MsgpackCodec(Tree)
    tree = Tree(Branch("top", Tree(), Tree(Branch("leaf", Tree(), Tree()))))
    assert codec.decode(codec.encode(tree)) == tree
    schema = str(codec_schema(codec))
    assert schema.count("'dataclass'") == 2
    assert f"'ref': '{__name__}.Tree'" in schema


def test_a_recursive_state_value_round_trips(ctx: LocalContext) -> None:
    state = ValueState.from_context_auto_codec(ctx, "tree", Node)
    state.update(Node("root", [Node("kid")]))
    assert state.value() == (Node("root", [Node("kid")]), True)


# -- 5. FloatCodec and ints ---------------------------------------------------------------------


def test_float_codec_says_an_int_is_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range for a 64-bit float"):
        FloatCodec().encode(10**400)
    with pytest.raises(ValueError, match="out of range for a 64-bit float"):
        MsgpackCodec(float).encode(-(10**400))


def test_float_codec_takes_ints_only_when_a_float_equals_them() -> None:
    codec = FloatCodec()
    assert codec.decode(codec.encode(3)) == 3.0
    assert codec.decode(codec.encode(True)) == 1.0
    assert codec.decode(codec.encode(2**53)) == 2**53
    with pytest.raises(ValueError, match=r"no exact 64-bit float; pass float\(9007199254740993\)"):
        codec.encode(2**53 + 1)
    with pytest.raises(TypeError, match="FloatCodec encodes float, not str"):
        codec.encode("1.0")  # type: ignore[arg-type]


def test_int_codec_stores_bools_and_int_enums_as_their_int() -> None:
    assert IntCodec().decode(IntCodec().encode(True)) == 1
    assert IntCodec().decode(IntCodec().encode(Level.HIGH)) == 2
