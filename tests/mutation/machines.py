"""The conformance and state machines of the mutation run, at a few examples each.

Collected only when named on the command line (the file name does not match ``test_*.py``):
``python -m tests.mutation`` runs it against every mutant, under the ``mutation`` hypothesis
profile (tests/conftest.py), which draws the same examples on every run. The full suite runs the
same machines with many more examples (tests/stores).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis.stateful import run_state_machine_as_test

from fssdk.testing import check_store
from tests.stores.test_conformance import RocksDBStores
from tests.stores.test_savepoints import Op, check_rocksdb_rollback, lowered_flush, ops
from tests.stores.test_scan_machine import ScanMachine
from tests.stores.test_write_buffer import DictStores

#: Operation sequences per machine run, with the thresholds at their smallest (where a few
#: examples of the profile's 40 steps cross every one of them) and at their production values.
LOWERED = 10
PRODUCTION = 3

__all__ = ["lowered_flush"]  # a fixture of the rollback machine


def examples(thresholds: str) -> int:
    return LOWERED if thresholds == "lowered" else PRODUCTION


@pytest.mark.parametrize("table", ["dict", "dict-merge-counter-block-1", "rocksdb"])
def test_the_buffered_store_conforms(thresholds: str, table: str, tmp_path: Path) -> None:
    """The conformance kit with reopens: a ``BufferedStore`` over a dict table (also with the
    merge counter reserved one number at a time) and ``RocksDBStore``."""
    stores: DictStores | RocksDBStores = (
        RocksDBStores(tmp_path)
        if table == "rocksdb"
        else DictStores(1 if "block" in table else None)
    )
    try:
        check_store(
            stores.make,
            reopen=stores.reopen,
            teardown=stores.teardown,
            max_examples=examples(thresholds),
        )
    finally:
        if isinstance(stores, RocksDBStores):
            stores.close_all()


def test_scans_interleaved_with_buffered_writes_match_the_reference(thresholds: str) -> None:
    run_state_machine_as_test(
        ScanMachine,
        settings=settings(
            settings(), max_examples=examples(thresholds), stateful_step_count=30, deadline=None
        ),
    )


@pytest.mark.usefixtures("lowered_flush")
@settings(max_examples=LOWERED, deadline=None)
@given(before=ops, under=ops)
def test_a_rocksdb_rollback_restores_exactly_what_was_there(
    tmp_path_factory: pytest.TempPathFactory, before: list[Op], under: list[Op]
) -> None:
    check_rocksdb_rollback(tmp_path_factory, before, under)
