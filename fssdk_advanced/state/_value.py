"""ValueState: one value per scope.

Layout: the value's encoding at user_key ``b""`` of the scope. ``update`` is one put, ``value``
one get, ``clear`` one delete: O(1) store operations plus the codec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar, overload

from fssdk import Context, Store, StoreScope
from fssdk_advanced.codecs import Codec, default_codec_for
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import EMPTY, bind_state, store_from, values_of
from fssdk_advanced.state._keyed import KeyedFactory
from fssdk_advanced.state._migration import Migratable
from fssdk_advanced.state._values import ScopedCodec
from fssdk_advanced.time import StateTtl

T = TypeVar("T")

KIND: Final = "ValueState"
WHAT: Final = "value"


class ValueState(Migratable, Generic[T]):
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

    __slots__ = ("_scope", "_values")

    def __init__(self, scope: StoreScope, values: ScopedCodec[T]) -> None:
        self._scope = scope
        self._values = values

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        codec: Codec[T],
        *,
        migrate: Callable[[Any], T] | None = None,
        ttl: StateTtl | None = None,
    ) -> ValueState[T]:
        """The non-keyed value stored in ``store_name``, encoded with ``codec``.

        ``migrate`` (old value -> new value) reads values written under an incompatible older
        codec (see docs/state.md, schema evolution).
        """
        owner = "ValueState.from_context"
        check_codec(codec, "codec", owner)
        roles = {"value": codec}
        scope, identity = bind_state(ctx, store_name, owner, KIND, roles, migrate=migrate, ttl=ttl)
        return cls(scope, values_of(identity, "value", codec, WHAT, migrate, ttl=ttl))

    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        value_type: type[T],
        *,
        migrate: Callable[[Any], T] | None = None,
        ttl: StateTtl | None = None,
    ) -> ValueState[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        value_type: object = None,
        *,
        migrate: Callable[[Any], Any] | None = None,
        ttl: StateTtl | None = None,
    ) -> ValueState[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        value_type: object = None,
        *,
        migrate: Callable[[Any], Any] | None = None,
        ttl: StateTtl | None = None,
    ) -> ValueState[Any]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls.from_context(
            ctx,
            store_name,
            default_codec_for(value_type),
            migrate=migrate,
            ttl=ttl,
        )

    def update(self, value: T) -> None:
        """Set the value. One put."""
        self._scope.put(EMPTY, self._values.encode(value))

    def value(self) -> tuple[T | None, bool]:
        """``(value, True)``, or ``(None, False)`` when unset. One get.

        Raises ``CorruptStateError`` when the stored bytes do not decode.
        """
        return self._values.get(self._scope, EMPTY)

    def clear(self) -> None:
        """Unset the value. One delete."""
        self._scope.delete(EMPTY)


KeyedValueState = ValueState


class KeyedValueStateFactory(KeyedFactory, Generic[T]):
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

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        codec: Codec[T],
        *,
        key_codec: Codec[Any] | None = None,
        migrate: Callable[[Any], T] | None = None,
        ttl: StateTtl | None = None,
    ) -> None:
        check_codec(codec, "codec", type(self).__name__)
        super().__init__(
            store, key_group, KIND, {"value": codec}, key_codec=key_codec, migrate=migrate, ttl=ttl
        )
        self._values: ScopedCodec[T] = self._value_helper("value", codec, WHAT, migrate)

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        codec: Codec[T],
        *,
        key_codec: Codec[Any] | None = None,
        migrate: Callable[[Any], T] | None = None,
        ttl: StateTtl | None = None,
    ) -> KeyedValueStateFactory[T]:
        """The factory for ``key_group`` of ``store_name``, values encoded with ``codec``."""
        store = store_from(ctx, store_name, f"{cls.__name__}.from_context")
        return cls(store, key_group, codec, key_codec=key_codec, migrate=migrate, ttl=ttl)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: type[T],
        *,
        key_codec: Codec[Any] | None = None,
        migrate: Callable[[Any], T] | None = None,
        ttl: StateTtl | None = None,
    ) -> KeyedValueStateFactory[T]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: object = None,
        *,
        key_codec: Codec[Any] | None = None,
        migrate: Callable[[Any], Any] | None = None,
        ttl: StateTtl | None = None,
    ) -> KeyedValueStateFactory[Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_type: object = None,
        *,
        key_codec: Codec[Any] | None = None,
        migrate: Callable[[Any], Any] | None = None,
        ttl: StateTtl | None = None,
    ) -> KeyedValueStateFactory[Any]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls.from_context(
            ctx,
            store_name,
            key_group,
            default_codec_for(value_type),
            key_codec=key_codec,
            migrate=migrate,
            ttl=ttl,
        )

    def new_keyed_value(self, primary_key: Any, namespace: bytes = EMPTY) -> KeyedValueState[T]:
        """The value of ``primary_key`` in ``namespace`` (a window id, ``b""`` without windows).

        Binds a scope; no store access.
        """
        return ValueState(self._scope("new_keyed_value", primary_key, namespace), self._values)
