"""``fssdk state inspect``: what a state directory holds, read without disturbing a run
(the report and its printing: :mod:`fssdk.runtime._inspect_report`).

The state is read from the newest complete checkpoint (or one chosen by id, or the live database
when no run holds the directory). The chosen database is first copied to a temporary directory
(hard links for table files) and opened read-only there, so a run may keep checkpointing and
pruning while it is inspected. Entries are read through the store's own table layer and decoded
with the key layout of :mod:`fssdk._keyformat`, whose ``fold`` merges operands into their values
exactly as the store does.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Final, Protocol

from rocksdict import AccessType, Options, Rdict

from fssdk import _keyformat as kf
from fssdk._keyformat import LAYOUT
from fssdk.reserved import IDENTITY_KEY_GROUP
from fssdk.runtime._checkpoint import (
    STATE_FILE,
    CheckpointInfo,
    StateDir,
    copy_database,
    tree_size,
)
from fssdk.runtime._run_errors import StateDirError, UsageError
from fssdk.stores._buffer import WriteBuffer
from fssdk.stores._rocksdb import RocksDBTable

_STORE_PREFIX: Final = "store:"
Pair = tuple[bytes, bytes]


def show_bytes(data: bytes) -> str:
    """``data`` as text when it is printable UTF-8, else as ``hex:...``.

    >>> show_bytes(b"user1"), show_bytes(b"\\x00\\x01"), show_bytes(b"")
    ('user1', 'hex:0001', '')
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + data.hex()
    if text.isprintable() and not text.startswith("hex:"):
        return text
    return "hex:" + data.hex()


def parse_bytes(text: str, option: str) -> bytes:
    """The inverse of :func:`show_bytes` for command-line arguments: ``hex:...`` or UTF-8 text.

    >>> parse_bytes("hex:00ff", "--key"), parse_bytes("user1", "--key")
    (b'\\x00\\xff', b'user1')
    """
    if text.startswith("hex:"):
        try:
            return bytes.fromhex(text[4:])
        except ValueError as exc:
            raise UsageError(f"{option} {text!r}: not valid hex after 'hex:'") from exc
    return text.encode("utf-8")


@dataclass
class KeyGroupStats:
    """Entries of one key group of one store: how many, in how many keys and namespaces."""

    key_group: bytes
    entries: int = 0
    operands: int = 0
    size: int = 0
    keys: set[bytes] = field(default_factory=set)
    namespaces: set[bytes] = field(default_factory=set)


@dataclass
class StoreStats:
    """One store: simple keys, complex entries (merge operands folded), bytes, key groups."""

    name: str
    simple_entries: int = 0
    complex_entries: int = 0
    merge_operands: int = 0
    size: int = 0
    key_groups: dict[bytes, KeyGroupStats] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """An opened, read-only copy of one database of a state directory."""

    label: str
    db: Any
    stores: list[str]

    def family(self, store: str) -> Any:
        """The column family of ``store``; raises UsageError naming the stores that exist."""
        if store not in self.stores:
            shown = ", ".join(self.stores) or "none"
            raise UsageError(f"no store {store!r} in {self.label} (stores: {shown})")
        return self.db.get_column_family(_STORE_PREFIX + store)

    def table(self, store: str) -> RocksDBTable:
        """The table of ``store``, read through the store's own table layer."""
        return RocksDBTable.reading(store, self.family(store))


def describe_state_dir(path: str | Path) -> dict[str, Any]:
    """Ownership, lock and checkpoints of the state directory at ``path``."""
    state = StateDir(path)
    if not state.path.is_dir():
        raise StateDirError(f"state dir {str(path)!r} does not exist")
    owner = state.read_state_file()
    if owner is None:
        raise StateDirError(
            f"{str(path)!r} is not an fssdk state directory (no readable {STATE_FILE})"
        )
    checkpoints = state.complete_checkpoints()
    return {
        "path": str(state.path),
        "owner": owner,
        "locked": state.is_locked(),
        "lock_holder": state.lock_holder(),
        "checkpoints": [
            {
                "id": info.id,
                "records": info.metadata.get("records"),
                "input_position": info.metadata.get("input", {}).get("position"),
                "created": info.metadata.get("created"),
                "bytes": tree_size(info.path),
            }
            for info in checkpoints
        ],
        "live_bytes": tree_size(state.db_path) if state.db_path.is_dir() else None,
    }


def _choose(state: StateDir, checkpoint_id: int | None, live: bool) -> tuple[str, Path]:
    if live:
        if state.is_locked():
            raise StateDirError(
                f"state dir {str(state.path)!r} is in use by a run: its live database changes "
                "under a reader; inspect a checkpoint instead (the default)"
            )
        if not (state.db_path / "CURRENT").is_file():
            raise StateDirError(f"state dir {str(state.path)!r} has no live database")
        return "the live database", state.db_path
    checkpoints: list[CheckpointInfo] = state.complete_checkpoints()
    if not checkpoints:
        raise StateDirError(
            f"state dir {str(state.path)!r} has no complete checkpoint yet (use --live once no "
            "run holds it)"
        )
    if checkpoint_id is None:
        return f"checkpoint {checkpoints[-1].id}", checkpoints[-1].path
    for info in checkpoints:
        if info.id == checkpoint_id:
            return f"checkpoint {info.id}", info.path
    shown = ", ".join(str(info.id) for info in checkpoints)
    raise UsageError(f"no complete checkpoint {checkpoint_id} (there are: {shown})")


@contextlib.contextmanager
def open_snapshot(
    path: str | Path, *, checkpoint_id: int | None = None, live: bool = False
) -> Iterator[Snapshot]:
    """Open a read-only copy of a checkpoint (default: the newest) or of the live database."""
    state = StateDir(path)
    if not state.path.is_dir() or state.read_state_file() is None:
        raise StateDirError(f"{str(path)!r} is not an fssdk state directory")
    with tempfile.TemporaryDirectory(prefix="fssdk-inspect-") as scratch:
        copy = Path(scratch) / "db"
        label, source = _choose(state, checkpoint_id, live)
        try:
            copy_database(source, copy)
        except FileNotFoundError:
            shutil.rmtree(copy, ignore_errors=True)
            label, source = _choose(state, checkpoint_id, live)  # pruned meanwhile: choose again
            copy_database(source, copy)
        families = Rdict.list_cf(str(copy))
        options = Options(raw_mode=True)
        db = Rdict(
            str(copy),
            options,
            column_families={n: Options(raw_mode=True) for n in families if n != "default"},
            access_type=AccessType.read_only(),
        )
        try:
            stores = sorted(
                n[len(_STORE_PREFIX) :] for n in families if n.startswith(_STORE_PREFIX)
            )
            yield Snapshot(label, db, stores)
        finally:
            db.close()


def store_stats(snapshot: Snapshot, store: str) -> StoreStats:
    """Count the entries of ``store`` by kind and key group (one pass over its column family)."""
    stats = StoreStats(store)
    table = snapshot.table(store)
    for physical, value in table.scan(*LAYOUT.simple_range(b"", b"")):
        stats.simple_entries += 1
        stats.size += len(physical) + len(value)
    previous_base: bytes | None = None
    for physical, value in table.scan(kf.COMPLEX_TAG, LAYOUT.successor(kf.COMPLEX_TAG)):
        stats.size += len(physical) + len(value)
        parts = LAYOUT.decode_components(physical)
        group = stats.key_groups.get(parts[0])
        if group is None:
            group = stats.key_groups[parts[0]] = KeyGroupStats(parts[0])
        group.size += len(physical) + len(value)
        group.keys.add(parts[1])
        group.namespaces.add(parts[2])
        if LAYOUT.is_operand(physical):
            stats.merge_operands += 1
            group.operands += 1
        base = LAYOUT.base_of(physical)
        if base != previous_base:
            stats.complex_entries += 1
            group.entries += 1
            previous_base = base
    return stats


def dump_simple(snapshot: Snapshot, store: str, limit: int) -> tuple[list[Pair], int]:
    """Up to ``limit`` simple ``(key, value)`` entries of ``store``, and how many there are."""
    shown: list[Pair] = []
    total = 0
    for physical, value in snapshot.table(store).scan(*LAYOUT.simple_range(b"", b"")):
        total += 1
        if len(shown) < limit:
            shown.append((LAYOUT.simple_key_of(physical), value))
    return shown, total


def dump_scope(
    snapshot: Snapshot, store: str, *, key_group: bytes, key: bytes, namespace: bytes, limit: int
) -> tuple[list[Pair], int]:
    """Up to ``limit`` ``(user_key, value)`` of one scope, operands folded, and the scope's size."""
    prefix = LAYOUT.scope_prefix(key_group, key, namespace)
    shown: list[Pair] = []
    total = 0
    entries = snapshot.table(store).scan(*LAYOUT.user_range(prefix, b"", b""))
    for base, value in LAYOUT.fold(entries):
        total += 1
        if len(shown) < limit:
            shown.append((LAYOUT.user_key(base, len(prefix)), value))
    return shown, total


# -- values shown through the state library's descriptors ---------------------------------------


class StateView(Protocol):
    """How a state library shows one key group's primary keys and entries, given the descriptor
    it stored at ``ComplexKey(IDENTITY_KEY_GROUP, key_group, b"", b"")``.

    A library offers views through the :data:`STATE_VIEWS` entry-point group: a callable that
    takes the descriptor's bytes and returns a view, or raises ``ValueError`` for a descriptor
    that is not its own (fssdk_advanced registers ``StateView.from_descriptor``). So inspect
    decodes typed state without fssdk importing the library.
    """

    @property
    def kind(self) -> str:
        """The state's kind (``"MapState"``, ...)."""

    def primary_key(self, key: bytes) -> Any:
        """``key`` decoded with the state's key codec."""

    def entry(self, user_key: bytes, value: bytes) -> tuple[Any, Any]:
        """One entry as ``(what addresses it, its value)``, decoded (without expiry stamps)."""

    def expiry(self, user_key: bytes, value: bytes) -> Any:
        """When the entry's value expires, in the state's TTL unit (a list: per element), or
        ``None`` for a state without TTL."""


#: The entry-point group through which state libraries offer :class:`StateView` s.
STATE_VIEWS: Final = "fssdk.state_views"


def _view_makers() -> list[Callable[[bytes], StateView]]:
    return [entry.load() for entry in entry_points(group=STATE_VIEWS)]


def state_views(snapshot: Snapshot, store: str) -> dict[bytes, StateView]:
    """The :class:`StateView` of every key group of ``store`` whose descriptor a library that
    is installed reads. A descriptor none reads is left out (its key group then shows as bytes).
    """
    makers = _view_makers()
    head = LAYOUT.group_head(IDENTITY_KEY_GROUP)
    views: dict[bytes, StateView] = {}
    for base, value in LAYOUT.fold(snapshot.table(store).scan(head, LAYOUT.successor(head))):
        _, key_group, _, user_key = LAYOUT.decode_components(base)
        if user_key:
            continue
        for make in makers:
            with contextlib.suppress(ValueError):
                views[key_group] = make(value)
                break
    return views


def list_keys(
    snapshot: Snapshot, store: str, key_group: bytes, namespace: bytes | None, limit: int
) -> tuple[list[bytes], int]:
    """Up to ``limit`` distinct primary keys of ``key_group`` (holding state in ``namespace``
    when given), ascending, and how many there are: the store's own skip-scan, one seek per key."""
    buffer = WriteBuffer(snapshot.table(store))
    keys = buffer.keys(buffer.group(key_group), namespace)
    shown = list(itertools.islice(keys, limit))
    total = len(shown) + sum(1 for _ in keys)
    return shown, total


def shown_value(value: Any) -> Any:
    """A decoded value as JSON data: bytes as :func:`show_bytes`, tuples as lists.

    >>> shown_value({"a": (1, b"\\x00")})
    {'a': [1, 'hex:00']}
    """
    if isinstance(value, bytes):
        return show_bytes(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [shown_value(item) for item in value]
    if isinstance(value, dict):
        return {
            k if isinstance(k, str) else json.dumps(shown_value(k)): shown_value(v)
            for k, v in value.items()
        }
    return value


def value_text(value: Any) -> str:
    """A decoded value for a table: numbers and text as they are, tuples as ``(a, b)``, other
    structures as JSON.

    >>> value_text(("eu", 3)), value_text(7), value_text({"x": 1}), value_text(b"\\x01")
    ('("eu", 3)', '7', '{"x": 1}', 'hex:01')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return "(" + ", ".join(json.dumps(shown_value(item)) for item in value) + ")"
    shown = shown_value(value)
    return shown if isinstance(shown, str) else json.dumps(shown)
