"""MapState: a sorted map per scope, one store entry per map entry.

Layout: entry ``k -> v`` is user_key ``key_codec.encode(k)`` with value
``value_codec.encode(v)``. The key codec must be ordered (checked at construction), so the store's
user_key order is the key order: ``all()`` and ``items()`` stream in key order (or reversed), and a
key range is a user_key range. ``put``/``get``/``delete``/``contains`` are one store operation
each, ``clear`` one prefix delete, iteration one scan streaming O(1) memory.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any, Final, Generic, TypeVar, Unpack, overload

from fssdk import Context, Store
from fssdk_advanced.codecs import Codec
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import EMPTY
from fssdk_advanced.state._keyed import KeyedFactory, KeyedOptions, NonKeyed, Options
from fssdk_advanced.state._migration import Migratable
from fssdk_advanced.state._values import ScopedCodec

K = TypeVar("K")
V = TypeVar("V")

KIND: Final = "MapState"

_second: Final = operator.itemgetter(1)


class MapState(NonKeyed, Migratable, Generic[K, V]):
    """A map from ``K`` (ordered codec) to ``V`` in one scope, iterated in key order.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> scores = MapState.from_context_auto_codec(ctx, "scores", str, int)
    >>> scores.put("carol", 7); scores.put("alice", 9); scores.put("bob", 8)
    >>> scores.get("bob"), scores.get("dave")
    ((8, True), (None, False))
    >>> list(scores.all())
    [('alice', 9), ('bob', 8), ('carol', 7)]
    >>> list(scores.keys(start="b", reverse=True))
    ['carol', 'bob']
    """

    __slots__ = ()

    _keys: ScopedCodec[K]
    _values: ScopedCodec[V]
    _encode_key: Callable[[K], bytes]

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_codec: Codec[K],
        value_codec: Codec[V],
        **options: Unpack[Options[V]],
    ) -> MapState[K, V]:
        """The non-keyed map stored in ``store_name``; ``key_codec`` must be ordered.

        Raises ``UnorderedCodecError`` (a TypeError and ValueError) for an unordered key codec.
        ``migrate`` (old value -> new value) reads values written under an incompatible older
        value codec; keys cannot be migrated (their order is the map's order).
        """
        return cls._from_context(ctx, store_name, key_codec, value_codec, **options)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_type: type[K],
        value_type: type[V],
        **options: Unpack[Options[V]],
    ) -> MapState[K, V]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_type: type[K],
        value_type: object = None,
        **options: Unpack[Options[Any]],
    ) -> MapState[K, Any]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_type: object = None,
        value_type: object = None,
        **options: Unpack[Options[Any]],
    ) -> MapState[Any, Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_type: object = None,
        value_type: object = None,
        **options: Any,
    ) -> MapState[Any, Any]:
        """Like :meth:`from_context` with default codecs; ``key_type`` needs an ordered one."""
        return cls._auto_codec(ctx, store_name, (key_type, value_type), **options)

    def put(self, key: K, value: V) -> None:
        """Set ``key`` to ``value``. One put."""
        self._scopes.put(
            self._key, self._namespace, self._encode_key(key), self._values.encode(value)
        )

    def get(self, key: K) -> tuple[V | None, bool]:
        """``(value, True)``, or ``(None, False)`` when ``key`` is missing. One get."""
        return self._values.read(self._scopes, self._key, self._namespace, self._encode_key(key))

    def contains(self, key: K) -> bool:
        """True when ``key`` is in the map. One get, no decode."""
        return self._values.contains(self._scope, self._encode_key(key))

    def delete(self, key: K) -> None:
        """Remove ``key``; nothing happens when it is missing. One delete."""
        self._scopes.delete(self._key, self._namespace, self._encode_key(key))

    def clear(self) -> None:
        """Remove every entry. One prefix delete."""
        self._scopes.delete_prefix(self._key, self._namespace)

    def is_empty(self) -> bool:
        """True when the map has no entry. One seek."""
        return self._values.is_empty(self._scope)

    def all(self) -> Iterator[tuple[K, V]]:
        """Every ``(key, value)`` in ascending key order, streamed. Same as ``items()``."""
        return self.items()

    def items(
        self, start: K | None = None, end: K | None = None, *, reverse: bool = False
    ) -> Iterator[tuple[K, V]]:
        """``(key, value)`` pairs with ``start <= key < end``, ascending (descending if reverse).

        ``None`` leaves a bound open. The scan starts when this is called and sees the map as it
        was then; it streams (O(1) memory) and raises ``CorruptStateError`` at the first entry
        that does not decode, never skipping it.
        """
        low, high = self._range(start, end)
        if low is None:
            return iter(())
        return self._values.items(
            self._scopes,
            self._key,
            self._namespace,
            self._keys,
            start=low,
            end=high,
            reverse=reverse,
        )

    def keys(
        self, start: K | None = None, end: K | None = None, *, reverse: bool = False
    ) -> Iterator[K]:
        """The keys of :meth:`items` (values are not decoded)."""
        low, high = self._range(start, end)
        if low is None:
            return iter(())
        scan = self._scope.scan(start=low, end=high, reverse=reverse)
        return self._values.keys_of(self._scope, scan, self._keys)

    def values(
        self, start: K | None = None, end: K | None = None, *, reverse: bool = False
    ) -> Iterator[V]:
        """The values of :meth:`items`, in key order (no frame per entry over it)."""
        return map(_second, self.items(start, end, reverse=reverse))

    def _range(self, start: K | None, end: K | None) -> tuple[bytes | None, bytes]:
        """The user-key range ``[low, high)`` of keys ``[start, end)``; ``low`` is ``None``
        when it is empty."""
        low = EMPTY if start is None else self._encode_key(start)
        high = EMPTY
        if end is not None:
            high = self._encode_key(end)
            if high <= low:
                return None, high
        return low, high


KeyedMapState = MapState


class KeyedMapStateFactory(KeyedFactory, Generic[K, V], state=MapState):
    """Gives the :class:`KeyedMapState` of each primary key and map name of one key group.

    The map name is the namespace (a ``str`` is its UTF-8), so one primary key can hold
    several maps.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> carts = KeyedMapStateFactory.from_context_auto_codec(ctx, "carts", b"items", str, int)
    >>> carts.new_keyed_map(b"alice", "cart").put("apple", 2)
    >>> list(carts.new_keyed_map(b"alice", "cart").all())
    [('apple', 2)]
    >>> carts.new_keyed_map(b"bob", "cart").is_empty()
    True
    """

    __slots__ = ("_keys", "_values")
    _NEW = ("new_keyed_map", "map_name")
    _HINTS = (("key_type", True), ("value_type", False))

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        map_key_codec: Codec[K],
        value_codec: Codec[V],
        **options: Unpack[KeyedOptions[V]],
    ) -> None:
        owner = self._owner()
        # A non-keyed MapState has no primary keys: its map-key codec is its key_codec.
        argument = "map_key_codec" if owner == type(self).__name__ else "key_codec"
        check_codec(map_key_codec, argument, owner, ordered=True)
        check_codec(value_codec, "value_codec", owner)
        roles = {"key": map_key_codec, "value": value_codec}
        super().__init__(store, key_group, KIND, roles, stamp_values=True, **options)
        self._keys = ScopedCodec(map_key_codec, "map key")
        self._values: ScopedCodec[V] = self._value_helper(
            "value", value_codec, "map value", options.get("migrate")
        )
        self._handles = self._handles_of(
            MapState, _keys=self._keys, _values=self._values, _encode_key=self._keys.encode
        )

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        map_key_codec: Codec[K],
        value_codec: Codec[V],
        **options: Unpack[KeyedOptions[V]],
    ) -> KeyedMapStateFactory[K, V]:
        """The factory for ``key_group`` of ``store_name``; ``map_key_codec`` must be ordered.

        ``map_key_codec`` encodes the keys inside each map; ``key_codec`` (ordered, keyword, as
        on every Keyed factory) the primary keys.
        """
        return cls._from_context(ctx, store_name, key_group, map_key_codec, value_codec, **options)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        key_type: type[K],
        value_type: type[V],
        **options: Unpack[KeyedOptions[V]],
    ) -> KeyedMapStateFactory[K, V]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        key_type: type[K],
        value_type: object = None,
        **options: Unpack[KeyedOptions[Any]],
    ) -> KeyedMapStateFactory[K, Any]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        key_type: object = None,
        value_type: object = None,
        **options: Unpack[KeyedOptions[Any]],
    ) -> KeyedMapStateFactory[Any, Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        key_type: object = None,
        value_type: object = None,
        **options: Any,
    ) -> KeyedMapStateFactory[Any, Any]:
        """Like :meth:`from_context` with default codecs; ``key_type`` (the maps' keys) needs an
        ordered one."""
        return cls._auto_codec(ctx, store_name, key_group, (key_type, value_type), **options)

    def new_keyed_map(self, primary_key: Any, map_name: str | bytes = "") -> KeyedMapState[K, V]:
        """The map ``map_name`` of ``primary_key`` (a ``str`` name is its UTF-8 bytes). Binds a
        scope; no store access."""
        state: MapState[K, V] = self._bind(
            self._handles, "new_keyed_map", primary_key, map_name, "map_name"
        )
        return state
