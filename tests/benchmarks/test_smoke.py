"""The benchmark suite runs: ``python -m benchmarks --quick`` exits 0 and reports every workload.

Benchmarks are not tests: nothing here looks at how fast anything was, only that every figure was
measured and written as a number.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

WORKLOADS = {
    "store.put", "store.get", "store.merge", "store.scan",
    "value.update", "value.update_ttl", "value.read", "value.read_ttl", "value.read_miss",
    "value.delete",
    "list.add", "list.get",
    "map.put", "map.get", "map.get_ttl", "map.iterate", "map.iterate_ttl",
    "map.iterate_nonkeyed", "map.clear", "map.clear_ttl",
    "pq.add", "pq.peek", "pq.poll", "pq.add4", "pq.add4_ttl", "pq.poll4", "pq.poll4_ttl",
    "aggregate.add", "aggregate.add4", "aggregate.add4_ttl", "reduce.add", "reduce.add4",
    "factory.value", "factory.list", "factory.map", "factory.pq", "factory.aggregating",
    "factory.reducing",
    "scaling.list_add", "scaling.pq_poll", "scaling.map_iter", "scaling.clear_loop",
    "memory.scan",
    "e2e.sessions", "e2e.windows", "ttl.cleanup",
}  # fmt: skip

#: Workloads without a raw rocksdict equivalent.
NO_RAW = {name for name in WORKLOADS if name.startswith("factory.")} | {
    "scaling.list_add",
    "e2e.sessions",
    "e2e.windows",
    "ttl.cleanup",
}


def run_benchmarks(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_benchmarks(tmp_path_factory.mktemp("benchmarks"))


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_quick_run_reports_every_workload(quick_run: dict[str, Any]) -> None:
    assert {result["workload"] for result in quick_run["results"]} == WORKLOADS
    assert set(quick_run["workloads"]) == WORKLOADS


def test_quick_run_measures_every_figure(quick_run: dict[str, Any]) -> None:
    for result in quick_run["results"]:
        assert result["status"] == "ok", result
        figures = result["us_per_op"]
        for name in ("median", "q1", "q3", "min", "max", "iqr"):
            assert is_number(figures[name]), (result["workload"], name)
        assert result["samples_us"]
        assert all(is_number(sample) for sample in result["samples_us"])
        assert result["ops"] > 0


def test_quick_run_has_every_target_and_ratios_to_raw(quick_run: dict[str, Any]) -> None:
    targets: dict[str, set[str]] = {}
    for result in quick_run["results"]:
        targets.setdefault(result["workload"], set()).add(result["target"])
        if result["target"] in ("memory", "rocksdb") and result["workload"] not in NO_RAW:
            assert is_number(result["ratio_to_raw"]), result
    for workload, seen in targets.items():
        assert {"memory", "rocksdb"} <= seen, workload
        assert ("raw" in seen) == (workload not in NO_RAW), workload


def test_quick_run_measures_scan_memory_at_each_size(quick_run: dict[str, Any]) -> None:
    rows = [r for r in quick_run["results"] if r["workload"] == "memory.scan"]
    assert len({row["n"] for row in rows}) >= 2
    for row in rows:
        assert is_number(row["extra"]["tracemalloc_peak_bytes"])


def test_quick_run_evaluates_the_targets(quick_run: dict[str, Any]) -> None:
    assert quick_run["targets"]
    for check in quick_run["targets"]:
        assert check["met"] in (True, False, None)
        assert check["measured"]


def test_quick_run_evaluates_the_new_targets(quick_run: dict[str, Any]) -> None:
    names = {check["name"] for check in quick_run["targets"]}
    for expected in (
        "non-keyed MapState iteration per entry vs raw iteration (rocksdb)",
        "KeyedMapState.clear of 4 entries vs raw delete_range (rocksdb)",
        "keyed PriorityQueueState.poll, 4 per key, vs raw seek+delete (rocksdb)",
        "MapState put+clear+get per iteration, longest vs shortest loop (rocksdb)",
        "e2e.sessions records/s on rocksdb vs memory",
        "keyed PriorityQueueState.add, n/4 keys x 4, vs raw put (rocksdb)",
    ):
        assert expected in names


def test_quick_run_compares_every_ttl_row_with_its_twin(quick_run: dict[str, Any]) -> None:
    checks = {check["name"]: check for check in quick_run["targets"]}
    twins = {name.removesuffix("_ttl") for name in WORKLOADS if name.endswith("_ttl")}
    assert twins == {
        "value.update", "value.read", "map.get", "map.iterate", "map.clear", "pq.add4",
        "pq.poll4", "aggregate.add4",
    }  # fmt: skip
    for twin in twins:
        check = checks[f"{twin} with ttl vs without (rocksdb)"]
        assert check["limit"] == "≤ 1.3x"
        assert check["met"] in (True, False)


def test_quick_run_e2e_rows_emit_the_same_sessions(quick_run: dict[str, Any]) -> None:
    rows = {r["target"]: r for r in quick_run["results"] if r["workload"] == "e2e.sessions"}
    assert set(rows) == {"memory", "rocksdb"}
    assert rows["memory"]["extra"]["sessions"] > 0
    assert rows["memory"]["extra"] == rows["rocksdb"]["extra"]


def test_quick_run_clear_loop_has_two_sizes(quick_run: dict[str, Any]) -> None:
    sizes = {r["n"] for r in quick_run["results"] if r["workload"] == "scaling.clear_loop"}
    assert len(sizes) == 2


def test_compare_prints_every_common_figure(quick_run: dict[str, Any], tmp_path: Path) -> None:
    before = tmp_path / "before.json"
    after = tmp_path / "after.json"
    before.write_text(json.dumps(quick_run), encoding="utf-8")
    changed = json.loads(json.dumps(quick_run))
    for result in changed["results"]:
        if result["us_per_op"] is not None:
            result["us_per_op"]["median"] *= 2
    after.write_text(json.dumps(changed), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", str(before), str(after), "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = [line for line in completed.stdout.splitlines() if line.startswith("| e2e.sessions | ")]
    assert len(lines) == 2
    assert all("| 2.00x |" in line for line in lines)


def test_sessions_operator_loses_nothing_and_agrees_on_both_backends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.e2e import run_sessions, write_page_views

    events = tmp_path / "events.jsonl"
    write_page_views(events, 3_000)
    views = events.read_bytes().splitlines()
    outputs: dict[str, tuple[bytes, bytes]] = {}
    for name, state_dir in (("memory", None), ("rocksdb", tmp_path / "state")):
        output = tmp_path / f"{name}.jsonl"
        summary = run_sessions(events, output, state_dir)
        assert summary.records_this_run == len(views)
        late = output.with_name(output.name + ".1")
        outputs[name] = (output.read_bytes(), late.read_bytes() if late.exists() else b"")
    assert outputs["memory"] == outputs["rocksdb"]
    sessions = [json.loads(line) for line in outputs["memory"][0].splitlines()]
    late_views = outputs["memory"][1].splitlines()
    assert len(sessions) > 50
    assert sum(session["views"] for session in sessions) + len(late_views) == len(views)
    for session in sessions:
        assert session["start"] <= session["end"]
        assert session["dwell"]["views"] == session["views"]
        assert 1 <= session["top_page_views"] <= session["views"]


def test_filter_and_backend_select_rows(tmp_path: Path) -> None:
    document = run_benchmarks(tmp_path, "--filter", "store.g*", "--backend", "raw,memory")
    assert {(r["workload"], r["target"]) for r in document["results"]} == {
        ("store.get", "raw"),
        ("store.get", "memory"),
    }
