"""``fssdk state export-flink``: the newest sound checkpoint of a state dir, laid out for Flink.

A local store is one sorted key space; on Flink each store is a ``MapState<bytes, bytes>`` per
stream key (:class:`~fssdk.flink.FlinkStore`). This module reads a checkpoint and says, entry by
entry, which key's partition gets what; the bootstrap job (:mod:`fssdk.flink._bootstrap`)
writes it into Flink keyed state and stops with a savepoint. Nothing here needs PyFlink.

- A complex entry ``(kg, key, ns, uk)`` goes to partition ``key``, map key
  ``partition_prefix(kg, key, ns) + uk`` (FlinkStore's own rule); merge operands are folded
  first, which is what FlinkStore's ``merge`` stores.
- Timers of a ``TimerService``: locally one queue per time domain, scope
  ``(EVENT_TIMERS_KEY_GROUP | PROCESSING_TIMERS_KEY_GROUP, b"", b"")``, user keys naming
  ``(timestamp, key, namespace)``. On Flink: per key and timestamp one FlinkTimers entry (the
  sorted namespaces) and one Flink timer of that key.
- The TTL expiry index, scope ``(TTL_INDEX_KEY_GROUP, state key group, b"")``: each entry it
  names, ``(due, primary key, namespace, user key)``, goes to the partition of that primary key
  as an entry key, as FlinkStore keeps it (a batch of entries becomes one entry key each).
- Left out, because Flink has them elsewhere: state descriptors (``IDENTITY_KEY_GROUP``:
  FlinkStore keeps them in memory, and ``init`` declares them again) and a timer service's clock
  (``TIMER_CLOCK_KEY_GROUP``: on Flink the clocks are Flink's).
- Simple keys: a priority queue's sequence counter (``QUEUE_SEQ_PREFIX + kg``) goes to every
  key that has entries in ``kg``; on Flink each key numbers its own elements from it. Any other
  simple key belongs to no stream key, and the export refuses it, naming the store and the key.

The timer and index user keys are encoded by ``fssdk_advanced``, which ``fssdk`` never imports:
a library that writes reserved key groups offers a :class:`ReservedLayouts` through the entry
point group :data:`RESERVED_LAYOUTS` (as ``fssdk state inspect`` finds state views).

Cost: one pass over the checkpoint, in key order; memory holds one line of entries at a time.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import IO, Final, Protocol, TypeVar

from fssdk._context import TimeDomain
from fssdk._keyformat import COMPLEX_TAG, LAYOUT
from fssdk.flink._store import partition_prefix
from fssdk.flink._timers import timer_entry
from fssdk.reserved import (
    EVENT_TIMERS_KEY_GROUP,
    IDENTITY_KEY_GROUP,
    PROCESSING_TIMERS_KEY_GROUP,
    QUEUE_SEQ_PREFIX,
    TIMER_CLOCK_KEY_GROUP,
    TTL_INDEX_KEY_GROUP,
)
from fssdk.runtime._checkpoint import CheckpointInfo, StateDir, check_compatible, verify_copy
from fssdk.runtime._inspect import Snapshot, open_snapshot, show_bytes
from fssdk.runtime._recovery import Warn, newest_sound
from fssdk.runtime._run_errors import StateDirError

#: ``(primary key, entry key)`` of each entry an expiry index entry names.
ExpiryEntries = list[tuple[bytes, bytes]]
#: The entry-point group through which state libraries offer :class:`ReservedLayouts`.
RESERVED_LAYOUTS: Final = "fssdk.reserved_layouts"
#: Most map entries one line of the bootstrap input carries (a key with more takes more lines).
LINE_ENTRIES: Final = 1000

_TIMER_GROUPS: Final = {
    EVENT_TIMERS_KEY_GROUP: TimeDomain.EVENT,
    PROCESSING_TIMERS_KEY_GROUP: TimeDomain.PROCESSING,
}
_LEFT_OUT: Final = (IDENTITY_KEY_GROUP, TIMER_CLOCK_KEY_GROUP)
T = TypeVar("T")


class ReservedLayouts(Protocol):
    """How a state library reads the user keys of its reserved key groups.

    ``fssdk_advanced`` registers one under :data:`RESERVED_LAYOUTS`. Both methods raise
    ``ValueError`` for bytes that do not decode.
    """

    def timer(self, user_key: bytes) -> tuple[int, bytes, bytes]:
        """``(timestamp, key, namespace)`` of a timer queue entry (``*_TIMERS_KEY_GROUP``)."""

    def expiry(self, user_key: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
        """``(primary key, entry key)`` of each entry that an expiry index entry (user key and
        value) names, ordered by primary key: the entries as a store partitioned by key keeps
        them."""


def _timer_of(layout: ReservedLayouts) -> Callable[[bytes], tuple[int, bytes, bytes]]:
    return layout.timer


def _expiry_of(value: bytes) -> Callable[[ReservedLayouts], Callable[[bytes], ExpiryEntries]]:
    def expiry(layout: ReservedLayouts) -> Callable[[bytes], ExpiryEntries]:
        return lambda user_key: layout.expiry(user_key, value)

    return expiry


def reserved_layouts() -> list[ReservedLayouts]:
    """The :class:`ReservedLayouts` of every installed library that offers one."""
    return [entry.load() for entry in entry_points(group=RESERVED_LAYOUTS)]


@dataclass
class Line:
    """One record of the bootstrap job: map entries of one key in one store, and timers."""

    key: bytes
    store: str
    entries: list[tuple[bytes, bytes]] = field(default_factory=list)
    timers: list[tuple[TimeDomain, int]] = field(default_factory=list)

    def encode(self) -> str:
        """``BASE64(key) JSON``: the key first, so the job keys a line without parsing it."""
        document = {
            "store": self.store,
            "entries": [[_b64(key), _b64(value)] for key, value in self.entries],
            "timers": [[str(domain), timestamp] for domain, timestamp in self.timers],
        }
        return f"{_b64(self.key)} {json.dumps(document, separators=(',', ':'))}"

    @classmethod
    def decode(cls, text: str) -> Line:
        """The inverse of :meth:`encode`."""
        key, _, rest = text.partition(" ")
        document = json.loads(rest)
        return cls(
            base64.b64decode(key),
            document["store"],
            [(base64.b64decode(k), base64.b64decode(v)) for k, v in document["entries"]],
            [(TimeDomain(domain), timestamp) for domain, timestamp in document["timers"]],
        )


def line_key(data: bytes) -> bytes:
    """The stream key of an encoded :class:`Line` (the bootstrap job's key selector)."""
    return base64.b64decode(data.partition(b" ")[0])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class ExportSummary:
    """What an export read and wrote."""

    state_dir: str
    checkpoint: CheckpointInfo
    stores: list[str] = field(default_factory=list)
    entries: int = 0
    timers: int = 0
    lines: int = 0
    left_out: int = 0


class _Lines:
    """Gathers consecutive entries of one key and store into lines of at most LINE_ENTRIES."""

    def __init__(self, write: Callable[[Line], None]) -> None:
        self._write = write
        self._line: Line | None = None

    def add(self, key: bytes, store: str, entry: tuple[bytes, bytes]) -> Line:
        """Add ``entry`` to ``key``'s line of ``store``; the line, to add more to."""
        line = self._line
        if (
            line is None
            or line.key != key
            or line.store != store
            or len(line.entries) >= LINE_ENTRIES
        ):
            self.flush()
            line = self._line = Line(key, store)
        line.entries.append(entry)
        return line

    def flush(self) -> None:
        if self._line is not None:
            self._write(self._line)
            self._line = None


def export_lines(snapshot: Snapshot, summary: ExportSummary, write: Callable[[Line], None]) -> None:
    """Write the :class:`Line` s of every store of ``snapshot``, counting into ``summary``.

    ``StateDirError`` names the store and the key of what cannot go to Flink: a simple key
    other than a queue counter, a reserved entry that does not decode.
    """
    layouts = reserved_layouts()
    lines = _Lines(write)
    for store in snapshot.stores:
        summary.stores.append(store)
        counters = _queue_counters(snapshot, store, summary.state_dir)
        previous: tuple[bytes, bytes] | None = None
        timer: tuple[TimeDomain, bytes, int] | None = None
        namespaces: list[bytes] = []
        table = snapshot.table(store)
        for base, value in LAYOUT.fold(table.scan(COMPLEX_TAG, LAYOUT.successor(COMPLEX_TAG))):
            key_group, key, namespace, user_key = LAYOUT.decode_components(base)[:4]
            if key_group in _LEFT_OUT:
                summary.left_out += 1
                continue
            domain = _TIMER_GROUPS.get(key_group)
            if domain is not None:
                timestamp, owner, timer_namespace = _read(
                    layouts, _timer_of, store, key_group, user_key
                )
                if key or namespace:
                    raise _not_library(store, key_group, key, namespace)
                if timer is not None and timer != (domain, owner, timestamp):
                    _write_timer(lines, store, timer, namespaces, summary)
                    namespaces = []
                timer = (domain, owner, timestamp)
                namespaces.append(timer_namespace)
                continue
            if timer is not None:
                _write_timer(lines, store, timer, namespaces, summary)
                timer, namespaces = None, []
            if key_group == TTL_INDEX_KEY_GROUP:
                prefix = partition_prefix(key_group, key, namespace)
                for owner, entry in _read(layouts, _expiry_of(value), store, key_group, user_key):
                    lines.add(owner, store, (LAYOUT.base_key(prefix, entry), b""))
                    summary.entries += 1
                continue
            owner = key
            map_key = LAYOUT.base_key(partition_prefix(key_group, key, namespace), user_key)
            line = lines.add(owner, store, (map_key, value))
            summary.entries += 1
            counter = counters.get(key_group)
            if counter is not None and previous != (key_group, owner):
                line.entries.append((LAYOUT.simple_key(QUEUE_SEQ_PREFIX + key_group), counter))
                summary.entries += 1
            previous = (key_group, owner)
        if timer is not None:
            _write_timer(lines, store, timer, namespaces, summary)
        lines.flush()


def _write_timer(
    lines: _Lines,
    store: str,
    timer: tuple[TimeDomain, bytes, int],
    namespaces: list[bytes],
    summary: ExportSummary,
) -> None:
    domain, key, timestamp = timer
    line = lines.add(key, store, timer_entry(domain, key, timestamp, sorted(namespaces)))
    line.timers.append((domain, timestamp))
    summary.entries += 1
    summary.timers += 1


def _queue_counters(snapshot: Snapshot, store: str, state_dir: str) -> dict[bytes, bytes]:
    """The priority-queue counters of ``store`` by key group; refuses other simple keys."""
    counters: dict[bytes, bytes] = {}
    others = 0
    first = b""
    for physical, value in snapshot.table(store).scan(*LAYOUT.simple_range(b"", b"")):
        key = LAYOUT.simple_key_of(physical)
        if key.startswith(QUEUE_SEQ_PREFIX):
            counters[key[len(QUEUE_SEQ_PREFIX) :]] = value
        else:
            first = key if not others else first
            others += 1
    if others:
        raise StateDirError(
            f"state dir {state_dir!r}: store {store!r} holds {others} simple key(s) "
            f"(put_state), e.g. {show_bytes(first)!r}. A simple key belongs to no stream "
            "key, and on Flink simple keys live in the partition of the key being processed, "
            "so the export cannot tell which key's state it is. Keep such state in complex "
            "keys of the stream key (ComplexKey or a Keyed* state) before exporting"
        )
    return counters


def _read(
    layouts: list[ReservedLayouts],
    read: Callable[[ReservedLayouts], Callable[[bytes], T]],
    store: str,
    key_group: bytes,
    user_key: bytes,
) -> T:
    """A reserved entry's user key, read by the first library that reads it;
    ``StateDirError`` names the entry when none does."""
    problems: list[str] = []
    for layout in layouts:
        try:
            return read(layout)(user_key)
        except ValueError as exc:
            problems.append(str(exc))
    why = "; ".join(problems) or (
        f"no installed library reads it (entry point group {RESERVED_LAYOUTS!r}: install "
        "fssdk with fssdk_advanced)"
    )
    raise StateDirError(
        f"store {store!r}: entry {user_key!r} of reserved key group {key_group!r} cannot be "
        f"exported: {why}"
    )


def _not_library(store: str, key_group: bytes, key: bytes, namespace: bytes) -> StateDirError:
    return StateDirError(
        f"store {store!r}: scope ({key_group!r}, {key!r}, {namespace!r}) is in a timer key "
        "group but is not a TimerService queue (its key and namespace are empty): it was not "
        "written by fssdk_advanced and cannot be exported"
    )


class _ReadOnlyStateDir(StateDir):
    """A state dir that verifies checkpoints through copies in ``scratch``: the export writes
    nothing into the state dir, which a run may hold meanwhile (or the user may not own)."""

    def __init__(self, path: str, scratch: Path) -> None:
        super().__init__(path)
        self._scratch = scratch

    def verify(self, info: CheckpointInfo) -> str | None:
        return verify_copy(info.path, self._scratch / "verifying")


def choose_checkpoint(state_dir: str, warn: Warn) -> CheckpointInfo:
    """The newest sound checkpoint of ``state_dir``: newer damaged ones are reported (and left
    as they are); ``StateDirError`` when there is none."""
    with tempfile.TemporaryDirectory(prefix="fssdk-export-verify-") as scratch:
        state = _ReadOnlyStateDir(state_dir, Path(scratch))
        owner = state.read_state_file() if state.path.is_dir() else None
        if owner is None:
            raise StateDirError(f"{state_dir!r} is not an fssdk state directory")
        check_compatible(owner, state_dir)
        checkpoints = state.complete_checkpoints()
        if not checkpoints:
            raise StateDirError(
                f"state dir {state_dir!r} has no complete checkpoint to export: let a run "
                "finish (or checkpoint) first"
            )
        return newest_sound(state, checkpoints, warn)[0]


def write_bootstrap_input(state_dir: str, target: Path, warn: Warn) -> ExportSummary:
    """Write the bootstrap input of ``state_dir``'s newest sound checkpoint to ``target``."""
    checkpoint = choose_checkpoint(state_dir, warn)
    summary = ExportSummary(state_dir, checkpoint)
    with (
        open_snapshot(state_dir, checkpoint_id=checkpoint.id) as snapshot,
        open(target, "w", encoding="ascii", newline="\n") as handle,
    ):
        export_lines(snapshot, summary, _writer(handle, summary))
    return summary


def _writer(handle: IO[str], summary: ExportSummary) -> Callable[[Line], None]:
    def write(line: Line) -> None:
        handle.write(line.encode() + "\n")
        summary.lines += 1

    return write
