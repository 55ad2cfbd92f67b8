"""``python -m benchmarks._worker``: measure one figure in this fresh process, step by step.

The parent (:func:`benchmarks._runner.run_group`) writes one line of JSON (workload name, size,
target, settings, temporary root), then commands, one per line; the worker answers each with one
line of JSON, or ``{"error": traceback}`` after which it stops:

- after the request it builds the workload and answers ``{"ready": true}``;
- ``prepare N``: ``Measurable.prepare(N)``, answer ``{}``;
- ``sample``: one timed sample, answer ``{"ns": nanoseconds per operation}``;
- ``finish``: ``Measurable.finish()``, answer ``{"ops": ..., "extra": {...}}``, then it exits.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from benchmarks._harness import Settings, open_env
from benchmarks._registry import WORKLOADS
from benchmarks._runner import build


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(request: dict[str, Any]) -> None:
    """Build the requested figure and answer commands until ``finish``."""
    workload = next(w for w in WORKLOADS if w.name == request["workload"])
    fields: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in request["settings"].items()
    }
    settings = Settings(**fields)
    n = int(request["n"])
    with open_env(str(request["target"]), Path(request["root"])) as env:
        bench = build(workload, env, n, settings)
        _answer({"ready": True})
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "prepare":
                bench.prepare(int(argument))
                _answer({})
            elif command == "sample":
                _answer({"ns": bench.sample()})
            elif command == "finish":
                bench.finish()
                _answer({"ops": bench.ops, "extra": bench.extra})
                break
            else:
                raise ValueError(f"unknown command {command!r}")
        del bench


def main() -> int:
    """Serve one figure; exit status 1 after reporting an error."""
    try:
        serve(json.loads(sys.stdin.readline()))
    except Exception as exc:
        _answer({"error": "".join(traceback.format_exception(exc)).strip()})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
