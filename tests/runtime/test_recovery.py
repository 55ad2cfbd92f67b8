"""Crash recovery of ``fssdk run``: SIGKILL at random moments and inside checkpoints.

Each trial runs the same command until it exits by itself, killing it with SIGKILL along the way,
then compares the outputs (main, side target, watermarks) and every entry of the final database
byte for byte with an uninterrupted run. The operator exercises simple keys, complex keys with
merge operands and prefix deletes, in-memory state written at take_checkpoint, a second output
target and watermarks; it sleeps a little per record so that kills land in the middle of a run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import database_dump

OPERATOR = '''
"""A test operator that touches every kind of state the runner must recover."""
import time
import fssdk
from fssdk import ComplexKey

class Recorder(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.counts = ctx.get_or_create_store("counts")
        self.lists = ctx.get_or_create_store("lists")
        self.sleep = int(config.get("sleep_us", "0")) / 1e6
        seen = self.counts.get(ComplexKey(b"meta", b"", b"", b"seen"))
        self.seen = int(seen) if seen is not None else 0

    def process(self, ctx, source_id, data):
        self.seen += 1
        word = data.strip()
        n = int(self.counts.get_state(word) or b"0") + 1
        self.counts.put_state(word, str(n).encode())
        history = ComplexKey(b"history", word, b"", b"lines")
        self.lists.merge(history, str(self.seen).encode() + b",")
        if n % 7 == 0:
            self.lists.delete_prefix(ComplexKey(b"history", word, b"", b""))
        ctx.emit(b"%s %d %d" % (word, n, self.seen))
        if self.seen % 10 == 0:
            ctx.emit(b"tenth %d" % self.seen, 1)
        if self.sleep:
            time.sleep(self.sleep)

    def process_watermark(self, ctx, source_id, watermark):
        ctx.emit(b"watermark %d after %d" % (watermark, self.seen))
        ctx.emit_watermark(watermark, 0)

    def take_checkpoint(self, ctx, checkpoint_id):
        self.counts.put(ComplexKey(b"meta", b"", b"", b"seen"), str(self.seen).encode())

    def close(self, ctx):
        self.counts.put_state(b"closed", str(self.seen).encode())

fssdk.run(Recorder())
'''

RECORDS = 1200
INTERVAL = 40


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recovery")
    (root / "recorder.py").write_text(OPERATOR)
    rng = random.Random(6)
    vocabulary = [f"w{i}" for i in range(40)]
    lines = [rng.choice(vocabulary) for _ in range(RECORDS)]
    (root / "input.txt").write_text("\n".join(lines) + "\n")
    return root


def command(root: Path, name: str, sleep_us: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fssdk",
        "run",
        str(root / "recorder.py"),
        "--input",
        str(root / "input.txt"),
        "--output",
        str(root / f"{name}.out"),
        "--state-dir",
        str(root / f"{name}.state"),
        "--checkpoint-interval",
        str(INTERVAL),
        "--watermark-every",
        "25",
        "--final-watermark",
        "--set",
        f"sleep_us={sleep_us}",
    ]


def run_to_completion(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def results(root: Path, name: str) -> dict[str, object]:
    out = root / f"{name}.out"
    return {
        "output": out.read_bytes(),
        "target 1": Path(f"{out}.1").read_bytes(),
        "watermarks": Path(f"{out}.watermarks").read_bytes(),
        "state": database_dump(root / f"{name}.state" / "db"),
    }


SLEEP_US = 300


@pytest.fixture(scope="module")
def reference(workdir: Path) -> dict[str, object]:
    """An uninterrupted run's outputs and state (no sleeping: the result does not depend on it)."""
    run_to_completion(command(workdir, "reference", 0))
    expected = results(workdir, "reference")
    assert expected["output"].count(b"\n") > RECORDS  # type: ignore[attr-defined]
    return expected


def test_uninterrupted_run_is_deterministic(workdir: Path, reference: dict[str, object]) -> None:
    run_to_completion(command(workdir, "again", 0))
    assert results(workdir, "again") == reference


def test_a_memory_run_writes_the_same_outputs(workdir: Path, reference: dict[str, object]) -> None:
    cmd = command(workdir, "memory", 0)
    at = cmd.index("--state-dir")
    run_to_completion([*cmd[:at], "--memory", *cmd[at + 2 :]])
    out = workdir / "memory.out"
    assert out.read_bytes() == reference["output"]
    assert Path(f"{out}.1").read_bytes() == reference["target 1"]
    assert Path(f"{out}.watermarks").read_bytes() == reference["watermarks"]


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def kill_after(proc: subprocess.Popen[str], seconds: float) -> bool:
    """SIGKILL ``proc`` after ``seconds`` unless it exits first; True if it was killed."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True
    return False


def kill_at_output_size(proc: subprocess.Popen[str], output: Path, size: int) -> bool:
    """SIGKILL ``proc`` once ``output`` reaches ``size`` bytes; True if it was killed.

    The output grows as the run progresses (a buffer at a time, and at each checkpoint), so the
    kill lands at a point of progress whatever the speed of the machine.
    """
    while proc.poll() is None:
        if output.exists() and output.stat().st_size >= size:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    return False


def kill_at_random_moments(
    cmd: list[str], output: Path, final_size: int, rng: random.Random
) -> None:
    """Start ``cmd`` three times, SIGKILLing it at a random point of progress (by the size of
    ``output``, which ends at ``final_size``), early in a start, and at a later point."""
    first = start(cmd)
    assert kill_at_output_size(first, output, rng.randrange(final_size // 10, final_size // 2))
    early = start(cmd)
    kill_after(early, rng.uniform(0.0, 0.4))
    last = start(cmd)
    assert kill_at_output_size(last, output, rng.randrange(final_size // 2, final_size * 9 // 10))
    for proc in (first, early, last):
        assert proc.stderr is not None
        proc.stderr.close()


@pytest.mark.parametrize("trial", range(4))
def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_result(
    workdir: Path, reference: dict[str, object], trial: int
) -> None:
    """Kills at a random point of progress, early in a start (loading, restoring), at another
    point of progress; then a run to the end must give the uninterrupted result."""
    name = f"random{trial}"
    cmd = command(workdir, name, SLEEP_US)
    final_size = len(reference["output"])  # type: ignore[arg-type]
    kill_at_random_moments(cmd, workdir / f"{name}.out", final_size, random.Random(trial))
    done = run_to_completion(cmd)
    assert "resumed from checkpoint" in done.stderr
    assert results(workdir, name) == reference


def kill_when_paused(cmd: list[str], stage: str, checkpoint_id: int) -> None:
    """Run until the runner pauses at ``stage`` of ``checkpoint_id``, then SIGKILL it."""
    proc = start(cmd, {"FSSDK_TEST_PAUSE_AT": f"{stage}@{checkpoint_id}"})
    assert proc.stderr is not None
    began = time.monotonic()
    line = ""
    while time.monotonic() - began < 60:
        line = proc.stderr.readline()
        if line.startswith("fssdk-test-pause") or not line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert line.strip() == f"fssdk-test-pause {stage} {checkpoint_id}"


@pytest.mark.parametrize(
    ("stage", "resumes_from"),
    [
        ("before-snapshot", 4),
        ("after-snapshot", 4),
        ("before-rename", 4),
        ("after-metadata", 5),
    ],
)
def test_sigkill_inside_a_checkpoint_resumes_from_the_last_complete_one(
    workdir: Path, reference: dict[str, object], stage: str, resumes_from: int
) -> None:
    name = f"stage-{stage}"
    cmd = command(workdir, name, 0)
    kill_when_paused(cmd, stage, 5)
    done = run_to_completion(cmd)
    assert f"resumed from checkpoint {resumes_from};" in done.stderr
    checkpoints = sorted(p.name for p in (workdir / f"{name}.state" / "checkpoints").iterdir())
    assert not [p for p in checkpoints if p.endswith(".tmp")]
    assert results(workdir, name) == reference


def test_killed_twice_in_the_same_checkpoint_still_recovers(
    workdir: Path, reference: dict[str, object]
) -> None:
    cmd = command(workdir, "twice", 0)
    kill_when_paused(cmd, "after-snapshot", 3)
    kill_when_paused(cmd, "before-rename", 3)
    done = run_to_completion(cmd)
    assert "resumed from checkpoint 2;" in done.stderr
    assert results(workdir, "twice") == reference


def test_a_rerun_after_completion_changes_nothing(
    workdir: Path, reference: dict[str, object]
) -> None:
    cmd = command(workdir, "rerun", 0)
    run_to_completion(cmd)
    done = run_to_completion(cmd)
    assert "0 records in" in done.stderr
    assert results(workdir, "rerun") == reference


QUEUE_OPERATOR = '''
"""Adds each record's number mod 17 to its word's queue; polls one every third record."""
import fssdk
from fssdk_advanced import IntCodec, KeyedPriorityQueueStateFactory


class Queue(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.queues = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())
        self.counter = ctx.get_or_create_store("n")
        self.n = int(self.counter.get_state(b"n") or b"0")

    def process(self, ctx, source_id, data):
        self.n += 1
        queue = self.queues.new_keyed_priority_queue(data.strip(), b"")
        queue.add(self.n % 17)
        if self.n % 3 == 0:
            value, found = queue.poll()
            ctx.emit(b"%s %s" % (data.strip(), str(value).encode()))

    def take_checkpoint(self, ctx, checkpoint_id):
        self.counter.put_state(b"n", str(self.n).encode())

fssdk.run(Queue())
'''


@pytest.fixture(scope="module")
def queue_runs(workdir: Path) -> dict[str, Path]:
    """A priority-queue operator run uninterrupted, and killed inside checkpoint 2 then resumed."""
    operator = workdir / "queue_op.py"
    operator.write_text(QUEUE_OPERATOR)
    dirs = {}
    for name in ("queue-reference", "queue-crashed"):
        cmd = [
            sys.executable,
            "-m",
            "fssdk",
            "run",
            str(operator),
            "--input",
            str(workdir / "input.txt"),
            "--output",
            str(workdir / f"{name}.out"),
            "--state-dir",
            str(workdir / f"{name}.state"),
            "--checkpoint-interval",
            "300",
        ]
        if name == "queue-crashed":
            kill_when_paused(cmd, "after-snapshot", 2)
        run_to_completion(cmd)
        dirs[name] = workdir / name
    return dirs


def test_priority_queue_operator_outputs_are_exact_after_a_kill(
    queue_runs: dict[str, Path],
) -> None:
    reference, crashed = queue_runs["queue-reference"], queue_runs["queue-crashed"]
    assert Path(f"{crashed}.out").read_bytes() == Path(f"{reference}.out").read_bytes()


def test_priority_queue_state_is_byte_identical_after_a_kill(queue_runs: dict[str, Path]) -> None:
    reference, crashed = queue_runs["queue-reference"], queue_runs["queue-crashed"]
    assert database_dump(Path(f"{crashed}.state") / "db") == database_dump(
        Path(f"{reference}.state") / "db"
    )
