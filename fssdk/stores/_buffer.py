"""WriteBuffer: pending writes in front of any :class:`~fssdk.stores._table.Table`.

The buffer holds puts, deletes, merges and prefix (range) deletes per scope, answers ``get`` and
every scan by reading through to the table, and writes everything as one atomic batch on flush.
No read flushes.

* A scope's writes live in a dict (physical key -> bytes, ``None`` for a delete, or a
  :class:`_Merge`), the same dict for the scope's whole life. Ordered reads of the scope (a
  scan, ``first``, a prefix delete) sort its few keys; the first one that finds more than
  :data:`ORDERED_AT` builds a sorted index of its keys, which writes then keep up to date, so
  ordered reads cost O(log n + range) and a scope nobody reads in order pays nothing for it.
* A prefix delete drops the buffered entries under it and is remembered as a *cleared* prefix;
  reads treat table keys under it as gone. Nested prefixes are merged, so repeating
  ``clear()`` keeps one pending range per scope and costs O(buffered entries of the scope).
* On flush a cleared range becomes one range delete, unless the same range was range-deleted
  recently (the last :data:`RECENT_RANGES` of them): then, when its table part holds at most
  :data:`SMALL_RANGE` entries, it becomes point deletes (one bounded seek). RocksDB range
  tombstones piling up over the same keys in a memtable make every later read of those keys
  slower (issue 9: a ``put``/``clear``/``get`` loop took 16 s for 10 000 rounds); point
  tombstones do not. The loop now takes 0.2 s without flushes and 0.6 ms per round with a flush
  after every round, flat in the number of rounds.
* Merge operands are tracked per key group (:class:`KeyGroup`): a get in a group that never had
  operands on disk is one point lookup, whatever other groups of the store do.
* A savepoint (:meth:`WriteBuffer.savepoint`) makes the writes after it undoable: each write
  logs what it replaces, :meth:`WriteBuffer.rollback` puts it back, :meth:`WriteBuffer.release`
  keeps the writes. Flushes wait for the release, since a flushed write cannot be taken back.
  ``fssdk run --on-error skip`` holds one around each record. Cost while none is held: one test
  per write; while one is: one tuple appended per write.
* Before-flush hooks (:meth:`WriteBuffer.before_flush`, the store's ``on_flush``) run once, at
  the start of the next flush that writes, outside any savepoint, and what they write goes into
  that flush's batch: an automatic flush their own writes would trigger waits for it.
"""

from __future__ import annotations

import bisect
import itertools
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable
from collections.abc import Iterator as PyIterator
from typing import Any, Final

from sortedcontainers import SortedList

from fssdk._keyformat import (
    LAYOUT,
    META_MERGE_SEQ,
    META_OPERANDS_TRACKED,
    SEQ_BYTES,
    SIMPLE_TAG,
    Pair,
)
from fssdk.stores._table import Seek, Table, TableWriter
from fssdk.thresholds import threshold

#: Buffered writes (merge operands included) after which a buffer flushes on its own. Lowered
#: to 8, a buffer between two automatic flushes still holds a scope past the lowered ORDERED_AT
#: next to a prefix delete and merges in other scopes.
AUTO_FLUSH_WRITES: Final = threshold(__name__, "AUTO_FLUSH_WRITES", 32_768, smallest=8)
#: A cleared range holding at most this many table entries may be written as point deletes.
SMALL_RANGE: Final = threshold(__name__, "SMALL_RANGE", 16, smallest=1)
#: How many recently range-deleted ranges a buffer remembers (see the module docstring).
RECENT_RANGES: Final = threshold(__name__, "RECENT_RANGES", 4096, smallest=1)
#: Buffered entries of one scope above which they are kept sorted.
ORDERED_AT: Final = threshold(__name__, "ORDERED_AT", 64, smallest=1)
#: A read that meets merge operands buffers the folded value as the new base once it is more
#: than this many times the base (the operands outgrew it): each byte is rewritten O(1) times.
FOLD_RATIO: Final = threshold(__name__, "FOLD_RATIO", 2, smallest=1)

_MISSING: Final = object()
_KEEP: Final = object()
# What a write under a savepoint logs, to be undone in reverse order.
_ENTRY: Final = 0  # (_ENTRY, scope, physical, what the entry was, or _MISSING)
_OPERANDS: Final = 1  # (_OPERANDS, merge, how many operands it had)
_CLEARED: Final = 2  # (_CLEARED, scope, its cleared prefixes before)
_SCOPE: Final = 3  # (_SCOPE, prefix): the scope was created

_successor: Final = LAYOUT.successor
_operands_of: Final = LAYOUT.operands_of


class _Merge:
    """Buffered appends to one key: ``base`` is the value they go onto.

    ``base`` is ``_KEEP`` (whatever the table holds), ``None`` (deleted in this buffer) or the
    bytes put in this buffer.
    """

    __slots__ = ("base", "operands")

    def __init__(self, base: object, operand: bytes) -> None:
        self.base = base
        self.operands = [operand]


class KeyGroup:
    """One key group of a buffered store; ``operands`` is True once it has operands on disk."""

    __slots__ = ("head", "operands")

    def __init__(self, head: bytes, operands: bool) -> None:
        self.head: Final = head
        self.operands = operands


class ScopeWrites:
    """The pending writes of one scope (or of the simple keys).

    ``entries`` is one dict for the scope's whole life, so a caller may hold it across any call.
    ``ordered`` is ``None``, or (once an ordered read found more than :data:`ORDERED_AT`
    entries) the keys of ``entries`` sorted: whoever adds a key to ``entries`` adds it there
    too, and :meth:`drop` removes keys from both.
    """

    __slots__ = ("cleared", "entries", "group", "ordered")

    def __init__(self, group: KeyGroup) -> None:
        self.group: Final = group
        self.entries: Final[dict[bytes, object]] = {}
        self.ordered: SortedList[bytes] | None = None
        self.cleared: list[bytes] = []

    def keys_in(self, low: bytes, high: bytes, reverse: bool = False) -> Iterable[bytes]:
        """The buffered keys in ``[low, high)``, sorted (descending with ``reverse``); lazy once
        the keys are indexed, so the caller must not write to the scope while reading it."""
        ordered = self.ordered
        if ordered is None:
            entries = self.entries
            if len(entries) <= ORDERED_AT:
                return sorted((k for k in entries if low <= k < high), reverse=reverse)
            ordered = self.ordered = SortedList(entries)
        return ordered.irange(low, high, inclusive=(True, False), reverse=reverse)

    def drop(self, low: bytes, high: bytes) -> None:
        """Forget the buffered entries in ``[low, high)``. O(log n + dropped)."""
        entries = self.entries
        for physical in list(self.keys_in(low, high)):
            del entries[physical]
        ordered = self.ordered
        if ordered is not None:
            del ordered[ordered.bisect_left(low) : ordered.bisect_left(high)]

    def restore(self, physical: bytes, before: object) -> None:
        """Put back what ``physical`` held before a write (``_MISSING``: nothing); for rollback."""
        entries, ordered = self.entries, self.ordered
        if before is _MISSING:
            if entries.pop(physical, _MISSING) is not _MISSING and ordered is not None:
                ordered.remove(physical)
            return
        if ordered is not None and physical not in entries:
            ordered.add(physical)
        entries[physical] = before

    def covers(self, physical: bytes) -> bool:
        """True when a pending prefix delete covers ``physical``."""
        return any(physical.startswith(low) for low in self.cleared)


class _Frozen:
    """A buffered merge as it was when a scan started: base and joined operands."""

    __slots__ = ("base", "tail")

    def __init__(self, pending: _Merge) -> None:
        self.base = pending.base
        self.tail = b"".join(pending.operands)


def _freeze(pending: object) -> object:
    return _Frozen(pending) if type(pending) is _Merge else pending


def _resolve(pending: object, stored: bytes | None) -> bytes | None:
    """The value a frozen buffered entry gives a key whose table value is ``stored``."""
    if type(pending) is not _Frozen:
        return pending  # type: ignore[return-value]
    base = stored if pending.base is _KEEP else pending.base
    return (base or b"") + pending.tail  # type: ignore[operator,no-any-return]


class WriteBuffer:
    """Pending writes over ``table``; reads go through it, ``flush`` writes one atomic batch.

    All keys are physical keys built by :data:`fssdk._keyformat.LAYOUT`; ``prefix`` is the scope
    prefix (``SIMPLE_TAG`` for simple keys) under which a write is filed.

    Counters for tests and tools: ``range_deletes`` (range deletes written), ``operand_reads``
    (gets that had to look for merge operands).

    Merge operands are numbered by a counter kept under ``FF merge-seq``. By default each batch
    with operands writes the last number used, so a store restored from a snapshot numbers
    later operands exactly as the store it was taken from did. With ``seq_block``, for a table
    whose writes are applied one by one, the counter holds a bound reserved ``seq_block``
    numbers at a time and written before the operands that use it: one counter write per
    ``seq_block`` operands, and never an operand above the bound on disk.
    """

    def __init__(self, table: Table, seq_block: int | None = None) -> None:
        self.table = table
        self.scopes: dict[bytes, ScopeWrites] = {}
        self.groups: dict[bytes, KeyGroup] = {}
        self.writes = 0
        self.range_deletes = 0
        self.operand_reads = 0
        seq = table.get(META_MERGE_SEQ)
        self._seq = int.from_bytes(seq, "big") if seq is not None else 0
        # With a seq_block, FF merge-seq holds a bound of the numbers used, reserved seq_block
        # at a time (see write_to); without one, the last number used.
        self._seq_block = seq_block
        self._seq_limit = self._seq_reserved = self._seq  # the bound on disk, in the batch
        low, high = LAYOUT.operand_groups_range()
        marked = {LAYOUT.head_of_marker(key) for key, _ in table.scan(low, high)}
        self._marked = marked
        # A store written before operands were tracked per group: every group may hold some.
        self._tracked = table.get(META_OPERANDS_TRACKED) is not None
        self._legacy = seq is not None and not self._tracked
        self.simple = KeyGroup(SIMPLE_TAG, False)
        # An OrderedDict, not a dict: a dict's first key is found past every key deleted before
        # it, so evicting the oldest of a full dict cost O(RECENT_RANGES) per range delete.
        self._recent: OrderedDict[bytes, None] = OrderedDict()
        self._undo: list[tuple[Any, ...]] | None = None
        self._writes_at_savepoint = 0
        self._flush_deferred = False
        self._hooks: list[Callable[[], None]] = []
        self._preparing = False

    def __bool__(self) -> bool:
        return bool(self.scopes)

    # -- savepoints --------------------------------------------------------------------------

    def savepoint(self) -> None:
        """Start logging writes so that :meth:`rollback` can undo them (one savepoint at a time;
        a new one releases the previous)."""
        self.release()
        self._undo = []
        self._writes_at_savepoint = self.writes

    def rollback(self) -> bool:
        """Undo every write since the savepoint, and end it; whether it undid any. Costs
        O(writes undone)."""
        undo, self._undo = self._undo, None
        if undo is None:
            return False
        for step in reversed(undo):
            kind = step[0]
            if kind == _ENTRY:
                _, scope, physical, before = step
                scope.restore(physical, before)
            elif kind == _OPERANDS:
                del step[1].operands[step[2] :]
            elif kind == _CLEARED:
                step[1].cleared = step[2]
            else:
                del self.scopes[step[1]]
        self.writes = self._writes_at_savepoint
        self._flush_deferred = False
        return bool(undo)

    def release(self) -> None:
        """Keep the writes since the savepoint and end it; a flush it held back happens now."""
        if self._undo is None:
            return
        self._undo = None
        if self._flush_deferred or self.writes >= AUTO_FLUSH_WRITES:
            self._flush_deferred = False
            self.flush()

    @property
    def in_savepoint(self) -> bool:
        """True between :meth:`savepoint` and :meth:`rollback` or :meth:`release`."""
        return self._undo is not None

    # -- before-flush hooks ------------------------------------------------------------------

    def before_flush(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` once, at the start of the next flush (see the module docstring)."""
        self._hooks.append(hook)

    def prepare(self) -> None:
        """Run the before-flush hooks, each once, and forget them: the first step of every
        flush, and of a backend's that writes this buffer through :meth:`write_to`. Never under
        a savepoint (a flush waits for the release; a backend refuses to flush under one). A
        hook registered while they run waits for the next flush; if one raises, it and those
        after it stay registered."""
        if not self._hooks or self._preparing:
            return
        self._preparing = True
        hooks, self._hooks = self._hooks, []
        done = 0
        try:
            for hook in hooks:
                hook()
                done += 1
        finally:
            if done < len(hooks):
                self._hooks[:0] = hooks[done:]
            self._preparing = False

    # -- key groups and scopes ---------------------------------------------------------------

    def group(self, key_group: bytes) -> KeyGroup:
        """The :class:`KeyGroup` of ``key_group`` (one object per group, shared by its scopes)."""
        group = self.groups.get(key_group)
        if group is None:
            head = LAYOUT.group_head(key_group)
            group = KeyGroup(head, self._legacy or head in self._marked)
            self.groups[key_group] = group
        return group

    def _new_scope(self, prefix: bytes, group: KeyGroup) -> ScopeWrites:
        scope = self.scopes[prefix] = ScopeWrites(group)
        if self._undo is not None:
            self._undo.append((_SCOPE, prefix))
        return scope

    # -- writes ------------------------------------------------------------------------------

    def wrote(self) -> None:
        """Count one buffered write; flush when the buffer is full (after a savepoint ends)."""
        self.writes += 1
        if self.writes >= AUTO_FLUSH_WRITES and self._undo is None:
            self.flush()

    def put(self, prefix: bytes, group: KeyGroup, physical: bytes, value: bytes | None) -> None:
        """Buffer a put (``value``) or a delete (``None``) of ``physical``."""
        scope = self.scopes.get(prefix)
        if scope is None:  # as _new_scope, inline: most keyed writes are a scope's first
            scope = self.scopes[prefix] = ScopeWrites(group)
            if self._undo is not None:
                self._undo.append((_SCOPE, prefix))
        entries = scope.entries
        if self._undo is not None:
            self._undo.append((_ENTRY, scope, physical, entries.get(physical, _MISSING)))
        if scope.ordered is not None and physical not in entries:
            scope.ordered.add(physical)
        entries[physical] = value
        self.writes += 1  # as wrote(), inline: this is every buffered put
        if self.writes >= AUTO_FLUSH_WRITES and self._undo is None:
            self.flush()

    def merge(self, prefix: bytes, group: KeyGroup, physical: bytes, value: bytes) -> None:
        """Buffer an append of ``value`` to ``physical``; never reads.

        Inline like :meth:`put` (every list add and TTL index record is one): one frame.
        """
        scope = self.scopes.get(prefix)
        if scope is None:
            scope = self._new_scope(prefix, group)
        pending = scope.entries.get(physical, _MISSING)
        undo = self._undo
        if type(pending) is _Merge:
            if undo is not None:
                undo.append((_OPERANDS, pending, len(pending.operands)))
            pending.operands.append(value)
        else:
            if undo is not None:
                undo.append((_ENTRY, scope, physical, pending))
            if pending is _MISSING:
                pending = None if scope.cleared and scope.covers(physical) else _KEEP
                if scope.ordered is not None:
                    scope.ordered.add(physical)
            scope.entries[physical] = _Merge(pending, value)
        self.writes += 1  # as wrote(), inline
        if self.writes >= AUTO_FLUSH_WRITES and self._undo is None:
            self.flush()

    def delete_prefix(self, prefix: bytes, group: KeyGroup, low: bytes) -> None:
        """Buffer the delete of every key starting with ``low`` (which starts with ``prefix``).

        Costs O(log n + buffered entries under ``low``); nothing is read from the table.
        """
        scope = self.scopes.get(prefix)
        undo = self._undo
        if scope is None:  # nothing buffered: the clear is all there is to record (inline, as put)
            scope = self.scopes[prefix] = ScopeWrites(group)
            scope.cleared = [low]
            if undo is not None:  # undone by forgetting the new scope
                undo.append((_SCOPE, prefix))
            self.writes += 1
            if self.writes >= AUTO_FLUSH_WRITES and undo is None:
                self.flush()
            return
        high = _successor(low)
        if undo is not None:
            entries = scope.entries
            for physical in scope.keys_in(low, high):
                undo.append((_ENTRY, scope, physical, entries[physical]))
        scope.drop(low, high)
        if not scope.covers(low):
            if undo is not None:
                undo.append((_CLEARED, scope, scope.cleared))
            scope.cleared = [c for c in scope.cleared if not c.startswith(low)]
            scope.cleared.append(low)
        self.wrote()

    # -- reads -------------------------------------------------------------------------------

    def get(self, prefix: bytes, group: KeyGroup, physical: bytes) -> bytes | None:
        """The value of ``physical``: buffered, else the table's (operands folded)."""
        scope = self.scopes.get(prefix)
        if scope is not None:
            pending = scope.entries.get(physical, _MISSING)
            if pending is not _MISSING:
                if type(pending) is not _Merge:
                    return pending  # type: ignore[return-value]
                base = self.read(prefix, group, physical) if pending.base is _KEEP else pending.base
                return (base or b"") + b"".join(pending.operands)  # type: ignore[operator,no-any-return]
            if scope.cleared and scope.covers(physical):
                return None
        if not group.operands:
            return self.table.get(physical)
        return self.read(prefix, group, physical)

    def read(self, prefix: bytes, group: KeyGroup, physical: bytes) -> bytes | None:
        """The table's value of ``physical`` with its operands folded in.

        When the operands outgrow the base (:data:`FOLD_RATIO`), the folded value is buffered as
        the new base (the flush then erases the operands), so each byte is rewritten O(1) times
        amortised.
        """
        if not group.operands:
            return self.table.get(physical)
        self.operand_reads += 1
        entries = self.table.run(physical, _operands_of(physical)[1])
        if not entries:
            return None
        base = entries[0][1] if entries[0][0] == physical else b""
        if len(entries) == 1:
            return base if entries[0][0] == physical else entries[0][1]
        value = b"".join([pair[1] for pair in entries])
        scope = self.scopes.get(prefix)
        if len(value) > FOLD_RATIO * len(base) and (scope is None or physical not in scope.entries):
            self.put(prefix, group, physical, value)
        return value

    def first(self, prefix: bytes, group: KeyGroup, low: bytes, high: bytes) -> Pair | None:
        """The first live ``(base key, value)`` in ``[low, high)``, or ``None``.

        One bounded seek on the table (plus one per key deleted in the buffer in front of it).
        """
        scope = self.scopes.get(prefix)
        if scope is None:
            if not group.operands:
                found = self.table.run(low, high, 1)
                return found[0] if found else None
            return next(self.scan(prefix, group, low, high), None)
        buffered: tuple[bytes, bytes] | None = None
        for physical in scope.keys_in(low, high):
            value = self.get(prefix, group, physical)
            if value is not None:
                buffered = physical, value
                break
        stored = self._first_stored(prefix, group, scope, low, buffered[0] if buffered else high)
        return stored if stored is not None else buffered

    def take(
        self, prefix: bytes, group: KeyGroup, low: bytes, high: bytes, limit: int
    ) -> list[Pair]:
        """The first ``limit`` live ``(base key, value)`` of ``[low, high)`` inside one scope.

        One bounded table read of ``limit`` plus the scope's buffered keys in the range (each
        can hide at most one table entry), merged with those keys directly: no merged scan is
        built. A scope with a pending prefix delete or merges, or a group with operands on
        disk, takes :meth:`scan` instead.
        """
        scope = self.scopes.get(prefix)
        if scope is None or scope.cleared or group.operands:
            return list(itertools.islice(self.scan(prefix, group, low, high), limit))
        entries = scope.entries
        buffered = scope.keys_in(low, high)
        if not isinstance(buffered, list):  # an index's lazy range: copy it before reading
            buffered = list(buffered)
        found = self.table.run(low, high, limit + len(buffered))
        if not buffered:
            return found
        merged = dict(found)
        # A truncated read knows the table only up to its last key: later buffered keys wait.
        last = found[-1][0] if len(found) == limit + len(buffered) else None
        for physical in buffered:
            value = entries[physical]
            if type(value) is _Merge:
                return list(itertools.islice(self.scan(prefix, group, low, high), limit))
            if last is not None and physical > last:
                continue
            if value is None:
                merged.pop(physical, None)
            else:
                merged[physical] = value  # type: ignore[assignment]
        return sorted(merged.items())[:limit]

    def _first_stored(
        self, prefix: bytes, group: KeyGroup, scope: ScopeWrites, low: bytes, high: bytes
    ) -> Pair | None:
        """The first table entry in ``[low, high)`` that the buffer does not delete or change."""
        while True:
            found = self.table.run(low, high, 1)
            if not found:
                return None
            base = LAYOUT.base_of(found[0][0])
            cleared = next((c for c in scope.cleared if base.startswith(c)), None)
            if cleared is not None:
                low = _successor(cleared)
                continue
            if base in scope.entries:  # buffered: deleted, or known to the caller already
                low = _operands_of(base)[1]
                continue
            value = self.read(prefix, group, base)
            if value is None:
                low = _operands_of(base)[1]
                continue
            return base, value

    def scan(
        self, prefix: bytes, group: KeyGroup, low: bytes, high: bytes, reverse: bool = False
    ) -> PyIterator[Pair]:
        """Stream live ``(base key, value)`` of ``[low, high)`` inside one scope.

        The table side streams; the scope's buffered entries of the range and its cleared
        prefixes are copied when the scan is made, so later writes do not change it.
        """
        scope = self.scopes.get(prefix)
        table = self.table
        if scope is None:
            stream = table.scan(low, high, reverse)
            return LAYOUT.fold(stream, reverse) if group.operands else stream
        gaps = _gaps(low, high, scope.cleared)
        if reverse:
            gaps.reverse()
        streams = [table.scan(gap_low, gap_high, reverse) for gap_low, gap_high in gaps]
        stream = streams[0] if len(streams) == 1 else itertools.chain.from_iterable(streams)
        if group.operands:
            stream = LAYOUT.fold(stream, reverse)
        entries = scope.entries
        pending = [
            (physical, _freeze(entries[physical])) for physical in scope.keys_in(low, high, reverse)
        ]
        if not pending:
            return stream
        return _overlay(stream, pending, reverse)

    def keys(self, group: KeyGroup, namespace: bytes | None) -> Generator[bytes, None, None]:
        """The distinct primary keys with live entries in ``group``, ascending (skip-scan).

        With ``namespace``, only the keys with entries in that namespace. Per key: one seek past
        its entries on the table, and (with a namespace) one bounded seek into its scope. The
        table snapshot and the group's buffered writes are taken by this call.
        """
        return _skip_scan(group.head, namespace, *self._listing(group.head))

    def scope_keys(self, group: KeyGroup) -> Generator[tuple[bytes, bytes], None, None]:
        """The ``(primary key, namespace)`` of every scope with live entries in ``group``,
        ascending (skip-scan: one seek per scope on the table). Snapshots as :meth:`keys`."""
        return _skip_scopes(group.head, *self._listing(group.head))

    def _listing(self, head: bytes) -> tuple[Seek, dict[bytes, _Snapshot], list[bytes]]:
        """A table snapshot's seek over the group with ``head``, and copies of its buffered
        scopes and of their live keys (sorted): what a listing of the group reads."""
        seek = self.table.seeker(_successor(head))
        frozen = {
            prefix: _Snapshot(scope)
            for prefix, scope in self.scopes.items()
            if prefix.startswith(head)
        }
        live = sorted(
            physical
            for snapshot in frozen.values()
            for physical, value in snapshot.entries.items()
            if value is not None
        )
        return seek, frozen, live

    # -- flush -------------------------------------------------------------------------------

    def write_to(self, writer: TableWriter) -> None:
        """Add every pending write to ``writer``'s batch; the caller writes it, then ``reset``.

        Cleared ranges come first, so the entries buffered after a prefix delete survive it.
        """
        operand_of = LAYOUT.operand_after
        self._seq_reserved = self._seq_limit
        for scope in self.scopes.values():
            group = scope.group
            for low in scope.cleared:
                self._erase(writer, low, _successor(low))
            for physical, pending in scope.entries.items():
                value = pending
                if type(pending) is _Merge:
                    operand = b"".join(pending.operands)
                    if pending.base is _KEEP:
                        self._seq += 1
                        if self._seq_block is not None and self._seq > self._seq_reserved:
                            self._reserve(writer, self._seq_block)
                        writer.put(operand_of(physical, self._seq), operand)
                        if not group.operands:
                            group.operands = True
                            writer.put(LAYOUT.operand_group_key(group.head), b"")
                        continue
                    value = (pending.base or b"") + operand  # type: ignore[operator]
                if group.operands and not (scope.cleared and scope.covers(physical)):
                    self._erase(writer, *_operands_of(physical))
                if value is None:
                    writer.delete(physical)
                else:
                    writer.put(physical, value)  # type: ignore[arg-type]
        if self._seq_block is None and self._seq != self._seq_limit:
            self._seq_reserved = self._seq
            self._write_seq(writer, self._seq)

    def _reserve(self, writer: TableWriter, block: int) -> None:
        """Write a new bound of the merge sequence, before the operand that needs it: a table
        that applies writes one by one never holds an operand above the bound it holds."""
        self._seq_reserved = self._seq - 1 + block
        self._write_seq(writer, self._seq_reserved)

    def _write_seq(self, writer: TableWriter, seq: int) -> None:
        writer.put(META_MERGE_SEQ, seq.to_bytes(SEQ_BYTES, "big"))
        if not self._legacy and not self._tracked:
            # Once: a failed batch leaves the store looking legacy, which reads it correctly.
            writer.put(META_OPERANDS_TRACKED, b"")
            self._tracked = True

    def _erase(self, writer: TableWriter, low: bytes, high: bytes) -> None:
        """Delete the table's entries in ``[low, high)``: one range delete, or point deletes
        when the range was range-deleted recently and holds few entries."""
        recent = self._recent
        if low in recent:
            found = self.table.run(low, high, SMALL_RANGE + 1)
            if len(found) <= SMALL_RANGE:
                for physical, _ in found:
                    writer.delete(physical)
                return
        writer.delete_range(low, high)
        self.range_deletes += 1
        recent[low] = None
        if len(recent) > RECENT_RANGES:
            recent.popitem(last=False)

    def reset(self) -> None:
        """Forget the pending writes once the batch holding them is written."""
        self.scopes = {}
        self.writes = 0
        self._seq_limit = self._seq_reserved

    def discard(self) -> None:
        """Forget the pending writes without writing them (the merge counter stays as it is)."""
        self.scopes = {}
        self.writes = 0

    def flush(self) -> None:
        """Write the pending writes to the table in one atomic batch (under a savepoint: when
        it ends)."""
        if self._undo is not None:
            self._flush_deferred = True
            return
        if self._preparing:  # a hook's write filled the buffer: the flush running it writes all
            return
        self.prepare()
        if self.scopes:
            self.table.write(self.write_to)
            self.reset()

    def _check(self) -> None:
        """Assert the buffer's invariants (for stress tests and the conformance machines)."""
        assert self.writes <= AUTO_FLUSH_WRITES or self._undo is not None
        for prefix, scope in self.scopes.items():
            assert prefix == SIMPLE_TAG or prefix.startswith(scope.group.head), prefix
            if scope.ordered is not None:
                scope.ordered._check()  # type: ignore[attr-defined]
                assert list(scope.ordered) == sorted(scope.entries), prefix
            for low in scope.cleared:
                assert low.startswith(prefix), (prefix, low)
                others = [c for c in scope.cleared if c != low]
                assert not any(low.startswith(c) for c in others), scope.cleared
            for physical, pending in scope.entries.items():
                assert physical.startswith(prefix), (prefix, physical)
                if prefix != SIMPLE_TAG:
                    assert not LAYOUT.is_operand(physical), physical
                    assert LAYOUT.base_of(physical) == physical, physical
                if type(pending) is _Merge:
                    assert pending.operands
                    assert all(type(op) is bytes for op in pending.operands)
                    assert pending.base is not _KEEP or not scope.covers(physical), physical
                    assert pending.base in (_KEEP, None) or type(pending.base) is bytes
                else:
                    assert pending is None or type(pending) is bytes, pending


def _skip_scan(
    head: bytes,
    namespace: bytes | None,
    seek: Seek,
    frozen: dict[bytes, _Snapshot],
    live: list[bytes],
) -> Generator[bytes, None, None]:
    low = head
    while (found := _first_live(seek, frozen, live, low)) is not None:
        key = LAYOUT.key_of(found, len(head))
        scope = None if namespace is None else LAYOUT.scope_of(head, key, namespace)
        if scope is None or _scope_live(seek, frozen, scope):
            yield key
        low = _successor(LAYOUT.key_prefix(head, key))


def _skip_scopes(
    head: bytes, seek: Seek, frozen: dict[bytes, _Snapshot], live: list[bytes]
) -> Generator[tuple[bytes, bytes], None, None]:
    low = head
    while (found := _first_live(seek, frozen, live, low)) is not None:
        key, namespace = LAYOUT.scope_key_of(found, len(head))
        yield key, namespace
        low = _successor(LAYOUT.scope_of(head, key, namespace))


def _first_live(
    seek: Seek, frozen: dict[bytes, _Snapshot], live: list[bytes], low: bytes
) -> bytes | None:
    """The first live physical key at or after ``low``, buffered or stored."""
    at = bisect.bisect_left(live, low)
    candidates = [live[at]] if at < len(live) else []
    stored = _live_stored(seek, frozen, low, None)
    if stored is not None:
        candidates.append(stored)
    return min(candidates) if candidates else None


class _Snapshot:
    """A scope's buffered entries and cleared prefixes, copied for a key listing."""

    __slots__ = ("cleared", "entries")

    def __init__(self, scope: ScopeWrites) -> None:
        self.entries = dict(scope.entries)
        self.cleared = list(scope.cleared)


def _live_stored(
    seek: Seek, frozen: dict[bytes, _Snapshot], low: bytes, high: bytes | None
) -> bytes | None:
    """The first table key in ``[low, high)`` that the copied buffer does not delete."""
    while True:
        found = seek(low)
        if found is None or (high is not None and found[0] >= high):
            return None
        physical = found[0]
        base = LAYOUT.base_of(physical)
        snapshot = frozen.get(_scope_of_base(base)) if frozen else None
        if snapshot is None:
            return physical
        covering = next((c for c in snapshot.cleared if base.startswith(c)), None)
        if covering is not None:
            low = _successor(covering)
        elif base in snapshot.entries and snapshot.entries[base] is None:
            low = _operands_of(base)[1]
        else:
            return physical


def _scope_live(seek: Seek, frozen: dict[bytes, _Snapshot], prefix: bytes) -> bool:
    """True when the scope with ``prefix`` has a live entry, buffered or stored."""
    snapshot = frozen.get(prefix)
    if snapshot is not None and any(v is not None for v in snapshot.entries.values()):
        return True
    return _live_stored(seek, frozen, prefix, _successor(prefix)) is not None


def _scope_of_base(base: bytes) -> bytes:
    """The scope prefix of a complex base key (the part before its escaped user key)."""
    parts = LAYOUT.decode_components(base)
    return LAYOUT.scope_prefix(parts[0], parts[1], parts[2])


def _gaps(low: bytes, high: bytes, cleared: list[bytes]) -> list[tuple[bytes, bytes]]:
    """``[low, high)`` without the ranges of the cleared prefixes, as sorted sub-ranges."""
    gaps: list[tuple[bytes, bytes]] = []
    start = low
    for prefix in sorted(cleared):
        end = _successor(prefix)
        if end <= start or prefix >= high:
            continue
        if prefix > start:
            gaps.append((start, prefix))
        start = end
    if start < high:
        gaps.append((start, high))
    return gaps or [(low, low)]


def _overlay(
    stream: PyIterator[Pair], pending: list[tuple[bytes, object]], reverse: bool
) -> PyIterator[Pair]:
    """Merge the table's ``(base key, value)`` stream with frozen buffered entries, in order."""
    buffered = iter(pending)
    ahead = next(buffered, None)
    for physical, stored in stream:
        while ahead is not None and ((ahead[0] > physical) if reverse else (ahead[0] < physical)):
            value = _resolve(ahead[1], None)
            if value is not None:
                yield ahead[0], value
            ahead = next(buffered, None)
        if ahead is not None and ahead[0] == physical:
            value = _resolve(ahead[1], stored)
            ahead = next(buffered, None)
            if value is not None:
                yield physical, value
            continue
        yield physical, stored
    while ahead is not None:
        value = _resolve(ahead[1], None)
        if value is not None:
            yield ahead[0], value
        ahead = next(buffered, None)
