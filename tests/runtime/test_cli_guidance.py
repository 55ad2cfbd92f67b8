"""The command line when something is off: a mistyped option, a damaged ownership record, an
output cut by hand, a state dir moved elsewhere. Each error says what to do."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.support import run_fssdk

COUNTER = """
import fssdk
from fssdk_advanced import KeyedValueStateFactory

class Counter(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.counts = KeyedValueStateFactory.from_context_auto_codec(ctx, "counts", b"n", int)

    def process(self, ctx, source_id, data):
        count = self.counts.new_keyed_value(data, b"")
        n = (count.value()[0] or 0) + 1
        count.update(n)
        ctx.emit(b"%s %d" % (data, n))
        ctx.emit(data, 1)  # a side output, which moves along too

fssdk.run(Counter())
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with an operator and an input, run from inside with relative paths."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "counter.py").write_text(COUNTER)
    (folder / "in.txt").write_text("".join(f"{'abc'[i % 3]}\n" for i in range(20)))
    return folder


RUN = ["run", "counter.py", "--input", "in.txt", "--output", "out/o.txt", "--state-dir", "state"]
RUN += ["--checkpoint-interval", "4"]


def run_in(folder: Path, *extra: object) -> tuple[int, str]:
    (folder / "out").mkdir(exist_ok=True)
    done = run_fssdk(*RUN, *extra, cwd=folder)
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        (["--state_dir", "s"], "--state_dir (did you mean --state-dir?)"),
        (
            ["--checkpoint-intervl", "5"],
            "--checkpoint-intervl (did you mean --checkpoint-interval?)",
        ),
        (["--inptu", "x"], "--inptu (did you mean --input?)"),
        (["--memory", "--wibble"], "--wibble\n"),
    ],
)
def test_a_mistyped_run_option_gets_runs_usage_and_the_closest_option(
    project: Path, typo: list[str], meant: str
) -> None:
    args = ["run", "counter.py", "--output", "o.txt", *typo]
    if "--inptu" not in typo:
        args += ["--input", "in.txt"]
    done = run_fssdk(*args, cwd=project)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: fssdk run [-h]")
    assert "[--checkpoint-interval N]" in done.stderr  # run's own usage, not the top level's
    assert f"fssdk run: error: unrecognized arguments: {meant}" in done.stderr
    assert "required" not in done.stderr  # the typo is what is reported, not its consequence


def test_an_abbreviated_option_is_still_an_option(project: Path) -> None:
    done = run_fssdk(
        "run", "counter.py", "--input", "in.txt", "--output", "o.txt", "--mem", "--check", "7",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_damaged_ownership_record_says_what_to_do_and_the_way_back_works(
    project: Path,
) -> None:
    assert run_in(project)[0] == 0
    (project / "state" / "fssdk-state.json").write_text("{ not json")
    code, stderr = run_in(project)
    assert code == 3
    assert "fssdk-state.json is unreadable or corrupt (Expecting property name" in stderr
    assert "from a backup" in stderr
    assert "--fresh" in stderr
    assert "fssdk state inspect state --verify" in stderr
    # The record the message gives brings the state dir back, checkpoints and all.
    record = re.search(r"write fssdk-state.json as (\{.*?\})", stderr)
    assert record is not None
    assert json.loads(record.group(1))["operator"] == "counter:Counter"
    (project / "state" / "fssdk-state.json").write_text(record.group(1))
    done = run_fssdk("state", "inspect", "state", "--verify", cwd=project)
    assert done.returncode == 0, done.stderr
    code, stderr = run_in(project)
    assert code == 0
    assert "nothing to do" in stderr


def test_fresh_asks_before_discarding_a_dir_with_a_damaged_ownership_record(
    project: Path,
) -> None:
    assert run_in(project)[0] == 0
    (project / "state" / "fssdk-state.json").write_text("garbage")
    code, stderr = run_in(project, "--fresh")
    assert code == 2
    assert "add --yes to confirm" in stderr
    assert run_in(project, "--fresh", "--yes")[0] == 0


def test_an_output_cut_by_hand_points_to_fresh(project: Path) -> None:
    assert run_in(project)[0] == 0
    output = project / "out" / "o.txt"
    output.write_bytes(output.read_bytes()[:5])
    code, stderr = run_in(project)
    assert code == 3
    assert "was changed outside fssdk" in stderr
    assert "start over with --fresh" in stderr


def test_a_state_dir_moved_with_its_outputs_resumes_exactly(project: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(project, reference)
    with (reference / "in.txt").open("a") as more:
        more.write("a\nb\n")
    assert run_in(reference)[0] == 0
    assert run_in(project)[0] == 0
    moved = tmp_path / "elsewhere" / "project"
    shutil.move(project, moved)  # the old absolute paths no longer exist
    with (moved / "in.txt").open("a") as more:
        more.write("a\nb\n")
    code, stderr = run_in(moved)
    assert code == 0, stderr
    assert "the state dir and its outputs were moved together" in stderr
    for name in ("o.txt", "o.txt.1"):
        assert (moved / "out" / name).read_bytes() == (reference / "out" / name).read_bytes()


def test_a_state_dir_copied_without_its_outputs_says_where_they_must_be(
    project: Path, tmp_path: Path
) -> None:
    assert run_in(project)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(project / "state", elsewhere / "state")
    shutil.copy(project / "counter.py", elsewhere)
    shutil.copy(project / "in.txt", elsewhere)
    (elsewhere / "out").mkdir()
    done = run_fssdk(*RUN[:5], "elsewhere-out.txt", *RUN[6:], cwd=elsewhere)
    assert done.returncode == 3
    assert "('../out/o.txt' from the state dir)" in done.stderr
    assert "resumes with its outputs moved along, at the same place relative to it" in done.stderr
