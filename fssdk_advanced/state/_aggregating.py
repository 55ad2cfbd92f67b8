"""AggregatingState: values folded into an accumulator by an :class:`AggregateFunc`.

Layout: the accumulator's encoding at user_key ``b""`` of the scope (the values themselves are
not kept). ``add`` is one get and one put plus ``AggregateFunc.add``; ``get`` one get plus
``get_result``; ``clear`` one delete. Keyed states use the state name (UTF-8) as namespace;
:meth:`KeyedAggregatingStateFactory.merge_namespaces` folds several into one with ``merge``.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterable
from typing import Final, Generic, Protocol, TypeVar, runtime_checkable

from fssdk import Context, Store, StoreScope
from fssdk_advanced.codecs import Codec, codec_signature, default_codec_for
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import EMPTY, check_key_group, corrupt, declare, store_from

T = TypeVar("T")
ACC = TypeVar("ACC")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)

KIND: Final = "AggregatingState"
_METHODS: Final = ("create_accumulator", "add", "get_result", "merge")


@runtime_checkable
class AggregateFunc(Protocol[T_contra, ACC, R_co]):
    """How an :class:`AggregatingState` folds values of type ``T`` into a result ``R``.

    Implement it structurally or by subclassing. The accumulator ``ACC`` is what is stored, so
    keep it small (a count and a sum, not the values).

    >>> class Average(AggregateFunc[float, tuple[float, int], float]):
    ...     def create_accumulator(self) -> tuple[float, int]:
    ...         return (0.0, 0)
    ...     def add(self, value: float, acc: tuple[float, int]) -> tuple[float, int]:
    ...         return (acc[0] + value, acc[1] + 1)
    ...     def get_result(self, acc: tuple[float, int]) -> float:
    ...         return acc[0] / acc[1]
    ...     def merge(self, a: tuple[float, int], b: tuple[float, int]) -> tuple[float, int]:
    ...         return (a[0] + b[0], a[1] + b[1])
    >>> Average().get_result(Average().add(4.0, Average().add(2.0, (0.0, 0))))
    3.0
    """

    @abc.abstractmethod
    def create_accumulator(self) -> ACC:
        """A new, empty accumulator."""

    @abc.abstractmethod
    def add(self, value: T_contra, accumulator: ACC) -> ACC:
        """``accumulator`` with ``value`` folded in (may return the same object, changed)."""

    @abc.abstractmethod
    def get_result(self, accumulator: ACC) -> R_co:
        """The result for ``accumulator``."""

    @abc.abstractmethod
    def merge(self, a: ACC, b: ACC) -> ACC:
        """One accumulator holding both ``a`` and ``b`` (for merging namespaces)."""


def _check_func(agg_func: object, owner: str) -> None:
    missing = [name for name in _METHODS if not callable(getattr(agg_func, name, None))]
    if missing:
        raise TypeError(
            f"{owner}: agg_func must be an AggregateFunc ({', '.join(_METHODS)}); "
            f"{type(agg_func).__name__} lacks {', '.join(missing)}"
        )


class AggregatingState(Generic[T, ACC, R]):
    """Values of type ``T`` aggregated into ``R`` through a stored accumulator ``ACC``.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> class Mean:
    ...     def create_accumulator(self): return [0, 0]
    ...     def add(self, value, acc): return [acc[0] + value, acc[1] + 1]
    ...     def get_result(self, acc): return acc[0] / acc[1]
    ...     def merge(self, a, b): return [a[0] + b[0], a[1] + b[1]]
    >>> ctx = LocalContext(MemoryBackend())
    >>> mean = AggregatingState.from_context_auto_codec(ctx, "mean", Mean())
    >>> mean.get()
    (None, False)
    >>> mean.add(2); mean.add(4); mean.get()
    (3.0, True)
    """

    __slots__ = ("_codec", "_func", "_scope")

    def __init__(
        self, scope: StoreScope, acc_codec: Codec[ACC], agg_func: AggregateFunc[T, ACC, R]
    ) -> None:
        self._scope = scope
        self._codec = acc_codec
        self._func = agg_func

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        acc_codec: Codec[ACC],
        agg_func: AggregateFunc[T, ACC, R],
    ) -> AggregatingState[T, ACC, R]:
        """The non-keyed aggregate in ``store_name``, its accumulator encoded by ``acc_codec``."""
        owner = "AggregatingState.from_context"
        store = store_from(ctx, store_name, owner)
        _declare(store, EMPTY, acc_codec, agg_func, owner)
        return cls(store.scope(EMPTY, EMPTY, EMPTY), acc_codec, agg_func)

    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        agg_func: AggregateFunc[T, ACC, R],
        acc_type: object = None,
    ) -> AggregatingState[T, ACC, R]:
        """Like :meth:`from_context` with ``default_codec_for(acc_type)`` for the accumulator."""
        return cls.from_context(ctx, store_name, default_codec_for(acc_type), agg_func)

    def _read(self) -> list[ACC]:
        """``[accumulator]``, or ``[]`` when there is none."""
        data = self._scope.get(EMPTY)
        if data is None:
            return []
        try:
            return [self._codec.decode(data)]
        except ValueError as exc:
            raise corrupt(self._scope, EMPTY, "accumulator does not decode", exc) from exc

    def add(self, value: T) -> None:
        """Fold ``value`` into the accumulator (a new one when empty). One get, one put."""
        data = self._scope.get(EMPTY)
        if data is None:
            acc = self._func.create_accumulator()
        else:
            try:
                acc = self._codec.decode(data)
            except ValueError as exc:
                raise corrupt(self._scope, EMPTY, "accumulator does not decode", exc) from exc
        self._scope.put(EMPTY, self._codec.encode(self._func.add(value, acc)))

    def get(self) -> tuple[R | None, bool]:
        """``(get_result(accumulator), True)``, or ``(None, False)`` when nothing was added."""
        data = self._scope.get(EMPTY)
        if data is None:
            return None, False
        try:
            acc = self._codec.decode(data)
        except ValueError as exc:
            raise corrupt(self._scope, EMPTY, "accumulator does not decode", exc) from exc
        return self._func.get_result(acc), True

    def clear(self) -> None:
        """Drop the accumulator. One delete."""
        self._scope.delete(EMPTY)


KeyedAggregatingState = AggregatingState


def _declare(store: Store, key_group: bytes, codec: object, agg_func: object, owner: str) -> None:
    check_codec(codec, "acc_codec", owner)
    _check_func(agg_func, owner)
    declare(store, key_group, KIND, (codec_signature(codec),))


class KeyedAggregatingStateFactory(Generic[T, ACC, R]):
    """Gives the :class:`KeyedAggregatingState` of each primary key and state name.

    >>> from fssdk.runtime import LocalContext, MemoryBackend
    >>> class Count:
    ...     def create_accumulator(self): return 0
    ...     def add(self, value, acc): return acc + 1
    ...     def get_result(self, acc): return acc
    ...     def merge(self, a, b): return a + b
    >>> ctx = LocalContext(MemoryBackend())
    >>> counts = KeyedAggregatingStateFactory.from_context_auto_codec(
    ...     ctx, "counts", b"clicks", Count(), int)
    >>> counts.new_aggregating_state(b"alice", "w1").add("click")
    >>> counts.new_aggregating_state(b"alice", "w2").add("click")
    >>> counts.merge_namespaces(b"alice", "w1+w2", ["w1", "w2"])
    >>> counts.new_aggregating_state(b"alice", "w1+w2").get()
    (2, True)
    """

    __slots__ = ("_codec", "_func", "_key_group", "_scope", "store")

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        acc_codec: Codec[ACC],
        agg_func: AggregateFunc[T, ACC, R],
    ) -> None:
        owner = type(self).__name__
        check_key_group(key_group, owner)
        _declare(store, key_group, acc_codec, agg_func, owner)
        self.store: Final = store
        self._key_group = key_group
        self._codec = acc_codec
        self._func = agg_func
        self._scope = store.scopes(key_group)

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        acc_codec: Codec[ACC],
        agg_func: AggregateFunc[T, ACC, R],
    ) -> KeyedAggregatingStateFactory[T, ACC, R]:
        """The factory for ``key_group`` of ``store_name``."""
        store = store_from(ctx, store_name, f"{cls.__name__}.from_context")
        return cls(store, key_group, acc_codec, agg_func)

    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        agg_func: AggregateFunc[T, ACC, R],
        acc_type: object = None,
    ) -> KeyedAggregatingStateFactory[T, ACC, R]:
        """Like :meth:`from_context` with ``default_codec_for(acc_type)`` for the accumulator."""
        return cls.from_context(ctx, store_name, key_group, default_codec_for(acc_type), agg_func)

    def new_aggregating_state(
        self, primary_key: bytes, state_name: str = ""
    ) -> KeyedAggregatingState[T, ACC, R]:
        """The aggregate ``state_name`` of ``primary_key``. Binds a scope; no store access."""
        try:
            scope = self._scope(primary_key, state_name.encode("utf-8"))
        except (TypeError, AttributeError):
            raise TypeError(
                f"new_aggregating_state: primary_key must be bytes and state_name str, got "
                f"{type(primary_key).__name__} and {type(state_name).__name__}"
            ) from None
        return AggregatingState(scope, self._codec, self._func)

    def merge_namespaces(
        self, primary_key: bytes, target: str, sources: Iterable[str]
    ) -> None:
        """Fold the accumulators of ``sources`` into ``target`` with ``merge``, then clear them.

        For merging windows (session windows). Sources without an accumulator, repeated sources
        and ``target`` itself are skipped; ``target``'s own accumulator, if any, comes first.
        One get per name, one put, one delete per source.
        """
        target_state = self.new_aggregating_state(primary_key, target)
        accumulators = target_state._read()
        drained = []
        seen = {target}
        for name in sources:
            if name not in seen:
                seen.add(name)
                state = self.new_aggregating_state(primary_key, name)
                found = state._read()
                if found:
                    accumulators += found
                    drained.append(state)
        if accumulators:
            merged = functools.reduce(self._func.merge, accumulators)
            target_state._scope.put(EMPTY, self._codec.encode(merged))
        for state in drained:
            state.clear()
