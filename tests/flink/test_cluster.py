"""Jobs on a local Flink session cluster (the session's ``flink_cluster``: 2 TaskManagers).

A job submitted with ``--jobmanager`` equals ``fssdk run``; a job that loses a TaskManager to
``kill -9`` in the middle recovers from its checkpoints, and its output still holds every line
exactly once; the virtual environment's ``fssdk`` runs by its path without the environment on
the ``PATH``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from fssdk.flink._cluster import LocalCluster, Process
from tests.support import ROOT, flink_missing, run_fssdk

pytestmark = pytest.mark.skipif(flink_missing() is not None, reason=flink_missing() or "")

#: A click counter that takes its field names from a sibling module (shipped with the job) and
#: works about 2 ms a record, so that a job of a few thousand records runs long enough to lose
#: a TaskManager in the middle.
COUNTER = """
import json
import time

import fssdk
from click_fields import USER
from fssdk_advanced import KeyedValueStateFactory


class SlowClickCounter(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.counts = KeyedValueStateFactory.from_context_auto_codec(ctx, "clicks", b"n", int)
        self.pause = float(config.get("pause", "0"))

    def process(self, ctx, source_id, data):
        user = json.loads(data)[USER]
        count = self.counts.new_keyed_value(user.encode(), b"")
        n = (count.value()[0] or 0) + 1
        count.update(n)
        time.sleep(self.pause)
        ctx.emit(json.dumps({"user": user, "clicks": n}).encode())


fssdk.run(SlowClickCounter())
"""


def _operator(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "click_fields.py").write_text('USER = "user"\n', encoding="utf-8")
    path = folder / "slow_clicks.py"
    path.write_text(COUNTER, encoding="utf-8")
    return path


def _clicks(path: Path, count: int, users: int, seed: int, pad: int = 0) -> None:
    """``count`` clicks; ``pad`` characters of filler in each make the file outgrow what
    Flink's network buffers hold, so that the source waits for the operator (see below)."""
    rng = random.Random(seed)
    lines = [
        json.dumps({"user": f"u{rng.randrange(users)}", "n": n, "pad": "x" * pad})
        for n in range(count)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _per_key(path: Path) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        grouped[json.loads(line)["user"]].append(line)
    return dict(grouped)


def _flink_args(cluster: LocalCluster, *args: object) -> list[object]:
    return ["run", *args, "--engine", "flink", "--key-field", "user", "--jobmanager",
            cluster.address, "-q"]  # fmt: skip


def _rest(cluster: LocalCluster, path: str) -> Any:
    with urllib.request.urlopen(f"http://{cluster.address}{path}", timeout=10) as answer:
        return json.load(answer)


def test_a_job_on_the_session_cluster_ships_the_operators_modules_and_equals_fssdk_run(
    flink_cluster: LocalCluster, tmp_path: Path
) -> None:
    operator = _operator(tmp_path / "operator")
    _clicks(tmp_path / "clicks.jsonl", 600, 30, seed=1)
    local = run_fssdk("run", operator, "--input", "clicks.jsonl", "--output", "local.jsonl",
                      "--memory", "-q", cwd=tmp_path)  # fmt: skip
    assert local.returncode == 0, local.stderr
    # The TaskManagers' Python does not see the operator's folder: the job ships its modules.
    done = run_fssdk(
        *_flink_args(flink_cluster, operator, "--input", "clicks.jsonl", "--output",
                     "flink.jsonl", "--parallelism", "2"),
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert _per_key(tmp_path / "flink.jsonl") == _per_key(tmp_path / "local.jsonl")


def _running_job(cluster: LocalCluster, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = _rest(cluster, "/jobs/overview")["jobs"]
        running = [job["jid"] for job in jobs if job["state"] == "RUNNING"]
        if running:
            return str(running[0])
        time.sleep(0.3)
    raise AssertionError(f"no job started on {cluster.address} within {timeout} s")


def _committed(job_dir: Path) -> int:
    """Lines the job's FileSink has committed so far (checkpoints that completed)."""
    total = 0
    for part in job_dir.glob("run-*/output/part-*"):
        with open(part, "rb") as handle:
            total += sum(1 for _ in handle)
    return total


def _wait_for(what: str, condition: Any, timeout: float, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the job ended before {what}: {process.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.2)


def test_killing_a_taskmanager_mid_job_recovers_with_every_line_exactly_once(
    flink_cluster: LocalCluster, tmp_path: Path
) -> None:
    records, users = 6_000, 40
    operator = _operator(tmp_path / "operator")
    # Small records would all fit in the network buffers at once: the source would read the
    # whole file before the first checkpoint barrier, and that checkpoint, completing once the
    # operator had worked through them, would commit nearly everything at once. 2 KB records
    # keep the source a few hundred records ahead, so output is committed early and in steps.
    _clicks(tmp_path / "clicks.jsonl", records, users, seed=2, pad=2_000)
    local = run_fssdk("run", operator, "--input", "clicks.jsonl", "--output", "local.jsonl",
                      "--memory", "-q", cwd=tmp_path)  # fmt: skip
    assert local.returncode == 0, local.stderr

    args: Sequence[object] = _flink_args(
        flink_cluster, operator, "--input", "clicks.jsonl", "--output", "flink.jsonl",
        "--parallelism", "2", "--restart-attempts", "20", "--restart-delay", "1000",
        "--job-dir", tmp_path / "job", "--set", "pause=0.002",
    )  # fmt: skip
    job = subprocess.Popen(
        [sys.executable, "-m", "fssdk", *map(str, args)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        job_id = _running_job(flink_cluster, timeout=120)
        # Mid-job: some output is committed (a checkpoint completed), most is still to come.
        _wait_for("committed output", lambda: _committed(tmp_path / "job") > 0, 120, job)
        before = _committed(tmp_path / "job")
        assert before < records // 2, f"{before} of {records} lines were out before the kill"
        victim = flink_cluster.alive("taskmanager")[0]
        assert victim.signal(signal.SIGKILL)
        flink_cluster.add_taskmanager()
        _, stderr = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    assert job.returncode == 0, stderr[-3000:]

    # Flink noticed the loss and restarted the job from a checkpoint.
    history = _rest(flink_cluster, f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
    assert history, "the job never failed over"
    expected = _per_key(tmp_path / "local.jsonl")
    got = _per_key(tmp_path / "flink.jsonl")
    assert sum(map(len, got.values())) == records
    assert got == expected
    print(
        f"killed TaskManager {victim.pid} after {before} committed lines; the job restarted "
        f"({len(history)} failure(s) in its history) and wrote {records} lines for {users} "
        f"users, each exactly once, equal to fssdk run"
    )


TTL_COUNT = """
import json
import fssdk
from fssdk_advanced import KeyedValueStateFactory
from fssdk_advanced.time import StateTtl


class TtlCount(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.s = KeyedValueStateFactory.from_context_auto_codec(
            ctx, "s", b"count", int, ttl=StateTtl(60_000))

    def process(self, ctx, source_id, data):
        user = json.loads(data)["user"]
        v = self.s.new_keyed_value(user.encode(), b"")
        v.update((v.value()[0] or 0) + 1)
        ctx.emit(json.dumps({"user": user, "count": v.value()[0]}).encode())


fssdk.run(TtlCount())
"""


def test_the_venvs_fssdk_by_its_path_runs_a_ttl_count_from_any_folder(
    flink_cluster: LocalCluster, tmp_path: Path
) -> None:
    """The issue's TtlCount, with the venv's ``fssdk`` by full path, the venv off the PATH."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests do not run in a virtual environment")
    script = Path(sys.executable).parent / "fssdk"
    assert script.is_file(), f"no fssdk script next to {sys.executable}"
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "t.py").write_text(TTL_COUNT, encoding="utf-8")
    (work / "u.jsonl").write_text('{"user":"a"}\n{"user":"b"}\n{"user":"a"}\n', encoding="utf-8")
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry != venv_bin
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    for address in ([], ["--jobmanager", flink_cluster.address]):
        (work / "o").unlink(missing_ok=True)
        done = subprocess.run(
            [str(script), "run", "t.py", "--engine", "flink", "--key-field", "user",
             "--input", "u.jsonl", "--output", "o", "--parallelism", "2", *address],
            cwd=work, env={**env, "PATH": path}, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, (address, done.stderr[-3000:])
        assert _per_key(work / "o") == {
            "a": ['{"user": "a", "count": 1}', '{"user": "a", "count": 2}'],
            "b": ['{"user": "b", "count": 1}'],
        }


def test_a_cluster_process_that_exited_is_not_alive_before_it_is_collected() -> None:
    """A JVM this process started stays a zombie until collected; ``stop`` must not wait for
    it (it did, 30 s per stop, before zombies counted as gone)."""
    child = subprocess.Popen(["true"])

    def stat() -> list[str]:  # the fields after the command name, the state first
        return Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()

    process = Process("taskmanager", child.pid, int(stat()[19]))
    deadline = time.monotonic() + 10
    while stat()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    try:
        assert not process.alive()
        assert not process.signal(signal.SIGTERM)
    finally:
        child.wait()
