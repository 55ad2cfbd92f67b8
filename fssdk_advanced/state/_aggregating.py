"""AggregatingState: values folded into an accumulator by an :class:`AggregateFunc`.

Layout: the accumulator's encoding at user_key ``b""`` of the scope (the values themselves are
not kept). ``add`` is one get and one put plus ``AggregateFunc.add``; ``get`` one get plus
``get_result``; ``clear`` one delete. Keyed states use the state name as namespace;
:meth:`KeyedAggregatingStateFactory.merge_namespaces` folds several into one with ``merge``.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Iterable
from typing import Any, Final, Generic, Protocol, TypeVar, Unpack, runtime_checkable

from fssdk import Context, Store
from fssdk_advanced.codecs import Codec, default_codec_for
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import EMPTY
from fssdk_advanced.state._keyed import (
    KeyedFactory,
    KeyedOptions,
    NonKeyed,
    Options,
    namespace_bytes,
)
from fssdk_advanced.state._migration import Migratable
from fssdk_advanced.state._values import ScopedCodec

T = TypeVar("T")
ACC = TypeVar("ACC")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)

KIND: Final = "AggregatingState"
WHAT: Final = "accumulator"
ROLE: Final = "accumulator"
_METHODS: Final = ("create_accumulator", "add", "get_result", "merge")


@runtime_checkable
class AggregateFunc(Protocol[T_contra, ACC, R_co]):
    """How an :class:`AggregatingState` folds values of type ``T`` into a result ``R``.

    Implement it structurally or by subclassing. The accumulator ``ACC`` is what is stored, so
    keep it small (a count and a sum, not the values). A func may declare
    ``accumulator_codec``, the codec to store its accumulator with when
    ``from_context_auto_codec`` is given no accumulator type (the built-in :class:`Count`,
    :class:`Sum`, :class:`Min`, :class:`Max` and :class:`Mean` do).

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


def accumulator_codec_for(agg_func: object, acc_type: object) -> Codec[Any]:
    """The accumulator codec of ``from_context_auto_codec``: ``default_codec_for(acc_type)``;
    with no ``acc_type``, the ``accumulator_codec`` ``agg_func`` declares, if it declares one
    (the built-in aggregations do)."""
    if acc_type is None:
        declared = getattr(agg_func, "accumulator_codec", None)
        if declared is not None:
            check_codec(declared, "accumulator_codec", type(agg_func).__name__)
            return declared  # type: ignore[no-any-return]
    return default_codec_for(acc_type)


def _check_func(agg_func: object, owner: str) -> None:
    missing = [name for name in _METHODS if not callable(getattr(agg_func, name, None))]
    if missing:
        raise TypeError(
            f"{owner}: agg_func must be an AggregateFunc ({', '.join(_METHODS)}); "
            f"{type(agg_func).__name__} lacks {', '.join(missing)}"
        )


class Folding(Migratable, Generic[T, ACC, R]):
    """Values folded into one stored accumulator by an :class:`AggregateFunc`.

    The one implementation behind :class:`AggregatingState` and :class:`ReducingState` (whose
    reduce function is an AggregateFunc with the value as accumulator).
    """

    __slots__ = ()

    _values: ScopedCodec[ACC]
    _func: AggregateFunc[T, ACC, R]
    _encode: Callable[[ACC], bytes]  # the codec's own encode and decode, which ``_fold`` calls
    _decode: Callable[[bytes], ACC]

    def _read(self) -> list[ACC]:
        """``[accumulator]``, or ``[]`` when there is none."""
        acc, found = self._values.read_live(self._scopes, self._key, self._namespace, EMPTY)
        return [acc] if found else []  # type: ignore[list-item]

    def add(self, value: T) -> None:
        """Fold ``value`` into the accumulator (a new one when empty): one
        :meth:`~fssdk.StoreScopes.compute`, a get and a put of the entry located once. With
        ``ttl=`` the state's scopes read an expired accumulator as none and stamp the one
        written (``TtlScopes.compute``)."""
        self._scopes.compute(self._key, self._namespace, EMPTY, self._fold, value)

    def _fold(self, data: bytes | None, value: T) -> bytes:
        """The encoded accumulator ``data`` (``None``: none yet) with ``value`` folded in."""
        func = self._func
        if data is None:
            return self._encode(func.add(value, func.create_accumulator()))
        try:
            acc = self._decode(data)
        except ValueError as exc:
            acc = self._values._undecodable(self._scope, EMPTY, data, exc)
        return self._encode(func.add(value, acc))

    def get(self) -> tuple[R | None, bool]:
        """``(get_result(accumulator), True)``, or ``(None, False)`` when nothing was added."""
        acc, found = self._values.read(self._scopes, self._key, self._namespace, EMPTY)
        if not found:
            return None, False
        return self._func.get_result(acc), True  # type: ignore[arg-type]

    def clear(self) -> None:
        """Drop the accumulator. One delete."""
        self._scopes.delete(self._key, self._namespace, EMPTY)


class AggregatingState(NonKeyed, Folding[T, ACC, R]):
    """Values of type ``T`` aggregated into ``R`` through a stored accumulator ``ACC``.

    Layout and costs: see the module docstring.

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

    __slots__ = ()

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        acc_codec: Codec[ACC],
        agg_func: AggregateFunc[T, ACC, R],
        **options: Unpack[Options[ACC]],
    ) -> AggregatingState[T, ACC, R]:
        """The non-keyed aggregate in ``store_name``, its accumulator encoded by ``acc_codec``.

        ``migrate`` (old accumulator -> new one) reads accumulators written under an
        incompatible older codec.
        """
        return cls._from_context(ctx, store_name, acc_codec, agg_func, **options)

    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        agg_func: AggregateFunc[T, ACC, R],
        acc_type: object = None,
        **options: Unpack[Options[ACC]],
    ) -> AggregatingState[T, ACC, R]:
        """Like :meth:`from_context` with the accumulator codec :func:`accumulator_codec_for`
        gives: ``default_codec_for(acc_type)``, or the func's own ``accumulator_codec``."""
        codec = accumulator_codec_for(agg_func, acc_type)
        return cls._from_context(ctx, store_name, codec, agg_func, **options)


KeyedAggregatingState = AggregatingState


class FoldingFactory(KeyedFactory, Generic[T, ACC, R]):
    """What the aggregating and reducing factories share: the function, the accumulators'
    helper, and merging namespaces."""

    __slots__ = ("_folds", "_func", "_values")

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        codec: Codec[ACC],
        func: AggregateFunc[T, ACC, R],
        *,
        kind: str,
        role: str,
        what: str,
        **options: Unpack[KeyedOptions[ACC]],
    ) -> None:
        super().__init__(store, key_group, kind, {role: codec}, stamp_values=True, **options)
        self._func = func
        self._values: ScopedCodec[ACC] = self._value_helper(
            role, codec, what, options.get("migrate")
        )
        values = self._values
        self._folds = self._handles_of(Folding, _values=values, _func=func)
        # _fold encodes and decodes with the codec's own methods: with ttl= the state's scopes
        # strip and add the expiry stamp (TtlScopes.compute).
        self._handles = self._handles_of(
            self._STATE, _values=values, _func=func, _encode=codec.encode, _decode=codec.decode
        )

    def _folding(self, primary_key: Any, namespace: bytes) -> Folding[T, ACC, R]:
        state: Folding[T, ACC, R] = self._bind(
            self._folds, "merge_namespaces", primary_key, namespace
        )
        return state

    def merge_namespaces(
        self, primary_key: Any, target: str | bytes, sources: Iterable[str | bytes]
    ) -> None:
        """Fold the values of ``sources`` into ``target`` in order, then clear the sources.

        For merging windows (session windows): an aggregating factory folds accumulators with
        its ``merge``, a reducing one values with its ``reduce_func``. Sources without a value,
        repeated sources and ``target`` itself are skipped; ``target``'s own value, if any, comes
        first. Namespaces are ``str`` (UTF-8) or ``bytes``. One get per namespace, one put, one
        delete per source.
        """
        method = "merge_namespaces"
        target = namespace_bytes(method, target, "target")
        target_state = self._folding(primary_key, target)
        accumulators = target_state._read()
        drained = []
        seen = {target}
        for source in sources:
            namespace = namespace_bytes(method, source, "sources")
            if namespace not in seen:
                seen.add(namespace)
                state = self._folding(primary_key, namespace)
                found = state._read()
                if found:
                    accumulators += found
                    drained.append(state)
        if accumulators:
            merged = functools.reduce(self._func.merge, accumulators)
            target_state._scope.put(EMPTY, self._values.encode(merged))
        for state in drained:
            state.clear()


class KeyedAggregatingStateFactory(FoldingFactory[T, ACC, R], state=AggregatingState):
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

    __slots__ = ()
    _NEW = ("new_aggregating_state", "state_name")

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        acc_codec: Codec[ACC],
        agg_func: AggregateFunc[T, ACC, R],
        **options: Unpack[KeyedOptions[ACC]],
    ) -> None:
        owner = self._owner()
        check_codec(acc_codec, "acc_codec", owner)
        _check_func(agg_func, owner)
        super().__init__(
            store, key_group, acc_codec, agg_func, kind=KIND, role=ROLE, what=WHAT, **options
        )

    @classmethod
    def from_context(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        acc_codec: Codec[ACC],
        agg_func: AggregateFunc[T, ACC, R],
        **options: Unpack[KeyedOptions[ACC]],
    ) -> KeyedAggregatingStateFactory[T, ACC, R]:
        """The factory for ``key_group`` of ``store_name``."""
        return cls._from_context(ctx, store_name, key_group, acc_codec, agg_func, **options)

    @classmethod
    def from_context_auto_codec(
        cls,
        ctx: Context,
        store_name: str,
        key_group: bytes,
        agg_func: AggregateFunc[T, ACC, R],
        acc_type: object = None,
        **options: Unpack[KeyedOptions[ACC]],
    ) -> KeyedAggregatingStateFactory[T, ACC, R]:
        """Like :meth:`from_context` with the accumulator codec :func:`accumulator_codec_for`
        gives: ``default_codec_for(acc_type)``, or the func's own ``accumulator_codec``."""
        codec = accumulator_codec_for(agg_func, acc_type)
        return cls._from_context(ctx, store_name, key_group, codec, agg_func, **options)

    def new_aggregating_state(
        self, primary_key: Any, state_name: str | bytes = ""
    ) -> KeyedAggregatingState[T, ACC, R]:
        """The aggregate ``state_name`` of ``primary_key`` (a ``str`` name is its UTF-8 bytes).
        Binds a scope; no store access."""
        state: AggregatingState[T, ACC, R] = self._bind(
            self._handles, "new_aggregating_state", primary_key, state_name, "state_name"
        )
        return state
