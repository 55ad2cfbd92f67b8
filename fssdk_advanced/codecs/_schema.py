"""Schemas: what a codec's bytes mean, as JSON-able data, and whether one schema reads another.

A state records its codec's schema the first time it is declared; a later declaration compares
its own schema with the recorded one through :func:`schema_change`. Identity is meaning, not
spelling: a renamed dataclass, a removed field or a field added with a default still reads the
old bytes (the typed decoders drop unknown fields and fill defaults); a changed field type or a
field added without a default does not.

Type schemas, recursively: ``{"type": "int"}`` (also ``any``, ``none``, ``bool``, ``float``,
``str``, ``bytes``), ``{"type": "list" | "set" | "frozenset", "items": S}``,
``{"type": "tuple", "each": S}`` (``tuple[X, ...]``), ``{"type": "tuple", "items": [S, ...]}``,
``{"type": "dict", "keys": S, "values": S}``, ``{"type": "optional", "value": S}``,
``{"type": "literal", "values": [...]}``, ``{"enum": "mod.Name", "values": [...]}``,
``{"dataclass": "mod.Name", "fields": [{"name", "type", "default"}, ...]}`` and
``{"ref": "mod.Name"}`` for a dataclass inside itself. Literal and enum values are the stored
values (bytes as ``{"bytes": hex}``).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final

from fssdk_advanced.codecs._typed import stored_fields, type_name

Schema = dict[str, Any]

_SCALAR_NAMES: Final[dict[object, str]] = {
    type(None): "none",
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    bytes: "bytes",
}


def _stored_value(value: object) -> object:
    """The JSON form of a Literal or enum value: what the codec stores, bytes as hex."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    return value


def type_schema(tp: object, _inside: tuple[type, ...] = ()) -> Schema:
    """The schema of values of type ``tp`` (a type a typed codec accepts).

    ``_inside`` holds the dataclasses being described, so a recursive one becomes a reference.

    >>> type_schema(dict[str, list[int]])
    {'type': 'dict', 'keys': {'type': 'str'}, 'values': {'type': 'list', 'items': {'type': 'int'}}}
    """
    if tp is None or tp is Any or tp is object:
        return {"type": "any"}
    scalar = _SCALAR_NAMES.get(tp)
    if scalar is not None:
        return {"type": scalar}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_schema(tp, _inside)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": type_name(tp), "values": [_stored_value(member) for member in tp]}
    args = typing.get_args(tp)
    origin = typing.get_origin(tp) or tp
    if origin is typing.Literal:
        return {"type": "literal", "values": [_stored_value(arg) for arg in args]}
    describe = _GENERIC_SCHEMAS.get(origin)
    if describe is None:
        raise TypeError(f"no schema for {type_name(tp)}")
    return describe(tp, args, [type_schema(arg, _inside) for arg in args if arg is not Ellipsis])


def _dataclass_schema(tp: type, inside: tuple[type, ...]) -> Schema:
    if tp in inside:
        return {"ref": type_name(tp)}
    inside = (*inside, tp)
    return {
        "dataclass": type_name(tp),
        "fields": [
            {"name": name, "type": type_schema(hint, inside), "default": has_default}
            for name, hint, has_default in stored_fields(tp)
        ],
    }


_ANY: Final[Schema] = {"type": "any"}


def _tuple_schema(tp: object, args: tuple[Any, ...], inner: list[Schema]) -> Schema:
    if not args or args[-1] is Ellipsis:
        return {"type": "tuple", "each": inner[0] if inner else dict(_ANY)}
    return {"type": "tuple", "items": inner}


def _dict_schema(tp: object, args: tuple[Any, ...], inner: list[Schema]) -> Schema:
    keys, values = inner if inner else (dict(_ANY), dict(_ANY))
    return {"type": "dict", "keys": keys, "values": values}


def _optional_schema(tp: object, args: tuple[Any, ...], inner: list[Schema]) -> Schema:
    value = next(s for s, arg in zip(inner, args, strict=True) if arg is not type(None))
    return {"type": "optional", "value": value}


def _items_schema(kind: str) -> Callable[[object, tuple[Any, ...], list[Schema]], Schema]:
    def describe(tp: object, args: tuple[Any, ...], inner: list[Schema]) -> Schema:
        return {"type": kind, "items": inner[0] if inner else dict(_ANY)}

    return describe


_GENERIC_SCHEMAS: Final[dict[object, Callable[[object, tuple[Any, ...], list[Schema]], Schema]]] = {
    list: _items_schema("list"),
    set: _items_schema("set"),
    frozenset: _items_schema("frozenset"),
    tuple: _tuple_schema,
    dict: _dict_schema,
    typing.Union: _optional_schema,
    types.UnionType: _optional_schema,
}


def codec_schema(codec: object) -> dict[str, Any]:
    """A JSON-able, deterministic description of what ``codec``'s bytes mean.

    Built-in codecs describe themselves (``{"codec": "int"}``, ``{"codec": "tuple", "items":
    [...]}``, ``{"codec": "msgpack", "type": <type schema>}``); so does any codec with a
    ``schema`` property returning such a dict. Any other codec is described by its class's
    qualified name and its ``signature`` attribute, if it has one.

    >>> from fssdk_advanced.codecs import IntCodec, MsgpackCodec, TupleCodec
    >>> codec_schema(TupleCodec(IntCodec(), IntCodec()))
    {'codec': 'tuple', 'items': [{'codec': 'int'}, {'codec': 'int'}]}
    >>> codec_schema(MsgpackCodec(list[int]))
    {'codec': 'msgpack', 'type': {'type': 'list', 'items': {'type': 'int'}}}
    """
    schema = getattr(codec, "schema", None)
    if isinstance(schema, dict):
        return schema
    cls = type(codec)
    described: Schema = {"codec": f"{cls.__module__}.{cls.__qualname__}"}
    signature = getattr(codec, "signature", None)
    if isinstance(signature, str):
        described["signature"] = signature
    return described


_CODEC_NAMES: Final = {
    "int": "IntCodec",
    "float": "FloatCodec",
    "str": "StringCodec",
    "bytes": "BytesCodec",
    "bool": "BoolCodec",
    "tuple": "TupleCodec",
    "msgpack": "MsgpackCodec",
    "json": "JsonCodec",
    "pickle": "PickleCodec",
}


def _codec_name(schema: Mapping[str, Any]) -> str:
    name = str(schema.get("codec"))
    return _CODEC_NAMES.get(name, name)


def schema_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """``None`` when a codec with schema ``new`` reads bytes written under ``old``; else why not.

    Compatible: identical schemas; a dataclass renamed, with fields removed (dropped on read) or
    added with a default (filled on read); an enum or Literal with more values; ``X`` becoming
    ``X | None``. Anything else is a short reason naming the field or path.

    A schema that is not of the shape :func:`codec_schema` writes (damaged metadata, say) is
    never compatible: the reason says so. ``TypeError`` if ``old`` or ``new`` is not a mapping.

    >>> schema_change({"codec": "int"}, {"codec": "str"})
    'codec changed from IntCodec to StringCodec'
    """
    for argument, schema in (("old", old), ("new", new)):
        if not isinstance(schema, Mapping):
            raise TypeError(f"schema_change: {argument} must be a mapping, got {schema!r}")
    if old == new:
        return None
    try:
        return _codec_change(old, new)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        return f"cannot compare the schemas ({type(exc).__name__}: {exc}): {old!r} and {new!r}"


def _codec_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    if old.get("codec") != new.get("codec"):
        return f"codec changed from {_codec_name(old)} to {_codec_name(new)}"
    kind = old.get("codec")
    if kind == "tuple":
        return _tuple_codec_change(old.get("items", []), new.get("items", []))
    if kind in ("msgpack", "json"):
        return _TypeComparison(old["type"], new["type"]).reason()
    if old.get("signature") != new.get("signature"):
        return (
            f"codec {_codec_name(old)} changed signature from {old.get('signature')!r} to "
            f"{new.get('signature')!r}"
        )
    return f"codec {_codec_name(old)} changed its schema"


def _tuple_codec_change(old: list[Schema], new: list[Schema]) -> str | None:
    if len(old) != len(new):
        return f"TupleCodec changed from {len(old)} to {len(new)} elements"
    for index, (a, b) in enumerate(zip(old, new, strict=True)):
        reason = schema_change(a, b)
        if reason is not None:
            return f"TupleCodec element {index}: {reason}"
    return None


def _unwrap(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``X`` of an optional ``X`` schema; any other schema as it is."""
    return schema["value"] if schema.get("type") == "optional" else schema


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _render(schema: Mapping[str, Any]) -> str:
    """A type schema as it would be written in Python: ``list[int]``, ``Point | None``."""
    for named in ("dataclass", "enum", "ref"):
        if named in schema:
            return _short(str(schema[named]))
    kind = str(schema.get("type"))
    render = _RENDERS.get(kind)
    return kind if render is None else render(schema)


def _render_tuple(schema: Mapping[str, Any]) -> str:
    if "each" in schema:
        return f"tuple[{_render(schema['each'])}, ...]"
    return f"tuple[{', '.join(_render(item) for item in schema['items'])}]"


_RENDERS: Final[dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "list": lambda schema: f"list[{_render(schema['items'])}]",
    "set": lambda schema: f"set[{_render(schema['items'])}]",
    "frozenset": lambda schema: f"frozenset[{_render(schema['items'])}]",
    "tuple": _render_tuple,
    "dict": lambda schema: f"dict[{_render(schema['keys'])}, {_render(schema['values'])}]",
    "optional": lambda schema: f"{_render(schema['value'])} | None",
    "literal": lambda schema: f"Literal[{', '.join(repr(v) for v in schema['values'])}]",
    "any": lambda schema: "Any",
}


def _definitions(schema: Any, into: dict[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Every dataclass schema inside ``schema`` by name, to resolve ``{"ref": name}``."""
    if isinstance(schema, Mapping):
        if "dataclass" in schema:
            into.setdefault(str(schema["dataclass"]), schema)
        for value in schema.values():
            _definitions(value, into)
    elif isinstance(schema, list):
        for item in schema:
            _definitions(item, into)
    return into


class _TypeComparison:
    """Walks an old and a new type schema together; :meth:`reason` is the first incompatibility."""

    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self._old = old
        self._new = new
        self._old_defs = _definitions(old, {})
        self._new_defs = _definitions(new, {})
        self._compared: set[tuple[str, str]] = set()

    def reason(self) -> str | None:
        return self._compare(self._old, self._new, "")

    @staticmethod
    def _where(path: str) -> str:
        if not path:
            return "value"
        return f"value{path}" if path.startswith("[") else f"field {path}"

    def _compare(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> str | None:
        if "ref" in old:
            old = self._old_defs.get(str(old["ref"]), old)
        if "ref" in new:
            new = self._new_defs.get(str(new["ref"]), new)
        if old == new:
            return None
        if "dataclass" in old and "dataclass" in new:
            return self._dataclasses(old, new, path)
        if "enum" in old and "enum" in new:
            return self._values(old, new, path, f"enum {_short(str(new['enum']))}")
        return self._types(old, new, path)

    def _types(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> str | None:
        """Compare two ``{"type": ...}`` schemas (or report the change of kind)."""
        kind, new_kind = old.get("type"), new.get("type")
        if new_kind == "optional":
            return None if kind == "none" else self._compare(_unwrap(old), new["value"], path)
        if kind == "optional" and new_kind is not None:
            return f"{self._where(path)} is no longer optional ({_render(old)} to {_render(new)})"
        if kind is None or kind != new_kind:
            return self._changed(old, new, path)
        if kind == "literal":
            return self._values(old, new, path, _render(new))
        return self._parts(old, new, path)

    def _parts(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> str | None:
        """Compare two containers of one kind part by part (items, keys and values)."""
        parts: list[tuple[Any, Any, str]]
        if "items" in old and "items" in new and isinstance(old["items"], list):
            if len(old["items"]) != len(new["items"]):
                return self._changed(old, new, path)
            parts = [
                (a, b, f"{path}[{index}]")
                for index, (a, b) in enumerate(zip(old["items"], new["items"], strict=True))
            ]
        elif old.get("type") == "dict":
            parts = [
                (old["keys"], new["keys"], f"{path}[key]"),
                (old["values"], new["values"], f"{path}[value]"),
            ]
        else:
            part = "each" if "each" in old else "items"
            if part not in new:
                return self._changed(old, new, path)
            parts = [(old[part], new[part], f"{path}[]")]
        for a, b, where in parts:
            reason = self._compare(a, b, where)
            if reason is not None:
                return reason
        return None

    def _changed(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> str:
        return f"{self._where(path)} changed type from {_render(old)} to {_render(new)}"

    def _values(
        self, old: Mapping[str, Any], new: Mapping[str, Any], path: str, name: str
    ) -> str | None:
        for value in old["values"]:
            if value not in new["values"]:
                return f"{self._where(path)}: {name} no longer has the value {value!r}"
        return None

    def _dataclasses(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> str | None:
        pair = (str(old["dataclass"]), str(new["dataclass"]))
        if pair in self._compared:
            return None  # already being compared further up: recursion
        self._compared.add(pair)
        prefix = path or _short(pair[1])
        old_fields = {field["name"]: field for field in old["fields"]}
        for field in new["fields"]:
            name = field["name"]
            before = old_fields.get(name)
            if before is None:
                if not field["default"]:
                    return f"field {prefix}.{name} was added without a default"
                continue
            if before["default"] and not field["default"]:
                return f"field {prefix}.{name} lost its default (older values may lack it)"
            reason = self._compare(before["type"], field["type"], f"{prefix}.{name}")
            if reason is not None:
                return reason
        return None
