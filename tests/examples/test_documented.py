"""The code in the documentation runs as shown: each block is taken from its page, not copied."""

from __future__ import annotations

import collections
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from fssdk._driver import take_registered_driver
from fssdk.testing import OperatorHarness
from tests.support import run_fssdk

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_block(page: str, containing: str) -> str:
    """The one ```python block of ``page`` (relative to the root) that contains ``containing``."""
    found = [b for b in BLOCK.findall((ROOT / page).read_text()) if containing in b]
    assert len(found) == 1, f"{page}: {len(found)} python blocks contain {containing!r}"
    return str(found[0])


def run_block(source: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute ``source`` as a module would; a driver it registers is taken back."""
    scope: dict[str, Any] = {"__name__": "documented", **(namespace or {})}
    exec(compile(source, "<documentation>", "exec"), scope)
    if "fssdk.run(" in source:
        take_registered_driver()
    return scope


def test_the_keyed_process_driver_of_time_md_and_its_harness_test() -> None:
    scope = run_block(python_block("docs/time.md", "class IdleUsers"))
    run_block(
        python_block("docs/time.md", "with OperatorHarness(IdleUsers)"),
        {"OperatorHarness": OperatorHarness, "IdleUsers": scope["IdleUsers"]},
    )


def readme_operator(folder: Path) -> Path:
    """The README's operator, saved as clicks.py in ``folder`` as the README says."""
    path = folder / "clicks.py"
    path.write_text(python_block("README.md", "class ClickCounter"))
    return path


def test_the_readme_operator_runs_on_input_the_repository_ships(tmp_path: Path) -> None:
    readme_operator(tmp_path)
    (line,) = [
        x
        for x in (ROOT / "README.md").read_text().splitlines()
        if x.startswith("fssdk run clicks.py")
    ]
    args = shlex.split(line)[3:]  # after "fssdk run clicks.py"
    assert (ROOT / args[args.index("--input") + 1]).is_file()  # shipped in the repository
    args[args.index("--input") + 1] = str(ROOT / args[args.index("--input") + 1])
    done = run_fssdk("run", "clicks.py", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    clicks = [json.loads(x) for x in Path(args[args.index("--input") + 1]).read_text().splitlines()]
    counts = [json.loads(x) for x in (tmp_path / "counts.jsonl").read_text().splitlines()]
    assert len(counts) == len(clicks)
    last = {entry["user"]: entry["clicks"] for entry in counts}
    assert last == dict(collections.Counter(click["user"] for click in clicks))


def test_the_harness_example_of_testing_md_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme_operator(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    scope = run_block(python_block("docs/testing.md", "def test_counts_survive_a_crash"))
    take_registered_driver()  # importing clicks.py registered its driver
    scope["test_counts_survive_a_crash"]()


def test_the_cleanup_loop_of_time_md_bounds_the_work_per_checkpoint() -> None:
    scope = run_block(python_block("docs/time.md", "class LastSeen"))
    with OperatorHarness(scope["LastSeen"]) as harness:
        harness.process_all(f"user{i}" for i in range(12_000))
        harness.advance_processing_time(3_600_000)  # every value has expired
        store = harness.ctx.get_or_create_store("users")
        assert len(list(store.scan_keys(b"last_seen"))) == 12_000
        harness.checkpoint()  # at most 10 steps of 1 000 index keys
        left = len(list(store.scan_keys(b"last_seen")))
        assert 0 < left < 12_000
        harness.checkpoint()
        assert list(store.scan_keys(b"last_seen")) == []
