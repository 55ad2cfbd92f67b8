"""The window examples: windowed_fares on WindowedAggregation writes the bytes of its hand-written
version; moving_average gives the averages computed here independently, and killed inside a
checkpoint then resumed, the bytes of an uninterrupted run."""

from __future__ import annotations

import collections
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SUFFIXES = ("", ".1", ".watermarks")


def readme_command(example: str, out_dir: Path) -> list[str]:
    """The ``fssdk run`` line of the example's README, writing into ``out_dir``."""
    readme = (EXAMPLES / example / "README.md").read_text()
    lines = [line.strip() for line in readme.splitlines() if line.strip().startswith("fssdk run ")]
    assert len(lines) == 1, f"{example}/README.md must hold one fssdk run command"
    args = shlex.split(lines[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    for option, name in (("--output", "out.jsonl"), ("--state-dir", "state")):
        args[args.index(option) + 1] = str(out_dir / name)
    return [sys.executable, "-m", "fssdk", *args[1:]]


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done


def outputs(out_dir: Path) -> list[bytes]:
    return [Path(f"{out_dir / 'out.jsonl'}{suffix}").read_bytes() for suffix in SUFFIXES]


def test_windowed_fares_on_the_helper_writes_the_bytes_of_the_hand_written_one(
    tmp_path: Path,
) -> None:
    helper = readme_command("windowed_fares", tmp_path / "helper")
    assert helper[helper.index("run") + 1].endswith("windowed_fares.py")
    manual = [*helper]
    manual[manual.index("run") + 1] = "examples/windowed_fares/windowed_fares_manual.py"
    manual[manual.index("--output") + 1] = str(tmp_path / "manual" / "out.jsonl")
    manual[manual.index("--state-dir") + 1] = str(tmp_path / "manual" / "state")
    (tmp_path / "manual").mkdir()
    run(helper)
    run(manual)
    fired, late, _ = outputs(tmp_path / "helper")
    assert fired.count(b"\n") == 100
    assert late.count(b"\n") == 3
    assert outputs(tmp_path / "helper") == outputs(tmp_path / "manual")


def expected_averages(
    lines: list[str], size: int, slide: int, delay: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every window's average and the late readings, as the example documents them: a
    watermark (largest ts - delay) after each reading when it grows."""
    windows: dict[tuple[str, int], list[int]] = collections.defaultdict(list)
    late = []
    watermark: int | None = None
    for line in lines:
        reading = json.loads(line)
        ts = reading["ts"]
        starts = [s for s in range(ts - size + 1, ts + 1) if s % slide == 0]
        open_starts = [s for s in starts if watermark is None or s + size - 1 > watermark]
        if not open_starts:
            late.append(line)
        for start in open_starts:
            windows[reading["sensor"], start].append(round(reading["celsius"] * 10))
        watermark = max(ts - delay, watermark if watermark is not None else ts - delay)
    fired = [
        {
            "sensor": sensor,
            "window_start": start,
            "window_end": start + size,
            "readings": len(tenths),
            "average": round(sum(tenths) / len(tenths) / 10, 2),
        }
        for (sensor, start), tenths in windows.items()
    ]
    return fired, late


def test_moving_average_gives_every_window_and_routes_late_readings(tmp_path: Path) -> None:
    run(readme_command("moving_average", tmp_path))
    lines = (EXAMPLES / "moving_average" / "readings.jsonl").read_text().splitlines()
    fired, late = expected_averages(lines, 60, 20, 10)
    emitted = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    order = [(w["window_end"], w["sensor"]) for w in emitted]
    assert order == sorted(order)
    key = lambda w: (w["window_start"], w["sensor"])  # noqa: E731
    assert sorted(emitted, key=key) == sorted(fired, key=key)
    assert len(late) == 5
    assert (tmp_path / "out.jsonl.1").read_text().splitlines() == late


def test_the_moving_average_generator_writes_the_sample_input() -> None:
    done = run([sys.executable, str(EXAMPLES / "moving_average" / "generate_readings.py")])
    assert done.stdout == (EXAMPLES / "moving_average" / "readings.jsonl").read_text()


def test_moving_average_resumes_exactly_after_a_kill_in_a_checkpoint(tmp_path: Path) -> None:
    interval = ["--checkpoint-interval", "300"]
    run([*readme_command("moving_average", tmp_path / "reference"), *interval])
    crashed = [*readme_command("moving_average", tmp_path / "crashed"), *interval]
    for checkpoint_id in (2, 4):
        pause = {"FSSDK_TEST_PAUSE_AT": f"after-snapshot@{checkpoint_id}"}
        proc = subprocess.Popen(
            crashed, cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, **pause}
        )
        assert proc.stderr is not None
        marker = proc.stderr.readline().strip()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        assert marker == f"fssdk-test-pause after-snapshot {checkpoint_id}"
    done = run(crashed)
    assert "resumed from checkpoint 3;" in done.stderr
    assert outputs(tmp_path / "crashed") == outputs(tmp_path / "reference")
