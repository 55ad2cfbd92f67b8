"""Ordered codecs: encodings whose byte order is the order of the values.

Map keys and priority-queue elements are stored as user keys, and the store keeps user keys in
byte order, so these codecs are what makes ``MapState.all()`` sorted and a priority queue's head
the smallest element.

=============  ==========================================================  ===========
codec          encoding                                                    fixed_size
=============  ==========================================================  ===========
IntCodec       ``value + 2**63`` as 8 bytes big-endian (signed 64-bit)     8
FloatCodec     IEEE 754 big-endian; sign bit flipped, all bits for < 0     8
StringCodec    UTF-8 (byte order is code point order)                      None
BytesCodec     the bytes themselves                                        None
BoolCodec      ``00`` / ``01``                                             1
TupleCodec     elements concatenated; variable-length ones escaped and     sum or None
               terminated, except the last
=============  ==========================================================  ===========

Escaping (as in FoundationDB's tuple layer): each ``00`` becomes ``00 FF`` and the element ends
with ``00 01``, so no escaped element is a prefix of another and escaped elements compare as the
raw ones do: ``("a", 2) < ("ab", 1)`` holds in bytes too.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar, Final

from fssdk_advanced.codecs._protocol import Codec, CodecBase, check_codec, codec_signature
from fssdk_advanced.codecs._schema import codec_schema

_BIAS: Final = 1 << 63
_UNBIAS: Final = (-_BIAS).__add__
_SEQUENCES: Final = (tuple, list)
_SIGN: Final = 1 << 63
_ALL: Final = (1 << 64) - 1
_DOUBLE: Final = struct.Struct(">d")
_UNPACK_U64: Final = struct.Struct(">Q").unpack
_PACK_U64: Final = struct.Struct(">Q").pack
_MAGNITUDE: Final = _SIGN - 1
_INF_BITS: Final = 0x7FF0_0000_0000_0000  # magnitudes above it are NaNs
_NAN: Final = (0x7FF8_0000_0000_0000 | _SIGN).to_bytes(8, "big")

TERMINATOR: Final = b"\x00\x01"
_ZERO: Final = b"\x00"
_ESCAPED_ZERO: Final = b"\x00\xff"


def escape_terminated(data: bytes) -> bytes:
    """``data`` with each ``00`` written ``00 FF``, followed by the terminator ``00 01``.

    >>> escape_terminated(b"a\\x00b").hex(" ")
    '61 00 ff 62 00 01'
    """
    if 0 in data:
        data = data.replace(_ZERO, _ESCAPED_ZERO)
    return data + TERMINATOR


def read_terminated(data: bytes, start: int = 0) -> tuple[bytes, int]:
    """Read an escaped, terminated string at ``data[start:]``: ``(raw bytes, index after it)``.

    Raises ``ValueError`` when the terminator is missing or a ``00`` is followed by anything but
    ``FF`` or ``01``.

    >>> read_terminated(bytes.fromhex("61 00 ff 62 00 01 63"))
    (b'a\\x00b', 6)
    """
    pos = start
    while True:
        zero = data.find(_ZERO, pos)
        if zero < 0 or zero + 1 >= len(data):
            raise ValueError(f"unterminated escaped string at offset {start} of {data!r}")
        marker = data[zero + 1]
        if marker == 0x01:
            chunk = data[start:zero]
            if 0 in chunk:
                chunk = chunk.replace(_ESCAPED_ZERO, _ZERO)
            return chunk, zero + 2
        if marker != 0xFF:
            raise ValueError(f"bad escape 00 {marker:02x} at offset {zero} of {data!r}")
        pos = zero + 2


class IntCodec(CodecBase):
    """Signed 64-bit integers, ordered; values outside ``[-2**63, 2**63)`` raise ``ValueError``.

    >>> codec = IntCodec()
    >>> codec.encode(-1) < codec.encode(0) < codec.encode(1)
    True
    >>> codec.decode(codec.encode(-(2**63)))
    -9223372036854775808
    >>> codec.encode(2**63)
    Traceback (most recent call last):
    ...
    ValueError: IntCodec encodes signed 64-bit integers; 9223372036854775808 is out of range
    """

    __slots__ = ()
    schema_name: ClassVar[str | None] = "int"
    ordered: Final = True
    fixed_size: Final = 8

    def encode(self, value: int) -> bytes:
        try:
            return (value + _BIAS).to_bytes(8, "big")
        except OverflowError:
            raise ValueError(
                f"IntCodec encodes signed 64-bit integers; {value!r} is out of range"
            ) from None
        except (TypeError, AttributeError):
            raise TypeError(f"IntCodec encodes int, not {type(value).__name__}") from None

    def decode(self, data: bytes) -> int:
        try:
            return _UNPACK_U64(data)[0] - _BIAS  # type: ignore[no-any-return]
        except struct.error:
            raise ValueError(
                f"IntCodec: an encoding is 8 bytes, got {len(data)}: {data!r}"
            ) from None


class FloatCodec(CodecBase):
    """64-bit floats in total order: -inf < ... < -0.0 < 0.0 < ... < inf < nan.

    ``-0.0`` and ``0.0`` have distinct encodings (and round-trip); every NaN encodes as the one
    canonical NaN, above ``inf``. An int is accepted when a float equals it exactly (it reads
    back as that float); other ints raise ``ValueError`` (out of range, or digits would be lost).

    >>> codec = FloatCodec()
    >>> values = [float("nan"), float("inf"), 0.0, -0.0, -1.5, float("-inf")]
    >>> [codec.decode(b) for b in sorted(map(codec.encode, values))]
    [-inf, -1.5, -0.0, 0.0, inf, nan]
    """

    __slots__ = ()
    schema_name: ClassVar[str | None] = "float"
    ordered: Final = True
    fixed_size: Final = 8

    def encode(self, value: float) -> bytes:
        if type(value) is not float:
            value = _as_float(value)
        bits: int = _UNPACK_U64(_DOUBLE.pack(value))[0]
        if bits & _MAGNITUDE > _INF_BITS:
            return _NAN
        return _PACK_U64(bits ^ _ALL if bits & _SIGN else bits | _SIGN)

    def decode(self, data: bytes) -> float:
        if len(data) != 8:
            raise ValueError(f"FloatCodec: an encoding is 8 bytes, got {len(data)}: {data!r}")
        bits = int.from_bytes(data, "big")
        bits = bits ^ _SIGN if bits & _SIGN else bits ^ _ALL
        value: float = _DOUBLE.unpack(bits.to_bytes(8, "big"))[0]
        return value


def _as_float(value: object) -> float:
    """A float subclass as a float; an int as the float equal to it, or ``ValueError``."""
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, int):
        try:
            result = float(value)
        except OverflowError:
            raise ValueError(
                f"FloatCodec: an int of {value.bit_length()} bits is out of range for a 64-bit "
                "float (beyond +-1.8e308)"
            ) from None
        if result != value:
            raise ValueError(
                f"FloatCodec: the int {value} has no exact 64-bit float; pass float({value}) "
                "to store it rounded"
            )
        return result
    raise TypeError(f"FloatCodec encodes float, not {type(value).__name__}")


class StringCodec(CodecBase):
    """``str`` as UTF-8, whose byte order is code point order (Python's ``str`` order).

    Strings that UTF-8 cannot hold (lone surrogates) raise ``UnicodeEncodeError``, a ValueError.

    >>> StringCodec().encode("héllo")
    b'h\\xc3\\xa9llo'
    """

    __slots__ = ()
    schema_name: ClassVar[str | None] = "str"
    ordered: Final = True
    fixed_size: Final = None

    def encode(self, value: str) -> bytes:
        try:
            return value.encode("utf-8")
        except AttributeError:
            raise TypeError(f"StringCodec encodes str, not {type(value).__name__}") from None

    def decode(self, data: bytes) -> str:
        return data.decode("utf-8")


class BytesCodec(CodecBase):
    """Bytes as themselves (``bytearray`` and ``memoryview`` are accepted and copied)."""

    __slots__ = ()
    schema_name: ClassVar[str | None] = "bytes"
    ordered: Final = True
    fixed_size: Final = None

    def encode(self, value: bytes) -> bytes:
        if type(value) is bytes:
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        raise TypeError(f"BytesCodec encodes bytes, not {type(value).__name__}")

    def decode(self, data: bytes) -> bytes:
        return data


class BoolCodec(CodecBase):
    """``False`` as ``00``, ``True`` as ``01``; anything else raises ``TypeError``."""

    __slots__ = ()
    schema_name: ClassVar[str | None] = "bool"
    ordered: Final = True
    fixed_size: Final = 1

    def encode(self, value: bool) -> bytes:
        if value is True:
            return b"\x01"
        if value is False:
            return b"\x00"
        raise TypeError(f"BoolCodec encodes bool, not {type(value).__name__}")

    def decode(self, data: bytes) -> bool:
        if data == b"\x01":
            return True
        if data == b"\x00":
            return False
        raise ValueError(f"BoolCodec: an encoding is 00 or 01, got {data!r}")


_FIXED: Final = 0
_ESCAPED: Final = 1
_REST: Final = 2


class TupleCodec(CodecBase):
    """Tuples of a fixed arity, ordered as tuples: each element by its own ordered codec.

    Fixed-size elements are written as they are; variable-length elements are escaped and
    terminated, except the last, which needs neither. Decoding returns a ``tuple``.
    Construction rejects unordered element codecs (:class:`UnorderedCodecError`).

    >>> codec = TupleCodec(StringCodec(), IntCodec())
    >>> codec.encode(("a", 2)) < codec.encode(("ab", 1))
    True
    >>> codec.decode(codec.encode(("a\\x00b", -7)))
    ('a\\x00b', -7)
    """

    __slots__ = ("_ints", "_plan", "codecs", "fixed_size")
    ordered: Final = True

    def __init__(self, *codecs: Codec[Any]) -> None:
        if not codecs:
            raise ValueError("TupleCodec needs at least one element codec")
        for index, codec in enumerate(codecs):
            check_codec(codec, f"codecs[{index}]", "TupleCodec", ordered=True)
        self.codecs: Final = codecs
        sizes = [codec.fixed_size for codec in codecs]
        self.fixed_size: int | None = (
            None if any(size is None for size in sizes) else sum(s for s in sizes if s)
        )
        last = len(codecs) - 1
        self._plan: Final = tuple(
            (
                codec,
                _FIXED if codec.fixed_size is not None else _REST if i == last else _ESCAPED,
                codec.fixed_size or 0,
            )
            for i, codec in enumerate(codecs)
        )
        # A tuple of IntCodec elements is one struct of biased unsigned 64-bit ints: encoded and
        # decoded in one call, no frame per element. Anything that struct rejects goes the
        # element-wise way below, which says what is wrong.
        self._ints: Final = (
            struct.Struct(">" + "Q" * len(codecs))
            if all(type(codec) is IntCodec for codec in codecs)
            else None
        )

    @property
    def signature(self) -> str:
        return f"TupleCodec({', '.join(codec_signature(codec) for codec in self.codecs)})"

    @property
    def schema(self) -> dict[str, Any]:
        return {"codec": "tuple", "items": [codec_schema(codec) for codec in self.codecs]}

    def encode(self, value: tuple[Any, ...]) -> bytes:
        ints = self._ints
        if ints is not None and isinstance(value, _SEQUENCES):
            try:
                return ints.pack(*map(_BIAS.__add__, value))
            except struct.error:
                pass
        if not isinstance(value, tuple | list):
            raise TypeError(f"TupleCodec encodes tuples, not {type(value).__name__}")
        if len(value) != len(self._plan):
            raise ValueError(
                f"TupleCodec: expected a tuple of {len(self._plan)} elements, got {len(value)}"
            )
        parts = []
        for (codec, mode, size), item in zip(self._plan, value, strict=True):
            data = codec.encode(item)
            if mode == _ESCAPED:
                data = escape_terminated(data)
            elif mode == _FIXED and len(data) != size:
                raise ValueError(
                    f"TupleCodec: {codec_signature(codec)} declares fixed_size {size} but "
                    f"encoded {item!r} as {len(data)} bytes"
                )
            parts.append(data)
        return b"".join(parts)

    def decode(self, data: bytes) -> tuple[Any, ...]:
        ints = self._ints
        if ints is not None and len(data) == ints.size:
            return tuple(map(_UNBIAS, ints.unpack(data)))
        items = []
        pos = 0
        for codec, mode, size in self._plan:
            if mode == _FIXED:
                chunk = data[pos : pos + size]
                if len(chunk) != size:
                    raise ValueError(f"TupleCodec: encoding truncated at offset {pos}: {data!r}")
                pos += size
            elif mode == _ESCAPED:
                chunk, pos = read_terminated(data, pos)
            else:
                chunk, pos = data[pos:], len(data)
            items.append(codec.decode(chunk))
        if pos != len(data):
            raise ValueError(f"TupleCodec: {len(data) - pos} bytes left over in {data!r}")
        return tuple(items)
