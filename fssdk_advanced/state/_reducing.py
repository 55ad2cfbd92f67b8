"""ReducingState: values folded pairwise by a reduce function into one value of the same type.

Layout: the reduced value's encoding at user_key ``b""`` of the scope. ``add`` is one get and one
put plus ``reduce_func(current, value)``; ``get`` one get; ``clear`` one delete.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Final, Generic, TypeVar

from fssdk import Context, Store, StoreScope
from fssdk_advanced.codecs import Codec, codec_signature, default_codec_for
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import (
    EMPTY,
    check_callable,
    check_key_group,
    corrupt,
    declare,
    scope_type_error,
    store_from,
)

V = TypeVar("V")

KIND: Final = "ReducingState"


class ReducingState(Generic[V]):
    """Values of type ``V`` reduced into one with ``reduce_func(current, new) -> V``.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> peak = ReducingState.from_context_auto_codec(ctx, "peak", max, int)
    >>> peak.get()
    (None, False)
    >>> for reading in (3, 9, 4):
    ...     peak.add(reading)
    >>> peak.get()
    (9, True)
    """

    __slots__ = ("_codec", "_reduce", "_scope")

    def __init__(
        self, scope: StoreScope, value_codec: Codec[V], reduce_func: Callable[[V, V], V]
    ) -> None:
        self._scope = scope
        self._codec = value_codec
        self._reduce = reduce_func

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        value_codec: Codec[V],
        reduce_func: Callable[[V, V], V],
    ) -> ReducingState[V]:
        """The non-keyed reduced value stored in ``store_name``."""
        owner = "ReducingState.from_context"
        store = store_from(ctx, store_name, owner)
        _declare(store, EMPTY, value_codec, reduce_func, owner)
        return cls(store.scope(EMPTY, EMPTY, EMPTY), value_codec, reduce_func)

    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        reduce_func: Callable[[V, V], V],
        value_type: object = None,
    ) -> ReducingState[V]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls.from_context(ctx, store_name, default_codec_for(value_type), reduce_func)

    def add(self, value: V) -> None:
        """Reduce ``value`` into the current value (or store it, when empty). One get, one put."""
        data = self._scope.get(EMPTY)
        if data is not None:
            try:
                current = self._codec.decode(data)
            except ValueError as exc:
                raise corrupt(self._scope, EMPTY, "reduced value does not decode", exc) from exc
            value = self._reduce(current, value)
        self._scope.put(EMPTY, self._codec.encode(value))

    def get(self) -> tuple[V | None, bool]:
        """``(reduced value, True)``, or ``(None, False)`` when nothing was added. One get."""
        data = self._scope.get(EMPTY)
        if data is None:
            return None, False
        try:
            return self._codec.decode(data), True
        except ValueError as exc:
            raise corrupt(self._scope, EMPTY, "reduced value does not decode", exc) from exc

    def _read(self) -> list[V]:
        """``[reduced value]``, or ``[]`` when there is none."""
        data = self._scope.get(EMPTY)
        if data is None:
            return []
        try:
            return [self._codec.decode(data)]
        except ValueError as exc:
            raise corrupt(self._scope, EMPTY, "reduced value does not decode", exc) from exc

    def clear(self) -> None:
        """Drop the reduced value. One delete."""
        self._scope.delete(EMPTY)


KeyedReducingState = ReducingState


def _declare(
    store: Store, key_group: bytes, codec: object, reduce_func: object, owner: str
) -> None:
    check_codec(codec, "value_codec", owner)
    check_callable(reduce_func, "reduce_func", owner)
    declare(store, key_group, KIND, (codec_signature(codec),))


class KeyedReducingStateFactory(Generic[V]):
    """Gives the :class:`KeyedReducingState` of each primary key and namespace.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> ctx = LocalContext(MemoryBackend())
    >>> sums = KeyedReducingStateFactory.from_context_auto_codec(
    ...     ctx, "sums", b"amount", lambda a, b: a + b, int)
    >>> for amount in (5, 7):
    ...     sums.new_reducing_state(b"alice", b"2024-01").add(amount)
    >>> sums.new_reducing_state(b"alice", b"2024-01").get()
    (12, True)
    """

    __slots__ = ("_codec", "_key_group", "_reduce", "_scope", "store")

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        value_codec: Codec[V],
        reduce_func: Callable[[V, V], V],
    ) -> None:
        owner = type(self).__name__
        check_key_group(key_group, owner)
        _declare(store, key_group, value_codec, reduce_func, owner)
        self.store: Final = store
        self._key_group = key_group
        self._codec = value_codec
        self._reduce = reduce_func
        self._scope = store.scopes(key_group)

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_codec: Codec[V],
        reduce_func: Callable[[V, V], V],
    ) -> KeyedReducingStateFactory[V]:
        """The factory for ``key_group`` of ``store_name``."""
        store = store_from(ctx, store_name, f"{cls.__name__}.from_context")
        return cls(store, key_group, value_codec, reduce_func)

    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        reduce_func: Callable[[V, V], V],
        value_type: object = None,
    ) -> KeyedReducingStateFactory[V]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        codec: Codec[Any] = default_codec_for(value_type)
        return cls.from_context(ctx, store_name, key_group, codec, reduce_func)

    def new_reducing_state(
        self, primary_key: bytes, namespace: bytes = EMPTY
    ) -> KeyedReducingState[V]:
        """The reduced value of ``primary_key`` in ``namespace``. Binds a scope; no store access."""
        try:
            scope = self._scope(primary_key, namespace)
        except TypeError:
            raise scope_type_error("new_reducing_state", primary_key, namespace) from None
        return ReducingState(scope, self._codec, self._reduce)

    def merge_namespaces(self, primary_key: bytes, target: bytes, sources: Iterable[bytes]) -> None:
        """Reduce the values of ``sources`` into ``target`` in order, then clear the sources.

        For merging windows. Sources without a value, repeated sources and ``target`` itself are
        skipped; ``target``'s own value, if any, is the first operand.
        """
        target_state = self.new_reducing_state(primary_key, target)
        values = target_state._read()
        drained = []
        seen = {target}
        for namespace in sources:
            if namespace not in seen:
                seen.add(namespace)
                state = self.new_reducing_state(primary_key, namespace)
                found = state._read()
                if found:
                    values += found
                    drained.append(state)
        if values:
            merged = functools.reduce(self._reduce, values)
            target_state._scope.put(EMPTY, self._codec.encode(merged))
        for state in drained:
            state.clear()
