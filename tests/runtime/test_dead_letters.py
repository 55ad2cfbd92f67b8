"""``fssdk run --on-error skip --dead-letter FILE``: a record whose process raises goes to the
dead-letter file and leaves no trace in the state or the outputs; kill -9 and resume skip the
same records again, so outputs and dead letters stay exactly once."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fssdk.runtime import UsageError, run_operator
from tests.support import ROOT, database_dump, run_fssdk

OPERATOR = '''
"""Counts values per key; a record "KEY VALUE" whose VALUE is not an integer raises, after it
has written its count, registered a timer, emitted a line and changed a field."""
import fssdk
from fssdk_advanced import KeyedValueStateFactory
from fssdk_advanced.time import TimerService


class Tally(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.totals = KeyedValueStateFactory.from_context_auto_codec(ctx, "tally", b"n", int)
        self.timers = TimerService.from_context(ctx, "timers")
        self.meta = ctx.get_or_create_store("meta")
        self.seen = int(self.meta.get_state(b"seen") or b"0")  # rebuilt from state

    def process(self, ctx, source_id, data):
        key, _, value = data.partition(b" ")
        total = self.totals.new_keyed_value(key, b"")
        n = (total.value()[0] or 0) + 1
        total.update(n)
        self.timers.register_event_time_timer(key, value, n)
        self.seen += 1
        self.meta.put_state(b"seen", b"%d" % self.seen)
        ctx.emit(b"%s %d %d" % (key, n, self.seen))
        ctx.emit(b"%s %d" % (key, int(value)), 1)

    def process_watermark(self, ctx, source_id, watermark):
        for timer in self.timers.advance_watermark(watermark):
            ctx.emit(b"timer %s %s %d" % (timer.key, timer.namespace, timer.timestamp))
        ctx.emit_watermark(watermark)


fssdk.run(Tally())
'''


def lines(count: int) -> list[str]:
    """``count`` records over keys a-c, every seventh and eleventh one bad."""
    out = []
    for i in range(1, count + 1):
        key = "abc"[i % 3]
        if i % 11 == 0:
            out.append(f"{key} oops")
        elif i % 7 == 0:
            out.append(key)
        else:
            out.append(f"{key} {i}")
    return out


def write_input(path: Path, records: list[str]) -> Path:
    path.write_bytes(b"".join(record.encode() + b"\n" for record in records))
    return path


_NAMES = itertools.count()


@pytest.fixture
def operator(tmp_path: Path) -> Path:
    """The operator's file, under a module name of its own (imported in this process)."""
    path = tmp_path / f"tally_{next(_NAMES)}.py"
    path.write_text(OPERATOR)
    return path


def outputs(out: Path) -> dict[str, bytes]:
    return {p.name[len(out.name) :]: p.read_bytes() for p in out.parent.glob(out.name + "*")}


def is_bad(record: str) -> bool:
    value = record.partition(" ")[2]
    return not value.lstrip("-").isdigit()


@pytest.mark.parametrize("store", ["memory", "state-dir"])
def test_a_skipped_record_leaves_only_its_dead_letter(
    operator: Path, tmp_path: Path, store: str
) -> None:
    records = lines(60)
    where: dict[str, Any] = (
        {"memory": True} if store == "memory" else {"state_dir": str(tmp_path / "state")}
    )
    skipping = tmp_path / "skipping"
    skipping.mkdir()
    summary = run_operator(
        str(operator),
        input=str(write_input(tmp_path / "in.txt", records)),
        output=str(skipping / "out"),
        on_error="skip",
        dead_letter=str(tmp_path / "dead.jsonl"),
        final_watermark=True,
        checkpoint_interval=8,
        **where,
    )
    bad = [r for r in records if is_bad(r)]
    assert (summary.skipped, summary.skipped_total) == (len(bad), len(bad)) == (13, 13)
    # Counts, the field rebuilt in init, the timers and the outputs are those of a run over the
    # input without the bad records: their writes, timers and emits were rolled back.
    clean = dict(where)
    if store == "state-dir":
        clean["state_dir"] = str(tmp_path / "clean-state")
    good_input = write_input(tmp_path / "good.txt", [r for r in records if not is_bad(r)])
    (tmp_path / "good").mkdir()
    run_operator(
        str(operator),
        input=str(good_input),
        output=str(tmp_path / "good" / "out"),
        final_watermark=True,
        **clean,
    )
    assert outputs(skipping / "out") == outputs(tmp_path / "good" / "out")
    fired = [x for x in outputs(skipping / "out")[""].splitlines() if x.startswith(b"timer")]
    assert len(fired) == len(records) - len(bad)
    letters = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert [letter["record"] for letter in letters] == bad
    first = letters[0]
    assert first["line"] == records.index(bad[0]) + 1
    assert first["offset"] == sum(len(r) + 1 for r in records[: first["line"] - 1])
    assert first["error"] == "ValueError"
    assert "invalid literal for int()" in first["message"]
    assert first["traceback"].startswith(f'  File "{operator}", line ')
    assert "int(value)" in first["traceback"]
    if store == "state-dir":
        assert database_dump(tmp_path / "state" / "db") == database_dump(
            tmp_path / "clean-state" / "db"
        )


def dead_letters_in_memory(operator: Path, source: Path, **options: Any) -> list[Any]:
    """Run ``operator`` over ``source`` on memory, skipping; the dead letters it wrote."""
    dead = source.with_name("dead.jsonl")
    run_operator(
        str(operator),
        input=str(source),
        output=str(source.with_name("out")),
        memory=True,
        on_error="skip",
        dead_letter=str(dead),
        **options,
    )
    return [json.loads(line) for line in dead.read_text().splitlines()]


TTL_OPERATOR = '''
"""Keeps the last value per key for a day; a record "KEY VALUE" whose VALUE is not an integer
raises after it has written two keys of its own."""
import fssdk
from fssdk_advanced import KeyedValueStateFactory, StateTtl


class Last(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.last = KeyedValueStateFactory.from_context_auto_codec(
            ctx, "last", b"v", int, ttl=StateTtl(86_400_000)
        )

    def process(self, ctx, source_id, data):
        key, _, value = data.partition(b" ")
        self.last.new_keyed_value(key + b"-before").update(1)
        self.last.new_keyed_value(key + b"-also").update(1)
        self.last.new_keyed_value(key).update(int(value))


fssdk.run(Last())
'''


@pytest.mark.parametrize("batch", [1, 2, 3, 256])
def test_a_skipped_record_takes_no_index_entry_of_a_kept_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """Every TTL'd entry a run with skipped records leaves is named by the expiry index (none
    would ever be cleaned up otherwise), whichever batch of held entries a failure falls in."""
    from fssdk.reserved import TTL_INDEX_KEY_GROUP
    from fssdk.runtime import LocalContext, RocksDBBackend
    from fssdk_advanced.state import _ttl as ttl_module

    monkeypatch.setattr(ttl_module, "INDEX_BATCH", batch)
    operator = tmp_path / f"last_{next(_NAMES)}.py"
    operator.write_text(TTL_OPERATOR)
    records = [f"k{i} {'x' if i % 4 == 3 else i}" for i in range(40)]
    summary = run_operator(
        str(operator),
        input=str(write_input(tmp_path / "in.txt", records)),
        output=str(tmp_path / "out"),
        state_dir=str(tmp_path / "state"),
        on_error="skip",
        dead_letter=str(tmp_path / "dead.jsonl"),
        checkpoint_interval=7,
    )
    assert summary.skipped == 10
    with RocksDBBackend(tmp_path / "state" / "db") as backend:
        store = LocalContext(backend).get_or_create_store("last")
        stored = set(store.scan_scopes(b"v"))
        index = store.scope(TTL_INDEX_KEY_GROUP, b"v", b"")
        with index.scan() as scan:
            named = {
                (entry[1], entry[2])
                for index_key, value in scan
                for entry in ttl_module.index_entries_of(index_key, value)
            }
    kept = [i for i in range(40) if i % 4 != 3]
    parts = ("", "-before", "-also")
    assert stored == {(f"k{i}{part}".encode(), b"") for i in kept for part in parts}
    assert stored <= named


def test_a_record_that_is_not_utf8_is_kept_as_base64(operator: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"a 1\n\xff\xfe 2x\n")
    (letter,) = dead_letters_in_memory(operator, source)
    assert "record" not in letter
    assert letter["record_base64"] == "//4gMng="


def test_an_unreadable_event_time_is_a_dead_letter_too(operator: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text('{"ts": 1}\nplain text\n{"ts": 2}\n')
    letters = dead_letters_in_memory(operator, source, watermark_field="ts")
    assert [(x["line"], x["error"]) for x in letters] == [
        (1, "ValueError"),  # the operator's own error: '{"ts":' is not an integer
        (2, "EventTimeError"),
        (3, "ValueError"),
    ]
    assert "is not a JSON object with that field" in letters[1]["message"]


INTERVAL = ["--checkpoint-interval", "9", "--watermark-every", "1"]


def command(operator: Path, source: Path, out_dir: Path) -> list[object]:
    return [
        "run", operator, "--input", source, "--output", out_dir / "out",
        "--state-dir", out_dir / "state", "--on-error", "skip",
        "--dead-letter", out_dir / "dead.jsonl", *INTERVAL,
    ]  # fmt: skip


def kill_at(args: list[object], stage: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fssdk", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "FSSDK_TEST_PAUSE_AT": stage},
    )
    assert proc.stderr is not None
    marker = proc.stderr.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert marker == "fssdk-test-pause " + stage.replace("@", " ")


def results(out_dir: Path) -> dict[str, object]:
    return {
        **outputs(out_dir / "out"),
        "dead": (out_dir / "dead.jsonl").read_bytes(),
        "state": database_dump(out_dir / "state" / "db"),
    }


def test_resume_after_kill_9_skips_the_same_records_exactly_once(
    operator: Path, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.txt", lines(80))
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    reference.mkdir()
    crashed.mkdir()
    done = run_fssdk(*command(operator, source, reference))
    assert done.returncode == 0, done.stderr
    assert "skipped: 17 records whose process() raised (17 in all)" in done.stderr
    # Killed after checkpoints 3 and 6 were snapshotted: the records after them, bad ones
    # included, are processed again on each resume.
    kill_at(command(operator, source, crashed), "after-snapshot@3")
    kill_at(command(operator, source, crashed), "after-snapshot@6")
    done = run_fssdk(*command(operator, source, crashed))
    assert done.returncode == 0, done.stderr
    assert "resumed from checkpoint 5" in done.stderr
    assert "(17 in all)" in done.stderr
    assert results(crashed) == results(reference)
    letters = (crashed / "dead.jsonl").read_text().splitlines()
    assert len(letters) == len(set(letters)) == 17


def test_skip_needs_a_dead_letter_file_and_a_dead_letter_file_needs_skip(
    operator: Path, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.txt", ["a 1"])
    base = ["run", operator, "--input", source, "--output", tmp_path / "out", "--memory"]
    for extra, message in (
        (["--on-error", "skip"], "--on-error skip needs --dead-letter FILE"),
        (["--dead-letter", tmp_path / "d"], "--dead-letter only applies with --on-error skip"),
        (
            ["--on-error", "skip", "--dead-letter", tmp_path / "out"],
            "--dead-letter and --output are the same file",
        ),
        (["--on-error", "skip", "--dead-letter", "-"], "--dead-letter must name a file"),
        (["--on-error", "ignore"], "invalid choice: 'ignore'"),
    ):
        done = run_fssdk(*base, *extra)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
    done = run_fssdk(
        "run", operator, "--input", source, "--output", tmp_path / "out", "--engine", "flink",
        "--key-field", "k", "--on-error", "skip", "--dead-letter", tmp_path / "d",
    )  # fmt: skip
    assert done.returncode == 2
    assert "--on-error skip and --dead-letter are for the local engine" in done.stderr
    with pytest.raises(UsageError, match="--on-error must be one of fail, skip"):
        run_operator(
            str(operator), input=str(source), output=str(tmp_path / "o"), memory=True,
            on_error="ignore",
        )  # fmt: skip


def test_the_default_still_stops_at_the_first_bad_record(operator: Path, tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.txt", ["a 1", "b x", "c 3"])
    done = run_fssdk("run", operator, "--input", source, "--output", tmp_path / "o", "--memory")
    assert done.returncode == 1
    assert "the operator raised ValueError in process() on input line 2" in done.stderr


def test_a_skipping_state_dir_is_resumed_only_with_its_dead_letter_file(
    operator: Path, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.txt", ["a 1", "b x"])
    args = ["run", operator, "--input", source, "--output", tmp_path / "o"]
    args += ["--state-dir", tmp_path / "state"]
    skip = ["--on-error", "skip", "--dead-letter", tmp_path / "dead.jsonl"]
    assert run_fssdk(*args, *skip).returncode == 0
    done = run_fssdk(*args)
    assert done.returncode == 3
    assert "was run with --on-error skip and writes its dead letters to" in done.stderr
    done = run_fssdk(*args, "--on-error", "skip", "--dead-letter", tmp_path / "other.jsonl")
    assert done.returncode == 3
    assert "pass the same --dead-letter" in done.stderr


def test_errors_of_the_runtime_still_stop_a_skipping_run(tmp_path: Path) -> None:
    operator = tmp_path / "newline.py"
    operator.write_text(
        "import fssdk\n"
        "class Op(fssdk.BaseDriver):\n"
        "    def process(self, ctx, source_id, data):\n"
        "        ctx.emit(data + b'\\n')\n"
        "fssdk.run(Op())\n"
    )
    source = write_input(tmp_path / "in.txt", ["a"])
    done = run_fssdk(
        "run", operator, "--input", source, "--output", tmp_path / "o", "--memory",
        "--on-error", "skip", "--dead-letter", tmp_path / "dead.jsonl",
    )  # fmt: skip
    assert done.returncode == 5
    assert (tmp_path / "dead.jsonl").read_text() == ""
