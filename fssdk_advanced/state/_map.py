"""MapState: a sorted map per scope, one store entry per map entry.

Layout: entry ``k -> v`` is user_key ``key_codec.encode(k)`` with value
``value_codec.encode(v)``. The key codec must be ordered (checked at construction), so the store's
user_key order is the key order: ``all()`` and ``items()`` stream in key order (or reversed), and a
key range is a user_key range. ``put``/``get``/``delete``/``contains`` are one store operation
each, ``clear`` one prefix delete, iteration one scan streaming O(1) memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final, Generic, TypeVar, overload

from fssdk import Context, Store, StoreScope
from fssdk import Iterator as StoreIterator
from fssdk_advanced.codecs import Codec, codec_signature, default_codec_for
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import (
    EMPTY,
    check_key_group,
    corrupt,
    declare,
    ordered_default,
    store_from,
)

K = TypeVar("K")
V = TypeVar("V")

KIND: Final = "MapState"


class MapState(Generic[K, V]):
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

    __slots__ = ("_key_codec", "_scope", "_value_codec")

    def __init__(self, scope: StoreScope, key_codec: Codec[K], value_codec: Codec[V]) -> None:
        self._scope = scope
        self._key_codec = key_codec
        self._value_codec = value_codec

    @classmethod
    def from_context(
        cls, ctx: Context, store_name: str, key_codec: Codec[K], value_codec: Codec[V]
    ) -> MapState[K, V]:
        """The non-keyed map stored in ``store_name``; ``key_codec`` must be ordered.

        Raises ``UnorderedCodecError`` (a TypeError and ValueError) for an unordered key codec.
        """
        store = store_from(ctx, store_name, "MapState.from_context")
        _declare(store, EMPTY, key_codec, value_codec, "MapState.from_context")
        return cls(store.scope(EMPTY, EMPTY, EMPTY), key_codec, value_codec)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, key_type: type[K], value_type: type[V]
    ) -> MapState[K, V]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, key_type: type[K], value_type: object = None
    ) -> MapState[K, Any]: ...
    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, key_type: object = None, value_type: object = None
    ) -> MapState[Any, Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, key_type: object = None, value_type: object = None
    ) -> MapState[Any, Any]:
        """Like :meth:`from_context` with default codecs; ``key_type`` needs an ordered one."""
        key_codec = ordered_default(key_type, "key_type", "MapState.from_context_auto_codec")
        return cls.from_context(ctx, store_name, key_codec, default_codec_for(value_type))

    def put(self, key: K, value: V) -> None:
        """Set ``key`` to ``value``. One put."""
        self._scope.put(self._key_codec.encode(key), self._value_codec.encode(value))

    def get(self, key: K) -> tuple[V | None, bool]:
        """``(value, True)``, or ``(None, False)`` when ``key`` is missing. One get."""
        user_key = self._key_codec.encode(key)
        data = self._scope.get(user_key)
        if data is None:
            return None, False
        try:
            return self._value_codec.decode(data), True
        except ValueError as exc:
            raise corrupt(self._scope, user_key, "map value does not decode", exc) from exc

    def contains(self, key: K) -> bool:
        """True when ``key`` is in the map. One get, no decode."""
        return self._scope.get(self._key_codec.encode(key)) is not None

    def delete(self, key: K) -> None:
        """Remove ``key``; nothing happens when it is missing. One delete."""
        self._scope.delete(self._key_codec.encode(key))

    def clear(self) -> None:
        """Remove every entry. One prefix delete."""
        self._scope.delete_prefix()

    def is_empty(self) -> bool:
        """True when the map has no entry. One seek."""
        return self._scope.first() is None

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
        scan = self._scan(start, end, reverse)
        return iter(()) if scan is None else self._pairs(scan)

    def keys(
        self, start: K | None = None, end: K | None = None, *, reverse: bool = False
    ) -> Iterator[K]:
        """The keys of :meth:`items` (values are not decoded)."""
        scan = self._scan(start, end, reverse)
        return iter(()) if scan is None else self._keys(scan)

    def values(
        self, start: K | None = None, end: K | None = None, *, reverse: bool = False
    ) -> Iterator[V]:
        """The values of :meth:`items`, in key order."""
        return (value for _, value in self.items(start, end, reverse=reverse))

    def _scan(self, start: K | None, end: K | None, reverse: bool) -> StoreIterator | None:
        low = EMPTY if start is None else self._key_codec.encode(start)
        high = EMPTY
        if end is not None:
            high = self._key_codec.encode(end)
            if high <= low:
                return None
        return self._scope.scan(start=low, end=high, reverse=reverse)

    def _pairs(self, scan: StoreIterator) -> Iterator[tuple[K, V]]:
        decode_key, decode_value = self._key_codec.decode, self._value_codec.decode
        with scan:
            for user_key, data in scan:
                try:
                    key = decode_key(user_key)
                    value = decode_value(data)
                except ValueError as exc:
                    raise corrupt(self._scope, user_key, "map entry does not decode", exc) from exc
                yield key, value

    def _keys(self, scan: StoreIterator) -> Iterator[K]:
        decode_key = self._key_codec.decode
        with scan:
            for user_key, _ in scan:
                try:
                    key = decode_key(user_key)
                except ValueError as exc:
                    raise corrupt(self._scope, user_key, "map key does not decode", exc) from exc
                yield key


KeyedMapState = MapState


def _declare(
    store: Store, key_group: bytes, key_codec: object, value_codec: object, owner: str
) -> None:
    check_codec(key_codec, "key_codec", owner, ordered=True)
    check_codec(value_codec, "value_codec", owner)
    declare(store, key_group, KIND, (codec_signature(key_codec), codec_signature(value_codec)))


class KeyedMapStateFactory(Generic[K, V]):
    """Gives the :class:`KeyedMapState` of each primary key and map name of one key group.

    The map name is the namespace (UTF-8), so one primary key can hold several maps.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> carts = KeyedMapStateFactory.from_context_auto_codec(ctx, "carts", b"items", str, int)
    >>> carts.new_keyed_map(b"alice", "cart").put("apple", 2)
    >>> list(carts.new_keyed_map(b"alice", "cart").all())
    [('apple', 2)]
    >>> carts.new_keyed_map(b"bob", "cart").is_empty()
    True
    """

    __slots__ = ("_key_codec", "_key_group", "_scope", "_value_codec", "store")

    def __init__(
        self, store: Store, key_group: bytes, key_codec: Codec[K], value_codec: Codec[V]
    ) -> None:
        owner = type(self).__name__
        check_key_group(key_group, owner)
        _declare(store, key_group, key_codec, value_codec, owner)
        self.store: Final = store
        self._key_group = key_group
        self._key_codec = key_codec
        self._value_codec = value_codec
        self._scope = store.scopes(key_group)

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        key_codec: Codec[K],
        value_codec: Codec[V],
    ) -> KeyedMapStateFactory[K, V]:
        """The factory for ``key_group`` of ``store_name``; ``key_codec`` must be ordered."""
        store = store_from(ctx, store_name, f"{cls.__name__}.from_context")
        return cls(store, key_group, key_codec, value_codec)

    @overload
    @classmethod
    def from_context_auto_codec(
        cls, ctx: Context, store_name: str, key_group: bytes, key_type: type[K], value_type: type[V]
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
    ) -> KeyedMapStateFactory[Any, Any]: ...
    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        key_type: object = None,
        value_type: object = None,
    ) -> KeyedMapStateFactory[Any, Any]:
        """Like :meth:`from_context` with default codecs; ``key_type`` needs an ordered one."""
        owner = f"{cls.__name__}.from_context_auto_codec"
        key_codec = ordered_default(key_type, "key_type", owner)
        value_codec = default_codec_for(value_type)
        return cls.from_context(ctx, store_name, key_group, key_codec, value_codec)

    def new_keyed_map(self, primary_key: bytes, map_name: str = "") -> KeyedMapState[K, V]:
        """The map ``map_name`` of ``primary_key``. Binds a scope; no store access."""
        try:
            scope = self._scope(primary_key, map_name.encode("utf-8"))
        except (TypeError, AttributeError):
            raise TypeError(
                f"new_keyed_map: primary_key must be bytes and map_name str, got "
                f"{type(primary_key).__name__} and {type(map_name).__name__}"
            ) from None
        return MapState(scope, self._key_codec, self._value_codec)
