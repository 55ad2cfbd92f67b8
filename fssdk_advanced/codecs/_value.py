"""Value codecs: compact encodings for state values, not ordered (never usable as map keys).

``MsgpackCodec`` is the default for values, ``JsonCodec`` the human-readable alternative; both
take an optional type that makes dataclasses (and lists, dicts, tuples of them) round-trip.
``PickleCodec`` encodes any picklable object but is never chosen automatically: unpickling runs
code named by the stored bytes.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any, ClassVar, Final, Generic, NoReturn, TypeVar, overload

import msgpack

from fssdk_advanced.codecs._plain import Format, Mismatch, check_plain, short_repr
from fssdk_advanced.codecs._protocol import CodecBase
from fssdk_advanced.codecs._schema import type_schema
from fssdk_advanced.codecs._typed import plan_for, type_name

T = TypeVar("T")


def _plain_default(value: Any) -> Any:
    """The msgpack packer's fallback (it packs exact types only): subclasses as their base type.

    An ``IntEnum`` or ``str`` subclass reads back as the int or str it equals; anything else
    (tuples, sets, objects) is refused, since it would not read back as an equal value.
    """
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    raise TypeError(f"cannot serialize {type(value).__name__!r} object")


class _TypedCodec(CodecBase, Generic[T]):
    """Shared by msgpack and JSON: an optional type, and the plan that converts it.

    ``_to_plain``/``_from_plain`` are ``None`` when the value is stored as it is; ``_exact`` and
    ``_plain_exact`` are the types for which the conversion is skipped (ints, strs, ...).
    """

    __slots__ = ("_exact", "_from_plain", "_plain_exact", "_root", "_to_plain", "value_type")
    ordered: Final = False
    fixed_size: Final = None
    _format: ClassVar[Format]

    def __init__(self, value_type: object = None) -> None:
        plan = plan_for(value_type, self._format)
        self.value_type: Final = value_type
        self._to_plain = None if plan.passthrough else plan.to_plain
        self._from_plain = None if plan.passthrough else plan.from_plain
        self._exact = plan.exact
        self._plain_exact = plan.plain_exact
        is_dataclass = isinstance(value_type, type) and dataclasses.is_dataclass(value_type)
        self._root = getattr(value_type, "__qualname__", "") if is_dataclass else ""

    @property
    def signature(self) -> str:
        name = type(self).__name__
        if self.value_type is None:
            return f"{name}()"
        return f"{name}({type_name(self.value_type)})"

    @property
    def schema(self) -> dict[str, Any]:
        """``{"codec": "msgpack" | "json", "type": <the value type's schema>}``."""
        return {"codec": self._format, "type": type_schema(self.value_type)}

    def _refuse(self, value: object, plain: object, exc: Exception) -> NoReturn:
        """Raise the encode error for ``value``, naming the part that cannot be stored."""
        if isinstance(exc, RecursionError):
            raise ValueError(
                f"{self!r} cannot encode {short_repr(value)}: nested too deeply or circular"
            ) from None
        if not isinstance(exc, Mismatch):
            try:
                check_plain(plain, self._format)
            except Mismatch as found:
                exc = found
            except RecursionError:
                pass
        if isinstance(exc, Mismatch):
            raise exc.kind(
                f"{self!r} cannot encode {short_repr(value)}: {exc.describe(self._root)}"
            ) from None
        kind = ValueError if isinstance(exc, ValueError | OverflowError) else TypeError
        raise kind(f"{self!r} cannot encode {short_repr(value)}: {exc}") from exc

    def _from(self, plain: Any, data: bytes) -> T:
        """The typed value of decoded ``plain`` data; ``ValueError`` naming the bad part."""
        try:
            return self._from_plain(plain)  # type: ignore[misc,no-any-return]
        except Mismatch as bad:
            raise ValueError(
                f"{self!r}: cannot decode {data[:64]!r}: {bad.describe(self._root)}"
            ) from None
        except Exception as exc:
            raise ValueError(f"{self!r}: cannot decode {data[:64]!r}: {exc}") from exc


class MsgpackCodec(_TypedCodec[T]):
    """msgpack, the default value codec; given a type, dataclasses and their containers round-trip.

    Without a type it stores plain data: None, bool, int (-2**63 to 2**64-1), float, str,
    bytes, lists and dicts with scalar keys; tuples, sets and other objects raise ``TypeError``
    (they would read back as something else). With a type, values are checked against it on
    encode, so ``decode`` always returns a value equal to the one encoded; sets are written in a
    canonical order. Errors name the offending part (``Point.x``, ``[1]``). Decoding raises
    ``ValueError`` for bytes that are not msgpack or not of the type.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Click:
    ...     page: str
    ...     count: int
    >>> codec = MsgpackCodec(dict[str, Click])
    >>> codec.decode(codec.encode({"home": Click("home", 3)}))
    {'home': Click(page='home', count=3)}
    >>> MsgpackCodec(Click).encode(Click("home", 1.5))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: MsgpackCodec(...Click) cannot encode ...: Click.count: expected int, got float 1.5
    """

    __slots__ = ("_pack",)
    _format: ClassVar[Format] = "msgpack"

    @overload
    def __init__(self: MsgpackCodec[Any], value_type: None = None) -> None: ...
    @overload
    def __init__(self: MsgpackCodec[T], value_type: type[T]) -> None: ...
    @overload
    def __init__(self: MsgpackCodec[Any], value_type: object) -> None: ...
    def __init__(self, value_type: object = None) -> None:
        super().__init__(value_type)
        self._pack = msgpack.Packer(
            use_bin_type=True, strict_types=True, default=_plain_default, autoreset=True
        ).pack

    def encode(self, value: T) -> bytes:
        plain: Any = value
        try:
            if self._to_plain is not None and type(value) is not self._exact:
                plain = self._to_plain(value)
            return self._pack(plain)
        except (Mismatch, TypeError, ValueError, OverflowError, RecursionError) as exc:
            self._refuse(value, plain, exc)

    def decode(self, data: bytes) -> T:
        try:
            plain = msgpack.unpackb(data, raw=False, strict_map_key=False)
        except Exception as exc:  # msgpack's OutOfData is not a ValueError; report all alike
            raise ValueError(f"{self!r}: cannot decode {data[:64]!r}: {exc}") from exc
        if self._from_plain is None or type(plain) is self._plain_exact:
            return plain  # type: ignore[no-any-return]
        return self._from(plain, data)


class JsonCodec(_TypedCodec[T]):
    """Compact UTF-8 JSON; given a type, dataclasses and their containers round-trip.

    JSON has no bytes and only string object keys. Without a type, a value JSON would change
    (a non-string dict key, a tuple, bytes) raises ``TypeError``. With a type, ``dict[int, V]``
    round-trips (keys written as decimal strings); other non-string key types are refused when
    the codec is built. NaN and infinities are written as Python's ``json`` writes them.

    >>> JsonCodec().encode({"a": [1, 2.5, None]})
    b'{"a":[1,2.5,null]}'
    >>> JsonCodec(dict[int, str]).encode({1: "a"})
    b'{"1":"a"}'
    """

    __slots__ = ("_dumps",)
    _format: ClassVar[Format] = "json"

    @overload
    def __init__(self: JsonCodec[Any], value_type: None = None) -> None: ...
    @overload
    def __init__(self: JsonCodec[T], value_type: type[T]) -> None: ...
    @overload
    def __init__(self: JsonCodec[Any], value_type: object) -> None: ...
    def __init__(self, value_type: object = None) -> None:
        super().__init__(value_type)
        self._dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

    def encode(self, value: T) -> bytes:
        plain: Any = value
        try:
            if self._to_plain is not None and type(value) is not self._exact:
                plain = self._to_plain(value)
            return self._dumps(plain).encode("utf-8")
        except (Mismatch, TypeError, ValueError, OverflowError, RecursionError) as exc:
            self._refuse(value, plain, exc)

    def decode(self, data: bytes) -> T:
        try:
            plain = json.loads(data)
        except Exception as exc:
            raise ValueError(f"{self!r}: cannot decode {data[:64]!r}: {exc}") from exc
        if self._from_plain is None or type(plain) is self._plain_exact:
            return plain  # type: ignore[no-any-return]
        return self._from(plain, data)


class PickleCodec(CodecBase, Generic[T]):
    """Any picklable object, with pickle protocol 5. Opt-in only, never chosen automatically.

    Security: unpickling runs code named by the bytes being read, so whoever can write this
    state's bytes can run code in the operator. Use it only for state that nothing untrusted
    writes, and prefer MsgpackCodec with a type. Decoding raises ``ValueError`` for bytes that
    do not unpickle.

    >>> codec = PickleCodec()
    >>> codec.decode(codec.encode({1, 2, 3}))
    {1, 2, 3}
    """

    __slots__ = ()
    schema_name: ClassVar[str | None] = "pickle"
    ordered: Final = False
    fixed_size: Final = None
    protocol: Final = 5

    def __init__(self: PickleCodec[Any]) -> None:
        super().__init__()

    def encode(self, value: T) -> bytes:
        return pickle.dumps(value, protocol=self.protocol)

    def decode(self, data: bytes) -> T:
        try:
            return pickle.loads(data)  # type: ignore[no-any-return]
        except Exception as exc:
            raise ValueError(f"PickleCodec: cannot unpickle {data[:64]!r}: {exc}") from exc
