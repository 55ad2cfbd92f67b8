"""The built-in aggregations: :class:`Count`, :class:`Sum`, :class:`Min`, :class:`Max` and
:class:`Mean`, each an :class:`AggregateFunc` with a typed accumulator of fixed size.

Each declares ``accumulator_codec``, the codec its accumulator is stored with (fixed size);
``from_context_auto_codec`` of :class:`AggregatingState` and
:class:`KeyedAggregatingStateFactory` uses it when given no accumulator type:

- ``Count()``: the count, ``IntCodec()`` (8 bytes).
- ``Sum(int)`` / ``Sum(float)``: the sum, ``IntCodec()`` / ``FloatCodec()`` (8 bytes).
- ``Min(int)``, ``Max(int)`` / ``Min(float)``, ``Max(float)``: the extremum so far,
  ``IntCodec()`` / ``FloatCodec()`` (8 bytes); with no value, the identity (``2**63 - 1`` and
  ``-2**63``, ``inf`` and ``-inf``).
- ``Mean(int)`` / ``Mean(float)``: ``(sum, count)``, ``TupleCodec(IntCodec(), IntCodec())`` /
  ``TupleCodec(FloatCodec(), IntCodec())`` (16 bytes).

``int`` aggregations take ints and keep exact results within the signed 64-bit range, refusing
a value or a sum beyond it (``ValueError``: the accumulator could not be stored); ``float`` ones
take floats and ints (as floats). Min and Max refuse NaN, which has no order, and rank ``-0.0``
below ``0.0``, so that their result does not depend on the order of the values. A wrong type
raises ``TypeError``. Every error names the aggregation. ``add`` and ``merge`` are O(1).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import Any, ClassVar, Final, Generic, TypeVar

from fssdk_advanced.codecs import Codec, FloatCodec, IntCodec, TupleCodec
from fssdk_advanced.state._aggregating import AggregateFunc

N = TypeVar("N", int, float)

_MIN_INT: Final = -(2**63)
_MAX_INT: Final = 2**63 - 1


def _check_int(value: object, owner: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{owner}: value must be an int, not {type(value).__name__}")
    return _bounded(value, owner, "value")


def _check_float(value: object, owner: str) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise TypeError(f"{owner}: value must be a float or an int, not {type(value).__name__}")


def _bounded(number: int, owner: str, what: str) -> int:
    if not _MIN_INT <= number <= _MAX_INT:
        raise ValueError(
            f"{owner}: the {what} {number} is outside the signed 64-bit range of the accumulator"
        )
    return number


def _least(a: N, b: N) -> N:
    """The lesser of ``a`` and ``b``, ``-0.0`` below ``0.0``; ``a`` when they are the same."""
    if b < a or (b == a and math.copysign(1.0, b) < math.copysign(1.0, a)):
        return b
    return a


def _greatest(a: N, b: N) -> N:
    """The greater of ``a`` and ``b``, ``0.0`` above ``-0.0``; ``a`` when they are the same."""
    if b > a or (b == a and math.copysign(1.0, b) > math.copysign(1.0, a)):
        return b
    return a


def _numeric(value_type: object, owner: str) -> type[Any]:
    if value_type is not int and value_type is not float:
        shown = getattr(value_type, "__name__", repr(value_type))
        raise TypeError(f"{owner}: value_type must be int or float, not {shown}")
    return value_type


class _Numeric(Generic[N]):
    """What the numeric aggregations share: the value type, its check and its codec."""

    __slots__ = ("_check", "_name", "accumulator_codec", "value_type")

    def __init__(self, value_type: type[N]) -> None:
        kind = type(self).__name__
        self.value_type: Final[type[N]] = _numeric(value_type, kind)
        self._name = f"{kind}({value_type.__name__})"
        checker = _check_int if value_type is int else _check_float
        self._check: Callable[[object, str], N] = checker  # type: ignore[assignment]
        self.accumulator_codec: Codec[Any] = self._codec(
            IntCodec() if value_type is int else FloatCodec()
        )

    @staticmethod
    def _codec(number: Codec[Any]) -> Codec[Any]:
        """The accumulator's codec, given the codec of one number of the value type."""
        return number

    def __repr__(self) -> str:
        return self._name

    def _total(self, a: N, b: N) -> N:
        total = a + b
        if type(total) is int:
            return _bounded(total, self._name, "sum")
        return total


class Count(AggregateFunc[object, int, int]):
    """The number of values added (of any type).

    >>> count = Count()
    >>> count.get_result(count.add("b", count.add("a", count.create_accumulator())))
    2
    """

    __slots__ = ()

    accumulator_codec: Final[Codec[int]] = IntCodec()

    def __repr__(self) -> str:
        return "Count()"

    def create_accumulator(self) -> int:
        return 0

    def add(self, value: object, accumulator: int) -> int:
        return accumulator + 1

    def get_result(self, accumulator: int) -> int:
        return accumulator

    def merge(self, a: int, b: int) -> int:
        return a + b


class Sum(_Numeric[N], AggregateFunc[N, N, N]):
    """The sum of the values, ``Sum(int)`` (exact) or ``Sum(float)``; 0 for no values.

    >>> total = Sum(int)
    >>> total.get_result(total.add(4, total.add(3, total.create_accumulator())))
    7
    """

    __slots__ = ()

    def create_accumulator(self) -> N:
        return self.value_type(0)

    def add(self, value: N, accumulator: N) -> N:
        if type(value) is type(accumulator) is float:  # one frame per value on the usual paths
            return value + accumulator
        if type(value) is type(accumulator) is int:
            total = value + accumulator
            if _MIN_INT <= total <= _MAX_INT and _MIN_INT <= value <= _MAX_INT:
                return total
        return self._total(accumulator, self._check(value, self._name))

    def get_result(self, accumulator: N) -> N:
        return accumulator

    def merge(self, a: N, b: N) -> N:
        return self._total(a, b)


class _Extremum(_Numeric[N], AggregateFunc[N, N, N]):
    """Min and Max: the accumulator is the extremum so far, starting from the identity."""

    __slots__ = ()

    _identities: ClassVar[tuple[int, float]]
    """The accumulator of no values: for ints, for floats."""

    def create_accumulator(self) -> N:
        int_identity, float_identity = self._identities
        return self.value_type(int_identity if self.value_type is int else float_identity)

    def add(self, value: N, accumulator: N) -> N:
        value = self._check(value, self._name)
        if type(value) is float and math.isnan(value):
            raise ValueError(f"{self._name}: NaN has no order, so it has no {self._name}")
        return self._pick(accumulator, value)

    def get_result(self, accumulator: N) -> N:
        return accumulator

    def merge(self, a: N, b: N) -> N:
        return self._pick(a, b)

    @abc.abstractmethod
    def _pick(self, a: N, b: N) -> N:
        """The one of ``a`` and ``b`` to keep."""


class Min(_Extremum[N]):
    """The least value, ``Min(int)`` or ``Min(float)``; NaN is refused.

    The accumulator of no values is the identity (``2**63 - 1``, ``inf``); a state holds one
    only once a value was added.

    >>> least = Min(float)
    >>> least.get_result(least.add(2.5, least.add(7, least.create_accumulator())))
    2.5
    """

    __slots__ = ()

    _identities = (_MAX_INT, math.inf)

    def _pick(self, a: N, b: N) -> N:
        return _least(a, b)


class Max(_Extremum[N]):
    """The greatest value, ``Max(int)`` or ``Max(float)``; NaN is refused.

    The accumulator of no values is the identity (``-2**63``, ``-inf``); a state holds one only
    once a value was added.

    >>> greatest = Max(int)
    >>> greatest.get_result(greatest.add(2, greatest.add(7, greatest.create_accumulator())))
    7
    """

    __slots__ = ()

    _identities = (_MIN_INT, -math.inf)

    def _pick(self, a: N, b: N) -> N:
        return _greatest(a, b)


class Mean(_Numeric[N], AggregateFunc[N, tuple[N, int], float]):
    """The arithmetic mean, ``Mean(int)`` (an exact sum) or ``Mean(float)``, over the
    accumulator ``(sum, count)``; NaN for no values.

    >>> mean = Mean(int)
    >>> mean.get_result(mean.add(4, mean.add(1, mean.create_accumulator())))
    2.5
    """

    __slots__ = ()

    @staticmethod
    def _codec(number: Codec[Any]) -> Codec[Any]:
        return TupleCodec(number, IntCodec())

    def create_accumulator(self) -> tuple[N, int]:
        return (self.value_type(0), 0)

    def add(self, value: N, accumulator: tuple[N, int]) -> tuple[N, int]:
        total, count = accumulator
        return (self._total(total, self._check(value, self._name)), count + 1)

    def get_result(self, accumulator: tuple[N, int]) -> float:
        total, count = accumulator
        return total / count if count else math.nan

    def merge(self, a: tuple[N, int], b: tuple[N, int]) -> tuple[N, int]:
        return (self._total(a[0], b[0]), a[1] + b[1])
