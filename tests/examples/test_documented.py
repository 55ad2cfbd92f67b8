"""The code in the documentation runs as shown: each block is taken from its page, not copied."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fssdk._driver import take_registered_driver
from fssdk.testing import OperatorHarness

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
