"""Handle: what every state object is, a key and a namespace of its factory's scopes."""

from __future__ import annotations

from fssdk import StoreScope, StoreScopes


class Handle:
    """Base of the state types: a handle on one scope, ``(key, namespace)`` of its factory's
    :class:`~fssdk.StoreScopes` (a class attribute of the factory's handle class, with the
    factory's codec helpers), the one object made per record.

    State operations call the scopes with the key and namespace; what needs a
    :class:`~fssdk.StoreScope` (scans, error messages, rarer paths) gets :attr:`_scope`, made
    once per handle when first asked for.
    """

    __slots__ = ("_bound", "_key", "_namespace")

    _scopes: StoreScopes
    _key: bytes
    _namespace: bytes
    _bound: StoreScope | None

    @property
    def _scope(self) -> StoreScope:
        scope = self._bound
        if scope is None:
            scope = self._bound = self._scopes(self._key, self._namespace)
        return scope
