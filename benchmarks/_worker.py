"""``python -m benchmarks._worker``: measure one figure in this fresh process.

Reads a request (workload name, size, target, settings, temporary root) as JSON on stdin and
writes the :class:`~benchmarks._runner.Result` as one line of JSON on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks._harness import Settings
from benchmarks._registry import WORKLOADS
from benchmarks._runner import Step, result_to_json, run_step


def main() -> int:
    """Serve one request from stdin."""
    request = json.loads(sys.stdin.read())
    workload = next(w for w in WORKLOADS if w.name == request["workload"])
    fields: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in request["settings"].items()
    }
    step = Step(workload, int(request["n"]), str(request["target"]))
    result = run_step(step, Settings(**fields), Path(request["root"]))
    sys.stdout.write(json.dumps(result_to_json(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
