"""ReducingState: values folded pairwise by a reduce function into one value of the same type.

A thin adapter over the aggregating state: ``reduce_func`` becomes an :class:`AggregateFunc`
whose accumulator is the reduced value itself (see :class:`_Reduce`).

Layout: the reduced value's encoding at user_key ``b""`` of the scope. ``add`` is one get and one
put plus ``reduce_func(current, value)``; ``get`` one get; ``clear`` one delete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar, Unpack

from fssdk import Context, Store
from fssdk_advanced.codecs import Codec
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._aggregating import Folding, FoldingFactory
from fssdk_advanced.state._base import EMPTY, check_callable
from fssdk_advanced.state._keyed import KeyedOptions, NonKeyed, Options

V = TypeVar("V")

KIND: Final = "ReducingState"
ROLE: Final = "value"
WHAT: Final = "reduced value"

_NOTHING: Final[Any] = object()


class _Reduce(Generic[V]):
    """``reduce_func`` as an AggregateFunc: the accumulator is the value reduced so far.

    ``create_accumulator`` gives a marker that the first ``add`` replaces, so the marker is never
    stored and ``reduce_func`` only ever sees values.
    """

    __slots__ = ("merge",)

    def __init__(self, reduce_func: Callable[[V, V], V]) -> None:
        self.merge: Final = reduce_func

    def create_accumulator(self) -> V:
        return _NOTHING  # type: ignore[no-any-return]

    def add(self, value: V, accumulator: V) -> V:
        return value if accumulator is _NOTHING else self.merge(accumulator, value)

    def get_result(self, accumulator: V) -> V:
        return accumulator


class ReducingState(NonKeyed, Folding[V, V, V]):
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

    __slots__ = ()

    _func: _Reduce[V]

    def _fold(self, data: bytes | None, value: V) -> bytes:
        """:meth:`Folding._fold` with ``reduce_func`` called directly: ``value`` itself when
        there is no value yet."""
        if data is None:
            return self._encode(value)
        try:
            current = self._decode(data)
        except ValueError as exc:
            current = self._values._undecodable(self._scope, EMPTY, data, exc)
        return self._encode(self._func.merge(current, value))

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        value_codec: Codec[V],
        reduce_func: Callable[[V, V], V],
        **options: Unpack[Options[V]],
    ) -> ReducingState[V]:
        """The non-keyed reduced value stored in ``store_name``.

        ``migrate`` (old value -> new value) reads values written under an incompatible older
        codec.
        """
        return cls._from_context(ctx, store_name, value_codec, reduce_func, **options)

    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        reduce_func: Callable[[V, V], V],
        value_type: object = None,
        **options: Unpack[Options[V]],
    ) -> ReducingState[V]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls._auto_codec(ctx, store_name, (value_type,), reduce_func, **options)


KeyedReducingState = ReducingState


class KeyedReducingStateFactory(FoldingFactory[V, V, V], state=ReducingState):
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

    __slots__ = ()
    _NEW = ("new_reducing_state", "namespace")
    _HINTS = (("value_type", False),)

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        value_codec: Codec[V],
        reduce_func: Callable[[V, V], V],
        **options: Unpack[KeyedOptions[V]],
    ) -> None:
        owner = self._owner()
        check_codec(value_codec, "value_codec", owner)
        check_callable(reduce_func, "reduce_func", owner)
        func = _Reduce(reduce_func)
        super().__init__(
            store, key_group, value_codec, func, kind=KIND, role=ROLE, what=WHAT, **options
        )

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        value_codec: Codec[V],
        reduce_func: Callable[[V, V], V],
        **options: Unpack[KeyedOptions[V]],
    ) -> KeyedReducingStateFactory[V]:
        """The factory for ``key_group`` of ``store_name``."""
        return cls._from_context(ctx, store_name, key_group, value_codec, reduce_func, **options)

    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        reduce_func: Callable[[V, V], V],
        value_type: object = None,
        **options: Unpack[KeyedOptions[V]],
    ) -> KeyedReducingStateFactory[V]:
        """Like :meth:`from_context` with ``default_codec_for(value_type)``."""
        return cls._auto_codec(ctx, store_name, key_group, (value_type,), reduce_func, **options)

    def new_reducing_state(
        self, primary_key: Any, namespace: str | bytes = EMPTY
    ) -> KeyedReducingState[V]:
        """The reduced value of ``primary_key`` in ``namespace``. Binds a scope; no store access."""
        state: ReducingState[V] = self._bind(
            self._handles, "new_reducing_state", primary_key, namespace
        )
        return state
