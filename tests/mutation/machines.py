"""The conformance and state machines of the mutation run, at a few examples each.

Collected only when named on the command line (the file name does not match ``test_*.py``):
``python -m tests.mutation`` runs it against every mutant, under the ``mutation`` hypothesis
profile (tests/conftest.py), which draws the same examples on every run. The full suite runs the
same machines with many more examples (tests/stores).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis.stateful import run_state_machine_as_test

from fssdk.runtime import RocksDBBackend
from fssdk.testing import check_store
from tests.stores.test_conformance import RocksDBStores
from tests.stores.test_savepoints import Op, check_rollback, lowered_flush, ops
from tests.stores.test_scan_machine import ScanMachine
from tests.stores.test_write_buffer import DictStores

#: Operation sequences per machine run, with the thresholds at their smallest (where a few
#: examples of the profile's 40 steps cross every one of them) and at their production values.
LOWERED = 10
PRODUCTION = 3

__all__ = ["lowered_flush"]  # a fixture of the rollback machine


def examples(thresholds: str) -> int:
    return LOWERED if thresholds == "lowered" else PRODUCTION


@pytest.fixture
def rocksdb_stores(tmp_path: Path) -> Iterator[RocksDBStores]:
    stores = RocksDBStores(tmp_path)
    yield stores
    stores.close_all()


def test_a_buffered_store_over_a_dict_table_conforms(thresholds: str) -> None:
    stores = DictStores()
    check_store(
        stores.make,
        reopen=stores.reopen,
        teardown=stores.teardown,
        max_examples=examples(thresholds),
    )


def test_a_dict_table_with_a_merge_counter_block_of_one_conforms(thresholds: str) -> None:
    stores = DictStores(seq_block=1)
    check_store(
        stores.make,
        reopen=stores.reopen,
        teardown=stores.teardown,
        max_examples=examples(thresholds),
    )


def test_the_rocksdb_store_conforms_across_flushes_and_reopens(
    thresholds: str, rocksdb_stores: RocksDBStores
) -> None:
    check_store(
        rocksdb_stores.make,
        reopen=rocksdb_stores.reopen,
        teardown=rocksdb_stores.teardown,
        max_examples=examples(thresholds),
    )


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
    path = tmp_path_factory.mktemp("db")
    databases = iter(range(3))
    check_rollback(lambda: RocksDBBackend(path / str(next(databases))), before, under)
