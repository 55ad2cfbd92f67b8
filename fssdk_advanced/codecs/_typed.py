"""Type-directed conversion between typed values and the plain data msgpack and JSON carry.

msgpack and JSON know ``None``, bool, int, float, str, bytes (msgpack only), lists and maps. Given
a type, :func:`plan_for` builds a pair of functions that turn a value of that type into plain data
(dataclasses into maps of their init fields, tuples into lists, sets into sorted lists, enums into
their values) and back. Both directions check the value against the type, so ``encode`` refuses
what ``decode`` would refuse: nothing is written that cannot be read back as an equal value.

Supported: ``None``, ``Any``/``object`` (plain data, checked as the untyped codecs check it),
bool, int, float, str, bytes (msgpack), enums with scalar values, ``Literal``, dataclasses
(recursive ones too), ``list[X]``, ``tuple[X, ...]``, ``tuple[A, B]``, ``set[X]``,
``frozenset[X]``, ``dict[K, V]`` with scalar keys (JSON: str or int keys) and ``X | None``.
Anything else raises ``TypeError`` when the codec is built.

A mismatch raises :class:`~fssdk_advanced.codecs._plain.Mismatch` carrying the path of the
offending part (``.x``, ``[1]``); the codec turns it into the ``TypeError``/``ValueError`` its
caller sees. Plain data itself (``Any``, the untyped codecs) is checked in ``_plain``.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Final

from fssdk_advanced.codecs._plain import (
    Format,
    Mismatch,
    canonical,
    check_plain,
    short_repr,
)

Convert = Callable[[Any], Any]


def type_name(tp: object) -> str:
    """A readable, stable name for a type or type expression (``mod.Point``, ``list[int]``)."""
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")


def _wrong_type(expected: str, value: object) -> Mismatch:
    return Mismatch(TypeError, f"expected {expected}, got {_described(value)}")


def _bad_data(expected: str, value: object) -> Mismatch:
    return Mismatch(ValueError, f"expected {expected}, got {_described(value)}")


def _described(value: object) -> str:
    return f"{type(value).__name__} {short_repr(value)}"


class _Never:
    """No value is of this type: a plan with ``exact = _Never`` always converts."""


def _identity(value: Any) -> Any:
    return value


class Plan:
    """How one type becomes plain data and back.

    ``exact`` is a type whose values ``to_plain`` returns unchanged, ``plain_exact`` the same for
    ``from_plain``: callers skip the call for them, which keeps ints and strs cheap. ``key`` says
    what the plain form is when used as a map key: ``"str"``, ``"scalar"`` (hashable) or ``None``
    (not a key). ``passthrough`` marks plain data that the msgpack packer checks by itself.
    """

    __slots__ = ("exact", "from_plain", "key", "passthrough", "plain_exact", "to_plain")

    def __init__(
        self,
        to_plain: Convert,
        from_plain: Convert,
        *,
        exact: type = _Never,
        plain_exact: type = _Never,
        key: str | None = None,
        passthrough: bool = False,
    ) -> None:
        self.to_plain: Final = to_plain
        self.from_plain: Final = from_plain
        self.exact: Final = exact
        self.plain_exact: Final = plain_exact
        self.key: Final = key
        self.passthrough: Final = passthrough


def _blame(bad: Mismatch, parts: Iterable[tuple[str, Convert, Any]]) -> Mismatch:
    """Find which part raised ``bad`` (by converting each again) and add its path segment.

    Only called on the error path, so the hot loops need no per-item bookkeeping.
    """
    for segment, convert, item in parts:
        try:
            convert(item)
        except Mismatch as again:
            return again.at(segment)
    return bad


def _any(fmt: Format) -> Plan:
    if fmt == "msgpack":  # the packer refuses what is not plain; keys included
        return Plan(_identity, _identity, passthrough=True, key="scalar")
    return Plan(lambda value: check_plain(value, "json"), _identity)


# -- scalars -------------------------------------------------------------------------------------


def _none() -> Plan:
    def check(value: Any) -> Any:
        if value is not None:
            raise _wrong_type("None", value)
        return value

    return Plan(check, check, exact=type(None), plain_exact=type(None), key="scalar")


def _int() -> Plan:
    def to_plain(value: Any) -> Any:
        if isinstance(value, int):  # bool and IntEnum: stored as the int they equal
            return int.__int__(value)
        raise _wrong_type("int", value)

    def from_plain(value: Any) -> Any:
        raise _bad_data("int", value)

    return Plan(to_plain, from_plain, exact=int, plain_exact=int, key="scalar")


def _float() -> Plan:
    def to_plain(value: Any) -> Any:
        if isinstance(value, float):
            return float.__float__(value)
        if isinstance(value, int):
            return int_as_float(value)
        raise _wrong_type("float", value)

    def from_plain(value: Any) -> Any:
        if type(value) is int:
            return float(value)
        raise _bad_data("float", value)

    return Plan(to_plain, from_plain, exact=float, plain_exact=float, key="scalar")


def int_as_float(value: int) -> float:
    """``float(value)`` when that float equals ``value``; :class:`Mismatch` (ValueError) if not.

    An int is stored as a float only when no digit is lost, so it reads back equal.
    """
    try:
        result = float(value)
    except OverflowError:
        raise Mismatch(
            ValueError, f"int {short_repr(value)} is out of range for a 64-bit float"
        ) from None
    if result != value:
        raise Mismatch(
            ValueError,
            f"int {value} has no exact 64-bit float; pass float({value}) to store it rounded",
        )
    return result


def _str() -> Plan:
    def to_plain(value: Any) -> Any:
        if isinstance(value, str):
            return str.__str__(value)
        raise _wrong_type("str", value)

    def from_plain(value: Any) -> Any:
        raise _bad_data("str", value)

    return Plan(to_plain, from_plain, exact=str, plain_exact=str, key="str")


def _bool() -> Plan:
    def to_plain(value: Any) -> Any:
        raise _wrong_type("bool", value)

    def from_plain(value: Any) -> Any:
        raise _bad_data("bool", value)

    return Plan(to_plain, from_plain, exact=bool, plain_exact=bool, key="scalar")


def _bytes(fmt: Format) -> Plan:
    if fmt == "json":
        raise TypeError("JSON has no bytes: use MsgpackCodec, or store str")

    def to_plain(value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        raise _wrong_type("bytes", value)

    def from_plain(value: Any) -> Any:
        raise _bad_data("bytes", value)

    return Plan(to_plain, from_plain, exact=bytes, plain_exact=bytes, key="scalar")


_SCALARS: Final[dict[object, Callable[[Format], Plan]]] = {
    type(None): lambda fmt: _none(),
    bool: lambda fmt: _bool(),
    int: lambda fmt: _int(),
    float: lambda fmt: _float(),
    str: lambda fmt: _str(),
    bytes: _bytes,
}


def _plain_scalar(value: object, fmt: Format, owner: str) -> str:
    """The key kind of a scalar that an enum or Literal stores; ``TypeError`` for other values."""
    if isinstance(value, str):
        return "str"
    allowed: tuple[type, ...] = (
        (type(None), bool, int, float) if fmt == "json" else (type(None), bool, int, float, bytes)
    )
    if type(value) in allowed:
        return "scalar"
    raise TypeError(
        f"{owner}: value {value!r} is not a scalar {fmt} can store (None, bool, int, float, str"
        + (")" if fmt == "json" else ", bytes)")
    )


def _key_kind(kinds: Iterable[str]) -> str:
    return "str" if all(kind == "str" for kind in kinds) else "scalar"


def _enum(tp: type[enum.Enum], fmt: Format) -> Plan:
    name = type_name(tp)
    key = _key_kind(_plain_scalar(member.value, fmt, name) for member in tp)

    def to_plain(value: Any) -> Any:
        if isinstance(value, tp):
            return value.value
        raise _wrong_type(name, value)

    def from_plain(value: Any) -> Any:
        try:
            return tp(value)
        except (ValueError, TypeError):
            raise _bad_data(f"a value of {name}", value) from None

    return Plan(to_plain, from_plain, key=key)


def _literal(tp: object, args: tuple[Any, ...], fmt: Format) -> Plan:
    name = type_name(tp)
    choices = [(arg, arg.value if isinstance(arg, enum.Enum) else arg) for arg in args]
    key = _key_kind(_plain_scalar(plain, fmt, name) for _, plain in choices)

    def to_plain(value: Any) -> Any:
        for arg, plain in choices:
            if type(value) is type(arg) and value == arg:
                return plain
        raise Mismatch(ValueError, f"expected one of {name}, got {short_repr(value)}")

    def from_plain(value: Any) -> Any:
        for arg, plain in choices:
            if type(value) is type(plain) and value == plain:
                return arg
        raise _bad_data(f"one of {name}", value)

    return Plan(to_plain, from_plain, key=key)


# -- containers ----------------------------------------------------------------------------------


def _items_to_plain(element: Plan) -> Callable[[Iterable[Any]], list[Any]]:
    """Convert items to a list of plain items, skipping the call for items of the exact type."""
    exact, convert = element.exact, element.to_plain

    def convert_all(items: Iterable[Any]) -> list[Any]:
        try:
            return [item if type(item) is exact else convert(item) for item in items]
        except Mismatch as bad:
            raise _blame(bad, ((f"[{i}]", convert, item) for i, item in enumerate(items))) from None

    return convert_all


def _items_from_plain(element: Plan) -> Callable[[list[Any]], list[Any]]:
    exact, convert = element.plain_exact, element.from_plain

    def convert_all(items: list[Any]) -> list[Any]:
        try:
            return [item if type(item) is exact else convert(item) for item in items]
        except Mismatch as bad:
            raise _blame(bad, ((f"[{i}]", convert, item) for i, item in enumerate(items))) from None

    return convert_all


def _list(tp: object, element: Plan) -> Plan:
    name = type_name(tp)
    if element.passthrough:

        def to_plain(value: Any) -> Any:
            if isinstance(value, list):
                return value
            raise _wrong_type(f"list for {name}", value)

        def from_plain(value: Any) -> Any:
            if type(value) is list:
                return value
            raise _bad_data(f"a list for {name}", value)

        return Plan(to_plain, from_plain)
    to_items, from_items = _items_to_plain(element), _items_from_plain(element)

    def converted_to_plain(value: Any) -> Any:
        if isinstance(value, list):
            return to_items(value)
        raise _wrong_type(f"list for {name}", value)

    def converted_from_plain(value: Any) -> Any:
        if type(value) is list:
            return from_items(value)
        raise _bad_data(f"a list for {name}", value)

    return Plan(converted_to_plain, converted_from_plain)


def _variadic_tuple(tp: object, element: Plan) -> Plan:
    name = type_name(tp)
    to_items, from_items = _items_to_plain(element), _items_from_plain(element)

    def to_plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return to_items(value)
        raise _wrong_type(f"tuple for {name}", value)

    def from_plain(value: Any) -> Any:
        if type(value) is list:
            return tuple(from_items(value))
        raise _bad_data(f"a list for {name}", value)

    return Plan(to_plain, from_plain)


def _set(tp: object, element: Plan, build: Callable[[Iterable[Any]], Any]) -> Plan:
    name = type_name(tp)
    to_items, from_items = _items_to_plain(element), _items_from_plain(element)

    def to_plain(value: Any) -> Any:
        if isinstance(value, set | frozenset):
            return canonical(to_items(value))
        raise _wrong_type(f"set for {name}", value)

    def from_plain(value: Any) -> Any:
        if type(value) is list:
            return build(from_items(value))
        raise _bad_data(f"a list for {name}", value)

    return Plan(to_plain, from_plain)


def _fixed_tuple(tp: object, elements: list[Plan]) -> Plan:
    name = type_name(tp)
    size = len(elements)
    steps = [(f"[{i}]", plan) for i, plan in enumerate(elements)]

    def to_plain(value: Any) -> Any:
        if not isinstance(value, tuple):
            raise _wrong_type(f"tuple for {name}", value)
        if len(value) != size:
            raise Mismatch(ValueError, f"expected {size} elements for {name}: {short_repr(value)}")
        out = []
        for (segment, plan), item in zip(steps, value, strict=True):
            try:
                out.append(item if type(item) is plan.exact else plan.to_plain(item))
            except Mismatch as bad:
                raise bad.at(segment) from None
        return out

    def from_plain(value: Any) -> Any:
        if type(value) is not list or len(value) != size:
            raise _bad_data(f"a list of {size} for {name}", value)
        out = []
        for (segment, plan), item in zip(steps, value, strict=True):
            try:
                out.append(item if type(item) is plan.plain_exact else plan.from_plain(item))
            except Mismatch as bad:
                raise bad.at(segment) from None
        return tuple(out)

    return Plan(to_plain, from_plain)


def _json_int_key() -> Plan:
    """int map keys for JSON: written as decimal strings, read back as the same ints."""

    def to_plain(value: Any) -> Any:
        if isinstance(value, int):
            return str(int.__int__(value))
        raise _wrong_type("int key", value)

    def from_plain(value: Any) -> Any:
        if type(value) is str:
            try:
                number = int(value)
            except ValueError:
                pass
            else:
                if str(number) == value:
                    return number
        raise _bad_data("an int key (decimal string)", value)

    return Plan(to_plain, from_plain, key="str")


def _dict(tp: object, key: Plan, value: Plan, fmt: Format) -> Plan:
    name = type_name(tp)
    if fmt == "json" and key.key != "str":
        raise TypeError(
            f"JsonCodec cannot store {name}: JSON object keys are strings; use str or int keys "
            "(or str-valued enums and Literals), or MsgpackCodec"
        )
    if key.key is None:
        raise TypeError(
            f"cannot store {name}: map keys must be None, bool, int, float, str, bytes, enums or "
            "Literals of them (a tuple or dataclass key would not read back); use a list of pairs"
        )
    k_to, k_from, v_to, v_from = key.to_plain, key.from_plain, value.to_plain, value.from_plain
    k_exact, k_pexact = key.exact, key.plain_exact
    v_exact, v_pexact = value.exact, value.plain_exact

    def to_plain(mapping: Any) -> Any:
        if not isinstance(mapping, dict):
            raise _wrong_type(f"dict for {name}", mapping)
        try:
            return {
                (k if type(k) is k_exact else k_to(k)): (v if type(v) is v_exact else v_to(v))
                for k, v in mapping.items()
            }
        except Mismatch as bad:
            raise _blame(bad, _dict_parts(mapping, k_to, v_to)) from None

    def from_plain(mapping: Any) -> Any:
        if type(mapping) is not dict:
            raise _bad_data(f"a map for {name}", mapping)
        try:
            return {
                (k if type(k) is k_pexact else k_from(k)): (v if type(v) is v_pexact else v_from(v))
                for k, v in mapping.items()
            }
        except Mismatch as bad:
            raise _blame(bad, _dict_parts(mapping, k_from, v_from)) from None

    return Plan(to_plain, from_plain)


def _dict_parts(
    mapping: dict[Any, Any], key: Convert, value: Convert
) -> Iterable[tuple[str, Convert, Any]]:
    for k, v in mapping.items():
        yield f"[{short_repr(k)}] (the key)", key, k
        yield f"[{short_repr(k)}]", value, v


def _optional(inner: Plan) -> Plan:
    to_inner, from_inner = inner.to_plain, inner.from_plain

    def to_plain(value: Any) -> Any:
        return None if value is None else to_inner(value)

    def from_plain(value: Any) -> Any:
        return None if value is None else from_inner(value)

    key = "scalar" if inner.key is not None else None
    return Plan(to_plain, from_plain, exact=inner.exact, plain_exact=inner.plain_exact, key=key)


# -- dataclasses ---------------------------------------------------------------------------------


def stored_fields(tp: type) -> list[tuple[str, object, bool]]:
    """The fields a dataclass stores, in order: ``(name, type hint, has a default)``.

    Only init fields are stored (others are rebuilt by the constructor). ``TypeError`` when the
    annotations cannot be resolved.
    """
    try:
        hints = typing.get_type_hints(tp)
    except Exception as exc:
        raise TypeError(f"cannot resolve the field types of {type_name(tp)}: {exc}") from exc
    return [
        (
            field.name,
            hints.get(field.name, Any),
            field.default is not dataclasses.MISSING
            or field.default_factory is not dataclasses.MISSING,
        )
        for field in dataclasses.fields(tp)
        if field.init
    ]


_ABSENT: Final = object()


def _dataclass(tp: type, fmt: Format, building: dict[object, Plan]) -> Plan:
    name = type_name(tp)
    short = tp.__qualname__
    encode_steps: list[tuple[str, type, Convert, str]] = []
    decode_steps: list[tuple[str, type, Convert, str, bool]] = []

    def to_plain(value: Any) -> Any:
        if type(value) is not tp:
            raise _wrong_type(name, value)
        out = {}
        for field, exact, convert, segment in encode_steps:
            item = getattr(value, field)
            if type(item) is not exact:
                try:
                    item = convert(item)
                except Mismatch as bad:
                    raise bad.at(segment) from None
            out[field] = item
        return out

    def from_plain(value: Any) -> Any:
        if type(value) is not dict:
            raise _bad_data(f"a map for {name}", value)
        kwargs = {}
        for field, exact, convert, segment, required in decode_steps:
            item = value.get(field, _ABSENT)
            if item is _ABSENT:
                if required:
                    raise Mismatch(
                        ValueError, f"field {short}.{field} is missing and has no default"
                    )
                continue  # added since the value was written: the constructor fills the default
            if type(item) is not exact:
                try:
                    item = convert(item)
                except Mismatch as bad:
                    raise bad.at(segment) from None
            kwargs[field] = item
        # Fields the class no longer has are dropped: a removed field is a compatible change.
        try:
            return tp(**kwargs)
        except Exception as exc:
            raise Mismatch(ValueError, f"cannot build {name}: {exc}") from exc

    plan = Plan(to_plain, from_plain)
    building[tp] = plan  # a field of this type (recursion) refers to this very plan
    for field, hint, has_default in stored_fields(tp):
        try:
            field_plan = plan_for(hint, fmt, building)
        except TypeError as exc:
            raise TypeError(f"field {short}.{field}: {exc}") from None
        encode_steps.append((field, field_plan.exact, field_plan.to_plain, f".{field}"))
        decode_steps.append(
            (field, field_plan.plain_exact, field_plan.from_plain, f".{field}", not has_default)
        )
    return plan


# -- dispatch ------------------------------------------------------------------------------------


def _union(tp: object, args: tuple[Any, ...], fmt: Format, building: dict[object, Plan]) -> Plan:
    members = [arg for arg in args if arg is not type(None)]
    if len(members) == 1 and len(args) == 2:
        return _optional(plan_for(members[0], fmt, building))
    raise TypeError(
        f"unsupported union {type_name(tp)}: only X | None is supported; "
        "use a custom codec for other unions"
    )


Maker = Callable[[object, tuple[Any, ...], Format, dict[object, Plan]], Plan]


def _first(args: tuple[Any, ...], fmt: Format, building: dict[object, Plan]) -> Plan:
    return plan_for(args[0] if args else Any, fmt, building)


def _tuple(tp: object, args: tuple[Any, ...], fmt: Format, building: dict[object, Plan]) -> Plan:
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        return _variadic_tuple(tp, _first(args, fmt, building))
    return _fixed_tuple(tp, [plan_for(item, fmt, building) for item in args])


def _mapping(tp: object, args: tuple[Any, ...], fmt: Format, building: dict[object, Plan]) -> Plan:
    key_type, value_type = args if args else (Any, Any)
    if fmt == "json" and key_type is int:
        key = _json_int_key()
    elif fmt == "json" and any(key_type is passed for passed in _PASSED):
        key = _str()  # plain JSON object keys: strings
    else:
        key = plan_for(key_type, fmt, building)
    return _dict(tp, key, plan_for(value_type, fmt, building), fmt)


_GENERICS: Final[dict[object, Maker]] = {
    list: lambda tp, args, fmt, building: _list(tp, _first(args, fmt, building)),
    set: lambda tp, args, fmt, building: _set(tp, _first(args, fmt, building), set),
    frozenset: lambda tp, args, fmt, building: _set(tp, _first(args, fmt, building), frozenset),
    tuple: _tuple,
    dict: _mapping,
    typing.Union: _union,
    types.UnionType: _union,
    typing.Literal: lambda tp, args, fmt, building: _literal(tp, args, fmt),
}


_PASSED: Final[tuple[object, ...]] = (None, Any, object)


def plan_for(
    tp: object, fmt: Format = "msgpack", building: dict[object, Plan] | None = None
) -> Plan:
    """The conversion plan for values of type ``tp`` in ``fmt``; ``TypeError`` if unsupported.

    ``building`` holds the dataclass plans under construction, so that a recursive dataclass
    (``children: list[Node]``) refers to its own plan.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Point:
    ...     x: int
    ...     y: int
    >>> plan = plan_for(list[Point])
    >>> plan.to_plain([Point(1, 2)])
    [{'x': 1, 'y': 2}]
    >>> plan.from_plain([{"x": 1, "y": 2}])
    [Point(x=1, y=2)]
    """
    if any(tp is passed for passed in _PASSED):
        return _any(fmt)
    building = {} if building is None else building
    known = building.get(tp)
    if known is not None:
        return known
    scalar = _SCALARS.get(tp)
    if scalar is not None:
        return scalar(fmt)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp, fmt, building)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp, fmt)
    make = _GENERICS.get(typing.get_origin(tp) or tp)
    if make is None:
        raise TypeError(
            f"no msgpack/JSON conversion for {type_name(tp)}: supported are None, bool, int, "
            "float, str, bytes, enums, Literal, dataclasses, list, tuple, set, frozenset, dict "
            "and X | None; pass a custom codec (or PickleCodec) for other types"
        )
    return make(tp, typing.get_args(tp), fmt, building)
