"""fssdk operators on a real local Flink mini-cluster, against ``fssdk run`` on the same input.

Each test is one or two Flink jobs (7-15 s each to start); inputs are small. They skip, saying
why, where PyFlink (the ``flink`` extra) or Java is missing.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support import flink_missing

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.skipif(flink_missing() is not None, reason=flink_missing() or "")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _run(args: Sequence[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done


def _fssdk(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run(["-m", "fssdk", "run", *args, "-q"], cwd, check=check)


def _readme_click_counter() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"## An operator\n\n```python\n(.*?)```", readme, re.DOTALL)
    assert found is not None, "README.md has no 'An operator' code block"
    return found.group(1)


def _per_key(lines: Sequence[str], field: str) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        grouped[json.loads(line)[field]].append(line)
    return dict(grouped)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _clicks(count: int, users: int, rng: random.Random) -> list[str]:
    every_user = [f"u{i}" for i in range(users)]
    picks = every_user + [rng.choice(every_user) for _ in range(count - users)]
    return [json.dumps({"user": user, "page": rng.randrange(100)}) for user in picks]


def test_click_counter_rescales_from_a_savepoint_with_every_key_exact(tmp_path: Path) -> None:
    """README ClickCounter: parallelism 2 with a savepoint, resumed at 3, equals one fssdk run."""
    users = 50
    (tmp_path / "clicks.py").write_text(_readme_click_counter(), encoding="utf-8")
    rng = random.Random(13)
    first, second = _clicks(1200, users, rng), _clicks(600, users, rng)
    (tmp_path / "first.jsonl").write_text("\n".join(first) + "\n", encoding="utf-8")
    (tmp_path / "second.jsonl").write_text("\n".join(second) + "\n", encoding="utf-8")
    (tmp_path / "all.jsonl").write_text("\n".join(first + second) + "\n", encoding="utf-8")

    _fssdk(tmp_path, "clicks.py", "--input", "all.jsonl", "--output", "expected.jsonl", "--memory")
    _fssdk(
        tmp_path,
        "clicks.py",
        "--engine",
        "flink",
        "--key-field",
        "user",
        "--parallelism",
        "2",
        "--input",
        "first.jsonl",
        "--output",
        "first.out",
        "--savepoint",
        "savepoints",
    )
    assert list((tmp_path / "savepoints").glob("savepoint-*/_metadata"))
    _fssdk(
        tmp_path,
        "clicks.py",
        "--engine",
        "flink",
        "--key-field",
        "user",
        "--parallelism",
        "3",
        "--input",
        "second.jsonl",
        "--output",
        "second.out",
        "--from-savepoint",
        "savepoints",
    )

    expected = _per_key(_lines(tmp_path / "expected.jsonl"), "user")
    before = _per_key(_lines(tmp_path / "first.out"), "user")
    after = _per_key(_lines(tmp_path / "second.out"), "user")
    assert len(expected) == users
    assert set(before) == set(after) == set(expected)
    for user, lines in expected.items():
        assert before[user] + after[user] == lines, user
        # The state carried over: the resumed job continued this key's count.
        assert json.loads(after[user][0])["clicks"] == len(before[user]) + 1


WRONG_KEY_OPERATOR = """
import json
import fssdk


class Meddler(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("clicks")

    def process(self, ctx, source_id, data):
        user = json.loads(data)["user"].encode()
        self.store.put(fssdk.ComplexKey(b"per-user", user, b"", b"n"), b"1")
        self.store.put(fssdk.ComplexKey(b"per-user", b"someone-else", b"", b"n"), b"1")


fssdk.run(Meddler())
"""


def test_touching_another_keys_state_fails_the_job_naming_both_keys(tmp_path: Path) -> None:
    (tmp_path / "meddler.py").write_text(WRONG_KEY_OPERATOR, encoding="utf-8")
    (tmp_path / "in.jsonl").write_text('{"user": "u1"}\n', encoding="utf-8")
    done = _fssdk(
        tmp_path,
        "meddler.py",
        "--engine",
        "flink",
        "--key-field",
        "user",
        "--input",
        "in.jsonl",
        "--output",
        "out.jsonl",
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "WrongKeyError" in done.stderr
    assert "key b'someone-else' while processing key b'u1'" in done.stderr


STORE_SMOKE_OPERATOR = '''
"""Every Store call on the current key's state; one JSON line per record, side output 1."""

import json
import fssdk
from fssdk import ComplexKey


class StoreSmoke(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("smoke")

    def process(self, ctx, source_id, data):
        event = json.loads(data)
        user, n = event["user"].encode(), event["n"]
        s = self.store
        s.put(ComplexKey(b"events", user, b"", f"e{n % 7}-{n:04d}".encode()), data)
        s.put(ComplexKey(b"events", user, b"w\\x00" + bytes([n % 3]), b"\\x00x"), b"")
        s.merge(ComplexKey(b"log", user, b"", b"all"), f"{n},".encode())
        if n % 6 == 0:
            s.delete_prefix(ComplexKey(b"events", user, b"", b"e3"))
        if n % 10 == 0:
            s.delete(ComplexKey(b"log", user, b"", b"all"))
        own = b"count-" + user + b"!"
        count = int(s.get_state(own) or b"0") + 1
        s.put_state(own, str(count).encode())
        scope = s.scope(b"events", user, b"w\\x00" + bytes([n % 3]))
        out = {
            "user": event["user"],
            "count": count,
            "log": (s.get(ComplexKey(b"log", user, b"", b"all")) or b"-").decode(),
            "scan": [k.decode() for k, _ in s.scan_complex(b"events", user, b"")],
            "window": [k.hex() for k, _ in scope.scan()],
            "range": [k.decode() for k in s.list_complex(b"events", user, b"", b"e2", b"e5")],
            "reverse": [k.decode() for k, _ in
                        s.scan_complex(b"events", user, b"", start=b"e1", reverse=True)][:4],
            "states": [k.decode() for k in s.list_states(own, own + b"\\xff")],
        }
        ctx.emit(json.dumps(out, sort_keys=True).encode())
        if count % 5 == 0:
            ctx.emit(f"{event['user']} reached {count}".encode(), 1)


class Watermarks(fssdk.BaseDriver):
    """Counts records per key; on each watermark reports its key's count (Flink-aware)."""

    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("seen")

    def process(self, ctx, source_id, data):
        key = ComplexKey(b"seen", ctx.current_key, b"", b"n")
        self.store.put(key, str(int(self.store.get(key) or b"0") + 1).encode())

    def process_watermark(self, ctx, source_id, watermark):
        count = self.store.get(ComplexKey(b"seen", ctx.current_key, b"", b"n"))
        ctx.emit(json.dumps({"user": ctx.current_key.decode(), "watermark": watermark,
                             "count": int(count)}).encode())


fssdk.run(StoreSmoke())
'''

USER_PROGRAM = '''
"""A DataStream program embedding three fssdk operators as keyed stages (parallelism 2)."""

import json
import sys

from fssdk.flink import BYTES, JsonFieldTimestamp, keyed_stage, local_configuration

from pyflink.common import Duration, Types, WatermarkStrategy
from pyflink.datastream import StreamExecutionEnvironment

top_k_path, smoke_path, log_path, events_path, out_path, checkpoints = sys.argv[1:]
sys.path[:0] = [top_k_path.rsplit("/", 1)[0], smoke_path.rsplit("/", 1)[0]]
import slowest_requests
import store_smoke


env = StreamExecutionEnvironment.get_execution_environment(local_configuration(2, checkpoints))
env.add_python_file(top_k_path)
env.add_python_file(smoke_path)
with open(log_path, encoding="utf-8") as handle:
    log_lines = handle.read().splitlines()
with open(events_path, encoding="utf-8") as handle:
    events = handle.read().splitlines()

# str records reach the operators as their UTF-8 bytes.
logs = env.from_collection(log_lines, type_info=Types.STRING())
top = keyed_stage(logs, slowest_requests.SlowestRequests,
                  lambda line: slowest_requests.parse_request(line)[0].encode(),
                  config={"k": "3"}, uid="top-k")
smoke = keyed_stage(env.from_collection(events, type_info=Types.STRING()), store_smoke.StoreSmoke,
                    lambda event: json.loads(event)["user"].encode(), side_outputs=[1],
                    uid="smoke")
timed = env.from_collection(events, type_info=Types.STRING()).assign_timestamps_and_watermarks(
    WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(5))
    .with_timestamp_assigner(JsonFieldTimestamp("n"))
)
marks = keyed_stage(timed, store_smoke.Watermarks,
                    lambda event: json.loads(event)["user"].encode(), process_watermarks=True,
                    uid="watermarks")
tagged = [
    top.output.map(lambda data: ("top", data), output_type=BYTES),
    smoke.output.map(lambda data: ("smoke", data), output_type=BYTES),
    smoke.side_output(1).map(lambda data: ("smoke.1", data), output_type=BYTES),
    marks.output.map(lambda data: ("marks", data), output_type=BYTES),
]
results = tagged[0].union(*tagged[1:])
with open(out_path, "w") as out, results.execute_and_collect("fssdk stages") as collected:
    for name, data in collected:
        out.write(json.dumps([name, data.decode()]) + "\\n")
'''


def test_user_program_runs_examples_and_every_store_call_like_fssdk_run(tmp_path: Path) -> None:
    """top_k, a Store smoke operator (side output) and watermarks in one job at parallelism 2."""
    top_k = ROOT / "examples" / "top_k" / "slowest_requests.py"
    smoke = tmp_path / "store_smoke.py"
    smoke.write_text(STORE_SMOKE_OPERATOR, encoding="utf-8")
    rng = random.Random(5)
    events = [json.dumps({"user": f"u{rng.randrange(12)}", "n": n}) for n in range(400)]
    (tmp_path / "events.jsonl").write_text("\n".join(events) + "\n", encoding="utf-8")
    (tmp_path / "program.py").write_text(textwrap.dedent(USER_PROGRAM), encoding="utf-8")
    access_log = ROOT / "examples" / "top_k" / "access.log"

    _fssdk(
        tmp_path,
        str(top_k),
        "--input",
        str(access_log),
        "--output",
        "top.expected",
        "--memory",
        "--set",
        "k=3",
    )
    _fssdk(
        tmp_path,
        "store_smoke.py",
        "--input",
        "events.jsonl",
        "--output",
        "smoke.expected",
        "--memory",
    )
    _run(
        [
            "program.py",
            str(top_k),
            str(smoke),
            str(access_log),
            "events.jsonl",
            "flink.out",
            "checkpoints",
        ],
        tmp_path,
    )

    got: dict[str, list[str]] = defaultdict(list)
    for line in _lines(tmp_path / "flink.out"):
        name, data = json.loads(line)
        got[name].append(data)
    top_expected = _per_key(_lines(tmp_path / "top.expected"), "endpoint")
    assert _per_key(got["top"], "endpoint") == top_expected
    assert len(top_expected) > 5
    smoke_expected = _per_key(_lines(tmp_path / "smoke.expected"), "user")
    assert _per_key(got["smoke"], "user") == smoke_expected
    assert sorted(got["smoke.1"]) == sorted(_lines(tmp_path / "smoke.expected.1"))
    assert got["smoke.1"]

    marks = _per_key(got["marks"], "user")
    assert set(marks) == set(smoke_expected)
    for user, lines in marks.items():
        reports = [json.loads(line) for line in lines]
        watermarks = [report["watermark"] for report in reports]
        assert watermarks == sorted(watermarks), user
        assert reports[-1] == {
            "user": user,
            "watermark": 2**63 - 1,
            "count": len(smoke_expected[user]),
        }
