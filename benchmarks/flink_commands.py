"""Start-up and throughput of ``fssdk run``, a Flink mini-cluster and a Flink session cluster.

``python -m benchmarks.flink_commands [--records N] [--small N] [--users U]`` runs the README's
ClickCounter over generated clicks three ways, each a whole command timed from start to exit:

- ``fssdk run`` with a RocksDB state dir;
- ``fssdk run --engine flink --parallelism 2``: a mini-cluster in the command's JVM;
- the same with ``--jobmanager``: a local session cluster (``LocalCluster``, 2 TaskManagers of
  1 slot) that this benchmark starts first and stops at the end, by its own process ids.

Each runs a small input (``--small``, start-up) and a large one (``--records``). The table gives
the wall times, records/s of the large run (records over wall time), and the rate with start-up
left out: the extra records over the extra time, ``(N - n) / (t(N) - t(n))``. Every run's output
is checked to hold one line per record.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fssdk.flink._cluster import LocalCluster

ROOT = Path(__file__).resolve().parents[1]


def _readme_operator() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"## An operator\n\n```python\n(.*?)```", readme, re.DOTALL)
    if found is None:
        raise RuntimeError("README.md has no 'An operator' code block")
    return found.group(1)


def _clicks(path: Path, records: int, users: int) -> None:
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8") as handle:
        for page in range(records):
            handle.write(json.dumps({"user": f"user{rng.randrange(users)}", "page": page}) + "\n")


def _timed(folder: Path, records: int, options: list[str]) -> float:
    """Seconds of one ``fssdk run`` over ``records`` clicks; its output is checked."""
    output = folder / "out.jsonl"
    output.unlink(missing_ok=True)
    command = [sys.executable, "-m", "fssdk", "run", "clicks.py", "-q"]
    started = time.monotonic()
    done = subprocess.run(
        [*command, "--input", f"clicks-{records}.jsonl", "--output", str(output), *options],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{options} exited {done.returncode}:\n{done.stderr[-2000:]}")
    with open(output, encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    if lines != records:
        raise RuntimeError(f"{options}: {lines} output lines for {records} records")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flink_commands")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--users", type=int, default=500)
    args = parser.parse_args(argv)
    sizes = (args.small, args.records)
    with tempfile.TemporaryDirectory(prefix="fssdk-bench-") as scratch:
        folder = Path(scratch)
        (folder / "clicks.py").write_text(_readme_operator(), encoding="utf-8")
        for size in sizes:
            _clicks(folder / f"clicks-{size}.jsonl", size, args.users)
        cluster = LocalCluster(folder / "cluster", taskmanagers=2, port=0)
        started = time.monotonic()
        try:
            cluster.start()
            cluster_start = time.monotonic() - started
            flink = ["--engine", "flink", "--key-field", "user", "--parallelism", "2"]
            runs: list[tuple[str, list[str]]] = [
                ("`fssdk run` (RocksDB state dir)", []),
                ("mini-cluster (`--engine flink`, parallelism 2)", flink),
                (
                    "session cluster (`--jobmanager`, parallelism 2)",
                    [*flink, "--jobmanager", cluster.address],
                ),
            ]
            rows = []
            for name, options in runs:
                small, large = (
                    _timed(folder, size, options or ["--state-dir", f"state-{size}"])
                    for size in sizes
                )
                rows.append((name, small, large))
        finally:
            cluster.stop()
    print(
        f"README ClickCounter, {args.users:,} users; session cluster started in "
        f"{cluster_start:.1f} s (2 TaskManagers x 1 slot)\n"
    )
    print(
        f"| command | {args.small:,} records | {args.records:,} records | records/s "
        "| records/s without start-up |\n|---|---|---|---|---|"
    )
    for name, small, large in rows:
        marginal = f"{(args.records - args.small) / (large - small):,.0f}" if large > small else "-"
        print(
            f"| {name} | {small:.1f} s | {large:.1f} s | {args.records / large:,.0f} | {marginal} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
