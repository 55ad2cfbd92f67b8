"""Type-directed conversion between typed values and the plain data msgpack and JSON carry.

msgpack and JSON know ``None``, bool, int, float, str, bytes (msgpack only), lists and maps. Given
a type, :func:`plan_for` builds a pair of functions that turn a value of that type into plain data
(dataclasses into maps of their init fields, tuples and sets into lists, enums into their values)
and back, checking on the way back that the data has the shape the type says, so that
``list[Point]`` decodes into Points and bytes of another shape raise ``ValueError``.

Supported: ``None``, ``Any``/``object`` (passed through), bool, int, float, str, bytes, enums,
dataclasses, ``list[X]``, ``tuple[X, ...]``, ``tuple[A, B]``, ``set[X]``, ``frozenset[X]``,
``dict[K, V]`` and ``X | None``; anything else raises ``TypeError`` when the codec is built.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from typing import Any, Final

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def type_name(tp: object) -> str:
    """A readable, stable name for a type or type expression (``mod.Point``, ``list[int]``)."""
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")


class Plan:
    """``to_plain`` and ``from_plain`` for one type; ``identity`` when both do nothing."""

    __slots__ = ("from_plain", "identity", "to_plain")

    def __init__(self, to_plain: Convert, from_plain: Convert, identity: bool = False) -> None:
        self.to_plain: Final = to_plain
        self.from_plain: Final = from_plain
        self.identity: Final = identity


_PASS: Final = Plan(_identity, _identity, identity=True)


def _scalar(tp: type) -> Plan:
    def check(value: Any) -> Any:
        if type(value) is not tp:
            raise ValueError(f"expected {tp.__name__}, got {type(value).__name__} {value!r}")
        return value

    def check_float(value: Any) -> Any:
        kind = type(value)
        if kind is float:
            return value
        if kind is int:
            return float(value)
        raise ValueError(f"expected float, got {kind.__name__} {value!r}")

    return Plan(_identity, check_float if tp is float else check)


def _sequence(tp: object, element: Plan, build: Callable[[Any], Any]) -> Plan:
    to_elem, from_elem = element.to_plain, element.from_plain

    def to_plain(value: Any) -> Any:
        return [to_elem(item) for item in value]

    def from_plain(value: Any) -> Any:
        if type(value) is not list:
            raise ValueError(f"expected a list for {type_name(tp)}, got {type(value).__name__}")
        return build([from_elem(item) for item in value])

    return Plan(to_plain, from_plain)


def _fixed_tuple(tp: object, elements: list[Plan]) -> Plan:
    def to_plain(value: Any) -> Any:
        if len(value) != len(elements):
            raise ValueError(f"expected {len(elements)} elements for {type_name(tp)}: {value!r}")
        return [plan.to_plain(item) for plan, item in zip(elements, value, strict=True)]

    def from_plain(value: Any) -> Any:
        if type(value) is not list or len(value) != len(elements):
            raise ValueError(f"expected a list of {len(elements)} for {type_name(tp)}: {value!r}")
        return tuple(plan.from_plain(item) for plan, item in zip(elements, value, strict=True))

    return Plan(to_plain, from_plain)


def _mapping(tp: object, key: Plan, val: Plan) -> Plan:
    def to_plain(value: Any) -> Any:
        return {key.to_plain(k): val.to_plain(v) for k, v in value.items()}

    def from_plain(value: Any) -> Any:
        if type(value) is not dict:
            raise ValueError(f"expected a map for {type_name(tp)}, got {type(value).__name__}")
        return {key.from_plain(k): val.from_plain(v) for k, v in value.items()}

    return Plan(to_plain, from_plain)


def _optional(inner: Plan) -> Plan:
    def to_plain(value: Any) -> Any:
        return None if value is None else inner.to_plain(value)

    def from_plain(value: Any) -> Any:
        return None if value is None else inner.from_plain(value)

    return Plan(to_plain, from_plain)


def _enum(tp: type[enum.Enum]) -> Plan:
    def to_plain(value: Any) -> Any:
        return value.value

    return Plan(to_plain, tp)


def _dataclass(tp: type) -> Plan:
    hints = typing.get_type_hints(tp)
    fields = [field for field in dataclasses.fields(tp) if field.init]
    plans = {field.name: plan_for(hints.get(field.name, Any)) for field in fields}
    names = tuple(plans)

    def to_plain(value: Any) -> Any:
        if type(value) is not tp:
            raise TypeError(f"expected {type_name(tp)}, got {type(value).__name__}")
        return {name: plans[name].to_plain(getattr(value, name)) for name in names}

    def from_plain(value: Any) -> Any:
        if type(value) is not dict:
            raise ValueError(f"expected a map for {type_name(tp)}, got {type(value).__name__}")
        unknown = [name for name in value if name not in plans]
        if unknown:
            raise ValueError(f"{type_name(tp)} has no fields {unknown!r}")
        try:
            return tp(**{name: plans[name].from_plain(item) for name, item in value.items()})
        except TypeError as exc:
            raise ValueError(f"cannot build {type_name(tp)} from {value!r}: {exc}") from exc

    return Plan(to_plain, from_plain)


def _generic_sequence(build: Callable[[Any], Any]) -> Callable[[object, tuple[Any, ...]], Plan]:
    def make(tp: object, args: tuple[Any, ...]) -> Plan:
        return _sequence(tp, plan_for(args[0] if args else Any), build)

    return make


def _tuple(tp: object, args: tuple[Any, ...]) -> Plan:
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        return _sequence(tp, plan_for(args[0] if args else Any), tuple)
    return _fixed_tuple(tp, [plan_for(arg) for arg in args])


def _dict(tp: object, args: tuple[Any, ...]) -> Plan:
    key, val = args if args else (Any, Any)
    return _mapping(tp, plan_for(key), plan_for(val))


def _union(tp: object, args: tuple[Any, ...]) -> Plan:
    members = [arg for arg in args if arg is not type(None)]
    if len(members) == 1 and len(args) == 2:
        return _optional(plan_for(members[0]))
    raise TypeError(
        f"unsupported union {type_name(tp)}: only X | None is supported; "
        "use a custom codec for other unions"
    )


def _literal(tp: object, args: tuple[Any, ...]) -> Plan:
    return _PASS


_PASSED: Final[tuple[object, ...]] = (None, type(None), Any, object)
_SCALARS: Final[dict[object, type]] = {t: t for t in (bool, int, float, str, bytes)}
_GENERICS: Final[dict[object, Callable[[object, tuple[Any, ...]], Plan]]] = {
    list: _generic_sequence(list),
    set: _generic_sequence(set),
    frozenset: _generic_sequence(frozenset),
    tuple: _tuple,
    dict: _dict,
    typing.Union: _union,
    types.UnionType: _union,
    typing.Literal: _literal,
}


def plan_for(tp: object) -> Plan:
    """The conversion plan for values of type ``tp``; ``TypeError`` for an unsupported type.

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
        return _PASS
    scalar = _SCALARS.get(tp)
    if scalar is not None:
        return _scalar(scalar)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp)
    origin = typing.get_origin(tp)
    make = _GENERICS.get(origin if origin is not None else tp)
    if make is None:
        raise TypeError(
            f"no msgpack/JSON conversion for {type_name(tp)}: supported are None, bool, int, "
            "float, str, bytes, enums, dataclasses, list, tuple, set, frozenset, dict and "
            "X | None; pass a custom codec (or PickleCodec) for other types"
        )
    return make(tp, typing.get_args(tp))
