"""Argument checks and declarations shared by every state type and factory.

A state is a small object over one :class:`fssdk.StoreScope` ``(key_group, key, namespace)``;
non-keyed state is the empty scope ``(b"", b"", b"")`` and a Keyed* factory
(:mod:`fssdk_advanced.state._keyed`) binds one scope per primary key and namespace. Identities
are declared through :mod:`fssdk_advanced.state._identity`; values are read and written through
:mod:`fssdk_advanced.state._values`. Nothing here is on a per-record path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fssdk import Context, Store
from fssdk.reserved import HIDDEN_PREFIX, LIBRARY_PREFIX, is_reserved
from fssdk_advanced.codecs import Codec, UnorderedCodecError, codec_signature, default_codec_for
from fssdk_advanced.codecs._typed import type_name
from fssdk_advanced.state._identity import Identity
from fssdk_advanced.state._ttl import TtlCodec, check_ttl
from fssdk_advanced.state._values import ScopedCodec, scoped_codec
from fssdk_advanced.time import StateTtl

EMPTY: Final = b""


def store_from(ctx: object, store_name: object, owner: str) -> Store:
    """``ctx.get_or_create_store(store_name)``; ``TypeError`` for a ctx that is no Context."""
    if not isinstance(ctx, Context):
        raise TypeError(f"{owner}: ctx must be an fssdk.Context, not {type(ctx).__name__}")
    return ctx.get_or_create_store(store_name)  # type: ignore[arg-type]


def check_key_group(key_group: object, owner: str, *, library: bool = False) -> bytes:
    """Return ``key_group`` if it is ``bytes`` outside the libraries' reserved key groups.

    ``TypeError`` for another type; ``ValueError`` for a key group :mod:`fssdk.reserved`
    reserves (descriptors, the TTL index, timers, sessions), unless ``library`` (the state
    the libraries keep for themselves in them).
    """
    if type(key_group) is not bytes:
        raise TypeError(f"{owner}: key_group must be bytes, not {type(key_group).__name__}")
    if not library and is_reserved(key_group):
        raise ValueError(
            f"{owner}: key_group {key_group!r} is reserved (key groups starting with "
            f"{LIBRARY_PREFIX!r} or {HIDDEN_PREFIX!r} hold the libraries' own state)"
        )
    return key_group


def check_callable(func: object, argument: str, owner: str) -> None:
    """``TypeError`` naming ``argument`` unless ``func`` is callable."""
    if not callable(func):
        raise TypeError(f"{owner}: {argument} must be callable, not {type(func).__name__}")


def check_migrate(migrate: object, owner: str) -> None:
    """``TypeError`` unless ``migrate`` is ``None`` or callable."""
    if migrate is not None:
        check_callable(migrate, "migrate", owner)


def check_ttl_options(ttl: object, migrate: object, owner: str) -> None:
    """``TypeError`` for a ``ttl`` that is no StateTtl; ``ValueError`` for ``ttl`` with
    ``migrate`` (old values carry no stamp, so they cannot be read as TTL'd ones)."""
    if check_ttl(ttl, owner) is not None and migrate is not None:
        raise ValueError(
            f"{owner}: ttl= and migrate= cannot be combined (values written before have no "
            "expiry stamp); migrate first, then declare the TTL on a new key group or store"
        )


def values_of(
    identity: Identity,
    role: str,
    codec: Codec[Any],
    what: str,
    migrate: Callable[[Any], Any] | None,
    *,
    ttl: StateTtl | None = None,
    stamped_by_scopes: bool = False,
) -> ScopedCodec[Any]:
    """The value helper of ``role``: stamping with ``ttl`` (unless ``stamped_by_scopes``: the
    state's TTL scopes stamp what they put), else reading old values through ``migrate`` when
    given, else the plain helper. ``identity`` learns from it how its entries (one value each)
    are rewritten by ``migrate_all``; a list replaces that with its own."""
    if ttl is not None:
        values: ScopedCodec[Any] = TtlCodec(codec, what, ttl, stamped_by_scopes)
    else:
        values = scoped_codec(codec, what, migrate, identity.old_decoder(role))
    identity.entries = values.reencode
    return values


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
