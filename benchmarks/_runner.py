"""Planning and running: which (workload, size, target) figures to measure, and measuring one.

Each figure is measured in a fresh Python process (:mod:`benchmarks._worker`, as pyperf does) and
a fresh environment (see :func:`benchmarks._harness.open_env`), so that nothing one figure leaves
behind (garbage, caches, memory a layer fails to release) weighs on the next. The result comes
back as a :class:`Result`; a workload that needs a part of ``fssdk_advanced`` that is not there
yet is reported as skipped, and one that raises is reported as an error (the run goes on and the
command exits non-zero).
"""

from __future__ import annotations

import fnmatch
import gc
import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._harness import (
    RAW,
    TARGETS,
    Measurable,
    RawEnv,
    Settings,
    Stats,
    StoreEnv,
    Workload,
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


def plan(
    workloads: Iterable[Workload], targets: Sequence[str], settings: Settings
) -> list[Step]:
    """Every figure to measure, workload by workload, size by size, in table target order."""
    return [
        Step(workload, n, target)
        for workload in workloads
        for n in workload.points(settings)
        for target in TARGETS
        if target in targets and target in workload.targets()
    ]


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
            bench: Measurable
            if isinstance(env, RawEnv):
                assert workload.raw is not None
                bench = workload.raw(env, step.n, settings)
            else:
                assert isinstance(env, StoreEnv)
                assert workload.store is not None
                bench = workload.store(env, step.n, settings)
            samples_ns = bench.measure(settings.repeats, settings.warmup)
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


def run_step_isolated(step: Step, settings: Settings, root: Path) -> Result:
    """Measure one figure in a fresh worker process (``python -m benchmarks._worker``)."""
    request = {
        "workload": step.workload.name,
        "n": step.n,
        "target": step.target,
        "settings": asdict(settings),
        "root": str(root),
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if part
    )
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks._worker"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    try:
        result = result_from_json(json.loads(lines[-1]))
    except (IndexError, ValueError, TypeError, KeyError):
        workload = step.workload
        result = Result(workload.name, workload.family, step.target, step.n, workload.unit,
                        "error", note=f"worker exited with {completed.returncode}:\n"
                        + completed.stderr[-4000:])
    result.seconds = time.perf_counter() - started
    return result


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
