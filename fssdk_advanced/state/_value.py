"""ValueState: one value per scope.

Layout: the value's encoding at user_key ``b""`` of the scope. ``update`` is one put, ``value``
one get, ``clear`` one delete: O(1) store operations plus the codec.
"""

from __future__ import annotations

from typing import Any, Final, Generic, TypeVar, overload

from fssdk import Context, Store, StoreScope
from fssdk_advanced.codecs import Codec, codec_signature, default_codec_for
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import (
    EMPTY,
    check_key_group,
    corrupt,
    declare,
    scope_type_error,
    store_from,
)

T = TypeVar("T")

KIND: Final = "ValueState"


class ValueState(Generic[T]):
    """A single value of type ``T`` in one scope; ``(None, False)`` until it is set.

    Build it with :meth:`from_context` (non-keyed) or from a :class:`KeyedValueStateFactory`
    (one per primary key and namespace). The constructor only binds a scope and a codec.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> total = ValueState.from_context_auto_codec(ctx, "total", int)
    >>> total.value()
    (None, False)
    >>> total.update(41); total.update(total.value()[0] + 1)
    >>> total.value()
    (42, True)
    """

    __slots__ = ("_codec", "_scope")

    def __init__(self, scope: StoreScope, codec: Codec[T]) -> None:
        self._scope = scope
        self._codec = codec

    @classmethod
    def from_context(cls, ctx: Context, store_name: str, codec: Codec[T]) -> ValueState[T]:
        """The non-keyed value stored in ``store_name``, encoded with ``codec``."""
        store = store_from(ctx, store_name, "ValueState.from_context")
        _declare(store, EMPTY, codec, "ValueState.from_context")
        return cls(store.scope(EMPTY, EMPTY, EMPTY), codec)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: type[T]
    ) -> ValueState[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: object = None
    ) -> ValueState[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: object = None
    ) -> ValueState[Any]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls.from_context(ctx, store_name, default_codec_for(value_type))

    def update(self, value: T) -> None:
        """Set the value. One put."""
        self._scope.put(EMPTY, self._codec.encode(value))

    def value(self) -> tuple[T | None, bool]:
        """``(value, True)``, or ``(None, False)`` when unset. One get.

        Raises ``CorruptStateError`` when the stored bytes do not decode.
        """
        data = self._scope.get(EMPTY)
        if data is None:
            return None, False
        try:
            return self._codec.decode(data), True
        except ValueError as exc:
            raise corrupt(self._scope, EMPTY, "value does not decode", exc) from exc

    def clear(self) -> None:
        """Unset the value. One delete."""
        self._scope.delete(EMPTY)


KeyedValueState = ValueState


def _declare(store: Store, key_group: bytes, codec: object, owner: str) -> None:
    check_codec(codec, "codec", owner)
    declare(store, key_group, KIND, (codec_signature(codec),))


class KeyedValueStateFactory(Generic[T]):
    """Gives the :class:`KeyedValueState` of each primary key and namespace of one key group.

    Create the factory once (in ``init``); ``new_keyed_value`` is cheap enough to call per record.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> counts = KeyedValueStateFactory.from_context_auto_codec(ctx, "counts", b"clicks", int)
    >>> counts.new_keyed_value(b"alice", b"").update(3)
    >>> counts.new_keyed_value(b"alice", b"").value(), counts.new_keyed_value(b"bob", b"").value()
    ((3, True), (None, False))
    """

    __slots__ = ("_codec", "_key_group", "_scope", "store")

    def __init__(self, store: Store, key_group: bytes, codec: Codec[T]) -> None:
        owner = type(self).__name__
        check_key_group(key_group, owner)
        _declare(store, key_group, codec, owner)
        self.store: Final = store
        self._key_group = key_group
        self._codec = codec
        self._scope = store.scopes(key_group)

    @classmethod
    def from_context(
        cls, ctx: Context, store_name: str, key_group: bytes, codec: Codec[T]
    ) -> KeyedValueStateFactory[T]:
        """The factory for ``key_group`` of ``store_name``, values encoded with ``codec``."""
        return cls(store_from(ctx, store_name, f"{cls.__name__}.from_context"), key_group, codec)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, key_group: bytes, value_type: type[T]
    ) -> KeyedValueStateFactory[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, key_group: bytes, value_type: object = None
    ) -> KeyedValueStateFactory[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, key_group: bytes, value_type: object = None
    ) -> KeyedValueStateFactory[Any]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls.from_context(ctx, store_name, key_group, default_codec_for(value_type))

    def new_keyed_value(self, primary_key: bytes, namespace: bytes = EMPTY) -> KeyedValueState[T]:
        """The value of ``primary_key`` in ``namespace`` (a window id, ``b""`` without windows).

        Binds a scope; no store access.
        """
        try:
            scope = self._scope(primary_key, namespace)
        except TypeError:
            raise scope_type_error("new_keyed_value", primary_key, namespace) from None
        return ValueState(scope, self._codec)

