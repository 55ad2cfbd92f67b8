"""Fail unless every module under the gated paths has at least FLOOR % branch coverage.

Reads the data of the last ``python -m pytest`` run (``.coverage``, written by pytest-cov as
configured in pyproject.toml), prints each gated module's figure and names every one below the
floor. The percentage is coverage.py's: covered statements and branches over all of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

FLOOR = 95.0
GATED = (
    "fssdk/_keyformat.py",
    "fssdk/stores/",
    "fssdk_advanced/state/",
    "fssdk_advanced/time/",
    "fssdk_advanced/windows/",
)


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "coverage.json"
        subprocess.run(
            [sys.executable, "-m", "coverage", "json", "-q", "-o", str(report)], check=True
        )
        files = json.loads(report.read_text())["files"]
    gated = {
        name: data["summary"]
        for name, data in files.items()
        if any(name == path or name.startswith(path) for path in GATED)
    }
    missing = [path for path in GATED if not any(name.startswith(path) for name in gated)]
    below = []
    print(f"branch coverage of the gated modules (floor {FLOOR:g}%):")
    for name, summary in sorted(gated.items()):
        percent = summary["percent_covered"]
        branches = f"{summary['covered_branches']}/{summary['num_branches']} branches"
        print(f"  {name:45} {percent:6.2f}%  ({branches})")
        if percent < FLOOR:
            below.append(f"{name} ({percent:.2f}%)")
    if missing:
        print(f"no coverage data for: {', '.join(missing)}", file=sys.stderr)
    if below:
        print(f"below the {FLOOR:g}% floor: {', '.join(below)}", file=sys.stderr)
    return 1 if below or missing else 0


if __name__ == "__main__":
    sys.exit(main())
