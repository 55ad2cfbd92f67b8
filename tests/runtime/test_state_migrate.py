"""``fssdk state migrate``: a migration finished offline, as a checkpoint ``fssdk run`` resumes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support import run_fssdk

HEADER = """
import dataclasses, os
import fssdk
from fssdk_advanced import KeyedValueStateFactory, MsgpackCodec
"""

V1 = (
    HEADER
    + """
@dataclasses.dataclass
class Count:
    n: int

class Counter(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.counts = KeyedValueStateFactory.from_context(
            ctx, "counts", b"users", MsgpackCodec(Count))

    def process(self, ctx, source_id, data):
        state = self.counts.new_keyed_value(data)
        old, _ = state.value()
        state.update(Count((old.n if old else 0) + 1))
        ctx.emit(data + b" %d" % state.value()[0].n)

fssdk.run(Counter())
"""
)

#: The next version: ``Count`` gains a field without a default (an incompatible change).
#: ``MIGRATE`` is replaced by ``, migrate=upgrade`` or by nothing.
V2 = (
    HEADER
    + """
@dataclasses.dataclass
class Count:
    n: int
    since: str

CALLS = []

def upgrade(old):
    CALLS.append(old)
    if os.environ.get("CRASH_AT_MIGRATION") == str(len(CALLS)):
        os._exit(9)
    if os.environ.get("FAIL_AT_MIGRATION") == str(len(CALLS)):
        raise ValueError("cannot upgrade " + repr(old))
    return Count(old["n"], "v1")

class Counter(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.counts = KeyedValueStateFactory.from_context(
            ctx, "counts", b"users", MsgpackCodec(Count)MIGRATE)

    def process(self, ctx, source_id, data):
        state = self.counts.new_keyed_value(data)
        old, _ = state.value()
        state.update(Count((old.n if old else 0) + 1, old.since if old else "v2"))
        new = state.value()[0]
        ctx.emit(data + b" %d " % new.n + new.since.encode())

fssdk.run(Counter())
"""
)

WITH_MIGRATE = V2.replace("MIGRATE", ", migrate=upgrade")
WITHOUT_MIGRATE = V2.replace("MIGRATE", "")


def run(operator: Path, lines: str, version: str) -> subprocess.CompletedProcess[str]:
    """``fssdk run`` of ``version`` of ``operator`` over ``lines``, beside it: state dir
    ``state``, output ``out``."""
    operator.write_text(version)
    source = operator.parent / "in.txt"
    source.write_text(lines)
    return run_fssdk(
        "run", operator, "--input", source, "--output", operator.parent / "out", "--state-dir",
        operator.parent / "state",
    )  # fmt: skip


def first_run(tmp_path: Path) -> tuple[Path, Path]:
    """The operator's first version run over three records: (operator, state dir)."""
    operator = tmp_path / "counter.py"
    done = run(operator, "ann\nbob\nann\n", V1)
    assert done.returncode == 0, done.stderr
    return operator, tmp_path / "state"


def migrate(
    operator: Path,
    state: Path,
    key_group: str = "users",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``fssdk state migrate`` of the operator's version with ``migrate=``."""
    operator.write_text(WITH_MIGRATE)
    return run_fssdk(
        "state", "migrate", operator, "--state-dir", state, "--store", "counts",
        "--key-group", key_group, env=env,
    )  # fmt: skip


def checkpoint_ids(state: Path) -> list[int]:
    done = run_fssdk("state", "inspect", state, "--json")
    assert done.returncode == 0, done.stderr
    return [checkpoint["id"] for checkpoint in json.loads(done.stdout)["checkpoints"]]


def test_a_migrated_state_dir_resumes_without_migrate(tmp_path: Path) -> None:
    operator, state = first_run(tmp_path)
    refused = run(operator, "ann\nbob\nann\n", WITHOUT_MIGRATE)
    assert refused.returncode == 1
    assert "migrate=" in refused.stderr
    done = migrate(operator, state)
    assert done.returncode == 0, done.stderr
    assert "2 entries rewritten" in done.stdout
    assert "wrote checkpoint 2" in done.stdout
    assert checkpoint_ids(state) == [1, 2]
    resumed = run(operator, "ann\nbob\nann\nann\ncid\n", WITHOUT_MIGRATE)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "out").read_text().splitlines() == [
        "ann 1",
        "bob 1",
        "ann 2",
        "ann 3 v1",
        "cid 1 v2",
    ]


def test_a_migration_that_crashes_midway_leaves_the_state_dir_and_finishes_when_run_again(
    tmp_path: Path,
) -> None:
    operator, state = first_run(tmp_path)
    crashed = migrate(operator, state, env={"CRASH_AT_MIGRATION": "2"})
    assert (crashed.returncode, checkpoint_ids(state)) == (9, [1])
    done = migrate(operator, state)
    assert done.returncode == 0, done.stderr
    assert checkpoint_ids(state) == [1, 2]
    resumed = run(operator, "ann\nbob\nann\nbob\n", WITHOUT_MIGRATE)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "out").read_text().splitlines()[-1] == "bob 2 v1"


def test_a_failing_migrate_function_is_reported_with_its_frames_and_changes_nothing(
    tmp_path: Path,
) -> None:
    operator, state = first_run(tmp_path)
    failed = migrate(operator, state, env={"FAIL_AT_MIGRATION": "1"})
    assert failed.returncode == 1
    stderr = failed.stderr
    assert "raised ValueError while migrating store 'counts' key group b'users'" in stderr
    assert "keeps checkpoint 1" in stderr
    assert 'raise ValueError("cannot upgrade "' in stderr
    assert checkpoint_ids(state) == [1]


def test_migrate_names_what_is_missing(tmp_path: Path) -> None:
    operator, state = first_run(tmp_path)
    operator.write_text(WITH_MIGRATE)
    no_store = run_fssdk("state", "migrate", operator, "--state-dir", state, "--store", "nope")
    assert no_store.returncode == 2
    assert "no store 'nope' in checkpoint 1 (counts)" in no_store.stderr
    no_state = migrate(operator, state, "other")
    assert no_state.returncode == 2
    assert "no state is declared there" in no_state.stderr
    assert "declared: b'users'" in no_state.stderr
    missing = migrate(operator, tmp_path / "nowhere")
    assert missing.returncode == 3
    assert checkpoint_ids(state) == [1]
