"""Finishing a migration: every value of one state rewritten in the encoding declared now.

``migrate=`` reads old values lazily, when they are read, so its descriptor keeps
``migrating_from`` (and, after compatible changes, the ``history`` of older schemas) for as
long as an old value may remain, and every later run must keep ``migrate=``.
:func:`migrate_all` ends that, as Flink does when it restores a state whose serializer changed:

- it streams the scopes of the state's key group (:meth:`fssdk.Store.scan_scopes`, one seek per
  scope) and, per scope, its entries (one scan), rewriting each entry whose bytes are not those
  of its value in the declared encoding (an old value goes through ``migrate=``; a TTL'd value
  keeps its expiry stamp): memory is one scope's entry at a time, whatever the state's size;
- then it records that only the declared schemas remain (one descriptor put), so later runs
  declare the state without ``migrate=``.

It is idempotent: an entry already in the declared encoding is left as it is. Its writes are
state writes like any other: a crash before the next checkpoint rolls them back with the rest,
and running it again finishes the job.

:func:`reframe` is the same pass for a list whose elements change framing (a fixed-size codec
becomes a length-prefixed one, or another size): an old entry cannot be told from a new one by
its bytes, and ``add`` appends without reading, so its elements cannot be migrated on read.
The list's declaration runs it before any handle exists, splitting each entry with the old
framing. Before each scope it records in the descriptor which scope it rewrites and that
scope's old bytes, so a crash midway, even one that keeps some of its writes and not others,
resumes exactly: the scopes before are new, that one is redone from its old bytes, the ones
after are old.
"""

from __future__ import annotations

from typing import Any, Final

from fssdk import NotInitializedError, Store, StoreScope
from fssdk_advanced.state._handle import Handle
from fssdk_advanced.state._identity import _REGISTRY, Identity, Rewrite

EMPTY: Final = b""


def declared(store: Store, key_group: bytes) -> Identity:
    """The identity declared for ``key_group`` of ``store`` in this process.

    ``NotInitializedError`` naming the key groups that are declared when it is not.
    """
    identities = _REGISTRY.get(store, {})
    identity = identities.get(key_group)
    if identity is None:
        shown = ", ".join(repr(group) for group in sorted(identities)) or "none"
        raise NotInitializedError(
            f"store {store.name!r} key group {key_group!r}: no state is declared there "
            f"(declared: {shown}); declare it, with the codec and migrate= of the current code, "
            "before migrating it"
        )
    return identity


def migrate_all(store: Store, key_group: bytes) -> int:
    """Rewrite every value of the state declared at ``key_group`` of ``store`` in its declared
    encoding, then drop ``migrating_from`` and ``history`` from its descriptor (module doc).

    Returns how many entries were rewritten (none for a priority queue: its elements are its
    keys, which are never migrated). Costs one seek per scope, one scan per scope and a
    put per rewritten entry; memory does not grow with the state. ``NotInitializedError`` if
    the state is not declared in this process; ``CorruptStateError`` for a value that decodes
    neither way (nothing after it is rewritten, and the descriptor is left as it was).
    """
    identity = declared(store, key_group)
    rewrite = identity.entries
    rewritten = 0
    if rewrite is not None:
        scopes = store.scopes(key_group)
        for key, namespace in store.scan_scopes(key_group):
            rewritten += _rewrite_scope(scopes(key, namespace), rewrite)
    identity.finish(store, key_group)
    return rewritten


def _rewrite_scope(scope: StoreScope, rewrite: Rewrite) -> int:
    """Rewrite the entries of ``scope`` that are not in the declared encoding; how many."""
    rewritten = 0
    with scope.scan() as entries:
        for user_key, data in entries:
            new = rewrite(scope, user_key, data)
            if new != data:
                scope.put(user_key, new)
                rewritten += 1
    return rewritten


def reframe(store: Store, key_group: bytes, identity: Identity, rewrite: Rewrite) -> int:
    """Rewrite the one entry (user key ``b""``) of every scope of a list with ``rewrite``
    (old framing to new), crash-safely, then finish the migration (module doc).

    Returns how many entries were rewritten.
    """
    progress: dict[str, Any] | None = identity.reframing
    assert progress is not None
    scopes = store.scopes(key_group)
    done: tuple[bytes, bytes] | None = None
    rewritten = 0
    if progress["scope"] is not None:
        key, namespace = (bytes.fromhex(part) for part in progress["scope"])
        done = (key, namespace)
        scope = scopes(key, namespace)
        scope.put(EMPTY, rewrite(scope, EMPTY, bytes.fromhex(progress["old"])))
        rewritten += 1
    for key, namespace in store.scan_scopes(key_group):
        if done is not None and (key, namespace) <= done:
            continue
        scope = scopes(key, namespace)
        data = scope.get(EMPTY)
        if data is None:
            continue
        progress.update(scope=[key.hex(), namespace.hex()], old=data.hex())
        identity.write(store, key_group)
        scope.put(EMPTY, rewrite(scope, EMPTY, data))
        rewritten += 1
    identity.finish(store, key_group)
    return rewritten


class Migratable(Handle):
    """``migrate_all()`` for the state types, bound to one scope of the state."""

    __slots__ = ()

    def migrate_all(self) -> int:
        """Rewrite every value of this state in the encoding declared now, then record that no
        older one remains, so that later runs need no ``migrate=`` (docs/state.md, schema
        evolution). On a keyed state that is every key and namespace of its key group, as its
        factory's ``migrate_all``. Returns how many entries were rewritten.

        O(entries of the state) store operations, streamed; idempotent.
        """
        return migrate_all(self._scope.store, self._scope.key_group)
