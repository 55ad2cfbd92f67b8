"""What the benchmark rows do, checked on small data: the work each row claims, not its speed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import pytest

from benchmarks import aggregate, value
from benchmarks._data import KEY_GROUP, Write, record_each, scope_bounds
from benchmarks._harness import QUICK, RAW, ROCKSDB, Bench, RawEnv, Stats, StoreEnv, open_env
from benchmarks._raw import read_modify_writer
from benchmarks._report import TTL_LIMIT, check_targets
from benchmarks._runner import Result
from fssdk.reserved import TTL_INDEX_KEY_GROUP
from fssdk_advanced.state._ttl import INDEX_BATCH

N = 300


@pytest.fixture
def raw_env(tmp_path: Path) -> Iterator[RawEnv]:
    with open_env(RAW, tmp_path) as env:
        assert isinstance(env, RawEnv)
        yield env


@pytest.fixture
def store_env(tmp_path: Path) -> Iterator[StoreEnv]:
    with open_env(ROCKSDB, tmp_path) as env:
        assert isinstance(env, StoreEnv)
        yield env


def index_entries(env: RawEnv) -> list[bytes]:
    low, high = scope_bounds(TTL_INDEX_KEY_GROUP, KEY_GROUP, b"")
    return [key for key, _ in env.db.items() if low <= key < high]


def test_raw_read_miss_gets_absent_keys_shaped_like_the_written_ones(
    raw_env: RawEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[bytes] = []

    def capture(env: RawEnv, keys: Sequence[bytes]) -> Bench:
        read.extend(keys)
        return Bench(len(keys), lambda: None)

    monkeypatch.setattr(value, "getter", capture)
    value.raw_value_read_miss(raw_env, N, QUICK)
    written = list(raw_env.db.keys())
    assert len(read) == len(written) == N
    assert all(raw_env.db.get(key) is None for key in read)
    assert {len(key) for key in read} == {len(key) for key in written}


def test_read_miss_reads_keys_without_a_value_while_others_have_one(store_env: StoreEnv) -> None:
    value.value_read_miss(store_env, N, QUICK)
    states = value.factory(store_env.ctx)
    assert all(states.new_keyed_value(key, b"").value() == (None, False) for key in value.misses(N))
    present = [key for key, _ in value.updates(N)]
    assert all(states.new_keyed_value(key, b"").value()[1] for key in present)


def test_value_delete_leaves_no_value_after_a_run_and_refills_before_the_next(
    store_env: StoreEnv,
) -> None:
    bench = value.value_delete(store_env, N, QUICK)
    states = value.factory(store_env.ctx)
    for _ in range(2):
        assert bench.setup is not None
        bench.setup()
        assert bench.ops == N
        bench.run()
    keys = [key for generation in (0, 1) for key, _ in value.updates(N, generation)]
    assert all(states.new_keyed_value(key, b"").value() == (None, False) for key in keys)


def test_raw_value_delete_deletes_what_its_setup_wrote(raw_env: RawEnv) -> None:
    bench = value.raw_value_delete(raw_env, N, QUICK)
    assert bench.setup is not None
    bench.setup()
    assert len(list(raw_env.db.keys())) == N
    bench.run()
    assert list(raw_env.db.keys()) == []


def test_ttl_twin_raw_rows_write_the_expiry_index_and_plain_rows_do_not(
    tmp_path: Path,
) -> None:
    batches = -(-N // INDEX_BATCH)  # the store joins a batch's merges into one write
    for ttl in (False, True):
        with open_env(RAW, tmp_path) as env:
            assert isinstance(env, RawEnv)
            value.raw_value_update(env, N, QUICK, ttl=ttl).run()
            assert len(index_entries(env)) == (batches if ttl else 0)


def test_raw_read_modify_write_gets_once_and_puts_every_write_of_a_record(
    raw_env: RawEnv,
) -> None:
    records = aggregate.records(N, aggregate.SHORT)
    per_record = record_each(partial(aggregate.aggregating_adder, ttl=True), records)
    # An accumulator's first write in its index slice opens an index batch; a later entry of
    # the batch or a rewrite in the same slice writes the accumulator alone.
    assert len(per_record[0]) == 2
    assert {len(writes) for writes in per_record} <= {1, 2}
    bench = read_modify_writer(raw_env, per_record, QUICK.checkpoint_every)
    bench.run()
    assert bench.ops == N
    last: dict[bytes, bytes | None] = {}
    for writes in per_record:
        last.update((write.key, write.value) for write in writes)
    assert dict(raw_env.db.items()) == last


def test_raw_read_modify_write_of_single_writes_puts_each_value(raw_env: RawEnv) -> None:
    per_record = [[Write(b"k%d" % (index % 7), b"v%d" % index)] for index in range(50)]
    bench = read_modify_writer(raw_env, per_record, 8)
    bench.run()
    assert bench.ops == 50
    assert dict(raw_env.db.items()) == {b"k%d" % (i % 7): b"v%d" % i for i in range(43, 50)}


def result(workload: str, median: float) -> Result:
    return Result(
        workload,
        workload.split(".", maxsplit=1)[0],
        ROCKSDB,
        1_000,
        "op",
        "ok",
        stats=Stats.of([median]),
    )


def ttl_check(results: list[Result], twin: str) -> dict[str, object]:
    checks = {check.name: check for check in check_targets(results)}
    found = checks[f"{twin} with ttl vs without (rocksdb)"]
    return {"measured": found.measured, "met": found.met, "limit": found.limit}


def test_ttl_target_is_met_at_the_limit_and_missed_above_it() -> None:
    at_limit = [result("map.get", 2.0), result("map.get_ttl", 2.0 * TTL_LIMIT)]
    above = [result("map.get", 2.0), result("map.get_ttl", 2.0 * TTL_LIMIT + 0.01)]
    assert ttl_check(at_limit, "map.get")["met"] is True
    assert ttl_check(above, "map.get") == {
        "measured": "1.30x (2.61 vs 2.00 µs)",
        "met": False,
        "limit": "≤ 1.3x",
    }


def test_ttl_target_without_its_twin_says_which_rows_to_run() -> None:
    check = ttl_check([result("pq.add4_ttl", 3.0)], "pq.add4")
    assert check["met"] is None
    assert check["measured"] == "not measured (run pq.add4 and pq.add4_ttl together)"
