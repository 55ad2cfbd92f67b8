"""The examples: each README's command runs and gives the result computed here independently.

The command is read from the example's README (so the documented command is the tested one),
with its output and state directory moved into a temporary directory. The two examples on
fssdk_advanced are also killed inside a checkpoint and resumed, and must then give the same bytes
as the uninterrupted run. Variations (other settings, crashes at chosen records) run in-process
under the OperatorHarness.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fssdk._driver import take_registered_driver
from fssdk.testing import OperatorHarness

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def readme_command(example: str, tmp_path: Path) -> list[str]:
    """The ``fssdk run`` line of the example's README, writing into ``tmp_path``."""
    readme = (EXAMPLES / example / "README.md").read_text()
    lines = [line.strip() for line in readme.splitlines() if line.strip().startswith("fssdk run ")]
    assert len(lines) == 1, f"{example}/README.md must hold one fssdk run command"
    args = shlex.split(lines[0])
    for option, name in (("--output", "out.jsonl"), ("--state-dir", "state")):
        args[args.index(option) + 1] = str(tmp_path / name)
    return [sys.executable, "-m", "fssdk", *args[1:]]


def run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return done


def kill_in_checkpoint_then_resume(cmd: list[str], checkpoint_id: int) -> None:
    """Run ``cmd`` until it pauses inside checkpoint ``checkpoint_id``, SIGKILL it, rerun it."""
    pause = {"FSSDK_TEST_PAUSE_AT": f"after-snapshot@{checkpoint_id}"}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, **pause}
    )
    assert proc.stderr is not None
    marker = proc.stderr.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert marker == f"fssdk-test-pause after-snapshot {checkpoint_id}"
    done = run(cmd)
    assert f"resumed from checkpoint {checkpoint_id - 1};" in done.stderr


# -- word_count ----------------------------------------------------------------------------------


def test_word_count_counts_the_gettysburg_address(tmp_path: Path) -> None:
    run(readme_command("word_count", tmp_path))
    words = (EXAMPLES / "word_count" / "gettysburg.txt").read_text().split()
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == len(words) == 272
    last = json.loads(lines[-1])
    assert last == {"counter_map": dict(collections.Counter(words)), "total_processed": 272}
    assert last["counter_map"]["that"] == 13
    middle = json.loads(lines[99])
    assert middle == {"counter_map": dict(collections.Counter(words[:100])), "total_processed": 100}


@pytest.mark.parametrize("backend", ["memory", "rocksdb"])
def test_word_count_rebuilds_its_counts_after_a_crash(backend: str) -> None:
    words = (EXAMPLES / "word_count" / "gettysburg.txt").read_text().split()
    operator = EXAMPLES / "word_count" / "word_count.py"
    with OperatorHarness(operator, backend=backend, config={"key_prefix": "wc:"}) as harness:
        harness.process_all(words[:150])
        harness.checkpoint()
        harness.process_all(words[150:200])
        harness.crash()  # the in-memory counts are gone with the driver; init rebuilds them
        harness.process_all(words[150:])
        lines = [json.loads(line) for line in harness.emitted()]
    assert len(lines) == len(words)
    assert lines[-1] == {"counter_map": dict(collections.Counter(words)), "total_processed": 272}


# -- windowed_fares ------------------------------------------------------------------------------


def expected_windows(
    trips: list[dict[str, Any]], size: int, delay: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fired windows and late trips as the example documents them (a watermark after each trip)."""
    windows: dict[tuple[str, int], list[int]] = collections.defaultdict(list)
    late = []
    watermark: int | None = None
    largest: int | None = None
    for trip in trips:
        start = trip["ts"] - trip["ts"] % size
        if watermark is not None and start + size - 1 <= watermark:
            late.append(trip)
        else:
            windows[(trip["zone"], start)].append(round(trip["fare"] * 100))
        largest = trip["ts"] if largest is None else max(largest, trip["ts"])
        watermark = largest - delay if watermark is None else max(watermark, largest - delay)
    fired = [
        {
            "zone": zone,
            "window_start": start,
            "window_end": start + size,
            "trips": len(cents),
            "total_fare": sum(cents) / 100,
            "avg_fare": round(sum(cents) / len(cents) / 100, 2),
            "max_fare": max(cents) / 100,
        }
        for (zone, start), cents in windows.items()
    ]
    return fired, late


def test_windowed_fares_fires_every_window_once_and_routes_late_trips(tmp_path: Path) -> None:
    cmd = readme_command("windowed_fares", tmp_path)
    run(cmd)
    source = EXAMPLES / "windowed_fares" / "trips.jsonl"
    trips = [json.loads(line) for line in source.read_text().splitlines()]
    fired, late = expected_windows(trips, 300, 30)
    out = tmp_path / "out.jsonl"
    emitted = [json.loads(line) for line in out.read_text().splitlines()]
    key = lambda w: (w["window_start"], w["zone"])  # noqa: E731
    assert sorted(emitted, key=key) == sorted(fired, key=key)
    assert [w["window_end"] for w in emitted] == sorted(w["window_end"] for w in emitted)
    assert len(late) == 3
    assert [json.loads(line) for line in Path(f"{out}.1").read_text().splitlines()] == late
    assert Path(f"{out}.watermarks").read_text().splitlines()[-1] == f"0 {2**63 - 1}"


def test_windowed_fares_resumes_exactly_after_a_kill_in_a_checkpoint(tmp_path: Path) -> None:
    reference = readme_command("windowed_fares", tmp_path / "reference")
    (tmp_path / "reference").mkdir()
    run([*reference, "--checkpoint-interval", "400"])
    crashed = readme_command("windowed_fares", tmp_path / "crashed")
    (tmp_path / "crashed").mkdir()
    kill_in_checkpoint_then_resume([*crashed, "--checkpoint-interval", "400"], 2)
    for suffix in ("", ".1", ".watermarks"):
        assert (
            Path(f"{tmp_path / 'crashed' / 'out.jsonl'}{suffix}").read_bytes()
            == Path(f"{tmp_path / 'reference' / 'out.jsonl'}{suffix}").read_bytes()
        )


# -- top_k ---------------------------------------------------------------------------------------


def expected_top_k(log: Path, k: int) -> dict[str, list[dict[str, Any]]]:
    spec = importlib.util.spec_from_file_location(
        "slowest_requests_under_test", EXAMPLES / "top_k" / "slowest_requests.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    take_registered_driver()  # importing the example registered its driver in this process
    parse_request = module.parse_request
    per_endpoint: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for line in log.read_bytes().splitlines():
        endpoint, millis, request = parse_request(line)
        per_endpoint[endpoint].append((millis, request))
    return {
        endpoint: [{"ms": ms, "request": req} for ms, req in sorted(requests, reverse=True)[:k]]
        for endpoint, requests in per_endpoint.items()
    }


def test_top_k_keeps_the_three_slowest_requests_of_each_endpoint(tmp_path: Path) -> None:
    run(readme_command("top_k", tmp_path))
    last: dict[str, list[dict[str, Any]]] = {}
    for line in (tmp_path / "out.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert len(record["slowest"]) <= 3
        last[record["endpoint"]] = record["slowest"]
    expected = expected_top_k(EXAMPLES / "top_k" / "access.log", 3)
    assert last == expected
    assert len(expected) == 8
    assert expected["GET /search"][0]["ms"] > expected["GET /search"][2]["ms"]


@pytest.mark.parametrize("k", [1, 5])
def test_top_k_follows_the_k_setting(k: int) -> None:
    log = EXAMPLES / "top_k" / "access.log"
    expected = expected_top_k(log, k)
    last: dict[str, list[dict[str, Any]]] = {}
    operator = EXAMPLES / "top_k" / "slowest_requests.py"
    with OperatorHarness(operator, config={"k": str(k)}) as harness:
        harness.process_all(log.read_bytes().splitlines())
        for line in harness.emitted():
            record = json.loads(line)
            last[record["endpoint"]] = record["slowest"]
    assert last == expected


def test_top_k_resumes_exactly_after_a_kill_in_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "reference").mkdir()
    (tmp_path / "crashed").mkdir()
    run([*readme_command("top_k", tmp_path / "reference"), "--checkpoint-interval", "500"])
    crashed = [*readme_command("top_k", tmp_path / "crashed"), "--checkpoint-interval", "500"]
    kill_in_checkpoint_then_resume(crashed, 3)
    assert (tmp_path / "crashed" / "out.jsonl").read_bytes() == (
        tmp_path / "reference" / "out.jsonl"
    ).read_bytes()
