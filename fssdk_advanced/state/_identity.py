"""State identity: what a (store name, key group) was declared as, in process and on disk.

The store name and key group name a state, as a state name does in Flink. The first declaration
of an identity writes a *descriptor* into the store itself, through the Store API only, so that
it works on any Store (RocksDB, the engines' stores) and outlives the process:

- where: complex key ``(IDENTITY_KEY_GROUP, key_group, b"", b"")``. Key groups reserved by
  :mod:`fssdk.reserved` belong to the libraries; the state constructors refuse them, so a
  user's state never lands there and a factory's ``keys()`` never lists a descriptor.
- what: UTF-8 JSON ``{"format": 1, "kind": ..., "codecs": {role: {"signature", "schema"}},
  "primary_key": {...} | null, "ttl": null}``, plus ``"migrating_from": {role: ...}`` while
  values written under an incompatible older codec may remain.

A later declaration (same process or a new run over the same data) is compared with it: another
kind is refused; for each codec role, :func:`schema_change` says whether the new codec reads the
bytes written under the old schema. A compatible change rewrites the descriptor; an incompatible
one raises :class:`fssdk.StateConflictError` naming both declarations, unless the role holds
values and the state is given ``migrate=``. Cost: one read per identity per store object (the
in-process registry remembers it), plus one write when the descriptor changes. Nothing per record.

The in-process registry (keyed weakly by store) also holds an object shared by every handle of an
identity (the priority queue keeps its sequence numbers and head cursors there).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

from fssdk import ComplexKey, CorruptStateError, StateConflictError, Store
from fssdk.reserved import IDENTITY_KEY_GROUP
from fssdk_advanced.codecs import (
    BoolCodec,
    BytesCodec,
    Codec,
    FloatCodec,
    IntCodec,
    JsonCodec,
    MsgpackCodec,
    StringCodec,
    TupleCodec,
    codec_schema,
    codec_signature,
    schema_change,
)

FORMAT_VERSION: Final = 1

#: Roles whose codec encodes values (read through ``migrate=``); the others encode keys or
#: queue elements, whose byte order is the state's order, so a change there is never migrated.
VALUE_ROLES: Final = frozenset({"value", "accumulator"})
PRIMARY_KEY: Final = "primary_key"

#: Codecs rebuilt from a stored signature, by class name; untyped, so old shapes still read.
_PLAIN_CODECS: Final[dict[str, Callable[[], Codec[Any]]]] = {
    "MsgpackCodec": MsgpackCodec,
    "JsonCodec": JsonCodec,
    "IntCodec": IntCodec,
    "FloatCodec": FloatCodec,
    "StringCodec": StringCodec,
    "BytesCodec": BytesCodec,
    "BoolCodec": BoolCodec,
}


def descriptor_key(key_group: bytes) -> ComplexKey:
    """Where the descriptor of ``key_group`` lives in its store."""
    return ComplexKey(IDENTITY_KEY_GROUP, key_group, b"", b"")


def describe_codec(codec: object) -> dict[str, Any]:
    """The descriptor entry of one codec: its signature and its schema."""
    return {"signature": codec_signature(codec), "schema": codec_schema(codec)}


def make_descriptor(
    kind: str,
    codecs: Mapping[str, object],
    key_codec: object | None,
    ttl: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The descriptor of a declaration, as it reads back from JSON (tuples become lists)."""
    descriptor = {
        "format": FORMAT_VERSION,
        "kind": kind,
        "codecs": {role: describe_codec(codec) for role, codec in codecs.items()},
        PRIMARY_KEY: None if key_codec is None else describe_codec(key_codec),
        "ttl": None if ttl is None else dict(ttl),
    }
    canonical: dict[str, Any] = json.loads(json.dumps(descriptor))
    return canonical


def shown(descriptor: Mapping[str, Any]) -> str:
    """A declaration in words, for error messages."""
    codecs = ", ".join(
        f"{role}={entry['signature']}" for role, entry in descriptor["codecs"].items()
    )
    primary = descriptor.get(PRIMARY_KEY)
    keys = "" if primary is None else f", primary keys {primary['signature']}"
    ttl = descriptor.get("ttl")
    lifetime = "no TTL" if ttl is None else f"TTL {json.dumps(ttl, sort_keys=True)}"
    return f"{descriptor['kind']} with codecs ({codecs}){keys}, {lifetime}"


def _arguments(inside: str) -> list[str]:
    """The top-level comma-separated parts of ``inside`` (the text between a codec's parens)."""
    parts: list[str] = []
    depth = start = 0
    for index, char in enumerate(inside):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inside[start:index].strip())
            start = index + 1
    last = inside[start:].strip()
    return [*parts, last] if last else parts


def plain_codec(signature: str) -> Codec[Any] | None:
    """A codec that reads the bytes of the codec with ``signature`` without needing its types.

    msgpack and JSON read as plain data (a dataclass as a dict of its fields), the ordered codecs
    (tuples of them too) as their values; ``None`` for any other codec.

    >>> plain_codec("TupleCodec(StringCodec(), IntCodec())")
    TupleCodec(StringCodec(), IntCodec())
    >>> plain_codec("MsgpackCodec(mod.Point)"), plain_codec("mod.MyCodec")
    (MsgpackCodec(), None)
    """
    name, _, rest = signature.partition("(")
    if name == "TupleCodec" and rest.endswith(")"):
        inner = [plain_codec(part) for part in _arguments(rest[:-1])]
        if not inner or any(codec is None for codec in inner):
            return None
        return TupleCodec(*inner)  # type: ignore[arg-type]
    make = _PLAIN_CODECS.get(name)
    return None if make is None else make()


def plain_decoder(signature: str) -> Callable[[bytes], Any]:
    """How ``migrate=`` reads bytes of the codec with ``signature``: :func:`plain_codec`'s
    decode, or the bytes as they are for a codec it cannot rebuild."""
    codec = plain_codec(signature)
    return bytes if codec is None else codec.decode


class Identity:
    """One declared identity: its descriptor, what older schemas its values may still have, and
    the object its handles share."""

    __slots__ = ("descriptor", "migrating_from", "shared")

    def __init__(
        self, descriptor: dict[str, Any], migrating_from: dict[str, Any], shared: Any
    ) -> None:
        self.descriptor: Final = descriptor
        self.migrating_from: Final = migrating_from
        self.shared: Final = shared

    def old_decoder(self, role: str) -> Callable[[bytes], Any]:
        """How ``migrate=`` reads the old bytes of ``role``: by the oldest schema still pending."""
        entry = self.migrating_from.get(role) or self.descriptor["codecs"][role]
        return plain_decoder(entry["signature"])


_REGISTRY: Final[weakref.WeakKeyDictionary[Store, dict[bytes, Identity]]] = (
    weakref.WeakKeyDictionary()
)


def _conflict(
    store: Store, key_group: bytes, old: Mapping[str, Any], new: Mapping[str, Any], why: str
) -> StateConflictError:
    return StateConflictError(
        f"store {store.name!r} key group {key_group!r} is already a {shown(old)}; it cannot also "
        f"be a {shown(new)}: {why}"
    )


def _read(store: Store, key_group: bytes) -> dict[str, Any] | None:
    data = store.get(descriptor_key(key_group))
    if data is None:
        return None
    try:
        descriptor = json.loads(data)
        if not isinstance(descriptor, dict) or not isinstance(descriptor.get("codecs"), dict):
            raise ValueError("not a descriptor object")
    except ValueError as exc:
        raise CorruptStateError(
            f"store {store.name!r} key group {key_group!r}: stored state descriptor "
            f"{data[:80]!r} does not decode: {exc}"
        ) from exc
    if descriptor.get("format") != FORMAT_VERSION:
        raise CorruptStateError(
            f"store {store.name!r} key group {key_group!r}: state descriptor format "
            f"{descriptor.get('format')!r} is not {FORMAT_VERSION}"
        )
    return descriptor


def _reconcile(
    store: Store,
    key_group: bytes,
    stored: dict[str, Any],
    new: dict[str, Any],
    migrate: bool,
) -> dict[str, Any]:
    """The ``migrating_from`` of ``new`` over ``stored``; raises when they do not agree."""
    if stored.get("kind") != new["kind"]:
        raise _conflict(store, key_group, stored, new, "another kind of state")
    old_primary, new_primary = stored.get(PRIMARY_KEY), new[PRIMARY_KEY]
    if (old_primary is None) != (new_primary is None) or (
        old_primary is not None
        and schema_change(old_primary["schema"], new_primary["schema"]) is not None
    ):
        raise _conflict(store, key_group, stored, new, "primary keys are encoded another way")
    if stored.get("ttl") != new["ttl"]:
        raise _conflict(
            store,
            key_group,
            stored,
            new,
            "its TTL differs (stamped and unstamped values cannot be told apart; use a new key "
            "group or store for the new TTL)",
        )
    old_codecs: dict[str, Any] = stored["codecs"]
    if set(old_codecs) != set(new["codecs"]):
        raise _conflict(store, key_group, stored, new, "other codec roles")
    pending: dict[str, Any] = dict(stored.get("migrating_from") or {})
    for role, entry in new["codecs"].items():
        reasons = [
            reason
            for old in (old_codecs[role], pending.get(role))
            if old is not None
            for reason in [schema_change(old["schema"], entry["schema"])]
            if reason is not None
        ]
        if not reasons:
            continue
        if role not in VALUE_ROLES:
            raise _conflict(
                store,
                key_group,
                stored,
                new,
                f"{role}: {reasons[0]} (the {role} order would change; it cannot be migrated)",
            )
        if not migrate:
            raise _conflict(
                store,
                key_group,
                stored,
                new,
                f"{role}: {reasons[0]}; pass migrate= (old value -> new value) to read the old "
                "values",
            )
        pending.setdefault(role, old_codecs[role])
    return pending


def declare(
    store: Store,
    key_group: bytes,
    kind: str,
    codecs: Mapping[str, object],
    *,
    key_codec: object | None = None,
    migrate: bool = False,
    make_shared: Callable[[], Any] | None = None,
    ttl: Mapping[str, Any] | None = None,
) -> Identity:
    """Record that ``(store, key_group)`` is a ``kind`` state with ``codecs`` (role -> codec).

    The first declaration in this process reads the stored descriptor (one get) and writes it
    when it is new or changed; later ones only compare with the registry. Raises
    ``StateConflictError`` naming both declarations when they disagree (see the module doc).
    """
    new = make_descriptor(kind, codecs, key_codec, ttl)
    identities = _REGISTRY.get(store)
    if identities is None:
        identities = _REGISTRY[store] = {}
    known = identities.get(key_group)
    if known is not None:
        if known.descriptor != new:
            raise _conflict(store, key_group, known.descriptor, new, "declared differently")
        return known
    stored = _read(store, key_group)
    pending: dict[str, Any] = {}
    if stored is not None:
        pending = _reconcile(store, key_group, stored, new, migrate)
    record = dict(new, migrating_from=pending) if pending else new
    if record != stored:
        store.put(descriptor_key(key_group), json.dumps(record, sort_keys=True).encode("utf-8"))
    identity = Identity(new, pending, make_shared() if make_shared is not None else None)
    identities[key_group] = identity
    return identity
