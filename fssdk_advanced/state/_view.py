"""Reading a key group's entries back as values, from its stored descriptor alone (for tools).

``fssdk state inspect`` reads a database without the operator's code: it finds a key group's
descriptor (see :mod:`fssdk_advanced.state._identity`) and asks a :class:`StateView` to decode
primary keys and entries with codecs rebuilt from the recorded signatures. Typed values come
back as plain data (a dataclass as a dict of its fields); bytes of a codec that cannot be rebuilt
come back as bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from fssdk_advanced.codecs import Codec
from fssdk_advanced.state._identity import PRIMARY_KEY, plain_codec
from fssdk_advanced.state._list import split_frames
from fssdk_advanced.state._priority_queue import element_bytes


def _decoder(entry: dict[str, Any] | None) -> tuple[Callable[[bytes], Any], int | None]:
    codec: Codec[Any] | None = None if entry is None else plain_codec(entry["signature"])
    if codec is None:
        return bytes, None
    return codec.decode, codec.fixed_size


class StateView:
    """How to show the primary keys and entries of one key group, given its descriptor.

    Build it with :meth:`from_descriptor` from the bytes stored at
    ``ComplexKey(fssdk.reserved.IDENTITY_KEY_GROUP, key_group, b"", b"")``. Decoding raises
    ``ValueError`` for bytes that do not decode.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> from fssdk import ComplexKey
    >>> from fssdk.reserved import IDENTITY_KEY_GROUP
    >>> from fssdk_advanced import KeyedMapStateFactory, StringCodec, TupleCodec, IntCodec
    >>> ctx = LocalContext(MemoryBackend())
    >>> maps = KeyedMapStateFactory.from_context(
    ...     ctx, "m", b"g", TupleCodec(StringCodec(), IntCodec()), IntCodec(),
    ...     key_codec=StringCodec())
    >>> maps.new_keyed_map("alice").put(("x", 1), 5)
    >>> store = ctx.get_or_create_store("m")
    >>> view = StateView.from_descriptor(
    ...     store.get(ComplexKey(IDENTITY_KEY_GROUP, b"g", b"", b"")))
    >>> view.kind, view.primary_key(b"alice")
    ('MapState', 'alice')
    >>> [view.entry(k, v) for k, v in store.scan_complex(b"g", b"alice", b"")]
    [(('x', 1), 5)]
    """

    __slots__ = ("_element", "_key", "_value", "kind")

    def __init__(self, descriptor: dict[str, Any]) -> None:
        self.kind: Final[str] = descriptor["kind"]
        codecs: dict[str, Any] = descriptor["codecs"]
        self._key = _decoder(descriptor.get(PRIMARY_KEY))[0]
        self._value = _decoder(codecs.get("value") or codecs.get("accumulator"))
        self._element = _decoder(codecs.get("key") or codecs.get("element"))

    @classmethod
    def from_descriptor(cls, data: bytes) -> StateView:
        """The view of the key group whose stored descriptor is ``data``."""
        try:
            descriptor = json.loads(data)
            return cls(descriptor)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a state descriptor: {data[:80]!r}: {exc}") from exc

    def primary_key(self, key: bytes) -> Any:
        """``key`` decoded with the factory's key codec (``bytes`` without one)."""
        return self._key(key)

    def entry(self, user_key: bytes, value: bytes) -> tuple[Any, Any]:
        """One entry of a scope as ``(what addresses it, its value)``.

        A map gives ``(key, value)``; a queue ``(element, None)``; a list ``(None, [elements])``;
        the single-value kinds ``(None, value)``.
        """
        return _ENTRIES.get(self.kind, StateView._single)(self, user_key, value)

    def _single(self, user_key: bytes, value: bytes) -> tuple[Any, Any]:
        return None, self._value[0](value)

    def _list(self, user_key: bytes, value: bytes) -> tuple[Any, Any]:
        decode, size = self._value
        return None, [decode(frame) for frame in split_frames(value, size)]

    def _map(self, user_key: bytes, value: bytes) -> tuple[Any, Any]:
        return self._element[0](user_key), self._value[0](value)

    def _queue(self, user_key: bytes, value: bytes) -> tuple[Any, Any]:
        decode, size = self._element
        return decode(element_bytes(user_key, size)), None


#: How each kind lays out its entries; the single-value kinds need no entry here.
_ENTRIES: Final[dict[str, Callable[[StateView, bytes, bytes], tuple[Any, Any]]]] = {
    "ListState": StateView._list,
    "MapState": StateView._map,
    "PriorityQueueState": StateView._queue,
}
