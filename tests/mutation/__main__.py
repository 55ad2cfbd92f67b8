"""``python -m tests.mutation``: the mutation score of the write buffer and the key layout.

Copies the checkout (its tracked and untracked, not ignored, files) to a temporary directory,
so that the files you work on are never mutated, and there, with cosmic-ray (the ``mutation``
extra): runs the fast subset :data:`TESTS` once unmutated (it must pass; its time sets the
timeout), makes every mutant of :data:`MODULES`, draws a seeded random sample of them, runs the
subset against each (one process at a time, stopping at the first failure) and prints the score
and every survivor. Mutants inside type annotations are left out before the sample is drawn:
under ``from __future__ import annotations`` they are never evaluated. A mutant whose tests
time out counts as killed, as cosmic-ray counts it.

``--session FILE`` keeps cosmic-ray's session database there: a run that was stopped resumes
where it was, and ``cr-report FILE`` or ``cr-html FILE`` show it. docs/testing.md has the figures
of the last run and why each survivor is equivalent.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import random
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODULES = ("fssdk/stores/_buffer.py", "fssdk/stores/_buffered.py", "fssdk/_keyformat.py")
#: The fast subset, in the order it runs (the quick unit tests first, so that most mutants die
#: within a second or two): the declared thresholds (their production values are documented),
#: the tests of the key layout (with its doctests), of the write buffer,
#: the buffered store's tests on RocksDB (its scopes' fused reads included), and the machines at
#: a few examples (``machines.py``).
TESTS = (
    "tests/test_thresholds.py::test_every_threshold_of_the_stores_state_and_time_is_declared",
    "fssdk/_keyformat.py",
    "tests/stores/test_keyformat.py",
    "tests/stores/test_write_buffer.py",
    "tests/stores/test_prefix_deletes_at_every_size.py",
    "tests/stores/test_savepoints.py",
    "tests/stores/test_scans_and_keys.py",
    "tests/stores/test_store.py",
    "tests/stores/test_scopes.py",
    "tests/mutation/machines.py",
)
#: What the subset leaves out of those files: the runs on MemoryBackend (no write buffer) and the
#: machines at their full example counts, which machines.py runs at a few.
DESELECT = "not memory and not conform and not rollback_restores_exactly or machines"
SAMPLE = 300
SEED = 17


def test_command() -> str:
    """The pytest command line of the subset (run in the copy, under the ``mutation`` profile)."""
    return shlex.join(
        [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:cov",
            "-o",
            "addopts=",
            "--import-mode=importlib",
            "--doctest-modules",
            "-k",
            DESELECT,
            *TESTS,
        ]
    )


def copy_checkout(source: Path, target: Path) -> None:
    """Copy the files git knows of or would add (tracked, and untracked but not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source,
        check=True,
        capture_output=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        origin = source / name
        if origin.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / name)


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The ``(start, end)`` positions of the type annotations of a module: never evaluated under
    ``from __future__ import annotations``, so a mutant there cannot change what runs."""
    spans = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found = node.returns
        elif isinstance(node, ast.arg | ast.AnnAssign):
            found = node.annotation
        else:
            continue
        if found is not None and found.end_lineno is not None and found.end_col_offset is not None:
            spans.append(
                ((found.lineno, found.col_offset), (found.end_lineno, found.end_col_offset))
            )
    return spans


def sample(work_db: Any, size: int | None, seed: int) -> tuple[int, int]:
    """Skip the mutants of annotations, then all but a seeded random sample of ``size`` of the
    rest (``None``: keep them all); return how many mutants there are, and how many are code.

    The mutants are ordered by file, position and operator first (cosmic-ray's job ids are
    random), so that a seed draws the same mutants on every run of the same sources.
    """
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    items = sorted(
        work_db.pending_work_items,
        key=lambda item: tuple(
            (str(m.module_path), m.start_pos, m.end_pos, m.operator_name, m.occurrence)
            for m in item.mutations
        ),
    )
    spans = {path: annotation_spans(Path(path)) for path in MODULES}
    code = [
        item
        for item in items
        if not any(
            start <= item.mutations[0].start_pos < end
            for start, end in spans[str(item.mutations[0].module_path)]
        )
    ]
    kept = {item.job_id for item in code}
    if size is not None and size < len(code):
        kept = {item.job_id for item in random.Random(seed).sample(code, size)}
    skipped = [item.job_id for item in items if item.job_id not in kept]
    work_db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
    return len(items), len(code)


def forget_survivors(session: Path) -> None:
    """Make the survivors of a session pending again (cosmic-ray's schema: one row of
    ``work_results`` per tested mutant), so that the next ``execute`` tests them again."""
    with contextlib.closing(sqlite3.connect(session)) as database, database:
        database.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")


def changed_lines(diff: str) -> tuple[str, str]:
    """The removed and the added line of a mutant's diff."""
    lines = diff.splitlines()
    removed = next(
        (line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")),
        "",
    )
    added = next(
        (line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")),
        "",
    )
    return removed, added


def report(work_db: Any) -> tuple[int, int]:
    """Print the score and every survivor; return ``(killed, tested)``."""
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    killed = 0
    tested: list[tuple[Any, Any]] = []
    for item, result in work_db.completed_work_items:
        if result.worker_outcome == WorkerOutcome.SKIPPED:
            continue
        tested.append((item, result))
        if (
            result.worker_outcome == WorkerOutcome.NORMAL
            and result.test_outcome == TestOutcome.KILLED
        ):
            killed += 1
    survivors = sorted(
        (
            (str(item.mutations[0].module_path), item.mutations[0].start_pos[0], item, result)
            for item, result in tested
            if not (
                result.worker_outcome == WorkerOutcome.NORMAL
                and result.test_outcome == TestOutcome.KILLED
            )
        ),
        key=lambda row: (row[0], row[1]),
    )
    share = 100 * killed / len(tested) if tested else 0.0
    print(f"mutation score: {killed}/{len(tested)} killed ({share:.1f} %)")
    for path, line, item, result in survivors:
        mutation = item.mutations[0]
        outcome = (result.test_outcome or result.worker_outcome).value
        removed, added = changed_lines(result.diff or "")
        print(
            f"{outcome}: {path}:{line} {mutation.operator_name} (occurrence {mutation.occurrence})"
        )
        print(f"    - {removed}\n    + {added}")
    return killed, len(tested)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mutation", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sample", type=int, default=SAMPLE, help=f"mutants to test (default {SAMPLE})"
    )
    parser.add_argument("--all", action="store_true", help="test every mutant, no sample")
    parser.add_argument(
        "--seed", type=int, default=SEED, help=f"seed of the sample (default {SEED})"
    )
    parser.add_argument("--session", type=Path, help="keep (and resume) the session database here")
    parser.add_argument(
        "--retest-survivors",
        action="store_true",
        help="with --session: test the survivors of that session again (after new tests)",
    )
    args = parser.parse_args(argv)
    from cosmic_ray.commands import execute, init
    from cosmic_ray.config import ConfigDict
    from cosmic_ray.work_db import use_db

    source = Path(__file__).resolve().parents[2]
    session = args.session.resolve() if args.session else None
    with tempfile.TemporaryDirectory(prefix="fssdk-mutation-") as scratch:
        work = Path(scratch) / "checkout"
        copy_checkout(source, work)
        # Compiled once here: the runs below write no bytecode (cosmic-ray sets
        # PYTHONDONTWRITEBYTECODE), and would otherwise compile every module again per mutant.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(work)], check=True)
        os.chdir(work)
        os.environ["PYTHONPATH"] = str(work)
        os.environ["HYPOTHESIS_PROFILE"] = "mutation"
        command = test_command()
        started = time.monotonic()
        baseline = subprocess.run(shlex.split(command), check=False, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if baseline.returncode != 0:
            print(baseline.stdout[-4000:], baseline.stderr[-4000:], sep="\n")
            print("the subset fails without a mutant: fix it first", file=sys.stderr)
            return 2
        timeout = max(60.0, 5 * seconds)
        print(f"subset unmutated: {seconds:.1f} s; timeout per mutant {timeout:.0f} s")
        config = ConfigDict()
        config["module-path"] = list(MODULES)
        config["timeout"] = timeout
        config["test-command"] = command
        config["distributor"] = ConfigDict(name="local")
        if args.retest_survivors and session is not None:
            forget_survivors(session)
        with use_db(str(session or Path(scratch) / "session.sqlite")) as work_db:
            if work_db.num_work_items == 0:
                init([Path(module) for module in MODULES], work_db, {})
                total, code = sample(work_db, None if args.all else args.sample, args.seed)
                print(
                    f"{total} mutants, {total - code} of them in annotations; "
                    f"testing {len(list(work_db.pending_work_items))}"
                )
            started = time.monotonic()
            execute(work_db, config)
            print(f"mutants run in {(time.monotonic() - started) / 60:.1f} min")
            killed, tested = report(work_db)
    return 0 if tested and killed >= 0.9 * tested else 1


if __name__ == "__main__":
    sys.exit(main())
