"""Planning and running: which (workload, size, target) figures to measure, and measuring one.

Each figure is measured in a fresh Python process (:mod:`benchmarks._worker`, as pyperf does) and
a fresh environment (see :func:`benchmarks._harness.open_env`), so that nothing one figure leaves
behind (garbage, caches, memory a layer fails to release) weighs on the next. The figures of one
table row (one workload and size, every target) run side by side with their samples interleaved
(:func:`run_group`). The result comes back as a :class:`Result`; a workload that needs a part of
``fssdk_advanced`` that is not there yet is reported as skipped, and one that raises is reported
as an error (the run goes on and the command exits non-zero).
"""

from __future__ import annotations

import contextlib
import fnmatch
import gc
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._harness import (
    RAW,
    TARGETS,
    Env,
    Measurable,
    RawEnv,
    Settings,
    Stats,
    Workload,
    measure,
    open_env,
)


@dataclass
class Result:
    """One figure: a workload at size ``n`` on one target."""

    workload: str
    family: str
    target: str
    n: int
    unit: str
    status: str
    ops: int = 0
    samples_us: list[float] = field(default_factory=list)
    stats: Stats | None = None
    extra: dict[str, float] = field(default_factory=dict)
    note: str = ""
    #: Median over the median of the raw row of the same workload and size.
    ratio: float | None = None
    #: Wall time of the whole figure: building its data and state, warm-up and repeats.
    seconds: float = 0.0


@dataclass(frozen=True)
class Step:
    """One figure to measure."""

    workload: Workload
    n: int
    target: str

    @property
    def label(self) -> str:
        """Shown by the progress bar."""
        return f"{self.workload.name} n={self.n:,} {self.target}"


def matches(name: str, patterns: Sequence[str]) -> bool:
    """True when ``name`` matches one of ``patterns`` (a glob if it has ``*?[``, else a substring).

    No patterns match everything.
    """
    if not patterns:
        return True
    for pattern in patterns:
        if any(char in pattern for char in "*?["):
            if fnmatch.fnmatchcase(name, pattern):
                return True
        elif pattern in name:
            return True
    return False


def missing_requirements(workload: Workload) -> list[str]:
    """Names the workload needs from ``fssdk_advanced`` that it does not export (yet)."""
    if not workload.requires:
        return []
    try:
        module = importlib.import_module("fssdk_advanced")
    except ImportError:
        return list(workload.requires)
    return [name for name in workload.requires if not hasattr(module, name)]


def plan(workloads: Iterable[Workload], targets: Sequence[str], settings: Settings) -> list[Step]:
    """Every figure to measure, workload by workload, size by size, in table target order."""
    return [
        Step(workload, n, target)
        for workload in workloads
        for n in workload.points(settings)
        for target in TARGETS
        if target in targets and target in workload.targets()
    ]


def build(workload: Workload, env: Env, n: int, settings: Settings) -> Measurable:
    """The workload's bench at size ``n`` on ``env`` (its raw builder on raw rocksdict)."""
    if isinstance(env, RawEnv):
        assert workload.raw is not None
        return workload.raw(env, n, settings)
    assert workload.store is not None
    return workload.store(env, n, settings)


def run_step(step: Step, settings: Settings, root: Path) -> Result:
    """Measure one figure in a fresh environment under ``root``."""
    started = time.perf_counter()
    result = _run_step(step, settings, root)
    result.seconds = time.perf_counter() - started
    return result


def _run_step(step: Step, settings: Settings, root: Path) -> Result:
    workload = step.workload
    result = Result(workload.name, workload.family, step.target, step.n, workload.unit, "ok")
    missing = missing_requirements(workload)
    if missing:
        result.status = "skipped"
        result.note = "fssdk_advanced lacks " + ", ".join(missing)
        return result
    try:
        with open_env(step.target, root) as env:
            bench = build(workload, env, step.n, settings)
            samples_ns = measure(bench, settings.repeats, settings.warmup)
            result.ops = bench.ops
            result.extra = dict(bench.extra)
            del bench
            gc.collect()
    except Exception as exc:
        result.status = "error"
        result.note = "".join(traceback.format_exception(exc)).strip()
        return result
    result.samples_us = [sample / 1_000 for sample in samples_ns]
    result.stats = Stats.of(result.samples_us)
    return result


#: The directory that holds the ``benchmarks`` package, put on the workers' path.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def result_to_json(result: Result) -> dict[str, Any]:
    """``result`` as plain JSON types."""
    return asdict(result)


def result_from_json(data: dict[str, Any]) -> Result:
    """The inverse of :func:`result_to_json`."""
    stats = data.pop("stats")
    return Result(**data, stats=None if stats is None else Stats(**stats))


def groups(steps: Sequence[Step]) -> list[list[Step]]:
    """``steps`` cut into runs of the same workload and size (one group per table row)."""
    found: list[list[Step]] = []
    for step in steps:
        if found and (found[-1][0].workload, found[-1][0].n) == (step.workload, step.n):
            found[-1].append(step)
        else:
            found.append([step])
    return found


class _Worker:
    """One figure measured in its own process, driven line by line (see benchmarks._worker)."""

    def __init__(self, step: Step, settings: Settings, root: Path) -> None:
        self.step = step
        self.started = time.perf_counter()
        self.error: str | None = None
        self.samples_ns: list[float] = []
        self.final: dict[str, Any] = {}
        # Lives as long as the worker, closed in close(): no with-block can span the methods.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if part
        )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        self._send(
            json.dumps(
                {
                    "workload": step.workload.name,
                    "n": step.n,
                    "target": step.target,
                    "settings": asdict(settings),
                    "root": str(root),
                }
            )
        )

    def _send(self, line: str) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except OSError as exc:
            self._fail(f"worker stopped reading: {exc}")

    def _fail(self, message: str) -> None:
        if self.error is None:
            self._process.wait()
            self._stderr.seek(0)
            self.error = message + "\n" + self._stderr.read()[-4000:]

    def send(self, command: str) -> None:
        """Send ``command`` unless the worker has failed."""
        if self.error is None:
            self._send(command)

    def reply(self) -> dict[str, Any] | None:
        """The worker's answer to the last command, or None once it has failed."""
        if self.error is not None:
            return None
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._fail(f"worker exited with {self._process.wait()}")
            return None
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            self.error = str(answer["error"])
            return None
        return answer

    def close(self) -> float:
        """Wait for the worker to exit; the seconds it lived."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        self._process.wait()
        self._stderr.close()
        return time.perf_counter() - self.started

    def result(self) -> Result:
        """The figure, once the worker is closed."""
        workload = self.step.workload
        result = Result(
            workload.name, workload.family, self.step.target, self.step.n, workload.unit, "ok"
        )
        if self.error is not None:
            result.status, result.note = "error", self.error
            return result
        result.ops = int(self.final.get("ops", 0))
        result.extra = {k: float(v) for k, v in self.final.get("extra", {}).items()}
        result.samples_us = [sample / 1_000 for sample in self.samples_ns]
        result.stats = Stats.of(result.samples_us)
        return result


def run_group(steps: Sequence[Step], settings: Settings, root: Path) -> list[Result]:
    """Measure the targets of one workload and size, one process each, samples interleaved.

    The workers build their data and state in parallel (untimed); then every target takes one
    sample in turn, warm-up first, so that a change in the machine's load weighs on all of them
    alike and the ratios to raw rocksdict stay fair on a busy machine.
    """
    skipped: dict[Step, Result] = {}
    for step in steps:
        missing = missing_requirements(step.workload)
        if missing:
            workload = step.workload
            skipped[step] = Result(
                workload.name,
                workload.family,
                step.target,
                step.n,
                workload.unit,
                "skipped",
                note="fssdk_advanced lacks " + ", ".join(missing),
            )
    workers = [_Worker(step, settings, root) for step in steps if step not in skipped]
    total = settings.warmup + settings.repeats
    for worker in workers:
        worker.reply()
    for worker in workers:
        worker.send(f"prepare {total}")
    for worker in workers:
        worker.reply()
    for index in range(total):
        for worker in workers:
            worker.send("sample")
            answer = worker.reply()
            if answer is not None and index >= settings.warmup:
                worker.samples_ns.append(float(answer["ns"]))
    for worker in workers:
        worker.send("finish")
        worker.final = worker.reply() or {}
    results: dict[Step, Result] = dict(skipped)
    for worker in workers:
        seconds = worker.close()
        results[worker.step] = worker.result()
        results[worker.step].seconds = seconds
    return [results[step] for step in steps]


def attach_ratios(results: Sequence[Result]) -> None:
    """Set each measured result's ratio to the raw row of the same workload and size."""
    raw = {
        (result.workload, result.n): result.stats.median
        for result in results
        if result.target == RAW and result.stats is not None
    }
    for result in results:
        floor = raw.get((result.workload, result.n))
        if result.stats is not None and floor:
            result.ratio = result.stats.median / floor
