"""What the state types and their Keyed* factories share: construction, key groups, keys.

A factory declares its identity once (:func:`declare`), keeps the store's scope maker for its key
group, and binds one scope per ``(primary key, namespace)``. With a ``key_codec`` (ordered)
primary keys are values of that codec's type, encoded once per handle; without one they are
``bytes``. A namespace is ``bytes``, or a ``str`` taken as its UTF-8 bytes.
:meth:`KeyedFactory.keys` lists the primary keys holding state, in key order.

The constructors are written once here: ``from_context`` and ``from_context_auto_codec`` of
every factory (:meth:`KeyedFactory._from_context`, :meth:`KeyedFactory._auto_codec`) and of every
state type (:class:`NonKeyed`: a non-keyed state is its factory's state at key group, primary
key and namespace ``b""``). Each class only states its public, typed signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from types import FunctionType
from typing import Any, ClassVar, Final, Generic, Self, TypedDict, TypeVar, cast

from fssdk import Store, StoreScopes
from fssdk_advanced.codecs import Codec, default_codec_for
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import (
    EMPTY,
    check_key_group,
    check_migrate,
    check_ttl_options,
    ordered_default,
    store_from,
    values_of,
)
from fssdk_advanced.state._handle import Handle
from fssdk_advanced.state._identity import Identity, declare
from fssdk_advanced.state._migration import migrate_all
from fssdk_advanced.state._ttl import Sweep, TtlIndex, sweep_value
from fssdk_advanced.state._values import ScopedCodec
from fssdk_advanced.time import StateTtl

T = TypeVar("T")
H = TypeVar("H", bound=Handle)

_new: Final = object.__new__


class Options(TypedDict, Generic[T], total=False):
    """The keywords of a state type's constructors: ``migrate`` reads values written under an
    incompatible older codec (old value -> new value); ``ttl`` expires entries."""

    migrate: Callable[[Any], T] | None
    ttl: StateTtl | None


class KeyedOptions(Options[T], total=False):
    """The keywords of a Keyed factory's constructors: ``key_codec`` (ordered) for the primary
    keys, then those of :class:`Options`."""

    key_codec: Codec[Any] | None


class QueueOptions(TypedDict, total=False):
    """The keywords of the priority queue's constructors (no ``migrate``: elements are keys)."""

    ttl: StateTtl | None


class KeyedQueueOptions(QueueOptions, total=False):
    """The keywords of the priority queue factory's constructors."""

    key_codec: Codec[Any] | None


#: A default codec's type hint: its argument name, and whether the codec must be ordered.
Hint = tuple[str, bool]


class KeyedFactory:
    """Base of the Keyed* factories: binds a store, a key group and the primary keys' codec.

    ``store`` is public (the store the state lives in); the rest is for the subclasses. A
    subclass names its state type (``class F(KeyedFactory, state=ValueState)``), sets ``_HINTS``
    (its codec arguments' type hints, for ``from_context_auto_codec``) and ``_NEW`` (its
    per-record method, which each factory object carries as a one-frame binder) and implements
    :meth:`_state_of`; its ``__init__`` names itself in errors through :meth:`_owner`.
    """

    #: True on the libraries' own factories (a private subclass), which may use the key groups
    #: :mod:`fssdk.reserved` keeps from user state.
    _LIBRARY_STATE: ClassVar[bool] = False
    #: The state type the factory gives (``class F(KeyedFactory, state=...)``).
    _STATE: ClassVar[type[NonKeyed]]
    #: The type hints of ``from_context_auto_codec``, one per codec argument, in order.
    _HINTS: ClassVar[tuple[Hint, ...]] = ()
    #: The factory's per-record method and the name of its namespace argument.
    _NEW: ClassVar[tuple[str, str]] = ("", "namespace")

    __slots__ = (
        "__dict__",  # per factory, its ``new_*`` method made in one frame (see _handles_of)
        "_encode_key",
        "_handles",
        "_identity",
        "_key_codec",
        "_key_group",
        "_named",
        "_scopes",
        "_ttl",
        "_ttl_index",
        "store",
    )

    _named: str  # set only by _declared
    _handles: type[Handle]  # set by each factory's __init__: _handles_of(its state type)

    def __init_subclass__(cls, state: type[NonKeyed] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if state is not None:
            state._FACTORY = cls
            cls._STATE = state

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        kind: str,
        codecs: Mapping[str, object],
        *,
        key_codec: object | None = None,
        migrate: Callable[[Any], Any] | None = None,
        make_shared: Callable[[], Any] | None = None,
        ttl: StateTtl | None = None,
        sweep: Sweep = sweep_value,
        stamp_values: bool = False,
    ) -> None:
        owner = self._owner()
        check_key_group(key_group, owner, library=self._LIBRARY_STATE)
        keys = None
        if key_codec is not None:
            keys = check_codec(key_codec, "key_codec", owner, ordered=True)
        check_migrate(migrate, owner)
        check_ttl_options(ttl, migrate, owner)
        self._identity: Identity = declare(
            store,
            key_group,
            kind,
            codecs,
            key_codec=key_codec,
            migrate=migrate is not None,
            make_shared=make_shared,
            ttl=None if ttl is None else ttl.ttl_schema(),
        )
        self.store: Final = store
        self._key_group = key_group
        self._key_codec = keys
        self._encode_key = None if keys is None else keys.encode
        self._ttl = ttl
        self._ttl_index = None
        if ttl is not None:
            self._ttl_index = TtlIndex(store, key_group, ttl, sweep, stamp_values)
        index = self._ttl_index
        self._scopes: StoreScopes = store.scopes(key_group) if index is None else index.scopes

    @property
    def key_codec(self) -> Codec[Any] | None:
        """The primary keys' codec (``None``: keys are ``bytes``)."""
        return self._key_codec

    def _owner(self) -> str:
        """The name argument errors give: the factory's, or the non-keyed constructor's."""
        named: str | None = getattr(self, "_named", None)
        return named or type(self).__name__

    @classmethod
    def _declared(
        cls, owner: str, store: Store, key_group: bytes, *args: Any, **options: Any
    ) -> Self:
        """``cls(store, key_group, *args, **options)``, argument errors naming ``owner``."""
        factory = cls.__new__(cls)
        factory._named = owner
        cls.__init__(factory, store, key_group, *args, **options)
        return factory

    @classmethod
    def _from_context(
        cls, ctx: object, store_name: object, key_group: bytes, *args: Any, **options: Any
    ) -> Self:
        """``from_context``: the factory over ``ctx``'s store ``store_name``."""
        store = store_from(ctx, store_name, f"{cls.__name__}.from_context")
        return cls(store, key_group, *args, **options)

    @classmethod
    def _auto_codec(
        cls,
        ctx: object,
        store_name: object,
        key_group: bytes,
        hints: tuple[object, ...],
        *functions: object,
        **options: Any,
    ) -> Self:
        """``from_context_auto_codec``: ``from_context`` with the default codecs of ``hints``
        (then ``functions``, the arguments that follow the codecs)."""
        codecs = cls._default_codecs(hints, f"{cls.__name__}.from_context_auto_codec")
        return cls._from_context(ctx, store_name, key_group, *codecs, *functions, **options)

    @classmethod
    def _default_codecs(cls, hints: Iterable[object], owner: str) -> list[Codec[Any]]:
        """``default_codec_for`` of each hint, ordered where :data:`_HINTS` says so."""
        return [
            ordered_default(hint, argument, owner) if ordered else default_codec_for(hint)
            for (argument, ordered), hint in zip(cls._HINTS, hints, strict=True)
        ]

    def _handles_of(self, state: type[H], **shared: object) -> type[H]:
        """The class of this factory's handles: ``state`` with the scopes and ``shared`` (the
        factory's codec helpers, functions) as class attributes, so that a handle made per
        record holds only its key and namespace. Made once, in the factory's ``__init__``.

        For the factory's own state type (or a subclass of it), the factory's per-record method
        (:data:`_NEW`) is also set on the factory itself as :meth:`_binder` of that class: it
        shadows the documented method of the same name, so that a handle is made in one frame.
        """
        attributes: dict[str, object] = {
            "__slots__": (),
            "__module__": state.__module__,
            "_scopes": self._scopes,
        }
        for name, value in shared.items():  # a plain function would bind to the handle
            attributes[name] = staticmethod(value) if isinstance(value, FunctionType) else value
        handles = type(state.__name__, (state,), attributes)
        handles.__qualname__ = state.__qualname__
        method, argument = self._NEW
        if method and issubclass(state, self._STATE):
            bind = self._binder(handles, method, argument)
            documented = getattr(type(self), method)
            bind.__name__, bind.__qualname__ = documented.__name__, documented.__qualname__
            bind.__doc__ = documented.__doc__
            self.__dict__[method] = bind
        return handles

    def _state_of(self, key: bytes, namespace: bytes) -> Any:
        """The factory's state at checked ``(key, namespace)`` (its non-keyed form: ``b""``)."""
        handle: Handle = _new(self._handles)
        handle._key = key
        handle._namespace = namespace
        handle._bound = None
        return handle

    def _bind(
        self,
        handles: type[Handle],
        method: str,
        primary_key: Any,
        namespace: str | bytes,
        argument: str = "namespace",
    ) -> Any:
        """A handle of class ``handles`` on ``primary_key`` in ``namespace`` (a ``str`` is its
        UTF-8 bytes); ``TypeError`` naming what is wrong. What the documented ``new_*`` methods
        do when called on the class (an instance has its :meth:`_binder` instead)."""
        return self._binder(handles, method, argument)(primary_key, namespace)

    def _binder(self, handles: type[Handle], method: str, argument: str) -> Callable[..., Any]:
        """``method(primary_key, namespace=b"")``: a handle of class ``handles`` on
        ``primary_key`` in ``namespace`` (a ``str`` is its UTF-8 bytes), ``TypeError`` naming
        what is wrong. The per-record path of every ``new_keyed_*``: one frame, one object, no
        store access. The namespace may be given by its documented name ``argument``."""
        encode = self._encode_key
        key_codec = self._key_codec

        def bind(primary_key: Any, namespace: Any = EMPTY, **named: Any) -> Any:
            if named:
                namespace = named.pop(argument, namespace)
                if named:
                    unexpected = next(iter(named))
                    raise TypeError(f"{method}() got an unexpected keyword argument {unexpected!r}")
            if type(namespace) is not bytes:
                if type(namespace) is str:  # inline: map and state names are str, per record
                    namespace = namespace.encode("utf-8")
                else:
                    namespace = namespace_bytes(method, namespace, argument)
            if encode is None:
                if type(primary_key) is not bytes:
                    raise TypeError(
                        f"{method}: primary_key and namespace must be bytes, got "
                        f"{type(primary_key).__name__} and {type(namespace).__name__}"
                    )
            else:
                try:
                    primary_key = encode(primary_key)
                except TypeError:
                    raise TypeError(
                        f"{method}: primary_key and namespace must be a {key_codec!r} key and "
                        f"bytes, got {type(primary_key).__name__} and {type(namespace).__name__}"
                    ) from None
            handle: Handle = _new(handles)
            handle._key = primary_key
            handle._namespace = namespace
            handle._bound = None
            return handle

        return bind

    def cleanup(self, max_entries: int = 1000) -> int:
        """With ``ttl``: remove expired state found in at most ``max_entries`` due entries of
        the expiry index, oldest first, and return how many were visited (0 without ``ttl``).

        Writes already run a bounded step of it by themselves (docs/time.md); call it, e.g. in
        ``take_checkpoint``, to clean state faster. O(max_entries) store operations.
        """
        if self._ttl_index is None:
            return 0
        return self._ttl_index.cleanup(max_entries)

    def migrate_all(self) -> int:
        """Rewrite every value of this state (every key and namespace) in the encoding declared
        now, then record that no older one remains, so that later runs need no ``migrate=``
        (docs/state.md, schema evolution). Returns how many entries were rewritten.

        Streamed over the key group's scopes: one seek and one scan per scope, a put per entry
        rewritten, memory independent of the state's size. Idempotent: after a crash, run it
        again.
        """
        return migrate_all(self.store, self._key_group)

    def _value_helper(
        self, role: str, codec: Codec[Any], what: str, migrate: Callable[[Any], Any] | None
    ) -> ScopedCodec[Any]:
        """The value helper of ``role``, reading old values through ``migrate`` if given."""
        index = self._ttl_index
        stamped = index is not None and index.stamp_values
        return values_of(
            self._identity, role, codec, what, migrate, ttl=self._ttl, stamped_by_scopes=stamped
        )

    def keys(self, namespace: str | bytes | None = None) -> Iterator[Any]:
        """The distinct primary keys holding state in this key group, in key order, streamed.

        With ``namespace`` (a ``str`` is its UTF-8 bytes), only those holding state in that
        namespace. Keys are decoded with ``key_codec`` when the factory has one. Costs one seek
        per key listed (plus, with a namespace, one per key checked), and memory independent of
        the number of keys.
        """
        if namespace is not None and type(namespace) is not bytes:
            namespace = namespace_bytes("keys", namespace, "namespace")
        found = scan_primary_keys(self.store, self._key_group, namespace)
        codec = self._key_codec
        if codec is None:
            return found
        return self._decoded_keys(found, codec)

    def _decoded_keys(self, found: Iterator[bytes], codec: Codec[Any]) -> Iterator[Any]:
        values = ScopedCodec(codec, "primary key")
        for key in found:
            yield values.decode(self._scopes(key, EMPTY), EMPTY, key)


def scan_primary_keys(store: Store, key_group: bytes, namespace: bytes | None) -> Iterator[bytes]:
    """The distinct primary keys of ``key_group`` of ``store`` (in ``namespace``), ascending.

    The store's own skip-scan (:meth:`fssdk.Store.scan_keys`): one seek per key, streamed.
    """
    return store.scan_keys(key_group, namespace=namespace)


def namespace_bytes(method: str, namespace: object, argument: str = "namespace") -> bytes:
    """``namespace`` as bytes: a ``str`` is encoded as UTF-8; ``TypeError`` for other types."""
    if type(namespace) is bytes:
        return namespace
    if isinstance(namespace, str):
        return namespace.encode("utf-8")
    raise TypeError(f"{method}: {argument} must be str or bytes, not {type(namespace).__name__}")


class NonKeyed(Handle):
    """Base of the state types: their non-keyed constructors, written once.

    A non-keyed state is the state of its Keyed factory (``_FACTORY``, set by the factory's
    class statement) at key group, primary key and namespace ``b""``; argument errors name the
    state type's constructor.
    """

    __slots__ = ()

    _FACTORY: ClassVar[type[KeyedFactory]]

    @classmethod
    def _from_context(cls, ctx: object, store_name: object, *args: Any, **options: Any) -> Self:
        """``from_context``: declare the state ``store_name`` and bind its empty scope."""
        owner = f"{cls.__name__}.from_context"
        if "key_codec" in options:
            raise TypeError(f"{owner}() got an unexpected keyword argument 'key_codec'")
        store = store_from(ctx, store_name, owner)
        factory = cls._FACTORY._declared(owner, store, EMPTY, *args, **options)
        return cast(Self, factory._state_of(EMPTY, EMPTY))

    @classmethod
    def _auto_codec(
        cls,
        ctx: object,
        store_name: object,
        hints: tuple[object, ...],
        *functions: object,
        **options: Any,
    ) -> Self:
        """``from_context_auto_codec``: ``from_context`` with the default codecs of ``hints``."""
        owner = f"{cls.__name__}.from_context_auto_codec"
        codecs = cls._FACTORY._default_codecs(hints, owner)
        return cls._from_context(ctx, store_name, *codecs, *functions, **options)
