"""What every state type shares: the store and scope it is bound to, decode errors, identities.

A state is a small object over one :class:`fssdk.StoreScope` ``(key_group, key, namespace)``;
non-keyed state is the empty scope ``(b"", b"", b"")`` and a Keyed* factory binds one scope per
primary key and namespace. Nothing here is on a hot path except :func:`corrupt`, which only runs
when stored bytes fail to decode.

Identity: the store and key group name a state, as a state name does in Flink. Each store keeps
a registry (weakly, so a closed and dropped store takes it along) of the kind and codecs every
key group was declared with; declaring it again another way raises ``StateConflictError``. The
registry entry also holds an object shared by every handle of that identity (the priority
queue keeps its sequence numbers and head cursors there).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Final

from fssdk import Context, CorruptStateError, StateConflictError, Store, StoreScope
from fssdk_advanced.codecs import Codec, UnorderedCodecError, codec_signature, default_codec_for
from fssdk_advanced.codecs._typed import type_name

EMPTY: Final = b""


def store_from(ctx: object, store_name: object, owner: str) -> Store:
    """``ctx.get_or_create_store(store_name)``; ``TypeError`` for a ctx that is no Context."""
    if not isinstance(ctx, Context):
        raise TypeError(f"{owner}: ctx must be an fssdk.Context, not {type(ctx).__name__}")
    return ctx.get_or_create_store(store_name)  # type: ignore[arg-type]


def check_key_group(key_group: object, owner: str) -> bytes:
    """Return ``key_group`` if it is ``bytes``; ``TypeError`` naming it otherwise."""
    if type(key_group) is not bytes:
        raise TypeError(f"{owner}: key_group must be bytes, not {type(key_group).__name__}")
    return key_group


def check_callable(func: object, argument: str, owner: str) -> None:
    """``TypeError`` naming ``argument`` unless ``func`` is callable."""
    if not callable(func):
        raise TypeError(f"{owner}: {argument} must be callable, not {type(func).__name__}")


def scope_type_error(method: str, primary_key: object, namespace: object) -> TypeError:
    """The error for a per-key method given a primary key or namespace that is not bytes."""
    return TypeError(
        f"{method}: primary_key and namespace must be bytes, got "
        f"{type(primary_key).__name__} and {type(namespace).__name__}"
    )


def corrupt(scope: StoreScope, user_key: bytes, what: str, exc: Exception) -> CorruptStateError:
    """The error for stored bytes that fail to decode: names store, scope, key and the cause.

    Callers raise it ``from exc``.
    """
    return CorruptStateError(f"{scope.describe(user_key)}: {what}: {exc}")


class _Identity:
    __slots__ = ("kind", "shared", "signature")

    def __init__(self, kind: str, signature: tuple[str, ...], shared: Any) -> None:
        self.kind: Final = kind
        self.signature: Final = signature
        self.shared: Final = shared


_REGISTRY: Final[weakref.WeakKeyDictionary[Store, dict[bytes, _Identity]]] = (
    weakref.WeakKeyDictionary()
)


def declare(
    store: Store,
    key_group: bytes,
    kind: str,
    signature: tuple[str, ...],
    make_shared: Callable[[], Any] | None = None,
) -> Any:
    """Record that ``(store, key_group)`` is a ``kind`` state with codecs ``signature``.

    Returns the object shared by every handle of this identity (made by ``make_shared`` the first
    time; ``None`` without it). Raises ``StateConflictError`` when the identity was declared as
    another kind or with other codecs.
    """
    identities = _REGISTRY.get(store)
    if identities is None:
        identities = _REGISTRY[store] = {}
    known = identities.get(key_group)
    if known is None:
        shared = make_shared() if make_shared is not None else None
        identities[key_group] = _Identity(kind, signature, shared)
        return shared
    if known.kind != kind or known.signature != signature:
        raise StateConflictError(
            f"store {store.name!r} key group {key_group!r} is already a {known.kind} with codecs "
            f"({', '.join(known.signature)}); it cannot also be a {kind} with codecs "
            f"({', '.join(signature)}): use another store name or key group"
        )
    return known.shared


def ordered_default(tp: object, argument: str, owner: str) -> Codec[Any]:
    """``default_codec_for(tp)``, which must be ordered (map keys, queue elements).

    Raises :class:`UnorderedCodecError` naming ``argument`` when ``tp`` has no ordered default.
    """
    codec = default_codec_for(tp)
    if not codec.ordered:
        shown = "None" if tp is None else type_name(tp)
        raise UnorderedCodecError(
            f"{owner}: {argument}={shown} has no ordered codec (it would get "
            f"{codec_signature(codec)}); pass {argument}= bool, int, float, str or bytes, or "
            "use from_context with an ordered codec such as a TupleCodec"
        )
    return codec
