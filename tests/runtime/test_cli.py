"""The ``fssdk`` command line, run as a subprocess: end to end, options, and every error case."""

from __future__ import annotations

import collections
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import run_fssdk

ROOT = Path(__file__).resolve().parents[2]
WORD_COUNT = ROOT / "examples" / "word_count" / "word_count.py"
WORDS = ROOT / "examples" / "word_count" / "gettysburg.txt"
CONFIG = ROOT / "examples" / "word_count" / "config.yaml"
CONSOLE_SCRIPT = Path(sys.executable).parent / "fssdk"


def expected_word_counts(path: Path) -> dict[str, int]:
    words = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return dict(collections.Counter(words))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- end to end ----------------------------------------------------------------------------------


def test_console_script_runs_word_count_on_rocksdb(tmp_path: Path) -> None:
    out = tmp_path / "counts.jsonl"
    done = subprocess.run(
        [
            str(CONSOLE_SCRIPT),
            "run",
            str(WORD_COUNT),
            "--input",
            str(WORDS),
            "--output",
            str(out),
            "--state-dir",
            str(tmp_path / "state"),
            "--config-file",
            str(CONFIG),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    counts = expected_word_counts(WORDS)
    assert len(lines) == sum(counts.values()) == 272
    assert json.loads(lines[-1]) == {"counter_map": counts, "total_processed": 272}
    assert json.loads(lines[0]) == {"counter_map": {"four": 1}, "total_processed": 1}
    assert done.stderr.startswith("fssdk: word_count:CounterProcessor: 272 records in ")
    assert "checkpoints: 1 taken, last #1" in done.stderr
    assert "\x1b" not in done.stderr  # no progress bar when stderr is not a terminal


def test_memory_backend_gives_the_same_output_as_rocksdb(tmp_path: Path) -> None:
    disk, memory = tmp_path / "disk.jsonl", tmp_path / "memory.jsonl"
    common = ("--input", WORDS, "--config-file", CONFIG, "--checkpoint-interval", 50)
    assert (
        run_fssdk(
            "run", WORD_COUNT, *common, "--output", disk, "--state-dir", tmp_path / "s"
        ).returncode
        == 0
    )
    done = run_fssdk("run", WORD_COUNT, *common, "--output", memory, "--memory")
    assert done.returncode == 0, done.stderr
    assert "none persisted (--memory)" in done.stderr
    assert memory.read_bytes() == disk.read_bytes()


def stored_keys(state_dir: Path, store: str) -> list[str]:
    done = run_fssdk(
        "state", "inspect", state_dir, "--store", store, "--simple", "--json", "--limit", 1000
    )
    assert done.returncode == 0, done.stderr
    return [entry["key"] for entry in json.loads(done.stdout)["dump"]["entries"]]


def test_config_file_init_reaches_the_operator(tmp_path: Path) -> None:
    done = run_fssdk(
        "run",
        WORD_COUNT,
        "--input",
        WORDS,
        "--output",
        tmp_path / "o",
        "--state-dir",
        tmp_path / "s",
        "--config-file",
        CONFIG,
    )
    assert done.returncode == 0, done.stderr
    keys = stored_keys(tmp_path / "s", "counter-store")
    assert len(keys) == 138
    assert all(key.startswith("wc:") for key in keys)


def test_set_overrides_the_config_file(tmp_path: Path) -> None:
    done = run_fssdk(
        "run",
        WORD_COUNT,
        "--input",
        WORDS,
        "--output",
        tmp_path / "o",
        "--state-dir",
        tmp_path / "s",
        "--config-file",
        CONFIG,
        "--set",
        "key_prefix=count/",
        "--set",
        "unused=a=b",
    )
    assert done.returncode == 0, done.stderr
    assert all(key.startswith("count/") for key in stored_keys(tmp_path / "s", "counter-store"))


def test_stdin_to_stdout_works_and_warns_that_it_cannot_be_replayed(tmp_path: Path) -> None:
    done = run_fssdk(
        "run",
        WORD_COUNT,
        "--input",
        "-",
        "--output",
        "-",
        "--state-dir",
        tmp_path / "s",
        stdin="b\na\nb\n",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "counter_map": {"a": 1, "b": 2},
        "total_processed": 3,
    }
    assert "cannot be replayed" in done.stderr
    assert "no exactly-once promise" in done.stderr
    assert "stdout, which cannot be cut back" in done.stderr


def test_quiet_prints_nothing_on_success(tmp_path: Path) -> None:
    done = run_fssdk(
        "run", WORD_COUNT, "--input", WORDS, "--output", tmp_path / "o", "--memory", "-q"
    )
    assert done.returncode == 0
    assert done.stderr == ""


def test_a_grown_input_resumes_with_only_the_new_lines(tmp_path: Path) -> None:
    grown = tmp_path / "words.txt"
    grown.write_bytes(WORDS.read_bytes())
    args = ("run", WORD_COUNT, "--output", tmp_path / "o", "--state-dir", tmp_path / "s")
    assert run_fssdk(*args, "--input", grown).returncode == 0
    with grown.open("a") as handle:
        handle.write("liberty\nliberty\n")
    done = run_fssdk(*args, "--input", grown)
    assert done.returncode == 0, done.stderr
    assert "2 records in" in done.stderr
    assert (
        run_fssdk(
            "run", WORD_COUNT, "--input", grown, "--output", tmp_path / "fresh", "--memory"
        ).returncode
        == 0
    )
    assert (tmp_path / "o").read_bytes() == (tmp_path / "fresh").read_bytes()


# -- watermarks and side outputs -----------------------------------------------------------------

EVENT_TIME_OPERATOR = """
import fssdk

class Clock(fssdk.BaseDriver):
    def process(self, ctx, source_id, data):
        ctx.emit(data)

    def process_watermark(self, ctx, source_id, watermark):
        ctx.emit(b"watermark %d" % watermark, 1)
        ctx.emit_watermark(watermark, 2)

fssdk.run(Clock())
"""


def test_watermark_every_n_records_is_the_record_count(tmp_path: Path) -> None:
    out = tmp_path / "counts.jsonl"
    done = run_fssdk(
        "run",
        WORD_COUNT,
        "--input",
        WORDS,
        "--output",
        out,
        "--memory",
        "--watermark-every",
        100,
        "--final-watermark",
    )
    assert done.returncode == 0, done.stderr
    assert Path(f"{out}.watermarks").read_text() == f"0 100\n0 200\n0 {2**63 - 1}\n"


def test_watermark_from_a_json_field_trails_the_largest_time(tmp_path: Path) -> None:
    times = [5, 3, 9, 8, 12, 30, 31]
    source = write(tmp_path / "events.jsonl", "".join(f'{{"ts": {t}}}\n' for t in times))
    operator = write(tmp_path / "clock.py", EVENT_TIME_OPERATOR)
    done = run_fssdk(
        "run",
        operator,
        "--input",
        source,
        "--output",
        tmp_path / "o",
        "--memory",
        "--watermark-field",
        "ts",
        "--watermark-delay",
        4,
        "--side-outputs",
        tmp_path / "side",
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "side.1").read_text().split("\n")[:-1] == [
        f"watermark {w}" for w in (1, 5, 8, 26, 27)
    ]
    assert (tmp_path / "side.watermarks").read_text() == "2 1\n2 5\n2 8\n2 26\n2 27\n"
    assert (tmp_path / "o").read_bytes() == source.read_bytes()


def test_watermark_field_missing_from_a_record_is_an_error(tmp_path: Path) -> None:
    source = write(tmp_path / "events.jsonl", '{"ts": 1}\n{"time": 2}\n')
    operator = write(tmp_path / "clock.py", EVENT_TIME_OPERATOR)
    done = run_fssdk(
        "run",
        operator,
        "--input",
        source,
        "--output",
        tmp_path / "o",
        "--memory",
        "--watermark-field",
        "ts",
    )
    assert done.returncode == 2
    assert "--watermark-field 'ts': input line 2 is not a JSON object with that field" in (
        done.stderr
    )


def test_side_target_with_stdout_output_needs_side_outputs(tmp_path: Path) -> None:
    operator = write(tmp_path / "clock.py", EVENT_TIME_OPERATOR)
    done = run_fssdk(
        "run",
        operator,
        "--input",
        "-",
        "--output",
        "-",
        "--memory",
        "--watermark-every",
        1,
        stdin="x\n",
    )
    assert done.returncode == 2
    assert "emitted a record on target 1 but --output is '-'" in done.stderr
    assert "--side-outputs PREFIX" in done.stderr


# -- errors --------------------------------------------------------------------------------------


def run_word_count(tmp_path: Path, *extra: object) -> subprocess.CompletedProcess[str]:
    return run_fssdk("run", WORD_COUNT, "--input", WORDS, "--output", tmp_path / "o", *extra)


def test_missing_operator_file(tmp_path: Path) -> None:
    done = run_fssdk(
        "run", tmp_path / "nope.py", "--input", WORDS, "--output", tmp_path / "o", "--memory"
    )
    assert done.returncode == 2
    assert f"operator file '{tmp_path / 'nope.py'}' does not exist" in done.stderr


def test_missing_operator_module(tmp_path: Path) -> None:
    done = run_fssdk(
        "run", "no_such_package.op", "--input", WORDS, "--output", tmp_path / "o", "--memory"
    )
    assert done.returncode == 2
    assert "operator module 'no_such_package.op' not found" in done.stderr


def test_operator_that_registers_no_driver(tmp_path: Path) -> None:
    operator = write(tmp_path / "lazy.py", "import fssdk\n\nclass Lazy(fssdk.BaseDriver): ...\n")
    done = run_fssdk("run", operator, "--input", WORDS, "--output", tmp_path / "o", "--memory")
    assert done.returncode == 2
    assert "registered no driver: call fssdk.run(YourDriver()) at module level" in done.stderr


def test_operator_file_named_like_an_imported_module(tmp_path: Path) -> None:
    operator = write(tmp_path / "json.py", EVENT_TIME_OPERATOR)
    done = run_fssdk("run", operator, "--input", WORDS, "--output", tmp_path / "o", "--memory")
    assert done.returncode == 2
    assert "has the name of the module 'json' that is already imported" in done.stderr


def test_operator_module_from_the_working_directory(tmp_path: Path) -> None:
    package = tmp_path / "ops"
    package.mkdir()
    write(package / "__init__.py", "")
    write(package / "clock.py", EVENT_TIME_OPERATOR)
    done = run_fssdk(
        "run",
        "ops.clock",
        "--input",
        "-",
        "--output",
        "-",
        "--memory",
        stdin="a\nb\n",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "a\nb\n"


def test_operator_import_error_shows_the_operator_traceback(tmp_path: Path) -> None:
    operator = write(tmp_path / "broken.py", "import fssdk\n\nraise RuntimeError('no config')\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fssdk",
            "run",
            str(operator),
            "--input",
            str(WORDS),
            "--output",
            str(tmp_path / "o"),
            "--memory",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"importing operator file '{operator}' failed" in done.stderr
    assert 'broken.py", line 3' in done.stderr
    assert "RuntimeError: no config" in done.stderr
    assert "_loader.py" not in done.stderr


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_input(tmp_path: Path, kind: str) -> None:
    source = tmp_path / "absent.txt" if kind == "missing" else tmp_path
    done = run_fssdk(
        "run",
        WORD_COUNT,
        "--input",
        source,
        "--output",
        tmp_path / "o",
        "--state-dir",
        tmp_path / "s",
    )
    assert done.returncode == 4
    reason = "No such file or directory" if kind == "missing" else "is a directory"
    assert f"cannot read input '{source}': {reason}" in done.stderr


def test_unwritable_output(tmp_path: Path) -> None:
    done = run_fssdk(
        "run", WORD_COUNT, "--input", WORDS, "--output", tmp_path / "no" / "o", "--memory"
    )
    assert done.returncode == 4
    assert f"cannot write output '{tmp_path / 'no' / 'o'}'" in done.stderr


@pytest.mark.parametrize("entry", ["key_prefix", "=value"])
def test_bad_set_syntax(tmp_path: Path, entry: str) -> None:
    done = run_word_count(tmp_path, "--memory", "--set", entry)
    assert done.returncode == 2
    assert f"--set '{entry}':" in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed\n", "is not valid YAML"),
        ("", "expected a mapping with name, type and init, got an empty file"),
        ("- a\n- b\n", "expected a mapping with name, type and init, got a list"),
        ("type: processor\n", "'name' must be a non-empty string, got None"),
        ("name: wc\ntype: source\n", "'type' must be one of processor, python, got 'source'"),
        ("name: wc\ntype: processor\nint: {a: b}\n", "unknown key(s) int; valid keys:"),
        ("name: wc\ntype: processor\ninit: [a]\n", "'init' must be a map of strings, got list"),
        (
            "name: wc\ntype: processor\ninit: {enabled: yes}\n",
            "init.enabled must be a string, got bool True",
        ),
        (
            "name: wc\ntype: processor\ninit: {on: x}\n",
            "init key True must be a string (YAML reads on/off/yes/no as booleans: quote it)",
        ),
        (
            "name: wc\ntype: processor\ninit: {a: b}\ninit_config: {c: d}\n",
            "give either 'init' or 'init_config', not both",
        ),
    ],
)
def test_bad_config_file(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path / "config.yaml", text)
    done = run_word_count(tmp_path, "--memory", "--config-file", config)
    assert done.returncode == 2
    assert done.stderr.startswith("fssdk: error: ")
    assert message in done.stderr
    assert str(config) in done.stderr


def test_config_file_numbers_become_strings_and_deployment_keys_are_accepted(
    tmp_path: Path,
) -> None:
    config = write(
        tmp_path / "config.yaml",
        (
            "name: wc\ntype: processor\ninit: {key_prefix: 7}\n"
            "input-groups: [{inputs: [{input-type: kafka}]}]\noutputs: []\n"
        ),
    )
    assert (
        run_word_count(tmp_path, "--state-dir", tmp_path / "s", "--config-file", config).returncode
        == 0
    )
    assert all(key.startswith("7") for key in stored_keys(tmp_path / "s", "counter-store"))


def test_memory_and_state_dir_together_are_a_usage_error(tmp_path: Path) -> None:
    done = run_word_count(tmp_path, "--memory", "--state-dir", tmp_path / "s")
    assert done.returncode == 2
    assert "not allowed with argument --memory" in done.stderr


def test_checkpoint_interval_must_be_positive(tmp_path: Path) -> None:
    done = run_word_count(tmp_path, "--memory", "--checkpoint-interval", 0)
    assert done.returncode == 2
    assert "expected a positive integer, got '0'" in done.stderr


def start_paused_run(tmp_path: Path) -> subprocess.Popen[str]:
    """A word_count run that sleeps inside its second checkpoint, holding the state dir."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fssdk",
            "run",
            str(WORD_COUNT),
            "--input",
            str(WORDS),
            "--output",
            str(tmp_path / "o"),
            "--state-dir",
            str(tmp_path / "s"),
            "--checkpoint-interval",
            "100",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FSSDK_TEST_PAUSE_AT": "after-metadata@2"},
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "fssdk-test-pause after-metadata 2"
    return proc


def test_locked_state_dir_is_refused_and_can_be_inspected_meanwhile(tmp_path: Path) -> None:
    holder = start_paused_run(tmp_path)
    try:
        done = run_word_count(tmp_path, "--state-dir", tmp_path / "s")
        assert done.returncode == 3
        assert (
            f"state dir '{tmp_path / 's'}' is locked: process {holder.pid} is running on it"
            in done.stderr
        )
        seen = run_fssdk("state", "inspect", tmp_path / "s", "--json")
        assert seen.returncode == 0, seen.stderr
        report = json.loads(seen.stdout)
        assert report["locked"] is True
        assert report["lock_holder"] == holder.pid
        assert [c["records"] for c in report["checkpoints"]] == [100, 200]
        assert report["source"] == "checkpoint 2"
        assert report["stores"][0]["simple_entries"] > 0
        live = run_fssdk("state", "inspect", tmp_path / "s", "--live")
        assert live.returncode == 3
        assert "is in use by a run" in live.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert holder.stderr is not None
        holder.stderr.close()


def test_state_dir_of_another_key_format_version_is_refused(tmp_path: Path) -> None:
    assert run_word_count(tmp_path, "--state-dir", tmp_path / "s").returncode == 0
    owner_file = tmp_path / "s" / "fssdk-state.json"
    owner = json.loads(owner_file.read_text())
    owner["key_format_version"] = 99
    owner_file.write_text(json.dumps(owner))
    done = run_word_count(tmp_path, "--state-dir", tmp_path / "s")
    assert done.returncode == 3
    assert "was written with key-format version 99; this fssdk reads version 1" in done.stderr


def test_state_dir_of_another_operator_is_refused(tmp_path: Path) -> None:
    assert run_word_count(tmp_path, "--state-dir", tmp_path / "s").returncode == 0
    operator = write(tmp_path / "clock.py", EVENT_TIME_OPERATOR)
    done = run_fssdk(
        "run", operator, "--input", WORDS, "--output", tmp_path / "o", "--state-dir", tmp_path / "s"
    )
    assert done.returncode == 3
    assert "belongs to operator 'word_count:CounterProcessor'" in done.stderr
    assert "not 'clock:Clock'" in done.stderr


def test_a_directory_that_is_not_a_state_dir_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "mine")
    done = run_fssdk(
        "run",
        WORD_COUNT,
        "--input",
        WORDS,
        "--output",
        tmp_path / "o.jsonl",
        "--state-dir",
        tmp_path,
    )
    assert done.returncode == 3
    assert "is not empty and has no fssdk-state.json (notes.txt" in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_another_configuration_on_resume_is_refused(tmp_path: Path) -> None:
    assert run_word_count(tmp_path, "--state-dir", tmp_path / "s").returncode == 0
    done = run_word_count(tmp_path, "--state-dir", tmp_path / "s", "--set", "key_prefix=x")
    assert done.returncode == 3
    assert 'was run with other configuration: {}, now {"key_prefix": "x"}' in done.stderr


def test_a_changed_input_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "words.txt"
    source.write_bytes(WORDS.read_bytes())
    args = (
        "run",
        WORD_COUNT,
        "--input",
        source,
        "--output",
        tmp_path / "o",
        "--state-dir",
        tmp_path / "s",
    )
    assert run_fssdk(*args).returncode == 0
    source.write_bytes(b"five" + WORDS.read_bytes()[4:])
    done = run_fssdk(*args)
    assert done.returncode == 3
    assert "differs from the input checkpoint 1 consumed" in done.stderr


def test_another_output_on_resume_is_refused(tmp_path: Path) -> None:
    assert run_word_count(tmp_path, "--state-dir", tmp_path / "s").returncode == 0
    done = run_fssdk(
        "run",
        WORD_COUNT,
        "--input",
        WORDS,
        "--output",
        tmp_path / "other",
        "--state-dir",
        tmp_path / "s",
    )
    assert done.returncode == 3
    assert (
        f"writes --output to '{tmp_path / 'o'}' ('../o' from the state dir), not "
        f"'{tmp_path / 'other'}'" in done.stderr
    )


def test_a_record_with_a_newline_is_refused(tmp_path: Path) -> None:
    operator = write(
        tmp_path / "multiline.py",
        (
            "import fssdk\n\nclass Two(fssdk.BaseDriver):\n"
            "    def process(self, ctx, source_id, data):\n"
            "        ctx.emit(data + b'\\n' + data)\n\nfssdk.run(Two())\n"
        ),
    )
    done = run_fssdk(
        "run", operator, "--input", "-", "--output", tmp_path / "o", "--memory", stdin="a\n"
    )
    assert done.returncode == 5
    assert "emitted a record with a newline byte on target 0 (b'a\\na')" in done.stderr
    assert "(at input line 1)" in done.stderr


def test_an_operator_exception_names_the_call_and_the_line(tmp_path: Path) -> None:
    operator = write(
        tmp_path / "picky.py",
        (
            "import fssdk\n\nclass Picky(fssdk.BaseDriver):\n"
            "    def process(self, ctx, source_id, data):\n"
            "        if data == b'dead':\n"
            "            raise ValueError('cannot count the dead')\n"
            "        ctx.emit(data)\n\nfssdk.run(Picky())\n"
        ),
    )
    done = run_fssdk(
        "run",
        operator,
        "--input",
        WORDS,
        "--output",
        tmp_path / "o",
        "--state-dir",
        tmp_path / "s",
        "--checkpoint-interval",
        100,
    )
    line = WORDS.read_text().splitlines().index("dead") + 1
    assert line == 128
    assert done.returncode == 1
    assert (
        f"the operator raised ValueError in process() on input line {line}: cannot count the "
        "dead; the state dir keeps checkpoint 1: fix the operator and run the same command to "
        "resume from it" in done.stderr
    )


FAILING_OPERATOR = """
import fssdk

class Failing(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.fail = config["fail"]
        if self.fail == "init":
            raise KeyError("missing table")

    def process_watermark(self, ctx, source_id, watermark):
        if self.fail == "process_watermark":
            raise ValueError(f"bad watermark {watermark}")

    def take_checkpoint(self, ctx, checkpoint_id):
        if self.fail == "take_checkpoint":
            raise OSError(f"cannot save {checkpoint_id}")

    def check_heartbeat(self, ctx):
        return self.fail != "check_heartbeat"

    def close(self, ctx):
        if self.fail == "close":
            raise RuntimeError("close failed")

fssdk.run(Failing())
"""


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        ("init", "the operator raised KeyError in init(): 'missing table'"),
        (
            "process_watermark",
            "the operator raised ValueError in process_watermark() after input line 10: bad "
            "watermark 10",
        ),
        (
            "take_checkpoint",
            "the operator raised OSError in take_checkpoint() after input line 100: cannot save 1",
        ),
        (
            "check_heartbeat",
            "the operator's check_heartbeat() returned False after input line 100: it asks for a "
            "restart; run the same command to start over",
        ),
        ("close", "the operator raised RuntimeError in close(): close failed"),
    ],
)
def test_operator_failures_name_the_call(tmp_path: Path, fail: str, message: str) -> None:
    operator = write(tmp_path / "failing.py", FAILING_OPERATOR)
    done = run_fssdk(
        "run",
        operator,
        "--input",
        WORDS,
        "--output",
        tmp_path / "o",
        "--state-dir",
        tmp_path / "s",
        "--checkpoint-interval",
        100,
        "--set",
        f"fail={fail}",
        "--watermark-every",
        10,
    )
    assert done.returncode == 1
    assert message in done.stderr


def test_ctrl_c_stops_the_run_and_the_same_command_resumes_it(tmp_path: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "fssdk",
        "run",
        str(WORD_COUNT),
        "--input",
        str(WORDS),
        "--output",
        str(tmp_path / "o"),
        "--state-dir",
        str(tmp_path / "s"),
        "--checkpoint-interval",
        "100",
    ]
    proc = subprocess.Popen(
        args,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FSSDK_TEST_PAUSE_AT": "after-metadata@2"},
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "fssdk-test-pause after-metadata 2"
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait() == 130
    assert (
        "interrupted at input line 200; the state dir keeps checkpoint 2: run the same command "
        "to resume from it" in rest
    )
    assert "Traceback" not in rest
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "72 records in" in done.stderr
    assert "resumed from checkpoint 2;" in done.stderr
    assert (
        run_fssdk(
            "run", WORD_COUNT, "--input", WORDS, "--output", tmp_path / "whole", "--memory"
        ).returncode
        == 0
    )
    assert (tmp_path / "o").read_bytes() == (tmp_path / "whole").read_bytes()


# -- inspect -------------------------------------------------------------------------------------

SCOPED_OPERATOR = """
import fssdk
from fssdk import ComplexKey


class Scoped(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("scoped")

    def process(self, ctx, source_id, data):
        user, item = data.split(b" ")
        self.store.merge(ComplexKey(b"cart", user, b"2024", item), b"+")
        self.store.put(ComplexKey(b"raw", user, b"", b"\\x00\\xff"), b"\\x01\\x02")

fssdk.run(Scoped())
"""


def test_inspect_shows_key_groups_and_dumps_a_scope(tmp_path: Path) -> None:
    operator = write(tmp_path / "scoped.py", SCOPED_OPERATOR)
    source = write(tmp_path / "carts.txt", "ann tea\nbob jam\nann tea\nann cup\n")
    assert (
        run_fssdk(
            "run",
            operator,
            "--input",
            source,
            "--output",
            tmp_path / "o",
            "--state-dir",
            tmp_path / "s",
            "--checkpoint-interval",
            2,
        ).returncode
        == 0
    )
    done = run_fssdk(
        "state",
        "inspect",
        tmp_path / "s",
        "--store",
        "scoped",
        "--key-group",
        "cart",
        "--key",
        "ann",
        "--namespace",
        "2024",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    groups = {g["key_group"]: g for g in report["stores"][0]["groups"]}
    assert (groups["cart"]["entries"], groups["cart"]["keys"]) == (3, 2)
    assert (groups["raw"]["entries"], groups["raw"]["keys"]) == (2, 2)
    dump = report["dump"]
    assert dump["total"] == 2
    assert [(e["key"], e["value"]) for e in dump["entries"]] == [("cup", "+"), ("tea", "++")]
    binary = run_fssdk(
        "state",
        "inspect",
        tmp_path / "s",
        "--store",
        "scoped",
        "--key-group",
        "raw",
        "--key",
        "bob",
        "--checkpoint",
        2,
    )
    assert binary.returncode == 0, binary.stderr
    assert "hex:00ff" in binary.stdout
    assert "hex:0102" in binary.stdout
    assert "checkpoint 2" in binary.stdout
    live = run_fssdk("state", "inspect", tmp_path / "s", "--live", "--store", "scoped", "--json")
    assert live.returncode == 0, live.stderr
    assert json.loads(live.stdout)["source"] == "the live database"


def test_inspect_of_a_missing_store_names_the_stores(tmp_path: Path) -> None:
    assert run_word_count(tmp_path, "--state-dir", tmp_path / "s").returncode == 0
    done = run_fssdk("state", "inspect", tmp_path / "s", "--store", "nope")
    assert done.returncode == 2
    assert "no store 'nope' in checkpoint 1 (stores: counter-store)" in done.stderr


def test_inspect_of_a_directory_that_is_not_a_state_dir(tmp_path: Path) -> None:
    done = run_fssdk("state", "inspect", tmp_path)
    assert done.returncode == 3
    assert "is not an fssdk state directory" in done.stderr


# -- the terminal --------------------------------------------------------------------------------


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    big = tmp_path / "words.txt"
    big.write_bytes(WORDS.read_bytes() * 40)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fssdk",
            "run",
            str(WORD_COUNT),
            "--input",
            str(big),
            "--output",
            str(tmp_path / "o"),
            "--memory",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "COLUMNS": "160", "TERM": "xterm"},
    )
    os.close(follower)
    seen = b""
    began = time.monotonic()
    while time.monotonic() - began < 60:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait()
    os.close(leader)
    assert proc.returncode == 0
    text = seen.decode(errors="replace")
    assert "records" in text
    assert "checkpoints" in text
    assert "/s" in text


def test_inspect_before_the_first_checkpoint_reads_the_live_database(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fssdk",
            "run",
            str(WORD_COUNT),
            "--input",
            str(WORDS),
            "--output",
            str(tmp_path / "o"),
            "--state-dir",
            str(tmp_path / "s"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FSSDK_TEST_PAUSE_AT": "after-snapshot@1"},
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "fssdk-test-pause after-snapshot 1"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    overview = run_fssdk("state", "inspect", tmp_path / "s")
    assert overview.returncode == 0, overview.stderr
    assert "no complete checkpoint yet" in overview.stdout
    refused = run_fssdk("state", "inspect", tmp_path / "s", "--store", "counter-store")
    assert refused.returncode == 3
    assert "has no complete checkpoint yet (use --live" in refused.stderr
    live = run_fssdk(
        "state",
        "inspect",
        tmp_path / "s",
        "--live",
        "--store",
        "counter-store",
        "--simple",
        "--json",
    )
    assert live.returncode == 0, live.stderr
    assert json.loads(live.stdout)["dump"]["total"] == 138


def test_malformed_checkpoint_metadata_is_refused(tmp_path: Path) -> None:
    assert run_word_count(tmp_path, "--state-dir", tmp_path / "s").returncode == 0
    meta_file = tmp_path / "s" / "checkpoints" / "checkpoint-00000001.json"
    meta = json.loads(meta_file.read_text())
    del meta["input"]
    meta_file.write_text(json.dumps(meta))
    done = run_word_count(tmp_path, "--state-dir", tmp_path / "s")
    assert done.returncode == 3
    assert "the metadata of checkpoint 1 is malformed (KeyError: 'input')" in done.stderr


def test_run_operator_is_the_same_runner_from_python(tmp_path: Path) -> None:
    import fssdk
    from fssdk.runtime import RunProgress, UsageError, run_operator

    class Upper(fssdk.BaseDriver):
        def process(self, ctx: fssdk.Context, source_id: int, data: bytes) -> None:
            ctx.emit(data.upper())

    seen: list[RunProgress] = []
    summary = run_operator(
        Upper(),
        input=str(WORDS),
        output=str(tmp_path / "o"),
        state_dir=tmp_path / "s",
        checkpoint_interval=100,
        progress=seen.append,
    )
    assert (tmp_path / "o").read_text() == WORDS.read_text().upper()
    assert (summary.records, summary.checkpoints, summary.last_checkpoint_id) == (272, 3, 3)
    assert summary.operator == f"test_cli:{Upper.__qualname__}"
    assert [p.records for p in seen if p.checkpoints][:3] == [100, 200, 272]
    with pytest.raises(UsageError, match="--state-dir DIR is required"):
        run_operator(Upper(), input=str(WORDS), output=str(tmp_path / "o"))
