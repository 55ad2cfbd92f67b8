"""``python -m benchmarks.compare BEFORE.json AFTER.json``: two runs' figures side by side.

Both files are ``python -m benchmarks --out`` results. Every figure measured in both (same
workload, size and target) gets a row: its median µs before and after, after/before (below
``1.00x`` is faster), and its ratio to raw rocksdict in each run, which is the fairer comparison
when the two runs saw different machine load. The targets follow, with both runs' verdicts.
``--markdown`` prints the same as Markdown tables, for a note or a document.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks._report import fmt_us

Key = tuple[str, int, str]


def load(path: Path) -> dict[str, Any]:
    """A results document; SystemExit naming the file when it is not one."""
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read results file {str(path)!r}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise SystemExit(f"{str(path)!r} is not a `python -m benchmarks --out` results file")
    return document


def figures(document: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    """The measured figures of a document by (workload, n, target)."""
    return {
        (r["workload"], int(r["n"]), r["target"]): r
        for r in document["results"]
        if r.get("us_per_op") is not None
    }


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def rows(before: dict[str, Any], after: dict[str, Any]) -> list[list[str]]:
    """One row per figure measured in both runs, in the order of the ``after`` run."""
    old = figures(before)
    found: list[list[str]] = []
    for key, new in figures(after).items():
        previous = old.get(key)
        if previous is None:
            continue
        workload, n, target = key
        was, now = previous["us_per_op"]["median"], new["us_per_op"]["median"]
        found.append(
            [
                workload,
                f"{n:,}",
                target,
                fmt_us(was),
                fmt_us(now),
                f"{now / was:.2f}x",
                _ratio(previous.get("ratio_to_raw")),
                _ratio(new.get("ratio_to_raw")),
            ]
        )
    return found


def target_rows(before: dict[str, Any], after: dict[str, Any]) -> list[list[str]]:
    """One row per target evaluated in either run."""
    verdict = {True: "met", False: "missed", None: "n/a"}
    old = {check["name"]: check for check in before.get("targets", [])}
    new = {check["name"]: check for check in after.get("targets", [])}
    found: list[list[str]] = []
    for name in [*new, *(name for name in old if name not in new)]:
        was, now = old.get(name), new.get(name)
        limit = (now or was or {}).get("limit", "")
        found.append(
            [
                name,
                limit,
                was["measured"] if was else "-",
                verdict[was["met"]] if was else "-",
                now["measured"] if now else "-",
                verdict[now["met"]] if now else "-",
            ]
        )
    return found


FIGURE_HEADER = [
    "workload",
    "n",
    "target",
    "before µs",
    "after µs",
    "after/before",
    "before x raw",
    "after x raw",
]
TARGET_HEADER = ["target", "limit", "before", "verdict", "after", "verdict"]
#: Columns of text, left-aligned; the others hold figures.
TEXT_COLUMNS = {"workload", "target", "limit", "before", "after", "verdict"}


def _run_line(label: str, document: dict[str, Any]) -> str:
    meta = document.get("meta", {})

    def number(name: str) -> str:
        value = meta.get(name)
        return f"{value:.2f}" if isinstance(value, int | float) else "?"

    return (
        f"{label}: commit {meta.get('commit', '?')}, {meta.get('wall_seconds', '?')} s, load "
        f"average {number('load_average_start')} → {number('load_average_end')}"
    )


def markdown(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A Markdown table: text columns left-aligned, figures right-aligned."""
    align = ["---" if title in TEXT_COLUMNS else "--:" for title in header]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the comparison; 0 on success."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description="Compare two `python -m benchmarks --out` results files.",
    )
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    before, after = load(args.before), load(args.after)
    figure_rows, check_rows = rows(before, after), target_rows(before, after)
    if args.markdown:
        print(_run_line("before", before))
        print(_run_line("after", after))
        print()
        print(markdown(FIGURE_HEADER, figure_rows))
        print()
        print(markdown(TARGET_HEADER, check_rows))
        return 0
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(_run_line("before", before), markup=False, highlight=False)
    console.print(_run_line("after", after), markup=False, highlight=False)
    table = Table(title="Figures: median µs per op", title_justify="left")
    for title in FIGURE_HEADER:
        table.add_column(title, justify="left" if title in TEXT_COLUMNS else "right")
    for row in figure_rows:
        table.add_row(*row)
    console.print(table)
    checks = Table(title="Targets", title_justify="left")
    for title in TARGET_HEADER:
        checks.add_column(title)
    for row in check_rows:
        checks.add_row(*row)
    console.print(checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
