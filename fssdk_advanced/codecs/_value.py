"""Value codecs: compact encodings for state values, not ordered (never usable as map keys).

``MsgpackCodec`` is the default for values, ``JsonCodec`` the human-readable alternative; both
take an optional type that makes dataclasses (and lists, dicts, tuples of them) round-trip.
``PickleCodec`` encodes any picklable object but is never chosen automatically: unpickling runs
code named by the stored bytes.
"""

from __future__ import annotations

import json
import pickle
from typing import Any, Final, Generic, TypeVar, overload

import msgpack

from fssdk_advanced.codecs._protocol import CodecBase
from fssdk_advanced.codecs._typed import plan_for, type_name

T = TypeVar("T")


class _TypedCodec(CodecBase, Generic[T]):
    """Shared by msgpack and JSON: an optional type, and the plan that converts it."""

    __slots__ = ("_from_plain", "_to_plain", "value_type")
    ordered: Final = False
    fixed_size: Final = None

    def __init__(self, value_type: object = None) -> None:
        plan = plan_for(value_type)
        self.value_type: Final = value_type
        self._to_plain = None if plan.identity else plan.to_plain
        self._from_plain = None if plan.identity else plan.from_plain

    @property
    def signature(self) -> str:
        name = type(self).__name__
        if self.value_type is None:
            return f"{name}()"
        return f"{name}({type_name(self.value_type)})"


class MsgpackCodec(_TypedCodec[T]):
    """msgpack, the default value codec; given a type, dataclasses and their containers round-trip.

    Without a type, values come back as msgpack gives them (tuples as lists, dataclasses cannot
    be encoded). Decoding raises ``ValueError`` for bytes that are not msgpack or not of the type.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Click:
    ...     page: str
    ...     count: int
    >>> codec = MsgpackCodec(dict[str, Click])
    >>> codec.decode(codec.encode({"home": Click("home", 3)}))
    {'home': Click(page='home', count=3)}
    """

    __slots__ = ("_pack",)

    @overload
    def __init__(self: MsgpackCodec[Any], value_type: None = None) -> None: ...
    @overload
    def __init__(self: MsgpackCodec[T], value_type: type[T]) -> None: ...
    @overload
    def __init__(self: MsgpackCodec[Any], value_type: object) -> None: ...
    def __init__(self, value_type: object = None) -> None:
        super().__init__(value_type)
        self._pack = msgpack.Packer(use_bin_type=True, autoreset=True).pack

    def encode(self, value: T) -> bytes:
        to_plain = self._to_plain
        try:
            return self._pack(value if to_plain is None else to_plain(value))
        except OverflowError as exc:
            raise ValueError(f"{self!r} cannot encode {value!r}: {exc}") from exc
        except TypeError as exc:
            raise TypeError(f"{self!r} cannot encode {value!r}: {exc}") from exc

    def decode(self, data: bytes) -> T:
        try:
            plain = msgpack.unpackb(data, raw=False, strict_map_key=False)
            from_plain = self._from_plain
            return plain if from_plain is None else from_plain(plain)  # type: ignore[no-any-return]
        except Exception as exc:  # msgpack's OutOfData is not a ValueError; report all alike
            raise ValueError(f"{self!r}: cannot decode {data[:64]!r}: {exc}") from exc


class JsonCodec(_TypedCodec[T]):
    """Compact UTF-8 JSON; given a type, dataclasses and their containers round-trip.

    JSON has no bytes and only string map keys; a value it cannot hold raises ``TypeError``.

    >>> JsonCodec().encode({"a": [1, 2.5, None]})
    b'{"a":[1,2.5,null]}'
    """

    __slots__ = ("_dumps",)

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
        to_plain = self._to_plain
        try:
            return self._dumps(value if to_plain is None else to_plain(value)).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{self!r} cannot encode {value!r}: {exc}") from exc

    def decode(self, data: bytes) -> T:
        try:
            plain = json.loads(data)
            from_plain = self._from_plain
            return plain if from_plain is None else from_plain(plain)  # type: ignore[no-any-return]
        except Exception as exc:
            raise ValueError(f"{self!r}: cannot decode {data[:64]!r}: {exc}") from exc


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
