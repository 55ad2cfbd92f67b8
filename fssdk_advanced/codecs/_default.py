"""``default_codec_for``: the codec a state uses when it is only given a type (or nothing).

A lookup table maps the five scalar types to their ordered codecs; every other type (and no type
at all) gets a :class:`MsgpackCodec` for that type, so dataclasses and containers of them
round-trip. Pickle is never chosen here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, overload

from fssdk_advanced.codecs._ordered import (
    BoolCodec,
    BytesCodec,
    FloatCodec,
    IntCodec,
    StringCodec,
)
from fssdk_advanced.codecs._protocol import Codec
from fssdk_advanced.codecs._value import MsgpackCodec

T = TypeVar("T")

_ORDERED_DEFAULTS: Final[dict[object, Callable[[], Codec[Any]]]] = {
    bool: BoolCodec,
    int: IntCodec,
    float: FloatCodec,
    str: StringCodec,
    bytes: BytesCodec,
}


@overload
def default_codec_for(tp: type[T]) -> Codec[T]: ...
@overload
def default_codec_for(tp: None = None) -> Codec[Any]: ...
@overload
def default_codec_for(tp: object) -> Codec[Any]: ...
def default_codec_for(tp: object = None) -> Codec[Any]:
    """The default codec for values of type ``tp``.

    bool, int, float, str and bytes get their ordered codecs; anything else (``None`` included)
    gets ``MsgpackCodec(tp)``. Raises ``TypeError`` for a type msgpack cannot carry.

    >>> default_codec_for(int), default_codec_for(str), default_codec_for(None)
    (IntCodec(), StringCodec(), MsgpackCodec())
    >>> default_codec_for(list[int])
    MsgpackCodec(list[int])
    """
    make = _ORDERED_DEFAULTS.get(tp)
    if make is not None:
        return make()
    return MsgpackCodec(tp)
