"""ValueState: one value per scope.

Layout: the value's encoding at user_key ``b""`` of the scope. ``update`` is one put, ``value``
one get, ``clear`` one delete: O(1) store operations plus the codec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar, Unpack, overload

from fssdk import Context, Store
from fssdk_advanced.codecs import Codec
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import EMPTY
from fssdk_advanced.state._keyed import KeyedFactory, KeyedOptions, NonKeyed, Options
from fssdk_advanced.state._migration import Migratable
from fssdk_advanced.state._values import ScopedCodec
from fssdk_advanced.time import StateTtl

T = TypeVar("T")

KIND: Final = "ValueState"
WHAT: Final = "value"


class ValueState(NonKeyed, Migratable, Generic[T]):
    """A single value of type ``T`` in one scope; ``(None, False)`` until it is set.

    Build it with :meth:`from_context` (non-keyed) or from a :class:`KeyedValueStateFactory`
    (one per primary key and namespace). The constructor only binds a scope and a value helper.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> total = ValueState.from_context_auto_codec(ctx, "total", int)
    >>> total.value()
    (None, False)
    >>> total.update(41); total.update(total.value()[0] + 1)
    >>> total.value()
    (42, True)
    """

    __slots__ = ()

    _values: ScopedCodec[T]
    _decode: Callable[[bytes], T]  # the codec's own decode: ``value`` calls it directly

    @classmethod
    def from_context(
        cls, ctx: Context, store_name: str, codec: Codec[T], **options: Unpack[Options[T]]
    ) -> ValueState[T]:
        """The non-keyed value stored in ``store_name``, encoded with ``codec``.

        ``migrate`` (old value -> new value) reads values written under an incompatible older
        codec (see docs/state.md, schema evolution); ``ttl`` expires the value.
        """
        return cls._from_context(ctx, store_name, codec, **options)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: type[T], **options: Unpack[Options[T]]
    ) -> ValueState[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        value_type: object = None,
        **options: Unpack[Options[Any]],
    ) -> ValueState[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, value_type: object = None, **options: Any
    ) -> ValueState[Any]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls._auto_codec(ctx, store_name, (value_type,), **options)

    def update(self, value: T) -> None:
        """Set the value. One put."""
        self._scopes.put(self._key, self._namespace, EMPTY, self._values.encode(value))

    def value(self) -> tuple[T | None, bool]:
        """``(value, True)``, or ``(None, False)`` when unset. One get.

        Raises ``CorruptStateError`` when the stored bytes do not decode.
        """
        # The value helper's read, written out: one get and the codec's decode, no frame more.
        data = self._scopes.get(self._key, self._namespace, EMPTY)
        if data is None:
            return None, False
        try:
            return self._decode(data), True
        except ValueError as exc:
            return self._values._undecodable(self._scope, EMPTY, data, exc), True

    def clear(self) -> None:
        """Unset the value. One delete."""
        self._scopes.delete(self._key, self._namespace, EMPTY)


KeyedValueState = ValueState


class TtlValueState(ValueState[T]):
    """A :class:`ValueState` with ``ttl=``: a read goes through the value helper, which checks
    (and with ``update_on_read`` renews) the stored expiry stamp."""

    __slots__ = ()

    def value(self) -> tuple[T | None, bool]:
        return self._values.read(self._scopes, self._key, self._namespace, EMPTY)


def value_class(ttl: StateTtl | None) -> type[ValueState[Any]]:
    """The handle class of a value state with (or without) ``ttl``."""
    return ValueState if ttl is None else TtlValueState


class KeyedValueStateFactory(KeyedFactory, Generic[T], state=ValueState):
    """Gives the :class:`KeyedValueState` of each primary key and namespace of one key group.

    Create the factory once (in ``init``); ``new_keyed_value`` is cheap enough to call per record.
    Primary keys are bytes, or values of ``key_codec`` (an ordered codec) when one is given.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> from fssdk_advanced.codecs import StringCodec
    >>> ctx = LocalContext(MemoryBackend())
    >>> counts = KeyedValueStateFactory.from_context_auto_codec(
    ...     ctx, "counts", b"clicks", int, key_codec=StringCodec())
    >>> counts.new_keyed_value("alice").update(3)
    >>> counts.new_keyed_value("alice").value(), counts.new_keyed_value("bob").value()
    ((3, True), (None, False))
    >>> list(counts.keys())
    ['alice']
    """

    __slots__ = ("_values",)
    _NEW = ("new_keyed_value", "namespace")
    _HINTS = (("value_type", False),)

    def __init__(
        self, store: Store, key_group: bytes, codec: Codec[T], **options: Unpack[KeyedOptions[T]]
    ) -> None:
        check_codec(codec, "codec", self._owner())
        super().__init__(store, key_group, KIND, {"value": codec}, stamp_values=True, **options)
        self._values: ScopedCodec[T] = self._value_helper(
            "value", codec, WHAT, options.get("migrate")
        )
        self._handles = self._handles_of(
            value_class(options.get("ttl")), _values=self._values, _decode=self._values._decode
        )

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        codec: Codec[T],
        **options: Unpack[KeyedOptions[T]],
    ) -> KeyedValueStateFactory[T]:
        """The factory for ``key_group`` of ``store_name``, values encoded with ``codec``."""
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
    ) -> KeyedValueStateFactory[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: object = None,
        **options: Unpack[KeyedOptions[Any]],
    ) -> KeyedValueStateFactory[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: object = None,
        **options: Any,
    ) -> KeyedValueStateFactory[Any]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls._auto_codec(ctx, store_name, key_group, (value_type,), **options)

    def new_keyed_value(
        self, primary_key: Any, namespace: str | bytes = EMPTY
    ) -> KeyedValueState[T]:
        """The value of ``primary_key`` in ``namespace`` (a window id, ``b""`` without windows).

        Binds a scope; no store access.
        """
        state: ValueState[T] = self._bind(self._handles, "new_keyed_value", primary_key, namespace)
        return state
