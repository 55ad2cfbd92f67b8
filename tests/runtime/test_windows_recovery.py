"""Crash recovery of the windowed job (``benchmarks/operators/windows.py``): SIGKILL inside a
checkpoint and at random points of progress, then a run to the end, gives the outputs and the
database of an uninterrupted run byte for byte.

The job is WindowedAggregation of a Sum per key in tumbling windows, on out-of-order events
with the runner's default watermarks (one per record that raises the largest ``ts``). It keeps
the open windows it has registered timers for in memory, not in state: a resumed run starts
without them and registers each open window's timer once more, which must leave the same
database.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from tests.runtime.test_recovery import kill_at_random_moments, kill_when_paused, run_to_completion
from tests.support import ROOT, database_dump

EVENTS = 12_000
INTERVAL = 1_000


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("windows-recovery")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT))
        from benchmarks.e2e import write_window_events

        write_window_events(root / "events.jsonl", EVENTS)
    return root


def command(root: Path, name: str) -> list[str]:
    """``fssdk run`` of the windows operator, a checkpoint every INTERVAL records."""
    files = {"input": "events.jsonl", "output": f"{name}.out", "state-dir": f"{name}.state"}
    options = [f"--{option}={root / file}" for option, file in files.items()]
    options += ["--watermark-field=ts", "--watermark-delay=2000", "--final-watermark"]
    operator = str(ROOT / "benchmarks" / "operators" / "windows.py")
    interval = f"--checkpoint-interval={INTERVAL}"
    return [sys.executable, "-m", "fssdk", "run", operator, *options, interval]


def results(root: Path, name: str) -> dict[str, object]:
    out = root / f"{name}.out"
    late = Path(f"{out}.1")
    return {
        "windows": out.read_bytes(),
        "late": late.read_bytes() if late.exists() else b"",
        "watermarks": Path(f"{out}.watermarks").read_bytes(),
        "state": database_dump(root / f"{name}.state" / "db"),
    }


@pytest.fixture(scope="module")
def reference(workdir: Path) -> dict[str, object]:
    run_to_completion(command(workdir, "reference"))
    expected = results(workdir, "reference")
    assert expected["late"] == b""
    assert expected["windows"].count(b"\n") > 1_000  # type: ignore[attr-defined]
    return expected


def test_the_windowed_job_resumes_exactly_after_a_kill_inside_a_checkpoint(
    workdir: Path, reference: dict[str, object]
) -> None:
    cmd = command(workdir, "in-checkpoint")
    kill_when_paused(cmd, "after-snapshot", 4)
    done = run_to_completion(cmd)
    assert "resumed from checkpoint 3;" in done.stderr
    assert results(workdir, "in-checkpoint") == reference


@pytest.mark.parametrize("trial", range(2))
def test_the_windowed_job_resumes_exactly_after_kills_at_random_moments(
    workdir: Path, reference: dict[str, object], trial: int
) -> None:
    name = f"random{trial}"
    cmd = command(workdir, name)
    final_size = len(reference["windows"])  # type: ignore[arg-type]
    kill_at_random_moments(cmd, workdir / f"{name}.out", final_size, random.Random(trial))
    done = run_to_completion(cmd)
    assert "resumed from checkpoint" in done.stderr
    assert results(workdir, name) == reference
