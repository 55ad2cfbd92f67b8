"""``python -m benchmarks``: every workload on raw rocksdict, MemoryStore and RocksDBStore.

Prints the tables (µs per op, spread and ratio to raw rocksdict), writes every figure to
``--out`` as JSON and the scaling curves to ``--plot`` as a PNG (needs the ``plot`` extra).
``--quick`` is a smoke run of well under a minute; the full run takes several minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from benchmarks._harness import BACKEND_CHOICES, FULL, QUICK, Settings
from benchmarks._registry import WORKLOADS
from benchmarks._report import check_targets, plot, print_report, to_json, write_json
from benchmarks._runner import (
    Result,
    attach_ratios,
    groups,
    matches,
    plan,
    run_group,
    run_step,
)


def _backends(values: Sequence[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if name not in BACKEND_CHOICES:
                valid = ", ".join(BACKEND_CHOICES)
                raise argparse.ArgumentTypeError(f"unknown backend {name!r}; valid: {valid}")
            chosen.extend(BACKEND_CHOICES[name])
    return tuple(chosen)


def _plain_printer(console: Console) -> Callable[[str], None]:
    def emit(message: str) -> None:
        console.print(message, markup=False, highlight=False)

    return emit


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark fssdk state on MemoryStore and RocksDBStore against raw rocksdict.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and fewer repeats: a smoke run under a minute",
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME",
        help="only workloads whose name contains NAME (or matches it as a glob); repeatable",
    )
    parser.add_argument(
        "--backend",
        action="append",
        default=[],
        metavar="memory|rocksdb|raw",
        help="targets to run (repeatable or comma separated; default all); raw "
        "includes its WriteBatch row",
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="write every figure as JSON")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="draw the scaling curves as a PNG (needs matplotlib)",
    )
    parser.add_argument("--repeats", type=int, metavar="N", help="timed repeats per figure")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="measure every figure in this process, one after the other, instead "
        "of in interleaved worker processes (for profiling the benchmarks)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the workloads and their operation mix, then exit"
    )
    args = parser.parse_args(argv)
    try:
        args.targets = _backends(args.backend or ["raw,memory,rocksdb"])
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected workloads; 0 when every figure was measured or skipped, 1 on an error."""
    args = parse_args(argv)
    out = Console()
    if not out.is_terminal:
        out = Console(width=150)
    err = Console(stderr=True)
    settings: Settings = QUICK if args.quick else FULL
    if args.repeats is not None:
        settings = Settings(**{**settings.__dict__, "repeats": args.repeats})
    workloads = [w for w in WORKLOADS if matches(w.name, args.filter)]
    if args.list:
        for workload in workloads:
            out.print(f"[bold]{workload.name}[/] ({', '.join(workload.targets())})")
            out.print(f"  {workload.description}", highlight=False)
        return 0
    if not workloads:
        err.print(f"no workload matches {args.filter!r}; see --list", markup=False)
        return 2
    steps = plan(workloads, args.targets, settings)
    results: list[Result] = []
    load_start = _load()
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="fssdk-bench-") as root,
        Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("benchmarks", total=len(steps))
        for group in groups(steps):
            first = group[0]
            targets = ", ".join(step.target for step in group)
            label = f"{first.workload.name} n={first.n:,} ({targets})"
            progress.update(task, description=label)
            if args.in_process:
                done = [run_step(step, settings, Path(root)) for step in group]
            else:
                done = run_group(group, settings, Path(root))
            results.extend(done)
            progress.advance(task, len(group))
            if not err.is_terminal:
                statuses = ", ".join(sorted({result.status for result in done}))
                seconds = max(result.seconds for result in done)
                err.print(
                    f"[{len(results)}/{len(steps)}] {label}: {statuses} ({seconds:.1f} s)",
                    highlight=False,
                )
    wall = time.perf_counter() - started
    load = (load_start, _load())
    attach_ratios(results)
    checks = check_targets(results)
    print_report(out, workloads, results, args.targets, checks)
    mode = "quick" if settings.quick else "full"
    out.print(
        f"{len(results)} figures ({mode} run) in {wall:.1f} s; load average "
        f"{load[0]:.2f} at the start, {load[1]:.2f} at the end"
    )
    if args.out is not None:
        write_json(
            args.out,
            to_json(
                workloads=workloads,
                results=results,
                checks=checks,
                settings=settings,
                wall_seconds=wall,
                load=load,
            ),
        )
        out.print(f"results written to {args.out}")
    if args.plot is not None and plot(args.plot, workloads, results, _plain_printer(err)):
        out.print(f"scaling plot written to {args.plot}")
    return 1 if any(result.status == "error" for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
