"""``fssdk run`` and ``fssdk state inspect`` at their edges: kills during the first start, growing
inputs, damaged checkpoints, unreadable state dirs, operator tracebacks, reruns, upgrades,
``--fresh``, SIGTERM, and operator files run directly with ``python``.

Every test drives the command line in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import database_dump, run_fssdk

ROOT = Path(__file__).resolve().parents[2]

#: Counts each record in a store, emits ``record count``; watermarks become output lines.
COUNTER = """
import fssdk

class Counter(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("counts")

    def process(self, ctx, source_id, data):
        n = int(self.store.get_state(data) or b"0") + 1
        self.store.put_state(data, str(n).encode())
        ctx.emit(data + b" " + str(n).encode())

    def process_watermark(self, ctx, source_id, watermark):
        ctx.emit(b"watermark " + str(watermark).encode())

fssdk.run(Counter())
"""


def counter(tmp_path: Path, text: str = COUNTER) -> Path:
    path = tmp_path / "counter.py"
    path.write_text(text)
    return path


def run_args(tmp_path: Path, name: str, source: Path, *extra: object) -> list[object]:
    """``run counter.py`` (written if missing) over ``source`` with outputs named ``name``."""
    operator = tmp_path / "counter.py"
    if not operator.exists():
        counter(tmp_path)
    return [
        "run",
        operator,
        "--input",
        source,
        "--output",
        tmp_path / f"{name}.out",
        "--state-dir",
        tmp_path / f"{name}.state",
        *extra,
    ]


def uninterrupted(tmp_path: Path, source: Path, *extra: object) -> tuple[bytes, object]:
    """Output and final database of one uninterrupted run over ``source``."""
    done = run_fssdk(*run_args(tmp_path, "whole", source, *extra))
    assert done.returncode == 0, done.stderr
    return (tmp_path / "whole.out").read_bytes(), database_dump(tmp_path / "whole.state" / "db")


def words(n: int) -> str:
    return "".join(f"w{i % 17}\n" for i in range(n))


# -- a kill during the very first start ------------------------------------------------------------


def test_a_first_start_killed_before_the_state_file_rename_starts_fresh(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(50))
    args = run_args(tmp_path, "s", source, "--checkpoint-interval", 10)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fssdk", *map(str, args)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "FSSDK_TEST_PAUSE_AT": "adopt-before-rename"},
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert line.strip() == "fssdk-test-pause adopt-before-rename 0"
    state = tmp_path / "s.state"
    assert sorted(p.name for p in state.iterdir()) == ["fssdk-state.json.tmp", "run.lock"]
    done = run_fssdk(*args)
    assert done.returncode == 0, done.stderr
    assert "resumed" not in done.stderr
    assert (tmp_path / "s.out").read_bytes() == uninterrupted(tmp_path, source)[0]


def test_a_leftover_partial_state_file_is_debris_not_a_foreign_directory(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(5))
    state = tmp_path / "s.state"
    state.mkdir()
    (state / "fssdk-state.json.tmp").write_text('{"layout_ver')
    done = run_fssdk(*run_args(tmp_path, "s", source))
    assert done.returncode == 0, done.stderr
    assert json.loads((state / "fssdk-state.json").read_text())["operator"] == "counter:Counter"
    assert not (state / "fssdk-state.json.tmp").exists()


# -- an input whose last line had no newline grows -------------------------------------------------


@pytest.mark.parametrize("extra", [(), ("--final-watermark",), ("--watermark-every", "1")])
def test_a_grown_unterminated_last_line_is_read_again_whole(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"a\nhello wor")
    args = run_args(tmp_path, "s", source, *extra)
    first = run_fssdk(*args)
    assert first.returncode == 0, first.stderr
    assert b"hello wor 1\n" in (tmp_path / "s.out").read_bytes()
    with open(source, "ab") as handle:
        handle.write(b"ld\n")
    second = run_fssdk(*args)
    assert second.returncode == 0, second.stderr
    assert "1 records in" in second.stderr
    assert "resumed from checkpoint 1;" in second.stderr
    output, state = uninterrupted(tmp_path, source, *extra)
    assert (tmp_path / "s.out").read_bytes() == output
    assert b"hello world 1\n" in output
    assert database_dump(tmp_path / "s.state" / "db") == state


def test_an_unterminated_last_line_is_a_record_and_a_rerun_keeps_the_result(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"a\nb\nc")
    args = run_args(tmp_path, "s", source, "--checkpoint-interval", 2)
    assert run_fssdk(*args).returncode == 0
    assert (tmp_path / "s.out").read_bytes() == b"a 1\nb 1\nc 1\n"
    again = run_fssdk(*args)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "s.out").read_bytes() == b"a 1\nb 1\nc 1\n"
    assert "input already fully processed at checkpoint 1; nothing to do" in again.stderr


# -- damaged checkpoints ---------------------------------------------------------------------------


def checkpoint_dir(state: Path, checkpoint_id: int) -> Path:
    return state / "checkpoints" / f"checkpoint-{checkpoint_id:08d}"


def unique_table_file(state: Path, checkpoint_id: int) -> Path:
    """A table file of checkpoint ``checkpoint_id`` that the one before it does not hold."""
    older = {p.name for p in checkpoint_dir(state, checkpoint_id - 1).glob("*.sst")}
    ours = sorted(checkpoint_dir(state, checkpoint_id).glob("*.sst"))
    return next(p for p in ours if p.name not in older)


def damaged_run(tmp_path: Path, damage: str) -> tuple[list[object], Path]:
    """A finished run with checkpoints 1-3 whose newest has one table file damaged."""
    source = tmp_path / "in.txt"
    source.write_text(words(25))
    args = run_args(tmp_path, "s", source, "--checkpoint-interval", 10)
    assert run_fssdk(*args).returncode == 0
    state = tmp_path / "s.state"
    table = unique_table_file(state, 3)
    data = bytearray(table.read_bytes())
    if damage == "truncated":
        table.write_bytes(bytes(data[: len(data) // 2]))
    else:
        data[len(data) // 4] ^= 0xFF
        table.write_bytes(bytes(data))
    return args, source


@pytest.mark.parametrize("damage", ["truncated", "bit flip"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_newest_that_verifies(
    tmp_path: Path, damage: str
) -> None:
    args, source = damaged_run(tmp_path, damage)
    with open(source, "a") as handle:
        handle.write(words(30)[len(words(25)) :])
    done = run_fssdk(*args)
    assert done.returncode == 0, done.stderr
    assert "fssdk: warning: checkpoint 3: Corruption: " in done.stderr
    assert "falling back to checkpoint 2, the newest that verifies" in done.stderr
    assert "resumed from checkpoint 2;" in done.stderr
    assert "10 records in" in done.stderr
    output, state = uninterrupted(tmp_path, source, "--checkpoint-interval", 10)
    assert (tmp_path / "s.out").read_bytes() == output
    assert database_dump(tmp_path / "s.state" / "db") == state


def test_when_every_checkpoint_is_damaged_the_run_is_refused_with_advice(tmp_path: Path) -> None:
    args, _source = damaged_run(tmp_path, "truncated")
    state = tmp_path / "s.state"
    shared = sorted(checkpoint_dir(state, 1).glob("*.sst"))[-1]  # hard-linked into all three
    shared.write_bytes(shared.read_bytes()[:100])
    done = run_fssdk(*args)
    assert done.returncode == 3
    assert "fssdk: error: state dir" in done.stderr
    assert "every kept checkpoint is damaged (checkpoint 3: Corruption" in done.stderr
    assert "one damaged file can break them all: start over with --fresh" in done.stderr
    assert checkpoint_dir(state, 1).is_dir()


def test_inspect_verify_reports_each_checkpoint_and_reads_the_newest_sound_one(
    tmp_path: Path,
) -> None:
    damaged_run(tmp_path, "bit flip")
    done = run_fssdk("state", "inspect", tmp_path / "s.state", "--verify", "--json")
    assert done.returncode == 3
    report = json.loads(done.stdout)
    verdicts = {c["id"]: c["verified"] for c in report["checkpoints"]}
    assert verdicts[1] == verdicts[2] == "ok"
    assert verdicts[3].startswith("Corruption: block checksum mismatch")
    assert report["source"] == "checkpoint 2"
    assert "fssdk: error: state dir" in done.stderr
    assert "checkpoint 3 damaged; a run resumes from checkpoint 2" in done.stderr
    healthy = tmp_path / "healthy"
    healthy.mkdir()
    source = healthy / "in.txt"
    source.write_text(words(25))
    assert run_fssdk(*run_args(healthy, "s", source, "--checkpoint-interval", 10)).returncode == 0
    table = run_fssdk("state", "inspect", healthy / "s.state", "--verify")
    assert table.returncode == 0, table.stderr
    assert "verified" in table.stdout


# -- inspect never shows a Python traceback --------------------------------------------------------


def test_inspect_of_a_damaged_checkpoint_is_an_error_line(tmp_path: Path) -> None:
    damaged_run(tmp_path, "truncated")
    done = run_fssdk("state", "inspect", tmp_path / "s.state")
    assert done.returncode == 3
    assert done.stderr.startswith("fssdk: error: state dir")
    assert "RocksDB cannot read it: Corruption: Sst file size mismatch" in done.stderr
    assert "--verify` checks every kept checkpoint" in done.stderr


def unprivileged() -> tuple[str, ...]:
    """A command prefix under which permission bits apply (root drops its capabilities)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permission bits cannot be tested")
    return (setpriv, "--bounding-set=-all", "--inh-caps=-all")


def test_inspect_reads_a_read_only_state_dir(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(25))
    assert run_fssdk(*run_args(tmp_path, "s", source, "--checkpoint-interval", 10)).returncode == 0
    state = tmp_path / "s.state"
    for path in [state, *state.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        done = run_fssdk(
            "state", "inspect", state, "--json", "--store", "counts", prefix=unprivileged()
        )
    finally:
        for path in [state, *state.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stores"][0]["simple_entries"] == 17


def test_inspect_of_an_unreadable_state_dir_is_an_error_line(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(25))
    assert run_fssdk(*run_args(tmp_path, "s", source, "--checkpoint-interval", 10)).returncode == 0
    table = unique_table_file(tmp_path / "s.state", 3)
    table.chmod(0)
    try:
        done = run_fssdk("state", "inspect", tmp_path / "s.state", prefix=unprivileged())
    finally:
        table.chmod(0o644)
    assert done.returncode == 3
    assert done.stderr.startswith(f"fssdk: error: cannot read state dir '{tmp_path / 's.state'}': ")
    assert "Permission denied" in done.stderr
    assert "needs read access to every file of it" in done.stderr


# -- the operator's frames -------------------------------------------------------------------------

FAILING = """
import fssdk

def lookup(table, key):
    return table[key]

class Picky(fssdk.BaseDriver):
    def process(self, ctx, source_id, data):
        ctx.emit(lookup({b"a": b"1"}, data))

fssdk.run(Picky())
"""


def test_an_operator_exception_shows_the_operator_frames_only(tmp_path: Path) -> None:
    operator = counter(tmp_path, FAILING)
    source = tmp_path / "in.txt"
    source.write_text("a\na\nb\n")
    done = run_fssdk("run", operator, "--input", source, "--output", tmp_path / "o", "--memory")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[:2] == [
        "fssdk: error: the operator raised KeyError in process() on input line 3: b'b'",
        "operator traceback (most recent call last):",
    ]
    assert [line for line in lines if line.startswith("  File")] == [
        f'  File "{operator}", line 9, in process',
        f'  File "{operator}", line 5, in lookup',
    ]
    assert lines[-1] == "(--traceback shows the full stack)"
    assert done.stderr.count("b'b'") == 1  # the message once, in the error line


LIBRARY_ERRORS = """
import fssdk
from fssdk_advanced import IntCodec, KeyedValueStateFactory, StringCodec

class Mixup(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.counts = KeyedValueStateFactory.from_context(ctx, "s", b"counts", IntCodec())

    def process(self, ctx, source_id, data):
        if data == b"type":
            self.counts.new_keyed_value(data, b"").update("one")
        KeyedValueStateFactory.from_context(ctx, "s", b"counts", StringCodec())

fssdk.run(Mixup())
"""


@pytest.mark.parametrize(
    ("record", "error", "line"),
    [
        ("type", "TypeError: IntCodec encodes int, not str", 11),
        ("conflict", "StateConflictError: [STATE_CONFLICT] store 's' key group", 12),
    ],
)
def test_an_error_raised_inside_fssdk_advanced_shows_the_operator_frames_and_the_message_once(
    tmp_path: Path, record: str, error: str, line: int
) -> None:
    operator = counter(tmp_path, LIBRARY_ERRORS)
    source = tmp_path / "in.txt"
    source.write_text(record + "\n")
    done = run_fssdk("run", operator, "--input", source, "--output", tmp_path / "o", "--memory")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    kind, _, message = error.partition(": ")
    assert lines[0].startswith(f"fssdk: error: the operator raised {kind} in process() ")
    assert [x for x in lines if x.startswith("  File")] == [
        f'  File "{operator}", line {line}, in process'
    ]
    assert "fssdk_advanced/" not in done.stderr  # no library frame, only their count
    assert "  ... raised inside fssdk_advanced (" in lines[-2]
    assert lines[-1] == "(--traceback shows the full stack)"
    assert done.stderr.count(message) == 1


def test_traceback_option_shows_the_full_stack(tmp_path: Path) -> None:
    operator = counter(tmp_path, FAILING)
    source = tmp_path / "in.txt"
    source.write_text("b\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fssdk",
            "run",
            str(operator),
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o"),
            "--memory",
            "--traceback",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last):" in done.stderr
    assert "_runner.py" in done.stderr
    assert f'File "{operator}", line 5, in lookup' in done.stderr
    assert (
        done.stderr.rstrip()
        .splitlines()[-1]
        .startswith("fssdk: error: the operator raised KeyError in process() on input line 1")
    )


# -- reruns, --fresh, upgrades ---------------------------------------------------------------------


def test_a_rerun_of_a_finished_run_says_there_is_nothing_to_do(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(25))
    args = run_args(tmp_path, "s", source, "--checkpoint-interval", 10)
    first = run_fssdk(*args)
    assert "nothing to do" not in first.stderr
    done = run_fssdk(*args)
    assert done.returncode == 0
    assert "input already fully processed at checkpoint 3; nothing to do" in done.stderr


def test_fresh_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(25))
    args = run_args(tmp_path, "s", source, "--checkpoint-interval", 10)
    assert run_fssdk(*args).returncode == 0
    before = (tmp_path / "s.out").read_bytes()
    done = run_fssdk(*args, "--fresh")
    assert done.returncode == 2
    assert (
        f"--fresh discards checkpoint 3 (25 records processed) of state dir "
        f"'{tmp_path / 's.state'}' and rewrites the outputs from the start: add --yes to confirm "
        "(stdin is not a terminal to ask)" in done.stderr
    )
    assert checkpoint_dir(tmp_path / "s.state", 3).is_dir()
    assert (tmp_path / "s.out").read_bytes() == before


def test_fresh_with_yes_starts_over(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(25))
    args = run_args(tmp_path, "s", source, "--checkpoint-interval", 10)
    assert run_fssdk(*args).returncode == 0
    (tmp_path / "s.out").write_bytes(b"changed by hand\n")
    done = run_fssdk(*args, "--fresh", "--yes")
    assert done.returncode == 0, done.stderr
    assert "resumed" not in done.stderr
    assert "25 records in" in done.stderr
    assert "checkpoints: 3 taken, last #3" in done.stderr
    output, state = uninterrupted(tmp_path, source, "--checkpoint-interval", 10)
    assert (tmp_path / "s.out").read_bytes() == output
    assert database_dump(tmp_path / "s.state" / "db") == state


def test_fresh_adopts_a_state_dir_of_another_operator(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(5))
    args = run_args(tmp_path, "s", source)
    assert run_fssdk(*args).returncode == 0
    counter(tmp_path, COUNTER.replace("Counter", "Tally"))
    assert run_fssdk(*args).returncode == 3
    done = run_fssdk(*args, "--fresh", "--yes")
    assert done.returncode == 0, done.stderr
    owner = json.loads((tmp_path / "s.state" / "fssdk-state.json").read_text())
    assert owner["operator"] == "counter:Tally"


@pytest.mark.parametrize(("answer", "code"), [("y", 0), ("n", 2)])
def test_fresh_asks_on_a_terminal(tmp_path: Path, answer: str, code: int) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(25))
    args = run_args(tmp_path, "s", source, "--checkpoint-interval", 10)
    assert run_fssdk(*args).returncode == 0
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fssdk", *map(str, args), "--fresh"],
        stdin=follower,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    os.close(follower)
    os.write(leader, f"{answer}\n".encode())
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == code
    os.close(leader)
    assert "Go on? [y/N]" in stderr
    if code == 0:
        assert "25 records in" in stderr
    else:
        assert "fssdk: error: --fresh not confirmed: nothing was changed" in stderr
        assert checkpoint_dir(tmp_path / "s.state", 3).is_dir()


def test_a_changed_operator_file_on_resume_is_reported_as_an_upgrade(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(words(25))
    args = run_args(tmp_path, "s", source, "--checkpoint-interval", 10)
    assert run_fssdk(*args).returncode == 0
    same = run_fssdk(*args)
    assert "operator changed" not in same.stderr
    counter(tmp_path, COUNTER.replace('b" "', 'b" = "'))
    with open(source, "a") as handle:
        handle.write("w1\n")
    done = run_fssdk(*args)
    assert done.returncode == 0, done.stderr
    assert (
        "fssdk: warning: operator changed since checkpoint 3: running the new code on the "
        "existing state (upgrade)" in done.stderr
    )
    assert (tmp_path / "s.out").read_bytes().endswith(b"w7 2\nw1 = 3\n")


# -- SIGTERM ---------------------------------------------------------------------------------------

GATED = """
import os
import sys
import fssdk


class Gated(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("seen")
        self.seen = 0

    def process(self, ctx, source_id, data):
        self.seen += 1
        self.store.put_state(data, str(self.seen).encode())
        ctx.emit(data)
        gate = os.environ.get("GATE")
        if gate and self.seen == 150:
            sys.stderr.write("at 150\\n")
            sys.stderr.flush()
            with open(gate) as fifo:
                fifo.read()

fssdk.run(Gated())
"""


def test_sigterm_stops_at_a_record_boundary_and_the_same_command_resumes(tmp_path: Path) -> None:
    operator = counter(tmp_path, GATED)
    source = tmp_path / "in.txt"
    source.write_text("".join(f"r{i}\n" for i in range(400)))
    args = [
        sys.executable,
        "-m",
        "fssdk",
        "run",
        str(operator),
        "--input",
        str(source),
        "--output",
        str(tmp_path / "o"),
        "--state-dir",
        str(tmp_path / "s"),
        "--checkpoint-interval",
        "100",
    ]
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    proc = subprocess.Popen(
        args,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GATE": str(gate)},
    )
    assert proc.stderr is not None
    assert proc.stderr.readline() == "at 150\n"
    proc.send_signal(signal.SIGTERM)
    with open(gate, "w"):
        pass  # let the operator finish record 150
    rest = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 143
    assert (
        "fssdk: error: terminated (SIGTERM) at input line 150; the state dir keeps checkpoint 1: "
        "run the same command to resume from it" in rest
    )
    assert "Traceback" not in rest
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert "300 records in" in done.stderr
    assert (tmp_path / "o").read_text() == source.read_text()


def test_sigterm_while_waiting_for_input_stops_at_once(tmp_path: Path) -> None:
    operator = counter(
        tmp_path,
        COUNTER.replace(
            'ctx.emit(data + b" " + str(n).encode())',
            "import sys; sys.stderr.write('got %s\\n' % data.decode()); sys.stderr.flush()",
        ),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fssdk",
            "run",
            str(operator),
            "--input",
            "-",
            "--output",
            str(tmp_path / "o"),
            "--state-dir",
            str(tmp_path / "s"),
        ],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdin is not None
    assert proc.stderr is not None
    proc.stdin.write("x\ny\n")
    proc.stdin.flush()
    seen = [proc.stderr.readline() for _ in range(3)]
    assert seen[1:] == ["got x\n", "got y\n"]  # after the warning that stdin cannot be replayed
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 143
    proc.stdin.close()
    proc.stderr.close()
    assert "terminated (SIGTERM) at input line 2; no checkpoint was taken yet" in rest


# -- an operator file run with python --------------------------------------------------------------


def test_running_an_operator_file_directly_says_how_to_run_it(tmp_path: Path) -> None:
    operator = counter(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "counter.py"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0
    assert done.stderr == (
        "fssdk: this registers the operator; run it with `fssdk run counter.py --input FILE "
        "--output FILE --state-dir DIR` (see fssdk run --help)\n"
    )
    imported = subprocess.run(
        [sys.executable, "-c", "import counter"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert imported.stderr == ""
    source = tmp_path / "in.txt"
    source.write_text("a\n")
    loaded = run_fssdk("run", operator, "--input", source, "--output", tmp_path / "o", "--memory")
    assert loaded.returncode == 0
    assert "registers the operator" not in loaded.stderr
