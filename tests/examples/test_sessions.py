"""The sessions example: its README command gives the sessions computed here independently, and
killed with SIGKILL inside checkpoints (points of progress, not sleeps) then resumed, it leaves
outputs and database byte for byte as an uninterrupted run does. In-process, under the
OperatorHarness, it gives the same sessions on both backends, across a crash.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fssdk.testing import OperatorHarness
from tests.support import database_dump

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sessions"
GAP = 30_000
DELAY = 5_000
FINAL = 2**63 - 1


def readme_command(out_dir: Path) -> list[str]:
    """The ``fssdk run`` line of the README, writing into ``out_dir``."""
    lines = [
        line.strip()
        for line in (EXAMPLE / "README.md").read_text().splitlines()
        if line.strip().startswith("fssdk run ")
    ]
    assert len(lines) == 1
    args = shlex.split(lines[0])
    args[args.index("--output") + 1] = str(out_dir / "sessions.jsonl")
    args[args.index("--state-dir") + 1] = str(out_dir / "state")
    return [sys.executable, "-m", "fssdk", *args[1:]]


def run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return done


def expected_sessions(lines: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Sessions in the order they close, and the late clicks, as the example documents them:
    a watermark (largest ts - 5 s) after each click when it grows, then a final one."""
    open_sessions: dict[str, list[dict[str, Any]]] = {}
    closed: list[dict[str, Any]] = []
    late: list[str] = []

    def close_until(watermark: int) -> None:
        due = sorted(
            ((s["last"] + GAP - 1, user, s["start"]), s)
            for user, sessions in open_sessions.items()
            for s in sessions
            if s["last"] + GAP - 1 <= watermark
        )
        for (_, user, start), session in due:
            open_sessions[user].remove(session)
            closed.append(
                {
                    "user": user,
                    "start": start,
                    "end": session["last"] + GAP,
                    "clicks": session["clicks"],
                    "pages": sorted(session["pages"]),
                }
            )

    watermark: int | None = None
    largest: int | None = None
    for line in lines:
        click = json.loads(line)
        ts, user = click["ts"], click["user"]
        sessions = open_sessions.setdefault(user, [])
        touching = [s for s in sessions if s["start"] <= ts + GAP and ts <= s["last"] + GAP]
        if not touching and watermark is not None and ts + GAP - 1 <= watermark:
            late.append(line)
        else:
            merged = {"start": ts, "last": ts, "clicks": 1, "pages": {click["page"]}}
            for s in touching:
                sessions.remove(s)
                merged["start"] = min(merged["start"], s["start"])
                merged["last"] = max(merged["last"], s["last"])
                merged["clicks"] += s["clicks"]
                merged["pages"] |= s["pages"]
            sessions.append(merged)
        largest = ts if largest is None else max(largest, ts)
        if watermark is None or largest - DELAY > watermark:
            watermark = largest - DELAY
            close_until(watermark)
    close_until(FINAL)
    return closed, late


def test_generated_input_is_what_the_generator_writes() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "generate_clicks.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout == (EXAMPLE / "clicks.jsonl").read_text()


def test_sessions_close_in_order_and_late_clicks_go_to_target_1(tmp_path: Path) -> None:
    run(readme_command(tmp_path))
    lines = (EXAMPLE / "clicks.jsonl").read_text().splitlines()
    closed, late = expected_sessions(lines)
    out = tmp_path / "sessions.jsonl"
    emitted = [json.loads(line) for line in out.read_text().splitlines()]
    assert emitted == closed
    assert Path(f"{out}.1").read_text().splitlines() == late
    assert len(late) == 4
    assert sum(s["clicks"] for s in emitted) + len(late) == len(lines)
    assert any(s["end"] - s["start"] > 2 * GAP for s in emitted)  # multi-click sessions
    merged_across_order = [
        s for s in emitted if s["clicks"] > 1 and s["end"] - GAP - s["start"] < GAP
    ]
    assert merged_across_order
    assert Path(f"{out}.watermarks").read_text().splitlines()[-1] == f"0 {FINAL}"


def feed(harness: OperatorHarness, lines: list[str], largest: int | None) -> int | None:
    """Each click, then a watermark (largest ts - 5 s) when it grows, as the README's command
    sends them; the largest ts seen."""
    for line in lines:
        harness.process(line)
        ts = json.loads(line)["ts"]
        if largest is None or ts > largest:
            largest = ts
            harness.watermark(largest - DELAY)
    return largest


def sessions_in_process(config: dict[str, str] | None = None, **options: Any) -> list[Any]:
    lines = (EXAMPLE / "clicks.jsonl").read_text().splitlines()
    with OperatorHarness(EXAMPLE / "sessions.py", config=config, **options) as harness:
        feed(harness, lines, None)
        harness.watermark(FINAL)
        return [json.loads(line) for line in harness.emitted()]


def test_a_larger_gap_gives_fewer_longer_sessions() -> None:
    wide = sessions_in_process({"gap_ms": "120000"})
    narrow = sessions_in_process()
    assert 0 < len(wide) < len(narrow)
    assert sum(s["clicks"] for s in wide) == sum(s["clicks"] for s in narrow)


@pytest.mark.parametrize("backend", ["memory", "rocksdb"])
def test_in_process_sessions_survive_a_crash_exactly(backend: str) -> None:
    lines = (EXAMPLE / "clicks.jsonl").read_text().splitlines()
    closed, late = expected_sessions(lines)
    with OperatorHarness(EXAMPLE / "sessions.py", backend=backend) as harness:
        largest = feed(harness, lines[:600], None)
        harness.checkpoint()
        feed(harness, lines[600:900], largest)
        harness.crash()  # the records after the checkpoint are fed again, as a resume does
        assert harness.records == 600
        feed(harness, lines[600:], largest)
        harness.watermark(FINAL)
        assert [json.loads(line) for line in harness.emitted()] == closed
        assert [line.decode() for line in harness.emitted(1)] == late


def test_clicks_exactly_a_gap_apart_are_one_session_as_in_flink(tmp_path: Path) -> None:
    clicks = [{"ts": ts, "user": "u", "page": "/"} for ts in (0, GAP, 4 * GAP, 3 * GAP)]
    (tmp_path / "clicks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in clicks))
    cmd = readme_command(tmp_path)
    cmd[cmd.index("--input") + 1] = str(tmp_path / "clicks.jsonl")
    run(cmd)
    emitted = [json.loads(line) for line in (tmp_path / "sessions.jsonl").read_text().splitlines()]
    assert [(s["start"], s["end"], s["clicks"]) for s in emitted] == [
        (0, 2 * GAP, 2),
        (3 * GAP, 5 * GAP, 2),
    ]


def results(out_dir: Path) -> dict[str, object]:
    out = out_dir / "sessions.jsonl"
    return {
        "sessions": out.read_bytes(),
        "late": Path(f"{out}.1").read_bytes(),
        "watermarks": Path(f"{out}.watermarks").read_bytes(),
        "state": database_dump(out_dir / "state" / "db"),
    }


def kill_when_paused(cmd: list[str], stage: str, checkpoint_id: int) -> None:
    """Run ``cmd`` until the runner pauses at ``stage`` of ``checkpoint_id``, then SIGKILL it."""
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FSSDK_TEST_PAUSE_AT": f"{stage}@{checkpoint_id}"},
    )
    assert proc.stderr is not None
    line = ""
    for line in proc.stderr:
        if line.startswith("fssdk-test-pause"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert line.strip() == f"fssdk-test-pause {stage} {checkpoint_id}"


INTERVAL = ["--checkpoint-interval", "100"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out_dir = tmp_path_factory.mktemp("sessions-reference")
    run([*readme_command(out_dir), *INTERVAL])
    return results(out_dir)


@pytest.mark.parametrize(
    "kills",
    [
        [("after-snapshot", 3)],
        [("before-snapshot", 2), ("before-rename", 7), ("after-metadata", 11)],
        [("after-snapshot", 14)],  # the checkpoint after the final watermark
    ],
)
def test_sigkill_then_resume_gives_the_uninterrupted_output_and_state(
    tmp_path: Path, reference: dict[str, object], kills: list[tuple[str, int]]
) -> None:
    cmd = [*readme_command(tmp_path), *INTERVAL]
    for stage, checkpoint_id in kills:
        kill_when_paused(cmd, stage, checkpoint_id)
    done = run(cmd)
    assert "resumed from checkpoint" in done.stderr
    assert results(tmp_path) == reference


def test_a_resume_right_before_a_late_click_still_sends_it_to_target_1(
    tmp_path: Path, reference: dict[str, object]
) -> None:
    """The first record after the resume is late: only the stored watermark can tell."""
    lines = (EXAMPLE / "clicks.jsonl").read_text().splitlines()
    _, late = expected_sessions(lines)
    before_late = lines.index(late[0])  # checkpoint 1 is taken right after this many records
    cmd = [*readme_command(tmp_path), "--checkpoint-interval", str(before_late)]
    kill_when_paused(cmd, "after-snapshot", 2)
    done = run(cmd)
    assert "resumed from checkpoint 1;" in done.stderr
    outputs = results(tmp_path)
    for name in ("sessions", "late", "watermarks"):
        assert outputs[name] == reference[name]
