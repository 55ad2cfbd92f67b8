"""A state machine aimed at the write buffer's read-through scans, against MemoryStore.

Few scopes and short user keys (prefixes of one another, zero bytes) so that every write lands
inside or at the edge of an open scan. Scans are opened forwards or backwards with bounds, read a
few pairs at a time while puts, deletes, merges and prefix deletes are buffered, flushed and the
store is reopened; each scan must yield its scope as it was when it was opened. ``scan_keys`` is
compared at every step, and the buffer's ``_check()`` runs after each one. A bulk step writes up to
300 entries under one prefix of one scope; the test runs under both threshold settings.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from fssdk import ClosedError, ComplexKey, Iterator, Store
from fssdk.runtime import RocksDBBackend
from fssdk.stores import MemoryStore
from fssdk.testing._store_machine import MAX_BULK
from tests.support import machine_examples

GROUPS = (b"g", b"g\x00")
KEYS = (b"", b"a", b"a\x00")
USER_KEYS = st.sampled_from([b"", b"a", b"a\x00", b"a\x00b", b"ab", b"b", b"\xff"])
VALUES = st.binary(max_size=3)
scopes = st.tuples(st.sampled_from(GROUPS), st.sampled_from(KEYS), st.sampled_from((b"", b"n")))


class ScanMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.path = Path(tempfile.mkdtemp(prefix="fssdk-scan-machine-"))
        self.backend = RocksDBBackend(self.path)
        self.store: Store = self.backend.store("s")
        self.reference = MemoryStore("reference")
        self.scans: list[tuple[Iterator, Iterator]] = []

    def teardown(self) -> None:
        self.backend.close()
        shutil.rmtree(self.path, ignore_errors=True)

    # -- writes ------------------------------------------------------------------------------

    @rule(scope=scopes, user_key=USER_KEYS, value=VALUES)
    def put(self, scope: tuple[bytes, bytes, bytes], user_key: bytes, value: bytes) -> None:
        for store in (self.store, self.reference):
            store.put(ComplexKey(*scope, user_key), value)

    @rule(
        scope=scopes,
        prefix=st.sampled_from([b"", b"a", b"a\x00", b"b"]),
        count=st.integers(0, MAX_BULK),
        merge=st.booleans(),
    )
    def bulk_write(
        self, scope: tuple[bytes, bytes, bytes], prefix: bytes, count: int, merge: bool
    ) -> None:
        """``count`` puts (or merges) of ``prefix + 000``, ``prefix + 001``, ... in one step:
        scopes past every size threshold of the buffer, under the prefixes that prefix deletes
        and scan bounds use."""
        for number in range(count):
            key = ComplexKey(*scope, prefix + b"%03d" % number)
            for store in (self.store, self.reference):
                if merge:
                    store.merge(key, b"%d" % number)
                else:
                    store.put(key, b"%d" % number)

    @rule(scope=scopes, user_key=USER_KEYS)
    def delete(self, scope: tuple[bytes, bytes, bytes], user_key: bytes) -> None:
        for store in (self.store, self.reference):
            store.delete(ComplexKey(*scope, user_key))

    @rule(scope=scopes, user_key=USER_KEYS, value=VALUES)
    def merge(self, scope: tuple[bytes, bytes, bytes], user_key: bytes, value: bytes) -> None:
        for store in (self.store, self.reference):
            store.merge(ComplexKey(*scope, user_key), value)

    @rule(scope=scopes, prefix=st.sampled_from([b"", b"a", b"a\x00", b"b"]))
    def delete_prefix(self, scope: tuple[bytes, bytes, bytes], prefix: bytes) -> None:
        for store in (self.store, self.reference):
            store.delete_prefix(ComplexKey(*scope, prefix))

    @rule()
    def flush(self) -> None:
        self.backend.flush()

    @rule()
    def reopen(self) -> None:
        self.backend.close()
        for tested, _ in self.scans:
            try:
                tested.has_next()
            except ClosedError:
                continue
            raise AssertionError("a scan kept working after its backend closed")
        self.scans.clear()
        self.backend = RocksDBBackend(self.path)
        self.store = self.backend.store("s")

    # -- scans -------------------------------------------------------------------------------

    @precondition(lambda self: len(self.scans) < 4)
    @rule(scope=scopes, start=USER_KEYS, end=USER_KEYS | st.just(b""), reverse=st.booleans())
    def open_scan(
        self, scope: tuple[bytes, bytes, bytes], start: bytes, end: bytes, reverse: bool
    ) -> None:
        opened = tuple(
            store.scan_complex(*scope, start=start, end=end, reverse=reverse)
            for store in (self.store, self.reference)
        )
        self.scans.append(opened)  # type: ignore[arg-type]

    @precondition(lambda self: bool(self.scans))
    @rule(data=st.data(), steps=st.integers(1, 3))
    def read_scan(self, data: st.DataObject, steps: int) -> None:
        index = data.draw(st.integers(0, len(self.scans) - 1))
        tested, reference = self.scans[index]
        for _ in range(steps):
            want = reference.next() if reference.has_next() else None
            got = tested.next() if tested.has_next() else None
            assert got == want, (got, want)
            if want is None:
                self.scans.pop(index)
                return

    @precondition(lambda self: bool(self.scans))
    @rule(data=st.data())
    def finish_scan_in_a_for_loop(self, data: st.DataObject) -> None:
        tested, reference = self.scans.pop(data.draw(st.integers(0, len(self.scans) - 1)))
        assert list(tested) == list(reference)

    @rule(scope=scopes, start=USER_KEYS)
    def first(self, scope: tuple[bytes, bytes, bytes], start: bytes) -> None:
        got = self.store.scope(*scope).first(start)
        want = self.reference.scope(*scope).first(start)
        assert got == want, (got, want)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def same_contents(self) -> None:
        for group in GROUPS:
            for namespace in (None, b"", b"n"):
                keys = list(self.store.scan_keys(group, namespace))
                want_keys = list(self.reference.scan_keys(group, namespace))
                assert keys == want_keys, (group, namespace, keys, want_keys)
        for group in GROUPS:
            for key in KEYS:
                for namespace in (b"", b"n"):
                    for reverse in (False, True):
                        got = list(self.store.scan_complex(group, key, namespace, reverse=reverse))
                        want = list(
                            self.reference.scan_complex(group, key, namespace, reverse=reverse)
                        )
                        assert got == want, (group, key, namespace, got, want)
                    for user_key in (b"a", b"a\x00"):
                        complex_key = ComplexKey(group, key, namespace, user_key)
                        assert self.store.get(complex_key) == self.reference.get(complex_key)

    @invariant()
    def buffer_invariants(self) -> None:
        self.store._check()  # type: ignore[attr-defined]


def test_scans_interleaved_with_buffered_writes_match_the_reference(thresholds: str) -> None:
    run_state_machine_as_test(
        ScanMachine,
        settings=settings(
            settings(),
            max_examples=machine_examples(max(60, settings().max_examples // 2), thresholds),
            stateful_step_count=30,
            deadline=None,
        ),
    )
