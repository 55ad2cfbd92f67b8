"""ListState: an append-mostly list per scope, one store entry holding every element.

Layout: user_key ``b""`` holds the elements' frames back to back. A frame is the element's
encoding preceded by its length as an unsigned LEB128 varint (one byte below 128), or the bare
encoding when the codec has a ``fixed_size``. Framing never looks inside an encoding, so any
element bytes are safe, and ``add`` appends its frame with ``StoreScope.merge``: O(size of the
element), whatever the length of the list. ``get`` reads the entry and decodes every frame: O(n).
A frame that runs past the end, or a length that does not parse, raises ``CorruptStateError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Generic, TypeVar, Unpack, overload

from fssdk import Context, Store, StoreScope
from fssdk_advanced.codecs import Codec, codec_signature
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import EMPTY
from fssdk_advanced.state._identity import Identity
from fssdk_advanced.state._keyed import KeyedFactory, KeyedOptions, NonKeyed, Options
from fssdk_advanced.state._migration import Migratable, reframe
from fssdk_advanced.state._values import MigratingCodec, ScopedCodec, corrupt
from fssdk_advanced.time import StateTtl

T = TypeVar("T")

KIND: Final = "ListState"
WHAT: Final = "list element"

_SHORT: Final = tuple(bytes((n,)) for n in range(0x80))
_MAX_VARINT_BYTES: Final = 10


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``data[pos:]`` and the offset after it; ``ValueError`` if it is cut off."""
    value = shift = 0
    for index in range(pos, min(len(data), pos + _MAX_VARINT_BYTES)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    raise ValueError(f"length prefix at offset {pos} is truncated or too long")


def _size_error(codec: Codec[Any], value: object, data: bytes) -> ValueError:
    return ValueError(
        f"{codec_signature(codec)} declares fixed_size {codec.fixed_size} but encoded "
        f"{value!r} as {len(data)} bytes"
    )


class ListState(NonKeyed, Migratable, Generic[T]):
    """A list of ``T`` in one scope; ``get()`` is ``[]`` until something is added.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> events = ListState.from_context_auto_codec(ctx, "events", str)
    >>> events.add("open"); events.add_all(["click", "close"])
    >>> events.get()
    ['open', 'click', 'close']
    >>> events.update(["reset"]); events.get()
    ['reset']
    """

    __slots__ = ()

    _codec: Codec[T]
    _values: ScopedCodec[T]

    @classmethod
    def from_context(
        cls, ctx: Context, store_name: str, codec: Codec[T], **options: Unpack[Options[T]]
    ) -> ListState[T]:
        """The non-keyed list stored in ``store_name``, elements encoded with ``codec``.

        ``migrate`` (old element -> new element) reads elements written under an incompatible
        older codec; a list holding one is rewritten when it is read. ``ttl`` expires elements.
        """
        return cls._from_context(ctx, store_name, codec, **options)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: type[T], **options: Unpack[Options[T]]
    ) -> ListState[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        value_type: object = None,
        **options: Unpack[Options[Any]],
    ) -> ListState[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: object = None, **options: Any
    ) -> ListState[Any]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)`` for the elements."""
        return cls._auto_codec(ctx, store_name, (value_type,), **options)

    def _frame(self, value: T) -> bytes:
        codec = self._codec
        data = self._values.encode(value)
        size = codec.fixed_size
        if size is None:
            length = len(data)
            return (_SHORT[length] if length < 0x80 else _varint(length)) + data
        if len(data) != size:
            raise _size_error(codec, value, data)
        return data

    def add(self, value: T) -> None:
        """Append ``value``. One merge of the element's frame: O(its size), not O(list length)."""
        data = self._values.encode(value)
        size = self._codec.fixed_size
        if size is None:
            length = len(data)
            data = (_SHORT[length] if length < 0x80 else _varint(length)) + data
        elif len(data) != size:
            raise _size_error(self._codec, value, data)
        self._scopes.merge(self._key, self._namespace, EMPTY, data)

    def add_all(self, values: Iterable[T]) -> None:
        """Append every element of ``values`` in order, in one merge. Nothing for no values."""
        data = b"".join([self._frame(value) for value in values])
        if data:
            self._scope.merge(EMPTY, data)

    def update(self, values: Iterable[T]) -> None:
        """Replace the list with ``values`` (one put; an empty list clears it)."""
        data = b"".join([self._frame(value) for value in values])
        if data:
            self._scope.put(EMPTY, data)
        else:
            self._scope.delete(EMPTY)

    def get(self) -> list[T]:
        """The elements in insertion order; ``[]`` for an empty list. O(n): one read, n decodes.

        Raises ``CorruptStateError`` (naming store and scope) for a truncated frame or an
        element that does not decode.
        """
        data = self._scopes.get(self._key, self._namespace, EMPTY)
        if not data:
            return []
        frames = _frames(self._scope, EMPTY, data, self._codec.fixed_size)
        elements, rewrite = self._values.decode_all(self._scope, EMPTY, frames)
        if rewrite is not None:
            data = frame_all(rewrite, self._codec.fixed_size)
            if data:
                self._scope.put(EMPTY, data)
            else:
                self._scope.delete(EMPTY)
        return elements

    def clear(self) -> None:
        """Remove every element. One delete."""
        self._scopes.delete(self._key, self._namespace, EMPTY)


def bind_frames(
    identity: Identity, store: Store, key_group: bytes, values: ScopedCodec[Any]
) -> None:
    """Tell ``identity`` how its entries are rewritten (element by element, for
    ``migrate_all``), and rewrite them now if their framing changes (:func:`reframe`)."""
    size = values.codec.fixed_size

    def rewrite(scope: StoreScope, user_key: bytes, data: bytes) -> bytes:
        parts = _frames(scope, user_key, data, size)
        return frame_all([values.reencode(scope, user_key, part) for part in parts], size)

    identity.entries = rewrite
    progress = identity.reframing
    if progress is None:
        return
    assert isinstance(values, MigratingCodec)
    old_size: int | None = progress["fixed_size"]

    def reframed(scope: StoreScope, user_key: bytes, data: bytes) -> bytes:
        parts = _frames(scope, user_key, data, old_size)
        return frame_all(
            [
                values.encode(values.from_old(scope, user_key, part, f"{WHAT} #{index}"))
                for index, part in enumerate(parts)
            ],
            size,
        )

    reframe(store, key_group, identity, reframed)


def _frames(scope: StoreScope, user_key: bytes, data: bytes, size: int | None) -> list[bytes]:
    """:func:`split_frames`, a cut-off frame raised as ``CorruptStateError``."""
    try:
        return split_frames(data, size)
    except FrameError as exc:
        raise corrupt(scope, user_key, f"{WHAT} #{exc.index} does not decode", exc) from exc


class FrameError(ValueError):
    """Element number ``index`` of a list is cut off or its length does not parse."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def _stamped_size(codec: Codec[Any]) -> int | None:
    """The fixed size of ``codec``'s elements with a TTL stamp in front."""
    return None if codec.fixed_size is None else codec.fixed_size + 8


def frame_all(encodings: list[bytes], size: int | None) -> bytes:
    """``encodings`` framed back to back, as :meth:`ListState.add` frames each."""
    if size is not None:
        return b"".join(encodings)
    return b"".join(
        (_SHORT[len(data)] if len(data) < 0x80 else _varint(len(data))) + data for data in encodings
    )


def sweep_list(size: int | None) -> Callable[[bytes, int], bytes | None]:
    """The TTL cleanup of a list entry: its expired elements dropped (``None``: all were)."""

    def sweep(data: bytes, now: int) -> bytes | None:
        live = [part for part in split_frames(data, size) if StateTtl.unstamp(part)[0] > now]
        return frame_all(live, size) if live else None

    return sweep


def split_frames(data: bytes, size: int | None) -> list[bytes]:
    """The element encodings framed in ``data``; ``FrameError`` for a frame that is cut off."""
    end = len(data)
    if size is not None:
        if end % size:
            raise FrameError(0, f"{end} bytes is not a whole number of {size}-byte elements")
        return [data[pos : pos + size] for pos in range(0, end, size)]
    out: list[bytes] = []
    pos = 0
    while pos < end:
        length = data[pos]
        if length < 0x80:
            pos += 1
        else:
            try:
                length, pos = _read_varint(data, pos)
            except ValueError as exc:
                raise FrameError(len(out), str(exc)) from None
        following = pos + length
        if following > end:
            raise FrameError(
                len(out), f"frame of {length} bytes at offset {pos} runs past the end ({end} bytes)"
            )
        out.append(data[pos:following])
        pos = following
    return out


KeyedListState = ListState


class KeyedListStateFactory(KeyedFactory, Generic[T], state=ListState):
    """Gives the :class:`KeyedListState` of each primary key and namespace of one key group.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> seen = KeyedListStateFactory.from_context_auto_codec(ctx, "seen", b"pages", str)
    >>> seen.new_keyed_list(b"alice", b"").add("home")
    >>> seen.new_keyed_list(b"alice", b"").get(), seen.new_keyed_list(b"bob", b"").get()
    (['home'], [])
    """

    __slots__ = ("_values",)
    _NEW = ("new_keyed_list", "namespace")
    _HINTS = (("value_type", False),)

    def __init__(
        self, store: Store, key_group: bytes, codec: Codec[T], **options: Unpack[KeyedOptions[T]]
    ) -> None:
        check_codec(codec, "codec", self._owner())
        sweep = sweep_list(_stamped_size(codec))
        super().__init__(store, key_group, KIND, {"value": codec}, sweep=sweep, **options)
        self._values: ScopedCodec[T] = self._value_helper(
            "value", codec, WHAT, options.get("migrate")
        )
        bind_frames(self._identity, store, key_group, self._values)
        self._handles = self._handles_of(ListState, _codec=self._values.codec, _values=self._values)

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        codec: Codec[T],
        **options: Unpack[KeyedOptions[T]],
    ) -> KeyedListStateFactory[T]:
        """The factory for ``key_group`` of ``store_name``, elements encoded with ``codec``."""
        return cls._from_context(ctx, store_name, key_group, codec, **options)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: type[T],
        **options: Unpack[KeyedOptions[T]],
    ) -> KeyedListStateFactory[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: object = None,
        **options: Unpack[KeyedOptions[Any]],
    ) -> KeyedListStateFactory[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: object = None,
        **options: Any,
    ) -> KeyedListStateFactory[Any]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls._auto_codec(ctx, store_name, key_group, (value_type,), **options)

    def new_keyed_list(self, primary_key: Any, namespace: str | bytes = EMPTY) -> KeyedListState[T]:
        """The list of ``primary_key`` in ``namespace``. Binds a scope; no store access."""
        state: ListState[T] = self._bind(self._handles, "new_keyed_list", primary_key, namespace)
        return state
