"""codec_schema describes what a codec's bytes mean; schema_change says whether old bytes read."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Literal

import pytest

from fssdk_advanced.codecs import (
    BoolCodec,
    BytesCodec,
    FloatCodec,
    IntCodec,
    JsonCodec,
    MsgpackCodec,
    PickleCodec,
    StringCodec,
    TupleCodec,
    codec_schema,
    schema_change,
)

M = __name__


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Node:
    name: str
    children: list[Node] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Everything:
    a: list[int]
    b: set[str]
    c: frozenset[bytes]
    d: tuple[int, ...]
    e: tuple[int, str]
    f: dict[str, Point]
    g: Point | None
    h: Literal["a", 1, b"z", None]
    i: Color
    j: Any
    k: bool = False


# -- codec_schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "schema"),
    [
        (IntCodec(), {"codec": "int"}),
        (FloatCodec(), {"codec": "float"}),
        (StringCodec(), {"codec": "str"}),
        (BytesCodec(), {"codec": "bytes"}),
        (BoolCodec(), {"codec": "bool"}),
        (PickleCodec(), {"codec": "pickle"}),
        (
            TupleCodec(StringCodec(), TupleCodec(IntCodec(), BoolCodec())),
            {
                "codec": "tuple",
                "items": [
                    {"codec": "str"},
                    {"codec": "tuple", "items": [{"codec": "int"}, {"codec": "bool"}]},
                ],
            },
        ),
        (MsgpackCodec(), {"codec": "msgpack", "type": {"type": "any"}}),
        (JsonCodec(dict[int, str]), {"codec": "json", "type": {
            "type": "dict", "keys": {"type": "int"}, "values": {"type": "str"}}}),
        (MsgpackCodec(Point), {"codec": "msgpack", "type": {
            "dataclass": f"{M}.Point",
            "fields": [
                {"name": "x", "type": {"type": "int"}, "default": False},
                {"name": "y", "type": {"type": "float"}, "default": True},
            ],
        }}),
    ],
    ids=repr,
)  # fmt: skip
def test_built_in_codecs_describe_themselves(codec: Any, schema: dict[str, Any]) -> None:
    assert codec_schema(codec) == schema


def test_every_supported_type_has_a_json_able_deterministic_schema() -> None:
    schema = codec_schema(MsgpackCodec(Everything))
    fields = {field["name"]: field["type"] for field in schema["type"]["fields"]}
    assert fields == {
        "a": {"type": "list", "items": {"type": "int"}},
        "b": {"type": "set", "items": {"type": "str"}},
        "c": {"type": "frozenset", "items": {"type": "bytes"}},
        "d": {"type": "tuple", "each": {"type": "int"}},
        "e": {"type": "tuple", "items": [{"type": "int"}, {"type": "str"}]},
        "f": {"type": "dict", "keys": {"type": "str"}, "values": codec_schema(
            MsgpackCodec(Point))["type"]},
        "g": {"type": "optional", "value": codec_schema(MsgpackCodec(Point))["type"]},
        "h": {"type": "literal", "values": ["a", 1, {"bytes": "7a"}, None]},
        "i": {"enum": f"{M}.Color", "values": ["red", "blue"]},
        "j": {"type": "any"},
        "k": {"type": "bool"},
    }  # fmt: skip
    text = json.dumps(schema, sort_keys=True)
    assert json.loads(text) == schema
    assert json.dumps(codec_schema(MsgpackCodec(Everything)), sort_keys=True) == text


def test_a_recursive_dataclass_refers_to_itself() -> None:
    assert codec_schema(MsgpackCodec(Node))["type"] == {
        "dataclass": f"{M}.Node",
        "fields": [
            {"name": "name", "type": {"type": "str"}, "default": False},
            {"name": "children", "type": {"type": "list", "items": {"ref": f"{M}.Node"}},
             "default": True},
        ],
    }  # fmt: skip


class Upper:
    """A user codec with neither schema nor signature."""

    ordered = False
    fixed_size = None

    def encode(self, value: str) -> bytes:
        return value.upper().encode()

    def decode(self, data: bytes) -> str:
        return data.decode()


class Versioned(Upper):
    signature = "Versioned(v2)"


class Described(Upper):
    schema = {"codec": "upper", "version": 3}  # noqa: RUF012 - read only


def test_user_codecs_are_described_by_class_and_signature() -> None:
    assert codec_schema(Upper()) == {"codec": f"{M}.Upper"}
    assert codec_schema(Versioned()) == {"codec": f"{M}.Versioned", "signature": "Versioned(v2)"}
    assert codec_schema(Described()) == {"codec": "upper", "version": 3}


# -- schema_change --------------------------------------------------------------------------------


def change(old: Any, new: Any) -> str | None:
    return schema_change(codec_schema(old), codec_schema(new))


def test_identical_schemas_are_compatible() -> None:
    assert change(IntCodec(), IntCodec()) is None
    assert change(MsgpackCodec(Everything), MsgpackCodec(Everything)) is None
    assert change(MsgpackCodec(Node), MsgpackCodec(Node)) is None
    assert change(Versioned(), Versioned()) is None


def test_another_codec_is_incompatible() -> None:
    assert change(IntCodec(), StringCodec()) == "codec changed from IntCodec to StringCodec"
    assert change(MsgpackCodec(), JsonCodec()) == "codec changed from MsgpackCodec to JsonCodec"
    assert change(IntCodec(), Upper()) == f"codec changed from IntCodec to {M}.Upper"
    assert (
        change(TupleCodec(IntCodec(), IntCodec()), TupleCodec(IntCodec(), StringCodec()))
        == "TupleCodec element 1: codec changed from IntCodec to StringCodec"
    )
    assert change(TupleCodec(IntCodec()), TupleCodec(IntCodec(), IntCodec())) == (
        "TupleCodec changed from 1 to 2 elements"
    )
    old = {"codec": f"{M}.Versioned", "signature": "Versioned(v1)"}
    assert schema_change(old, codec_schema(Versioned())) == (
        f"codec {M}.Versioned changed signature from 'Versioned(v1)' to 'Versioned(v2)'"
    )


def test_a_changed_type_is_incompatible_and_named() -> None:
    assert change(MsgpackCodec(int), MsgpackCodec(str)) == "value changed type from int to str"
    assert change(MsgpackCodec(list[int]), MsgpackCodec(list[str])) == (
        "value[] changed type from int to str"
    )
    assert change(MsgpackCodec(dict[str, int]), MsgpackCodec(dict[int, int])) == (
        "value[key] changed type from str to int"
    )
    assert change(MsgpackCodec(tuple[int, str]), MsgpackCodec(tuple[int, int])) == (
        "value[1] changed type from str to int"
    )
    assert change(MsgpackCodec(tuple[int, str]), MsgpackCodec(tuple[int, ...])) == (
        "value changed type from tuple[int, str] to tuple[int, ...]"
    )
    assert change(MsgpackCodec(int), MsgpackCodec(Any)) == "value changed type from int to Any"


def test_optional_may_widen_but_not_narrow() -> None:
    assert change(MsgpackCodec(int), MsgpackCodec(int | None)) is None
    assert change(MsgpackCodec(None.__class__), MsgpackCodec(int | None)) is None
    assert change(MsgpackCodec(int | None), MsgpackCodec(int)) == (
        "value is no longer optional (int | None to int)"
    )
    assert change(MsgpackCodec(int), MsgpackCodec(str | None)) == (
        "value changed type from int to str"
    )


class Color2(enum.Enum):
    RED = "red"
    BLUE = "blue"
    GREEN = "green"


class Mono(enum.Enum):
    RED = "red"


def test_enums_and_literals_may_gain_values_but_not_lose_them() -> None:
    assert change(MsgpackCodec(Color), MsgpackCodec(Color2)) is None
    assert change(MsgpackCodec(Color), MsgpackCodec(Mono)) == (
        "value: enum Mono no longer has the value 'blue'"
    )
    assert change(MsgpackCodec(Literal["a"]), MsgpackCodec(Literal["a", "b"])) is None
    assert change(MsgpackCodec(Literal["a", "b"]), MsgpackCodec(Literal["a"])) == (
        "value: Literal['a'] no longer has the value 'b'"
    )


# Versions of one dataclass, as an operator's code evolves between runs.


@dataclasses.dataclass
class PointV1:
    x: int
    y: int
    label: str = ""


@dataclasses.dataclass
class PointV2:  # gained a field with a default, lost "label"
    x: int
    y: int
    z: int = 0


@dataclasses.dataclass
class Renamed:  # PointV1 under another name
    x: int
    y: int
    label: str = ""


@dataclasses.dataclass
class PointRetyped:
    x: str
    y: int
    label: str = ""


@dataclasses.dataclass
class PointRequired:
    x: int
    y: int
    label: str = ""
    z: int = dataclasses.field(kw_only=True)


@dataclasses.dataclass
class PointNoDefault:
    x: int
    y: int
    label: str


@dataclasses.dataclass
class Shape:
    points: list[PointV1]


@dataclasses.dataclass
class ShapeV2:
    points: list[PointRetyped]


def test_dataclass_evolutions_that_keep_reading() -> None:
    assert change(MsgpackCodec(PointV1), MsgpackCodec(PointV2)) is None
    assert change(MsgpackCodec(PointV1), MsgpackCodec(Renamed)) is None
    assert change(MsgpackCodec(list[PointV1]), MsgpackCodec(list[PointV2])) is None
    assert change(JsonCodec(dict[str, PointV1]), JsonCodec(dict[str, Renamed])) is None


def test_dataclass_evolutions_that_do_not() -> None:
    assert change(MsgpackCodec(PointV1), MsgpackCodec(PointRetyped)) == (
        "field PointRetyped.x changed type from int to str"
    )
    assert change(MsgpackCodec(PointV1), MsgpackCodec(PointRequired)) == (
        "field PointRequired.z was added without a default"
    )
    assert change(MsgpackCodec(PointV1), MsgpackCodec(PointNoDefault)) == (
        "field PointNoDefault.label lost its default (older values may lack it)"
    )
    assert change(MsgpackCodec(Shape), MsgpackCodec(ShapeV2)) == (
        "field ShapeV2.points[].x changed type from int to str"
    )
    assert change(MsgpackCodec(PointV1), MsgpackCodec(int)) == (
        "value changed type from PointV1 to int"
    )


@dataclasses.dataclass
class Tree:
    label: str
    kids: list[Tree]


@dataclasses.dataclass
class TreeV2:
    label: str
    kids: list[TreeV2]
    weight: float = 1.0


@dataclasses.dataclass
class TreeBad:
    label: int
    kids: list[TreeBad]


def test_recursive_dataclasses_evolve_by_the_same_rules() -> None:
    assert change(MsgpackCodec(Tree), MsgpackCodec(TreeV2)) is None
    assert change(MsgpackCodec(Tree), MsgpackCodec(TreeBad)) == (
        "field TreeBad.label changed type from str to int"
    )


# -- decoding honours the compatible changes ---------------------------------------------------


@pytest.mark.parametrize("make", [MsgpackCodec, JsonCodec], ids=["msgpack", "json"])
def test_old_bytes_read_under_a_compatible_new_class(make: Any) -> None:
    old = make(list[PointV1]).encode([PointV1(1, 2, "a"), PointV1(3, 4)])
    assert make(list[PointV2]).decode(old) == [PointV2(1, 2), PointV2(3, 4)]
    assert make(list[Renamed]).decode(old) == [Renamed(1, 2, "a"), Renamed(3, 4)]
    back = make(list[PointV2]).encode([PointV2(5, 6, 7)])
    assert make(list[PointV1]).decode(back) == [PointV1(5, 6)]
    tree = make(Tree).encode(Tree("a", [Tree("b", [])]))
    assert make(TreeV2).decode(tree) == TreeV2("a", [TreeV2("b", [])])


@pytest.mark.parametrize("make", [MsgpackCodec, JsonCodec], ids=["msgpack", "json"])
def test_old_bytes_under_an_incompatible_class_still_fail_clearly(make: Any) -> None:
    old = make(PointV1).encode(PointV1(1, 2))
    with pytest.raises(ValueError, match=r"PointRequired: field PointRequired\.z is missing"):
        make(PointRequired).decode(old)
    with pytest.raises(ValueError, match=r"PointRetyped\.x: expected str, got int 1"):
        make(PointRetyped).decode(old)


def test_malformed_schemas_are_never_compatible() -> None:
    good = codec_schema(MsgpackCodec(PointV1))
    damaged = {"codec": "msgpack", "type": {"dataclass": "x", "fields": [{"name": "x"}]}}
    reason = schema_change(damaged, good)
    assert reason is not None
    assert reason.startswith("cannot compare the schemas (KeyError")
    assert schema_change({"codec": "msgpack"}, good) is not None
    with pytest.raises(TypeError, match="old must be a mapping"):
        schema_change("int", good)  # type: ignore[arg-type]
