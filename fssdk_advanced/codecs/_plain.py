"""Plain data: what msgpack and JSON carry unchanged, its canonical order, and mismatches.

Plain data is None, bool, int, float, str, bytes (msgpack only), lists and dicts. The untyped
codecs store exactly that: :func:`check_plain` finds the part of a value that would not read
back equal (a tuple, a set, a non-string JSON key) and :class:`Mismatch` carries its path.
:func:`order_key` is the canonical order in which sets are written.
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

Format = Literal["msgpack", "json"]

_MSGPACK_INT: Final = range(-(2**63), 2**64)
_REPR_LIMIT: Final = 80


def short_repr(value: object) -> str:
    """``repr(value)``, cut to a readable length for error messages."""
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else f"{text[: _REPR_LIMIT - 3]}..."


class Mismatch(Exception):
    """A value that does not fit its type: the error ``kind``, a message, and where it was."""

    def __init__(self, kind: type[Exception], message: str) -> None:
        super().__init__(message)
        self.kind: Final = kind
        self.message: Final = message
        self._path: list[str] = []

    def at(self, segment: str) -> Mismatch:
        """Record that the mismatch is inside ``segment`` (innermost first); returns self."""
        self._path.append(segment)
        return self

    def describe(self, root: str) -> str:
        """The message, after the path to the mismatch if any (``root`` first): ``Point.x: ...``."""
        path = root + "".join(reversed(self._path))
        return f"{path}: {self.message}" if path else self.message


_SCALAR_KEYS: Final = (type(None), bool, int, float, str, bytes)


def check_plain(value: Any, fmt: Format) -> Any:
    """``value`` if it reads back equal from ``fmt``; else :class:`Mismatch` at the bad part.

    Plain data is None, bool, int, float, str, bytes (msgpack), lists and dicts (keys: str for
    JSON; None, bool, int, float, str or bytes for msgpack). Tuples are refused: they would read
    back as lists. Cost: one visit per item.
    """
    kind = type(value)
    if kind is str or kind is float or kind is bool or value is None:
        return value
    if kind is int:
        if fmt == "msgpack" and value not in _MSGPACK_INT:
            raise Mismatch(ValueError, f"int {value} is out of msgpack's range [-2**63, 2**64)")
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            _check_key(key, fmt)
            try:
                check_plain(item, fmt)
            except Mismatch as bad:
                raise bad.at(_key_segment(key)) from None
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            try:
                check_plain(item, fmt)
            except Mismatch as bad:
                raise bad.at(f"[{index}]") from None
        return value
    _check_other(value, fmt)
    return value


def _check_key(key: object, fmt: Format) -> None:
    if fmt == "json" and not isinstance(key, str):
        raise Mismatch(
            TypeError,
            f"JSON object keys are strings, got {type(key).__name__} key {short_repr(key)}; "
            "convert the keys to str, or give JsonCodec a type such as dict[int, str]",
        )
    if fmt == "msgpack" and not isinstance(key, _SCALAR_KEYS):
        raise Mismatch(
            TypeError,
            f"map keys must be None, bool, int, float, str or bytes, got {type(key).__name__} "
            f"key {short_repr(key)} (it would not read back)",
        )


def _check_other(value: object, fmt: Format) -> None:
    """Check a value that is not an exact plain type: bytes, subclasses, or not plain at all."""
    if isinstance(value, bytes | bytearray | memoryview):
        if fmt == "json":
            raise Mismatch(TypeError, f"JSON has no bytes: {short_repr(value)}")
        return
    if isinstance(value, int | float | str):
        return
    if isinstance(value, tuple):
        raise Mismatch(
            TypeError,
            f"a tuple would read back as a list: {short_repr(value)}; store a list, or give the "
            "codec a type such as tuple[int, ...]",
        )
    raise Mismatch(
        TypeError,
        f"{type(value).__name__} is not plain data: {short_repr(value)}; give the codec a type "
        "(dataclasses, sets, enums, tuples) or use a custom codec",
    )


def _key_segment(key: object) -> str:
    """The path segment of a map entry: ``.name`` for identifier keys (as dataclass fields)."""
    if isinstance(key, str) and key.isidentifier():
        return f".{key}"
    return f"[{short_repr(key)}]"


_RANKS: Final[dict[type, int]] = {
    type(None): 0,
    bool: 1,
    int: 2,
    float: 2,
    str: 3,
    bytes: 4,
    list: 5,
    dict: 6,
}


def order_key(plain: Any) -> tuple[Any, ...]:
    """A total order on plain data, the same in every process: how sets are written.

    Ranks kinds (None < bool < number < str < bytes < list < map), then values; NaN sorts above
    every number. Lists and maps compare item by item.
    """
    rank = _RANKS[type(plain)]
    if rank == _RANKS[float]:
        return (rank, 1, 0) if math.isnan(plain) else (rank, 0, plain)
    if rank == _RANKS[list]:
        return (rank, tuple(order_key(item) for item in plain))
    if rank == _RANKS[dict]:
        return (rank, tuple((order_key(k), order_key(v)) for k, v in plain.items()))
    return (rank, plain)


_SORTS_AS_IS: Final = (int, str, bytes)


def canonical(items: list[Any]) -> list[Any]:
    """``items`` (the plain elements of a set) in :func:`order_key` order."""
    if items:
        first = type(items[0])
        if first in _SORTS_AS_IS and all(type(item) is first for item in items):
            items.sort()
            return items
    items.sort(key=order_key)
    return items
