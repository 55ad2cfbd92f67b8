"""What the six Keyed* factories share: one key group of one store, and its primary keys.

A factory declares its identity once (:func:`declare`), keeps the store's scope maker for its key
group, and binds one scope per ``(primary key, namespace)``. With a ``key_codec`` (ordered)
primary keys are values of that codec's type, encoded once per handle; without one they are
``bytes``. :meth:`KeyedFactory.keys` lists the primary keys holding state, in key order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Final

from fssdk import Store, StoreScope
from fssdk_advanced.codecs import Codec
from fssdk_advanced.codecs._protocol import check_codec
from fssdk_advanced.state._base import (
    check_key_group,
    check_migrate,
    check_ttl_options,
    values_of,
)
from fssdk_advanced.state._identity import Identity, declare
from fssdk_advanced.state._migration import migrate_all
from fssdk_advanced.state._ttl import Sweep, TtlIndex, sweep_value
from fssdk_advanced.state._values import ScopedCodec
from fssdk_advanced.time import StateTtl


class KeyedFactory:
    """Base of the Keyed* factories: binds a store, a key group and the primary keys' codec.

    ``store`` is public (the store the state lives in); the rest is for the subclasses.
    """

    #: True on the libraries' own factories (a private subclass), which may use the key groups
    #: :mod:`fssdk.reserved` keeps from user state.
    _LIBRARY_STATE: ClassVar[bool] = False

    __slots__ = (
        "_encode_key",
        "_identity",
        "_key_codec",
        "_key_group",
        "_scopes",
        "_ttl",
        "_ttl_index",
        "store",
    )

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        kind: str,
        codecs: Mapping[str, object],
        *,
        key_codec: object | None,
        migrate: Callable[[Any], Any] | None,
        make_shared: Callable[[], Any] | None = None,
        ttl: StateTtl | None = None,
        sweep: Sweep = sweep_value,
        stamp_values: bool = False,
    ) -> None:
        owner = type(self).__name__
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
        self._scopes = store.scopes(key_group) if index is None else index.scopes

    @property
    def key_codec(self) -> Codec[Any] | None:
        """The primary keys' codec (``None``: keys are ``bytes``)."""
        return self._key_codec

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
        return values_of(self._identity, role, codec, what, migrate, ttl=self._ttl)

    def _scope(self, method: str, primary_key: Any, namespace: bytes) -> StoreScope:
        """The scope of ``primary_key`` in ``namespace``; ``TypeError`` naming what is wrong."""
        encode = self._encode_key
        try:
            return self._scopes(primary_key if encode is None else encode(primary_key), namespace)
        except TypeError:
            expected = "bytes" if encode is None else f"a {self._key_codec!r} key and bytes"
            raise TypeError(
                f"{method}: primary_key and namespace must be {expected}, got "
                f"{type(primary_key).__name__} and {type(namespace).__name__}"
            ) from None

    def keys(self, namespace: bytes | None = None) -> Iterator[Any]:
        """The distinct primary keys holding state in this key group, in key order, streamed.

        With ``namespace``, only those holding state in that namespace (for the factories that
        take names, its UTF-8 bytes). Keys are decoded with ``key_codec`` when the factory has
        one. Costs one seek per key listed (plus, with a namespace, one per key checked), and
        memory independent of the number of keys.
        """
        if namespace is not None and type(namespace) is not bytes:
            raise TypeError(
                f"keys: namespace must be bytes or None, not {type(namespace).__name__}"
            )
        found = scan_primary_keys(self.store, self._key_group, namespace)
        codec = self._key_codec
        if codec is None:
            return found
        return self._decoded_keys(found, codec)

    def _decoded_keys(self, found: Iterator[bytes], codec: Codec[Any]) -> Iterator[Any]:
        values = ScopedCodec(codec, "primary key")
        for key in found:
            yield values.decode(self._scopes(key, b""), b"", key)


def scan_primary_keys(store: Store, key_group: bytes, namespace: bytes | None) -> Iterator[bytes]:
    """The distinct primary keys of ``key_group`` of ``store`` (in ``namespace``), ascending.

    The store's own skip-scan (:meth:`fssdk.Store.scan_keys`): one seek per key, streamed.
    """
    return store.scan_keys(key_group, namespace=namespace)
