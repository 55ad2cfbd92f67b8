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
from fssdk_advanced.state._identity import PRIMARY_KEY, framing, plain_codec
from fssdk_advanced.state._list import split_frames
from fssdk_advanced.state._priority_queue import element_bytes
from fssdk_advanced.time import StateTtl
from fssdk_advanced.time._ttl import STAMP_SIZE


def _decoder(entry: dict[str, Any] | None) -> tuple[Callable[[bytes], Any], int | None]:
    """How to decode the bytes of the codec an entry describes, and its ``fixed_size``."""
    codec: Codec[Any] | None = None if entry is None else plain_codec(entry["signature"])
    size = None if entry is None else framing(entry)
    fixed = size if isinstance(size, int) else None
    return (bytes, fixed) if codec is None else (codec.decode, fixed)


def _no_stamp(data: bytes) -> tuple[None, bytes]:
    return None, data


class StateView:
    """How to show the primary keys and entries of one key group, given its descriptor.

    Build it with :meth:`from_descriptor` from the bytes stored at
    ``ComplexKey(fssdk.reserved.IDENTITY_KEY_GROUP, key_group, b"", b"")``. Decoding raises
    ``ValueError`` for bytes that do not decode. A state declared with ``ttl=`` stores each
    value behind its expiry stamp: :meth:`entry` shows the values, :meth:`expiry` when they
    expire.

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

    __slots__ = ("_element", "_key", "_unstamp", "_value", "kind")

    def __init__(self, descriptor: dict[str, Any]) -> None:
        self.kind: Final[str] = descriptor["kind"]
        codecs: dict[str, Any] = descriptor["codecs"]
        stamped = descriptor.get("ttl") is not None
        self._unstamp: Callable[[bytes], tuple[int | None, bytes]] = (
            StateTtl.unstamp if stamped else _no_stamp
        )
        self._key = _decoder(descriptor.get(PRIMARY_KEY))[0]
        decode, size = _decoder(codecs.get("value") or codecs.get("accumulator"))
        self._value = decode, size if size is None or not stamped else size + STAMP_SIZE
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
        the single-value kinds ``(None, value)``. Expiry stamps are not part of the value.
        """
        shown, decoded, _ = self._read(user_key, value)
        return shown, decoded

    def expiry(self, user_key: bytes, value: bytes) -> int | list[int | None] | None:
        """When the entry's value expires (in the TTL's unit), ``None`` without ``ttl=``; for a
        list, the expiry of each element."""
        expires: int | list[int | None] | None = self._read(user_key, value)[2]
        return expires

    def _read(self, user_key: bytes, value: bytes) -> tuple[Any, Any, Any]:
        return _ENTRIES.get(self.kind, StateView._single)(self, user_key, value)

    def _single(self, user_key: bytes, value: bytes) -> tuple[Any, Any, Any]:
        expires_at, data = self._unstamp(value)
        return None, self._value[0](data), expires_at

    def _list(self, user_key: bytes, value: bytes) -> tuple[Any, Any, Any]:
        decode, size = self._value
        elements = [self._unstamp(frame) for frame in split_frames(value, size)]
        expiries = [expires_at for expires_at, _ in elements]
        shown = None if all(at is None for at in expiries) else expiries
        return None, [decode(data) for _, data in elements], shown

    def _map(self, user_key: bytes, value: bytes) -> tuple[Any, Any, Any]:
        expires_at, data = self._unstamp(value)
        return self._element[0](user_key), self._value[0](data), expires_at

    def _queue(self, user_key: bytes, value: bytes) -> tuple[Any, Any, Any]:
        decode, size = self._element
        return decode(element_bytes(user_key, size)), None, self._unstamp(value)[0]


#: How each kind lays out its entries; the single-value kinds need no entry here.
_ENTRIES: Final[dict[str, Callable[[StateView, bytes, bytes], tuple[Any, Any, Any]]]] = {
    "ListState": StateView._list,
    "MapState": StateView._map,
    "PriorityQueueState": StateView._queue,
}
