"""The WriteBuffer on its own: any Table works under it, and its costs stay bounded.

``DictTable`` is a second, pure-Python table (a SortedDict): the conformance kit run over it shows
that the buffer and BufferedStore hold no RocksDB assumption. The regression tests count what the
buffer writes and reads instead of timing it.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator as PyIterator
from pathlib import Path

import pytest
from hypothesis import settings
from sortedcontainers import SortedDict, SortedList

from fssdk import ComplexKey, Store, StoreIOError, StoreScope, StoreScopes
from fssdk._keyformat import LAYOUT
from fssdk.runtime import RocksDBBackend
from fssdk.stores._buffer import SMALL_RANGE, ScopeWrites, WriteBuffer, _Merge
from fssdk.stores._buffered import BufferedStore
from fssdk.stores._table import Pair, Seek, Table, TableWriter
from fssdk.testing import check_store, lowered_thresholds
from tests.support import machine_examples


class DictTable(Table):
    """A Table in a SortedDict; ``calls`` counts the primitives used, by name."""

    def __init__(self) -> None:
        self.data: SortedDict[bytes, bytes] = SortedDict()
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def get(self, key: bytes) -> bytes | None:
        self._count("get")
        return self.data.get(key)

    def run(self, low: bytes, high: bytes, limit: int | None = None) -> list[Pair]:
        self._count("run")
        found = []
        for key in self.data.irange(low, high, inclusive=(True, False)):
            found.append((key, self.data[key]))
            if limit is not None and len(found) >= limit:
                break
        return found

    def scan(self, low: bytes, high: bytes, reverse: bool = False) -> PyIterator[Pair]:
        self._count("scan")
        keys = list(self.data.irange(low, high, inclusive=(True, False), reverse=reverse))
        return iter([(key, self.data[key]) for key in keys])

    def seeker(self, high: bytes) -> Seek:
        snapshot = SortedDict(self.data)

        def seek(low: bytes) -> Pair | None:
            for key in snapshot.irange(low, high, inclusive=(True, False)):
                return key, snapshot[key]
            return None

        return seek

    def write(self, fill: Callable[[TableWriter], None]) -> None:
        self._count("write")
        writer = _DictWriter()
        fill(writer)
        for operation, low, high, value in writer.operations:
            if operation == "put":
                self.data[low] = value
            elif operation == "delete":
                self.data.pop(low, None)
            else:
                self._count("delete_range")
                for key in list(self.data.irange(low, high, inclusive=(True, False))):
                    del self.data[key]


class _DictWriter:
    def __init__(self) -> None:
        self.operations: list[tuple[str, bytes, bytes, bytes]] = []

    def put(self, key: bytes, value: bytes) -> None:
        self.operations.append(("put", key, b"", value))

    def delete(self, key: bytes) -> None:
        self.operations.append(("delete", key, b"", b""))

    def delete_range(self, low: bytes, high: bytes) -> None:
        self.operations.append(("range", low, high, b""))


class DictStores:
    """Stores over DictTables; ``reopen`` flushes and opens a new store over the same table."""

    def __init__(self, seq_block: int | None = None) -> None:
        self.tables: dict[Store, DictTable] = {}
        self.seq_block = seq_block

    def make(self) -> Store:
        table = DictTable()
        store = BufferedStore("dict", WriteBuffer(table, self.seq_block))
        self.tables[store] = table
        return store

    def reopen(self, store: Store) -> Store:
        table = self.tables.pop(store)
        store.close()
        fresh = BufferedStore("dict", WriteBuffer(table, self.seq_block))
        self.tables[fresh] = table
        return fresh

    def teardown(self, store: Store) -> None:
        self.tables.pop(store, None)


def test_a_buffered_store_over_a_dict_table_conforms(thresholds: str) -> None:
    stores = DictStores()
    check_store(
        stores.make,
        reopen=stores.reopen,
        teardown=stores.teardown,
        max_examples=machine_examples(max(100, settings().max_examples), thresholds),
    )


def test_the_tiny_buffer_flushes_in_the_middle_and_still_conforms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fssdk.stores._buffer as write_buffer

    monkeypatch.setattr(write_buffer, "AUTO_FLUSH_WRITES", 2)
    stores = DictStores()
    check_store(stores.make, reopen=stores.reopen, teardown=stores.teardown, max_examples=60)


# -- reads never flush -------------------------------------------------------------------------


def test_no_read_writes_to_the_table() -> None:
    table = DictTable()
    store = BufferedStore("s", WriteBuffer(table))
    scope = store.scope(b"g", b"k", b"")
    for number in range(5):
        scope.put(b"%d" % number, b"v")
    scope.merge(b"1", b"+")
    scope.delete_prefix(b"4")
    store.put_state(b"a", b"1")
    assert scope.get(b"1") == b"v+"
    assert list(scope.scan(reverse=True)) == [
        (b"3", b"v"),
        (b"2", b"v"),
        (b"1", b"v+"),
        (b"0", b"v"),
    ]
    assert scope.first(b"2") == (b"2", b"v")
    assert store.list_states(b"", b"") == [b"a"]
    assert list(store.scan_keys(b"g")) == [b"k"]
    assert "write" not in table.calls
    store.flush()
    assert table.calls["write"] == 1


# -- repeated clear ------------------------------------------------------------------------------


def test_repeated_clears_keep_one_pending_range_and_write_one_range_delete() -> None:
    """The loop of issue 9 (put, clear, get) with a flush every iteration."""
    table = DictTable()
    buffer = WriteBuffer(table)
    store = BufferedStore("s", buffer)
    scope = store.scope(b"map", b"user", b"")
    for number in range(300):
        scope.put(b"a", b"%d" % number)
        scope.delete_prefix()
        scope.delete_prefix()
        assert scope.get(b"a") is None
        assert [len(writes.cleared) for writes in buffer.scopes.values()] == [1]
        if number % 2:
            store.flush()
    assert buffer.range_deletes == 1
    assert table.calls["delete_range"] == 1


def test_clearing_a_large_scope_writes_one_range_delete_per_flush(tmp_path: Path) -> None:
    with RocksDBBackend(tmp_path) as backend:
        store = backend.store("s")
        scope = store.scope(b"map", b"user", b"")
        for round_ in range(3):
            for number in range(SMALL_RANGE + 5):
                scope.put(b"%03d" % number, b"v")
            backend.flush()
            scope.delete_prefix()
            scope.delete_prefix()
            backend.flush()
            assert scope.first() is None
            assert store._buffer.range_deletes == round_ + 1  # type: ignore[attr-defined]


def test_a_nested_prefix_delete_is_absorbed_by_the_wider_one() -> None:
    buffer = WriteBuffer(DictTable())
    store = BufferedStore("s", buffer)
    scope = store.scope(b"g", b"k", b"")
    scope.delete_prefix(b"ab")
    scope.delete_prefix(b"a")
    scope.delete_prefix(b"abc")
    (writes,) = buffer.scopes.values()
    assert len(writes.cleared) == 1
    buffer._check()


# -- merges are tracked per key group ------------------------------------------------------------


def test_a_merge_in_one_key_group_keeps_gets_of_another_one_lookup(tmp_path: Path) -> None:
    for reopen in (False, True):
        with RocksDBBackend(tmp_path / str(reopen)) as backend:
            store = backend.store("s")
            values = store.scope(b"values", b"user", b"")
            lists = store.scope(b"lists", b"user", b"")
            values.put(b"", b"1")
            lists.merge(b"", b"a")
            backend.flush()
            lists.merge(b"", b"b")
            backend.flush()
        with RocksDBBackend(tmp_path / str(reopen)) as backend:
            store = backend.store("s")
            buffer: WriteBuffer = store._buffer  # type: ignore[attr-defined]
            assert store.scope(b"values", b"user", b"").get(b"") == b"1"
            assert store.get(ComplexKey(b"values", b"user", b"", b"")) == b"1"
            assert store.get(ComplexKey(b"values", b"other", b"", b"")) is None
            assert buffer.operand_reads == 0
            assert store.scope(b"lists", b"user", b"").get(b"") == b"ab"
            assert buffer.operand_reads == 1


def test_gets_of_a_group_without_operands_use_only_point_lookups() -> None:
    table = DictTable()
    store = BufferedStore("s", WriteBuffer(table))
    store.scope(b"lists", b"k", b"").merge(b"", b"x")
    store.scope(b"values", b"k", b"").put(b"", b"1")
    store.flush()
    table.calls.clear()
    for _ in range(3):
        assert store.scope(b"values", b"k", b"").get(b"") == b"1"
        assert store.scope(b"values", b"j", b"").get(b"") is None
    assert table.calls == {"get": 6}
    assert store.scope(b"lists", b"k", b"").get(b"") == b"x"
    assert table.calls["run"] == 1


def test_operands_written_before_group_markers_are_still_folded(tmp_path: Path) -> None:
    """A store with operands but no per-group markers treats every group as holding some."""
    from rocksdict import Options, Rdict

    from fssdk import _keyformat as kf
    from fssdk._keyformat import LAYOUT

    with RocksDBBackend(tmp_path) as backend:
        backend.store("s").put(ComplexKey(b"old", b"k", b"", b"l"), b"a")
    options = Options(raw_mode=True)
    database = Rdict(str(tmp_path), options, column_families={"store:s": Options(raw_mode=True)})
    family = database.get_column_family("store:s")
    base = LAYOUT.base_key(LAYOUT.scope_prefix(b"old", b"k", b""), b"l")
    family.put(LAYOUT.operand_after(base, 1), b"b")
    family.put(kf.META_MERGE_SEQ, (1).to_bytes(kf.SEQ_BYTES, "big"))
    del family
    database.close()
    for _ in range(2):
        with RocksDBBackend(tmp_path) as backend:
            store = backend.store("s")
            assert store.get(ComplexKey(b"old", b"k", b"", b"l")) == b"ab"
            store.merge(ComplexKey(b"new", b"k", b"", b"l"), b"x")


# -- the merge counter -------------------------------------------------------------------------


@pytest.mark.parametrize("seq_block", [1, 2])
def test_counter_blocks_still_conform(seq_block: int) -> None:
    stores = DictStores(seq_block)
    check_store(stores.make, reopen=stores.reopen, teardown=stores.teardown, max_examples=60)


def test_the_merge_counter_is_the_last_number_used_without_blocks() -> None:
    """A restored store numbers later operands as the store it was taken from did."""
    from fssdk._keyformat import META_MERGE_SEQ

    table = DictTable()
    store = BufferedStore("s", WriteBuffer(table))
    for _ in range(3):
        store.merge(ComplexKey(b"g", b"k", b"", b"l"), b"x")
        store.flush()
    assert int.from_bytes(table.data[META_MERGE_SEQ], "big") == 3


def test_the_merge_counter_is_written_once_per_block_and_bounds_every_operand() -> None:
    from fssdk._keyformat import LAYOUT, META_MERGE_SEQ

    table = DictTable()
    bounds = []
    ck = ComplexKey(b"g", b"k", b"", b"l")
    for _ in range(2):  # the second round reopens the store over the same table
        store = BufferedStore("s", WriteBuffer(table, 3))
        for _ in range(4):
            store.merge(ck, b"x")
            store.flush()
            bounds.append(int.from_bytes(table.data[META_MERGE_SEQ], "big"))
        store.close()
    assert bounds == [3, 3, 3, 6, 9, 9, 9, 12]
    seqs = [
        int.from_bytes(LAYOUT.decode_components(key)[4], "big")
        for key in table.data
        if key.startswith(b"\x02") and LAYOUT.is_operand(key)
    ]
    assert seqs == [1, 2, 3, 4, 7, 8, 9, 10]  # a reopened store starts above its bound, 6
    assert BufferedStore("s", WriteBuffer(table, 3)).get(ck) == b"x" * 8


class RecordingTable(DictTable):
    """A DictTable that keeps the keys each batch put, one list per ``write``."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[bytes]] = []

    def write(self, fill: Callable[[TableWriter], None]) -> None:
        def recorded(writer: TableWriter) -> None:
            fill(writer)
            self.batches.append([low for op, low, _, _ in writer.operations if op == "put"])  # type: ignore[attr-defined]

        super().write(recorded)


@pytest.mark.parametrize("seq_block", [None, 2])
def test_the_operands_tracked_marker_is_written_by_the_first_batch_with_operands_only(
    seq_block: int | None,
) -> None:
    """``FF operands-per-group`` marks a store whose groups record their operands: written
    once, with the first merge counter, never again by this buffer or a reopened one."""
    from fssdk._keyformat import META_OPERANDS_TRACKED

    table = RecordingTable()
    for _ in range(2):  # the second round reopens the store over the same table
        store = BufferedStore("s", WriteBuffer(table, seq_block))
        for number in range(3):
            store.merge(ComplexKey(b"g", b"k", b"", b"l%d" % number), b"x")
            store.flush()
    marked = [META_OPERANDS_TRACKED in batch for batch in table.batches]
    assert marked == [True] + [False] * 5
    assert table.data[META_OPERANDS_TRACKED] == b""


def test_discard_forgets_the_pending_writes() -> None:
    table = DictTable()
    store = BufferedStore("s", WriteBuffer(table))
    store.put(ComplexKey(b"g", b"k", b"", b"a"), b"1")
    store.flush()
    store.put(ComplexKey(b"g", b"k", b"", b"a"), b"2")
    store.merge(ComplexKey(b"g", b"k", b"", b"b"), b"3")
    store._buffer.discard()
    assert store.get(ComplexKey(b"g", b"k", b"", b"a")) == b"1"
    assert store.get(ComplexKey(b"g", b"k", b"", b"b")) is None
    store.flush()
    assert table.calls.get("write") == 1


# -- engine errors -------------------------------------------------------------------------------


class FailingTable(DictTable):
    """A DictTable whose engine fails: every primitive raises a bare ``Exception`` (as rocksdict
    does) once ``failing`` is set."""

    failing = False

    def _count(self, name: str) -> None:
        if self.failing:
            raise Exception(f"engine failure in {name}")
        super()._count(name)

    def seeker(self, high: bytes) -> Seek:
        self._count("seeker")
        return super().seeker(high)


CALLS_THAT_READ_OR_WRITE: dict[str, Callable[[Store], object]] = {
    "get_state": lambda store: store.get_state(b"a"),
    "list_states": lambda store: store.list_states(b"", b""),
    "get": lambda store: store.get(ComplexKey(b"g", b"k", b"", b"u")),
    "scope.get": lambda store: store.scope(b"g", b"k", b"").get(b"u"),
    "scope.first": lambda store: store.scope(b"g", b"k", b"").first(),
    "scan_complex": lambda store: store.scan_complex(b"g", b"k", b""),
    "scan_keys": lambda store: list(store.scan_keys(b"g")),
    "flush": lambda store: store.flush(),  # type: ignore[attr-defined]
}
CALLS_THAT_WRITE: dict[str, Callable[[Store], object]] = {
    "put_state": lambda store: store.put_state(b"a", b"1"),
    "delete_state": lambda store: store.delete_state(b"a"),
    "put": lambda store: store.put(ComplexKey(b"g", b"k", b"", b"u"), b"1"),
    "delete": lambda store: store.delete(ComplexKey(b"g", b"k", b"", b"u")),
    "merge": lambda store: store.merge(ComplexKey(b"g", b"k", b"", b"u"), b"1"),
    "delete_prefix": lambda store: store.delete_prefix(ComplexKey(b"g", b"k", b"", b"")),
    "scope.put": lambda store: store.scope(b"g", b"k", b"").put(b"u", b"1"),
    "scope.delete": lambda store: store.scope(b"g", b"k", b"").delete(b"u"),
    "scope.merge": lambda store: store.scope(b"g", b"k", b"").merge(b"u", b"1"),
    "scope.delete_prefix": lambda store: store.scope(b"g", b"k", b"").delete_prefix(),
}


@pytest.mark.parametrize("call", sorted(CALLS_THAT_READ_OR_WRITE))
def test_an_engine_failure_is_a_store_io_error_naming_the_store(call: str) -> None:
    table = FailingTable()
    store = BufferedStore("orders", WriteBuffer(table))
    store.scope(b"g", b"k", b"").merge(b"u", b"1")  # a buffered write: flush and reads touch it
    table.failing = True
    with pytest.raises(StoreIOError, match=r"store 'orders'.*engine failure"):
        CALLS_THAT_READ_OR_WRITE[call](store)


@pytest.mark.parametrize("call", sorted(CALLS_THAT_WRITE))
def test_a_write_that_fills_the_buffer_fails_as_a_store_io_error_naming_the_store(
    call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write that reaches AUTO_FLUSH_WRITES flushes, and the failing engine fails it."""
    import fssdk.stores._buffer as write_buffer

    monkeypatch.setattr(write_buffer, "AUTO_FLUSH_WRITES", 2)
    table = FailingTable()
    store = BufferedStore("orders", WriteBuffer(table))
    store.put_state(b"b", b"1")
    table.failing = True
    with pytest.raises(StoreIOError, match=r"store 'orders'.*engine failure"):
        CALLS_THAT_WRITE[call](store)


def test_after_a_failed_automatic_flush_the_next_write_flushes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full buffer whose flush failed keeps trying at each write instead of growing on."""
    import fssdk.stores._buffer as write_buffer

    monkeypatch.setattr(write_buffer, "AUTO_FLUSH_WRITES", 2)
    table = FailingTable()
    buffer = WriteBuffer(table)
    store = BufferedStore("orders", buffer)
    store.put_state(b"a", b"1")
    table.failing = True
    with pytest.raises(StoreIOError):
        store.put_state(b"b", b"2")
    buffer._check()
    table.failing = False
    store.put_state(b"c", b"3")
    assert table.calls["write"] == 1
    assert not buffer
    assert store.list_states(b"", b"") == [b"a", b"b", b"c"]


def test_an_error_of_ours_passes_through_unchanged() -> None:
    """Only the engine's bare ``Exception`` becomes StoreIOError; a bug of ours stays itself."""
    table = DictTable()
    store = BufferedStore("orders", WriteBuffer(table))

    def broken(key: bytes) -> bytes | None:
        raise KeyError(key)

    store._table_get = broken
    with pytest.raises(KeyError):
        store.get_state(b"a")


# -- the automatic flush -------------------------------------------------------------------------


def fill_to_auto_flush(table: DictTable, scope: StoreScope, round_: int) -> None:
    """Write ``AUTO_FLUSH_WRITES`` entries; the last write, and only the last, flushes."""
    import fssdk.stores._buffer as write_buffer

    writes = table.calls.get("write", 0)
    for number in range(write_buffer.AUTO_FLUSH_WRITES - 1):
        scope.put(b"%d-%06d" % (round_, number), b"v")
    assert table.calls.get("write", 0) == writes
    scope.put(b"%d-last" % round_, b"v")
    assert table.calls.get("write", 0) == writes + 1


def test_a_buffer_flushes_itself_every_auto_flush_writes_writes(thresholds: str) -> None:
    """Bounded memory: the write that reaches ``AUTO_FLUSH_WRITES`` (read at call time, so the
    production value is crossed as well as the lowered one) writes the batch, and the count
    starts again from zero after a flush and after a discard."""
    import fssdk.stores._buffer as write_buffer

    table = DictTable()
    buffer = WriteBuffer(table)
    scope = BufferedStore("s", buffer).scope(b"g", b"k", b"")
    fill_to_auto_flush(table, scope, 0)
    assert not buffer
    assert len(table.data) == write_buffer.AUTO_FLUSH_WRITES
    fill_to_auto_flush(table, scope, 1)
    scope.put(b"discarded", b"v")
    buffer.discard()
    fill_to_auto_flush(table, scope, 2)
    assert len(table.data) == 3 * write_buffer.AUTO_FLUSH_WRITES


# -- first ---------------------------------------------------------------------------------------


def test_first_skips_stored_keys_deleted_in_the_buffer() -> None:
    store = BufferedStore("s", WriteBuffer(DictTable()))
    scope = store.scope(b"g", b"k", b"")
    for user_key in (b"a", b"b", b"c", b"d"):
        scope.put(user_key, b"v" + user_key)
    store.flush()
    scope.delete(b"a")
    scope.delete(b"b")
    assert scope.first() == (b"c", b"vc")
    scope.put(b"d", b"new")
    scope.delete(b"c")
    assert scope.first() == (b"d", b"new")
    assert scope.first(b"e") is None


# -- the sorted index of a scope ---------------------------------------------------------------


def test_an_ordered_read_indexes_a_scope_only_past_ordered_at_entries(thresholds: str) -> None:
    """Up to ``ORDERED_AT`` buffered entries an ordered read sorts them; past it the first one
    builds the sorted index that later writes keep up to date (docs/testing.md, Thresholds)."""
    import fssdk.stores._buffer as write_buffer

    buffer = WriteBuffer(DictTable())
    scope = BufferedStore("s", buffer).scope(b"g", b"k", b"")
    for number in range(write_buffer.ORDERED_AT):
        scope.put(b"%04d" % number, b"v")
        assert scope.first() == (b"0000", b"v")
        (writes,) = buffer.scopes.values()
        assert writes.ordered is None, number + 1
    scope.put(b"%04d" % write_buffer.ORDERED_AT, b"v")
    after_first = [b"%04d" % number for number in range(1, write_buffer.ORDERED_AT + 1)]
    assert [key for key, _ in scope.scan(start=b"0001")] == after_first
    assert writes.ordered is not None
    assert list(writes.ordered) == sorted(writes.entries)


# -- the buffer's own invariant check has teeth ------------------------------------------------


def corrupt_entry_outside_its_scope(writes: ScopeWrites) -> None:
    writes.entries[b"\x02elsewhere\x00\x01"] = b"v"


def corrupt_bytearray_value(writes: ScopeWrites) -> None:
    physical = next(iter(writes.entries))
    writes.entries[physical] = bytearray(b"v")


def corrupt_operand_key_filed_as_an_entry(writes: ScopeWrites) -> None:
    physical = next(iter(writes.entries))
    writes.entries[LAYOUT.operand_after(physical, 1)] = b"v"


def corrupt_key_without_a_base_suffix(writes: ScopeWrites) -> None:
    physical = next(iter(writes.entries))
    writes.entries[physical[:-2] + b"x" * 20 + b"\x03"] = b"v"


def corrupt_key_with_a_terminator_below_its_base(writes: ScopeWrites) -> None:
    """A key ending neither as a base nor as an operand, whose base would sort after it."""
    physical = next(iter(writes.entries))
    writes.entries[physical[:-2] + b"\x00" * 10 + b"\x03"] = b"v"


def corrupt_merge_without_operands(writes: ScopeWrites) -> None:
    physical = next(iter(writes.entries))
    writes.entries[physical] = _Merge(None, b"x")
    writes.entries[physical].operands.clear()  # type: ignore[attr-defined]


def corrupt_nested_cleared_prefixes(writes: ScopeWrites) -> None:
    (low,) = writes.cleared
    writes.cleared.append(low + b"a")


def corrupt_index_missing_a_key(writes: ScopeWrites) -> None:
    writes.ordered = SortedList(sorted(writes.entries)[:-1])


@pytest.mark.parametrize(
    "corrupt",
    [
        corrupt_entry_outside_its_scope,
        corrupt_bytearray_value,
        corrupt_operand_key_filed_as_an_entry,
        corrupt_key_without_a_base_suffix,
        corrupt_key_with_a_terminator_below_its_base,
        corrupt_merge_without_operands,
        corrupt_nested_cleared_prefixes,
        corrupt_index_missing_a_key,
    ],
)
def test_the_invariant_check_catches_a_corrupt_scope(
    corrupt: Callable[[ScopeWrites], None],
) -> None:
    """``_check`` (run after every step of the machines) fails on each broken invariant."""
    buffer = WriteBuffer(DictTable())
    scope = BufferedStore("s", buffer).scope(b"g", b"k", b"")
    scope.put(b"a", b"1")
    scope.put(b"b", b"2")
    scope.delete_prefix(b"c")
    buffer._check()
    (writes,) = buffer.scopes.values()
    corrupt(writes)
    with pytest.raises(AssertionError):
        buffer._check()


@pytest.mark.parametrize(
    "prefix",
    [LAYOUT.scope_prefix(b"h", b"k", b""), b"\x00k", b"\xffk"],
    ids=["another-group", "below-the-simple-tag", "above-every-tag"],
)
def test_the_invariant_check_catches_a_scope_filed_outside_its_group(prefix: bytes) -> None:
    """An empty scope of group ``g`` filed under a prefix outside it: only the prefix is wrong."""
    buffer = WriteBuffer(DictTable())
    buffer.scopes[LAYOUT.scope_prefix(b"g", b"k", b"")] = ScopeWrites(buffer.group(b"g"))
    buffer._check()
    buffer.scopes[prefix] = ScopeWrites(buffer.group(b"g"))
    with pytest.raises(AssertionError):
        buffer._check()


# -- argument checks: one inline test per call ---------------------------------------------------


def test_a_valid_call_through_a_scope_never_reaches_the_full_argument_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-record path tests its arguments inline and calls ``Store._reject`` (which finds
    and names the wrong one) only when that test fails: a valid call costs no extra call."""

    def reject(*arguments: object, **keywords: object) -> None:
        raise AssertionError(f"a valid call reached _reject{arguments[1:]}")

    store = BufferedStore("s", WriteBuffer(DictTable()))
    maker = store.scopes(b"g")
    monkeypatch.setattr(BufferedStore, "_reject", reject)
    scope = store.scope(b"g", b"k", b"")
    made = maker(b"k", b"n")
    for handle in (scope, made):
        handle.put(b"a", b"1")
        handle.merge(b"a", b"2")
        assert handle.get(b"a") == b"12"
        assert handle.first(b"") == (b"a", b"12")
        assert list(handle.scan(start=b"", end=b"b")) == [(b"a", b"12")]
        handle.delete(b"a")
        handle.delete_prefix(b"")
        assert handle.get(b"a") is None


# -- recently cleared ranges and folds at their thresholds ---------------------------------------


@pytest.mark.parametrize("extra", [0, 1])
def test_a_range_cleared_again_holding_at_most_small_range_entries_gets_point_deletes(
    thresholds: str, extra: int
) -> None:
    """The second clear of a range is written as point deletes while the table holds at most
    ``SMALL_RANGE`` entries of it (``extra == 0``), and as a range delete past that."""
    import fssdk.stores._buffer as write_buffer

    table = DictTable()
    buffer = WriteBuffer(table)
    store = BufferedStore("s", buffer)
    scope = store.scope(b"g", b"k", b"")
    for round_ in range(2):
        for number in range(write_buffer.SMALL_RANGE + extra):
            scope.put(b"%d-%03d" % (round_, number), b"v")
        store.flush()
        scope.delete_prefix()
        store.flush()
        assert scope.first() is None
    assert buffer.range_deletes == 1 + extra
    assert table.calls.get("delete_range") == 1 + extra


@pytest.mark.parametrize("extra", [0, 1])
def test_a_read_folds_the_operands_into_the_base_once_they_outgrow_it(
    thresholds: str, extra: int
) -> None:
    """A get that meets operands buffers the folded value as the new base once it is more than
    ``FOLD_RATIO`` times the base (``extra == 1``), not at exactly that size."""
    import fssdk.stores._buffer as write_buffer

    table = DictTable()
    buffer = WriteBuffer(table)
    store = BufferedStore("s", buffer)
    scope = store.scope(b"g", b"k", b"")
    scope.put(b"a", b"base")
    store.flush()
    operands = b"x" * ((write_buffer.FOLD_RATIO - 1) * len(b"base") + extra)
    for operand in (operands[:1], operands[1:]):
        scope.merge(b"a", operand)
        store.flush()
    assert scope.get(b"a") == b"base" + operands
    assert bool(buffer) == bool(extra)
    store.flush()
    assert scope.get(b"a") == b"base" + operands
    assert buffer.operand_reads == 2


def test_a_scope_takes_its_scan_bounds_by_keyword_only() -> None:
    scope = BufferedStore("s", WriteBuffer(DictTable())).scope(b"g", b"k", b"")
    with pytest.raises(TypeError):
        scope.scan(b"a")  # type: ignore[call-arg]


def test_a_value_equal_to_its_own_physical_key_reads_back() -> None:
    """Values are opaque: one that holds the bytes of its own key, put or merged, is itself."""
    store = BufferedStore("s", WriteBuffer(DictTable()))
    scope = store.scope(b"g", b"k", b"")
    physical = LAYOUT.base_key(LAYOUT.scope_prefix(b"g", b"k", b""), b"u")
    scope.merge(b"u", physical)
    scope.put(b"v", LAYOUT.base_key(LAYOUT.scope_prefix(b"g", b"k", b""), b"v"))
    store.flush()
    assert scope.get(b"u") == physical
    assert dict(scope.scan())[b"u"] == physical
    assert scope.get(b"v") == LAYOUT.base_key(LAYOUT.scope_prefix(b"g", b"k", b""), b"v")


# -- take: the bound of its table read -----------------------------------------------------------


def flushed_scopes(keys: bytes) -> tuple[BufferedStore, StoreScopes]:
    """A store over a DictTable whose scope ``(g, k, "")`` holds one flushed entry per byte of
    ``keys`` (value: the key itself)."""
    store = BufferedStore("s", WriteBuffer(DictTable()))
    scopes = store.scopes(b"g")
    for key in keys:
        scopes.put(b"k", b"", bytes([key]), bytes([key]))
    store.flush()
    return store, scopes


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
@pytest.mark.parametrize("deleted", [1, 2, 3])
def test_take_reads_past_the_table_entries_that_buffered_deletes_hide(
    limit: int, deleted: int
) -> None:
    """Each buffered key may hide one table entry, so the table read takes ``limit`` plus the
    buffered keys: fewer, and the deletes at the front leave too few entries."""
    _, scopes = flushed_scopes(b"abcdefghij")
    for key in b"abcdefghij"[:deleted]:
        scopes.delete(b"k", b"", bytes([key]))
    want = [(bytes([key]),) * 2 for key in b"abcdefghij"[deleted:]]
    assert scopes.take(b"k", b"", limit) == want[:limit]


@pytest.mark.parametrize("limit", [3, 4])
def test_take_of_a_short_table_sees_every_buffered_put_past_its_end(limit: int) -> None:
    """A table read shorter than its bound is the whole range: buffered keys past its last
    entry are taken too."""
    _, scopes = flushed_scopes(b"ab")
    for key in b"yz"[: limit - 2]:
        scopes.put(b"k", b"", bytes([key]), b"new")
    want = [(b"a", b"a"), (b"b", b"b"), (b"y", b"new"), (b"z", b"new")]
    assert scopes.take(b"k", b"", limit) == want[:limit]


def test_take_applies_a_buffered_delete_between_the_first_and_the_last_key_read() -> None:
    """A full table read knows the table up to its last key: every buffered key up to there
    counts, not only those up to its first keys."""
    _, scopes = flushed_scopes(b"abcdef")
    scopes.delete(b"k", b"", b"c")
    assert scopes.take(b"k", b"", 3) == [(b"a", b"a"), (b"b", b"b"), (b"d", b"d")]


def test_take_bounds_its_read_by_the_last_key_read_not_by_its_value() -> None:
    """Empty values (a queue's entries) sort below every key: a bound taken from the last
    value read instead of its key would pass over every buffered key."""
    store = BufferedStore("s", WriteBuffer(DictTable()))
    scopes = store.scopes(b"g")
    for key in b"abcd":
        scopes.put(b"k", b"", bytes([key]), b"")
    store.flush()
    scopes.delete(b"k", b"", b"b")
    assert scopes.take(b"k", b"", 2) == [(b"a", b""), (b"c", b"")]


# -- savepoints: rollback of each kind of write, release at the automatic flush ------------------


def buffer_contents(buffer: WriteBuffer) -> dict[bytes, object]:
    """Each scope's entries (merges as their base and operands) and cleared prefixes."""
    return {
        prefix: (
            {
                physical: (pending.base, list(pending.operands))
                if type(pending) is _Merge
                else pending
                for physical, pending in scope.entries.items()
            },
            list(scope.cleared),
        )
        for prefix, scope in buffer.scopes.items()
    }


def test_a_rollback_undoes_puts_merge_operands_clears_and_new_scopes() -> None:
    """Every kind of write a savepoint logs is put back: an entry replaced, operands added to
    a merge buffered before the savepoint and to one made after it, a clear, a new scope."""
    buffer = WriteBuffer(DictTable())
    store = BufferedStore("s", buffer)
    scope = store.scope(b"g", b"k", b"")
    scope.put(b"a", b"1")
    scope.merge(b"m", b"x")
    before = buffer_contents(buffer)
    writes = buffer.writes
    buffer.savepoint()
    scope.put(b"a", b"2")
    scope.merge(b"m", b"y")
    scope.merge(b"m", b"z")
    scope.merge(b"n", b"p")
    scope.merge(b"n", b"q")
    scope.delete_prefix(b"a")
    store.scope(b"g", b"other", b"").put(b"b", b"3")
    buffer.rollback()
    assert buffer_contents(buffer) == before
    assert buffer.writes == writes
    assert scope.get(b"m") == b"x"
    assert scope.get(b"a") == b"1"
    buffer._check()


def test_a_released_savepoint_keeps_its_writes_and_a_later_rollback_undoes_nothing() -> None:
    table = DictTable()
    buffer = WriteBuffer(table)
    scope = BufferedStore("s", buffer).scope(b"g", b"k", b"")
    buffer.savepoint()
    scope.put(b"a", b"1")
    buffer.flush()
    assert "write" not in table.calls  # held back until the release
    buffer.release()
    assert table.calls["write"] == 1
    scope.put(b"b", b"2")
    buffer.rollback()
    assert scope.get(b"a") == b"1"
    assert scope.get(b"b") == b"2"


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_a_release_flushes_once_its_writes_reached_auto_flush_writes(extra: int) -> None:
    """Under a savepoint the buffer grows past ``AUTO_FLUSH_WRITES`` (lowered); its release
    flushes when the writes reached it (``extra >= 0``), and not one write before."""
    import fssdk.stores._buffer as write_buffer

    with lowered_thresholds():
        table = DictTable()
        buffer = WriteBuffer(table)
        scope = BufferedStore("s", buffer).scope(b"g", b"k", b"")
        buffer.savepoint()
        for number in range(write_buffer.AUTO_FLUSH_WRITES + extra):
            scope.put(b"%04d" % number, b"v")
        assert "write" not in table.calls
        buffer.release()
        assert table.calls.get("write", 0) == (1 if extra >= 0 else 0)
        assert bool(buffer) == (extra < 0)


def test_an_engine_failure_names_the_key_it_was_at_and_a_flush_names_none() -> None:
    table = FailingTable()
    store = BufferedStore("orders", WriteBuffer(table))
    scope = store.scope(b"g", b"k", b"")
    scope.put(b"u", b"1")
    table.failing = True
    physical = LAYOUT.base_key(LAYOUT.scope_prefix(b"g", b"k", b""), b"v")
    with pytest.raises(StoreIOError) as raised:
        scope.get(b"v")
    assert str(raised.value) == (
        f"[STORE_IO] store 'orders': get key {physical!r} failed: engine failure in get"
    )
    with pytest.raises(StoreIOError) as raised:
        store.flush()
    assert str(raised.value) == "[STORE_IO] store 'orders': flush failed: engine failure in write"


# -- reads over merge operands and cleared prefixes ----------------------------------------------


def test_a_read_of_operands_without_a_base_folds_them_into_one() -> None:
    """Operands with no base under them outgrow the empty base at once: the first read buffers
    their fold, so the next flush writes one entry in place of the operands."""
    table = DictTable()
    buffer = WriteBuffer(table)
    store = BufferedStore("s", buffer)
    scope = store.scope(b"g", b"k", b"")
    for operand in (b"x", b"y"):
        scope.merge(b"a", operand)
        store.flush()
    assert scope.get(b"a") == b"xy"
    assert buffer
    store.flush()
    assert [value for key, value in table.data.items() if key.startswith(b"\x02")] == [b"xy"]


def test_first_of_an_unbuffered_scope_folds_the_operands_on_disk() -> None:
    store = BufferedStore("s", WriteBuffer(DictTable()))
    scope = store.scope(b"g", b"k", b"")
    scope.put(b"a", b"base")
    store.flush()
    scope.merge(b"a", b"+1")
    store.flush()
    assert scope.first() == (b"a", b"base+1")


def test_first_skips_stored_keys_under_a_buffered_prefix_delete() -> None:
    store = BufferedStore("s", WriteBuffer(DictTable()))
    scope = store.scope(b"g", b"k", b"")
    for user_key in (b"a1", b"a2", b"b", b"c"):
        scope.put(user_key, b"v" + user_key)
    store.flush()
    scope.delete_prefix(b"a")
    assert scope.first() == (b"b", b"vb")
    scope.delete(b"b")
    assert scope.first() == (b"c", b"vc")


def test_a_key_listing_reads_past_stored_entries_of_a_buffered_scope() -> None:
    """A scope with buffered writes may hold stored entries the buffer never touched: the
    listing finds them live, and skips only the ones the buffer deletes."""
    store = BufferedStore("s", WriteBuffer(DictTable()))
    scope = store.scope(b"g", b"k", b"")
    for user_key in (b"a", b"b"):
        scope.put(user_key, b"v")
    store.scope(b"g", b"l", b"").put(b"a", b"v")
    store.flush()
    scope.put(b"c", b"v")
    assert list(store.scan_keys(b"g")) == [b"k", b"l"]
    assert list(store.scan_scopes(b"g")) == [(b"k", b""), (b"l", b"")]
    for user_key in (b"a", b"b", b"c"):
        scope.delete(user_key)
    assert list(store.scan_keys(b"g")) == [b"l"]
    assert list(store.scan_keys(b"g", b"")) == [b"l"]
