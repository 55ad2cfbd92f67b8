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

ROOT = Path(__file__).resolve().parents[1]

WORKLOADS = {
    "store.put", "store.get", "store.merge", "store.scan",
    "value.update", "value.read",
    "list.add", "list.get",
    "map.put", "map.get", "map.iterate",
    "pq.add", "pq.peek", "pq.poll",
    "aggregate.add", "reduce.add",
    "factory.value", "factory.list", "factory.map", "factory.pq", "factory.aggregating",
    "factory.reducing",
    "scaling.list_add", "scaling.pq_poll", "scaling.map_iter",
    "memory.scan",
    "ttl.cleanup",
}  # fmt: skip

#: Workloads without a raw rocksdict equivalent.
NO_RAW = {name for name in WORKLOADS if name.startswith("factory.")} | {
    "scaling.list_add", "ttl.cleanup",
}


def run_benchmarks(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
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


def test_filter_and_backend_select_rows(tmp_path: Path) -> None:
    document = run_benchmarks(tmp_path, "--filter", "store.g*", "--backend", "raw,memory")
    assert {(r["workload"], r["target"]) for r in document["results"]} == {
        ("store.get", "raw"),
        ("store.get", "memory"),
    }
