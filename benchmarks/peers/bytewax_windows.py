"""The windowed job on fssdk and on Bytewax 0.21, back to back: records/s and their ratio.

The job of issue 19: per-key sums in tumbling 10 s event-time windows over 300 000 JSON events on
1 000 keys, out of order by less than the 2 s watermark delay, so that nothing is late. Each
round runs, one after the other on the same input file:

- ``fssdk``: ``fssdk run benchmarks/operators/windows.py`` on RocksDB in a fresh state dir, with
  its default checkpoints (every 10 000 records and at the end) and watermarks (``--watermark-field
  ts --watermark-delay 2000``, after each record that raises the largest ``ts``);
- ``bytewax-recovery``: ``python -m bytewax.run`` of :mod:`benchmarks.peers.bytewax_windows_flow`
  with a fresh SQLite recovery dir (``python -m bytewax.recovery DIR 1``, untimed) and a
  snapshot every second (``-s 1 -b 0``; Bytewax snapshots at most once a second);
- ``bytewax``: the same flow without recovery;
- with ``--baseline DIR``, also ``fssdk-baseline``: the same fssdk run started in ``DIR``, so
  that the ``fssdk`` and ``fssdk_advanced`` packages there are the ones imported (say, a
  ``git archive`` of the commit before a change), for a before/after in the same rounds.

Each figure is the wall time of the whole process (interpreter start, imports, the job, the
final flush), as a user would time the command, and its CPU time (user and system, all
threads), which moves less with the machine's load. The outputs of every run are checked to hold
the same windows, no late events, and sums that add up to the input's values; the rounds'
median is reported. Bytewax is not a dependency of fssdk: pass the interpreter of an
environment where ``bytewax==0.21.1`` is installed::

    python -m benchmarks.peers.bytewax_windows --bytewax-python /path/to/venv/bin/python

The machine's load moves absolute figures; the systems of one round run back to back, so read
the ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from benchmarks.e2e import WATERMARK_DELAY_MS, WINDOW_MS, WINDOWS_OPERATOR, write_window_events

ROOT: Final = Path(__file__).resolve().parents[2]
FLOW: Final = Path(__file__).resolve().with_name("bytewax_windows_flow.py")
SYSTEMS: Final = ("fssdk", "bytewax-recovery", "bytewax")
#: One window's result: (key, start, end, sum).
Window = tuple[str, int, int, int]


@dataclass(frozen=True)
class Run:
    """One run of one system: its wall time and the windows it emitted."""

    system: str
    seconds: float
    cpu_seconds: float
    windows: list[Window]


def fssdk_command(events: Path, output: Path, state_dir: Path) -> list[str]:
    """``fssdk run`` of the windows operator on RocksDB, default checkpoints."""
    return [
        sys.executable,
        "-m",
        "fssdk",
        "run",
        str(WINDOWS_OPERATOR),
        "--input",
        str(events),
        "--output",
        str(output),
        "--state-dir",
        str(state_dir),
        "--watermark-field",
        "ts",
        "--watermark-delay",
        str(WATERMARK_DELAY_MS),
        "--final-watermark",
        "--set",
        f"window_ms={WINDOW_MS}",
    ]


def bytewax_command(python: str, events: Path, output: Path, recovery: Path | None) -> list[str]:
    """``python -m bytewax.run`` of the flow, with a snapshot every second into ``recovery``."""
    command = [python, "-m", "bytewax.run", f"{FLOW}:flow({str(events)!r}, {str(output)!r})"]
    if recovery is not None:
        command += ["-r", str(recovery), "-s", "1", "-b", "0"]
    return command


def read_windows(output: Path) -> list[Window]:
    """The windows of an output file, sorted; ``ValueError`` if a line is not one."""
    windows: list[Window] = []
    for line in output.read_bytes().splitlines():
        window = json.loads(line)
        key, start, end, total = window["key"], window["start"], window["end"], window["sum"]
        if not (isinstance(key, str) and all(type(n) is int for n in (start, end, total))):
            raise ValueError(f"{output}: not a window: {line[:120]!r}")
        windows.append((key, start, end, total))
    return sorted(windows)


def late_lines(*paths: Path) -> int:
    """Lines in those of ``paths`` that exist: the late events a run set aside."""
    return sum(len(path.read_bytes().splitlines()) for path in paths if path.exists())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], log: Path, cwd: Path = ROOT) -> tuple[float, float]:
    """Run ``command`` in ``cwd``; its wall time and CPU time (user + system, of all its
    threads). ``RuntimeError`` on failure, with the end of its output."""
    cpu = _children_cpu()
    started = time.perf_counter()
    with log.open("wb") as out:
        completed = subprocess.run(
            command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    if completed.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{command[0]} ... exited with {completed.returncode}:\n{tail}")
    return seconds, cpu


def run_system(
    system: str, events: Path, work: Path, bytewax_python: str, baseline: Path | None
) -> Run:
    """One fresh run of ``system`` over ``events`` in ``work`` (emptied first)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    output = work / "windows.jsonl"
    log = work / "log.txt"
    if system.startswith("fssdk"):
        cwd = ROOT  # python -m puts it first on sys.path: its packages are the ones run
        if system == "fssdk-baseline":
            assert baseline is not None
            cwd = baseline
        seconds, cpu = timed(fssdk_command(events, output, work / "state"), log, cwd)
        late = late_lines(output.with_name(output.name + ".1"))
    else:
        recovery = None
        if system == "bytewax-recovery":
            recovery = work / "recovery"
            recovery.mkdir()
            init = [bytewax_python, "-m", "bytewax.recovery", str(recovery), "1"]
            subprocess.run(init, cwd=ROOT, check=True, capture_output=True)
        seconds, cpu = timed(bytewax_command(bytewax_python, events, output, recovery), log)
        late = late_lines(output.with_name(output.name + ".late"))
    if late:
        raise RuntimeError(f"{system}: {late} events came late; the input has none")
    return Run(system, seconds, cpu, read_windows(output))


def check_same(runs: Sequence[Run], values_total: int) -> None:
    """``RuntimeError`` unless every run emitted the same windows, adding up to the input."""
    first = runs[0]
    if sum(window[3] for window in first.windows) != values_total:
        raise RuntimeError(f"{first.system}: the window sums do not add up to the input's values")
    for run in runs[1:]:
        if run.windows != first.windows:
            missing = set(first.windows) ^ set(run.windows)
            raise RuntimeError(
                f"{run.system} and {first.system} disagree on {len(missing)} windows, "
                f"e.g. {sorted(missing)[:3]}"
            )


def report(rounds: Sequence[Sequence[Run]], events: int) -> str:
    """Per system the median records/s over the rounds, by wall time and by CPU time, and
    fssdk's ratio to it (above 1: fssdk is faster)."""
    systems = [run.system for run in rounds[0]]

    def median(system: str, cpu: bool) -> float:
        return statistics.median(
            run.cpu_seconds if cpu else run.seconds
            for runs in rounds
            for run in runs
            if run.system == system
        )

    windows = len(rounds[0][0].windows)
    lines = [
        f"{events:,} events, {windows:,} windows, identical on every run; "
        f"median of {len(rounds)} rounds",
        "",
        "| system | records/s | fssdk / it | records per CPU second | fssdk / it |",
        "|---|--:|--:|--:|--:|",
    ]
    for system in systems:
        wall, cpu = median(system, False), median(system, True)
        lines.append(
            f"| {system} | {events / wall:,.0f} | {wall / median('fssdk', False):.2f}x "
            f"| {events / cpu:,.0f} | {cpu / median('fssdk', True):.2f}x |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.peers.bytewax_windows",
        description="The windowed job on fssdk and on Bytewax 0.21, back to back.",
    )
    parser.add_argument(
        "--bytewax-python",
        default="/work/peers/venv/bin/python",
        help="the interpreter of an environment with bytewax==0.21.1 installed",
    )
    parser.add_argument("--events", type=int, default=300_000, help="input events")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (report their median)")
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also run fssdk with the fssdk packages of this directory (fssdk-baseline)",
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.rounds < 1:
        parser.error("--events and --rounds must be positive")
    root = args.workdir or Path(tempfile.mkdtemp(prefix="fssdk-bytewax-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        events = root / "events.jsonl"
        write_window_events(events, args.events)
        values_total = sum(json.loads(line)["value"] for line in events.read_bytes().splitlines())
        systems = [*SYSTEMS, *(["fssdk-baseline"] if args.baseline else [])]
        rounds: list[list[Run]] = []
        for number in range(1, args.rounds + 1):
            runs = [
                run_system(system, events, root / system, args.bytewax_python, args.baseline)
                for system in systems
            ]
            check_same([*(rounds[0][:1] if rounds else []), *runs], values_total)
            rounds.append(runs)
            timings = (f"{r.system} {r.seconds:.2f} s ({r.cpu_seconds:.2f} s CPU)" for r in runs)
            print(f"round {number}: " + ", ".join(timings))
        print()
        print(report(rounds, args.events))
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
