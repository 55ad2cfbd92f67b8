"""State identity: what a (store name, key group) was declared as, in process and on disk.

The store name and key group name a state, as a state name does in Flink. The first declaration
of an identity writes a *descriptor* into the store itself, through the Store API only, so that
it works on any Store (RocksDB, the engines' stores) and outlives the process:

- where: complex key ``(IDENTITY_KEY_GROUP, key_group, b"", b"")``. Key groups reserved by
  :mod:`fssdk.reserved` belong to the libraries; the state constructors refuse them, so a
  user's state never lands there and a factory's ``keys()`` never lists a descriptor.
- what: UTF-8 JSON ``{"format": 1, "kind": ..., "codecs": {role: {"signature", "schema",
  "fixed_size"}}, "primary_key": {...} | null, "ttl": null}``, plus what older values may still
  hold: ``"migrating_from": {role: entry}`` while values written under an incompatible older
  codec may remain, ``"history": {role: [entry, ...]}`` (oldest first) for the older schemas a
  compatible change left in place (it never rewrites values), and ``"reframing"`` while a list's
  elements are rewritten into another framing (:mod:`._migration`). Descriptors written before
  ``fixed_size`` and ``history`` existed read as having no history.

A later declaration (same process or a new run over the same data) is compared with it: another
kind is refused; for each codec role, :func:`schema_change` says whether the new codec reads the
bytes written under the declared schema *and* under every schema of its history and
``migrating_from``. (A field removed in one run and added back with another type in a later one
is refused: values of the first run still hold it with the old type.) A compatible change
rewrites the descriptor; an incompatible one raises :class:`fssdk.StateConflictError` naming both
declarations, unless the role holds values and the state is given ``migrate=``.
:func:`~fssdk_advanced.state._migration.migrate_all` rewrites every value and then drops
``migrating_from`` and ``history`` (:meth:`Identity.finish`). Cost: one read per identity per
store object (the in-process registry remembers it), plus one write when the descriptor changes.
Nothing per record.

The in-process registry (keyed weakly by store) also holds an object shared by every handle of an
identity (the priority queue keeps its sequence numbers and head cursors there).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

from fssdk import ComplexKey, CorruptStateError, StateConflictError, Store, StoreScope
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

#: Kinds whose entries hold several elements of one role back to back, framed by the codec's
#: ``fixed_size`` (ListState): a change of framing is migrated in one pass at declaration.
FRAMED_KINDS: Final = {"ListState": "value"}

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
    """The descriptor entry of one codec: its signature, its schema and its ``fixed_size``
    (how a list frames its elements)."""
    return {
        "signature": codec_signature(codec),
        "schema": codec_schema(codec),
        "fixed_size": getattr(codec, "fixed_size", None),
    }


def framing(entry: Mapping[str, Any]) -> int | str | None:
    """The ``fixed_size`` of the codec a descriptor entry describes (``None``: its list
    elements are length-prefixed), or ``"unknown"`` for an entry written before descriptors
    recorded it, of a codec :func:`plain_codec` cannot rebuild."""
    if "fixed_size" in entry:
        size: int | None = entry["fixed_size"]
        return size
    codec = plain_codec(entry["signature"])
    return "unknown" if codec is None else codec.fixed_size


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
    the object its handles share.

    ``migrating_from`` (role -> codec entry): the oldest incompatible schema values may still
    have, read through ``migrate=``. ``history`` (role -> entries): the older compatible schemas
    values may still have, which a later declaration must also read. ``reframing``: set while
    a list's elements are rewritten from another framing (:mod:`._migration`). ``entries``: how
    the state's handles rewrite one stored entry in the declared encoding (set by the state
    type, for :func:`fssdk_advanced.state._migration.migrate_all`).
    """

    __slots__ = ("descriptor", "entries", "history", "migrating_from", "reframing", "shared")

    def __init__(
        self,
        descriptor: dict[str, Any],
        migrating_from: dict[str, Any],
        shared: Any,
        *,
        history: dict[str, list[dict[str, Any]]] | None = None,
        reframing: dict[str, Any] | None = None,
    ) -> None:
        self.descriptor: Final = descriptor
        self.migrating_from: Final = migrating_from
        self.history: Final = history if history is not None else {}
        self.reframing = reframing
        self.shared: Final = shared
        self.entries: Rewrite | None = None

    def old_decoder(self, role: str) -> Callable[[bytes], Any]:
        """How ``migrate=`` reads the old bytes of ``role``: by the oldest schema still pending."""
        entry = self.migrating_from.get(role) or self.descriptor["codecs"][role]
        return plain_decoder(entry["signature"])

    def record(self) -> dict[str, Any]:
        """What is stored for this identity: its descriptor and what older values may hold."""
        record = dict(self.descriptor)
        if self.migrating_from:
            record["migrating_from"] = dict(self.migrating_from)
        if any(self.history.values()):
            record["history"] = {role: list(e) for role, e in self.history.items() if e}
        if self.reframing is not None:
            record["reframing"] = dict(self.reframing)
        return record

    def write(self, store: Store, key_group: bytes) -> None:
        """Store :meth:`record` (one put)."""
        data = json.dumps(self.record(), sort_keys=True).encode("utf-8")
        store.put(descriptor_key(key_group), data)

    def finish(self, store: Store, key_group: bytes) -> None:
        """Record that every value is in the declared encoding: no ``migrating_from``, no
        ``history``, no ``reframing`` any more (one put). Later declarations need no
        ``migrate=`` and compare with the declared schemas only."""
        self.migrating_from.clear()
        self.history.clear()
        self.reframing = None
        self.write(store, key_group)


#: How one stored entry is rewritten in a state's declared encoding:
#: ``(scope, user_key, data) -> data`` (the same bytes when nothing changes).
Rewrite = Callable[[StoreScope, bytes, bytes], bytes]


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


class _Reconcile:
    """A declaration ``new`` compared with the ``stored`` record of ``(store, key_group)``:
    :meth:`identity` is what older values may hold under it, or raises when they disagree."""

    def __init__(
        self,
        store: Store,
        key_group: bytes,
        stored: dict[str, Any],
        new: dict[str, Any],
        migrate: bool,
    ) -> None:
        self.store = store
        self.key_group = key_group
        self.stored = stored
        self.new = new
        self.migrate = migrate

    def conflict(self, why: str) -> StateConflictError:
        return _conflict(self.store, self.key_group, self.stored, self.new, why)

    def identity(self) -> Identity:
        """The identity of ``new`` (its ``shared`` object is filled in by the caller)."""
        stored, new = self.stored, self.new
        if stored.get("kind") != new["kind"]:
            raise self.conflict("another kind of state")
        old_primary, new_primary = stored.get(PRIMARY_KEY), new[PRIMARY_KEY]
        if (old_primary is None) != (new_primary is None) or (
            old_primary is not None
            and schema_change(old_primary["schema"], new_primary["schema"]) is not None
        ):
            raise self.conflict("primary keys are encoded another way")
        if stored.get("ttl") != new["ttl"]:
            raise self.conflict(
                "its TTL differs (stamped and unstamped values cannot be told apart; use a new "
                "key group or store for the new TTL)"
            )
        if set(stored["codecs"]) != set(new["codecs"]):
            raise self.conflict("other codec roles")
        reframing: dict[str, Any] | None = stored.get("reframing")
        if reframing is not None and stored["codecs"] != new["codecs"]:
            raise self.conflict(
                f"the rewrite of its elements into {shown(stored)} was interrupted; declare it "
                "that way again (with migrate=) to finish it, then change it"
            )
        history = stored.get("history") or {}
        identity = Identity(
            new,
            dict(stored.get("migrating_from") or {}),
            None,
            history={role: list(entries) for role, entries in history.items()},
            reframing=reframing,
        )
        for role, entry in new["codecs"].items():
            self._role(identity, role, entry)
        return identity

    def _role(self, identity: Identity, role: str, entry: dict[str, Any]) -> None:
        """Fold the declaration of ``role`` as ``entry`` into ``identity``."""
        pending, history = identity.migrating_from, identity.history
        current = self.stored["codecs"][role]
        older = [current, *history.get(role, ()), *([pending[role]] if role in pending else [])]
        for old in older:
            reason = schema_change(old["schema"], entry["schema"])
            if reason is None:
                continue
            if old is not current:
                reason += (
                    f" (values written under the earlier {old['signature']} may still hold "
                    "it, as a compatible change never rewrites them)"
                )
            if role not in VALUE_ROLES:
                raise self.conflict(
                    f"{role}: {reason} (the {role} order would change; it cannot be migrated)"
                )
            if not self.migrate:
                raise self.conflict(
                    f"{role}: {reason}; pass migrate= (old value -> new value) to read the old "
                    "values, or first rewrite every value in the schema declared now "
                    "(migrate_all(), or `fssdk state migrate`) so that no older one remains"
                )
            if FRAMED_KINDS.get(self.new["kind"]) == role and identity.reframing is None:
                identity.reframing = self._reframing(role, entry)
            pending.setdefault(role, current)
            break
        kept = [
            old
            for old in [*history.get(role, ()), current]
            if old["schema"] != entry["schema"] and old is not pending.get(role)
        ]
        history[role] = [
            old for i, old in enumerate(kept) if all(o["schema"] != old["schema"] for o in kept[:i])
        ]

    def _reframing(self, role: str, entry: dict[str, Any]) -> dict[str, Any] | None:
        """What :mod:`._migration` needs to rewrite the elements of ``role`` of a list whose
        framing changes with ``entry`` (``None``: it does not); raises when that cannot be done.
        """
        old_size = framing(self.stored["codecs"][role])
        if old_size == entry["fixed_size"]:
            return None
        if old_size == "unknown":
            raise self.conflict(
                f"{role}: its elements may be framed another way, and its descriptor (written "
                "by an older fssdk) does not record how the old ones are"
            )
        if role in (self.stored.get("migrating_from") or {}):
            raise self.conflict(
                f"{role}: its elements would be framed another way ({_framed(old_size)} to "
                f"{_framed(entry['fixed_size'])}) while elements of an earlier migration may "
                "remain; finish that one first (migrate_all(), or `fssdk state migrate`, under "
                "the current declaration), then change the codec"
            )
        return {"role": role, "fixed_size": old_size, "scope": None, "old": None}


def _framed(size: object) -> str:
    return "length-prefixed" if size is None else f"{size} bytes each"


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
    identity = Identity(new, {}, None)
    if stored is not None:
        identity = _Reconcile(store, key_group, stored, new, migrate).identity()
    if identity.record() != stored:
        identity.write(store, key_group)
    if make_shared is not None:
        identity = Identity(
            new,
            identity.migrating_from,
            make_shared(),
            history=identity.history,
            reframing=identity.reframing,
        )
    identities[key_group] = identity
    return identity
