"""``fssdk state export-flink``: a local state dir carried onto Flink.

The first half of an input runs under ``fssdk run`` with a state dir, the export turns its
newest checkpoint into Flink keyed state, and the second half runs on Flink from it: the outputs
of both halves together equal one uninterrupted local run, per key. The model tests replay the
export's bootstrap and the resumed job on fake Flink state and timers (tests/flink/test_timers.py);
the job test runs both on a real mini-cluster at parallelism 2.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from fssdk.runtime._loader import load_operator
from fssdk.runtime._run_errors import StateDirError
from tests.flink.test_timers import MAX, FakeContext, FakeFlink, FakeJob
from tests.runtime.test_run_and_inspect_edges import damaged_run
from tests.support import flink_missing, run_fssdk

needs_flink = pytest.mark.skipif(flink_missing() is not None, reason=flink_missing() or "")

DELAY = 1_000

PROFILES = '''
"""Per user: clicks, pages, recent pages, a queue of page numbers, a TTL'd last click time
(event time) and an idle timer; emits a line per click and per idle timer. With remind=1 a
user's first click registers a processing-time timer that is due at once; process_watermark
fires due processing-time timers only with fire=1."""
import json

import fssdk
from fssdk_advanced import (
    IntCodec,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedValueStateFactory,
    StringCodec,
)
from fssdk_advanced.time import StateTtl, TimerService, processing_time_ms

IDLE_MS = 4_000
TTL_MS = 6_000


class Profiles(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.remind = config.get("remind") == "1"
        self.fire = config.get("fire") == "1"
        self.timers = TimerService.from_context(ctx, "timers")
        ttl = StateTtl(TTL_MS, clock=self.timers.event_time_clock())
        self.clicks = KeyedValueStateFactory.from_context(ctx, "profiles", b"clicks", IntCodec())
        self.seen = KeyedValueStateFactory.from_context(ctx, "profiles", b"seen", IntCodec())
        self.last = KeyedValueStateFactory.from_context(
            ctx, "profiles", b"last", IntCodec(), ttl=ttl
        )
        self.pages = KeyedMapStateFactory.from_context(
            ctx, "profiles", b"pages", StringCodec(), IntCodec()
        )
        self.recent = KeyedListStateFactory.from_context(ctx, "profiles", b"recent", StringCodec())
        self.queue = KeyedPriorityQueueStateFactory.from_context(
            ctx, "profiles", b"queue", IntCodec()
        )

    def process(self, ctx, source_id, data):
        click = json.loads(data)
        user, ts, page = click["user"].encode(), click["ts"], click["page"]
        clicks = self.clicks.new_keyed_value(user)
        count = (clicks.value()[0] or 0) + 1
        clicks.update(count)
        pages = self.pages.new_keyed_map(user)
        pages.put(page, (pages.get(page)[0] or 0) + 1)
        self.recent.new_keyed_list(user).add(page)
        queue = self.queue.new_keyed_priority_queue(user)
        queue.add(int(page[2:]) % 2)
        polled = [queue.poll()[0] for _ in range(2)] if count % 3 == 0 else []
        last = self.last.new_keyed_value(user)
        before = last.value()[0]
        last.update(ts)
        seen = self.seen.new_keyed_value(user)
        previous = seen.value()[0]
        if previous is not None:
            self.timers.delete_event_time_timer(user, b"idle", previous + IDLE_MS)
        seen.update(ts)
        self.timers.register_event_time_timer(user, b"idle", ts + IDLE_MS)
        if self.remind and count == 1:
            self.timers.register_processing_time_timer(user, b"remind", 1)
        out = {"user": user.decode(), "count": count, "pages": len(list(pages.keys())),
               "polled": polled, "since": None if before is None else ts - before}
        ctx.emit(json.dumps(out, sort_keys=True).encode())

    def process_watermark(self, ctx, source_id, watermark):
        if self.fire:
            for timer in self.timers.advance_processing_time(processing_time_ms()):
                out = {"user": timer.key.decode(), "reminder": timer.timestamp}
                ctx.emit(json.dumps(out).encode())
        for timer in self.timers.advance_watermark(watermark):
            out = {
                "user": timer.key.decode(),
                "idle": timer.timestamp,
                "recent": self.recent.new_keyed_list(timer.key).get()[-3:],
                "queue": list(self.queue.new_keyed_priority_queue(timer.key).all()),
                "top": sorted(self.pages.new_keyed_map(timer.key).items()),
            }
            ctx.emit(json.dumps(out, sort_keys=True).encode())


fssdk.run(Profiles())
'''


def _halves(count: int, users: int, seed: int) -> tuple[list[str], list[str]]:
    """Clicks in time order, split in two; the second half starts with a user the first never
    saw, whose state the resumed job's first watermark (Flink's minimum) cannot change."""
    rng = random.Random(seed)
    ts, clicks = 0, []
    for _ in range(count):
        ts += rng.choice((0, 50, 400, 1_500, 3_000, 7_000))
        user, page = f"u{rng.randrange(users)}", f"/p{rng.randrange(5)}"
        clicks.append(json.dumps({"ts": ts, "user": user, "page": page}))
    half = count // 2
    latest = json.loads(clicks[half - 1])["ts"]
    newcomer = json.dumps({"ts": latest, "user": "newcomer", "page": "/p0"})
    return clicks[:half], [newcomer, *clicks[half:]]


def _by_user(lines: list[bytes] | list[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        text = line.decode() if isinstance(line, bytes) else line
        grouped[json.loads(text)["user"]].append(text)
    return dict(grouped)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _write(folder: Path, name: str, lines: list[str]) -> None:
    (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _local(folder: Path, *args: object) -> None:
    done = run_fssdk(
        "run", "profiles.py", "-q", "--watermark-field", "ts", "--watermark-delay", DELAY,
        "--set", "remind=1", *args, cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _first_half_and_uninterrupted(folder: Path, seed: int) -> tuple[list[str], list[str]]:
    """Write the operator and inputs; run the first half with a state dir and the whole input
    in one run (final watermark); the second half's clicks and the whole run's output."""
    (folder / "profiles.py").write_text(PROFILES, encoding="utf-8")
    first, second = _halves(240, 8, seed)
    _write(folder, "first.jsonl", first)
    _write(folder, "second.jsonl", second)
    _write(folder, "all.jsonl", first + second)
    _local(folder, "--input", "first.jsonl", "--output", "first.out", "--state-dir", "state")
    _local(folder, "--input", "all.jsonl", "--output", "all.out", "--memory", "--final-watermark")
    return second, _lines(folder / "all.out")


def _assert_halves_make_the_whole(first: list[str], second: list[str], whole: list[str]) -> None:
    expected, before, after = _by_user(whole), _by_user(first), _by_user(second)
    assert set(before) | set(after) == set(expected)
    for user, lines in expected.items():
        assert before.get(user, []) + after.get(user, []) == lines, user
    # The exported state carried over: each user's click count goes on from the first half's,
    # and timers registered in the first half fire in the second.
    carried = 0
    for user in set(before) & set(after):
        counted = [json.loads(line) for line in before[user] if '"count"' in line]
        going_on = [json.loads(line) for line in after[user] if '"count"' in line]
        if counted and going_on:
            assert going_on[0]["count"] == len(counted) + 1, user
            carried += 1
    assert carried >= 4
    first_clicks = {json.loads(line).get("idle") for line in first}
    idle = [json.loads(line) for line in second if '"idle"' in line]
    assert any(line["user"] in before and line["idle"] not in first_clicks for line in idle)


def _fail(message: str) -> None:
    raise AssertionError(f"unexpected warning: {message}")


# -- the export on fake Flink state ------------------------------------------------------------


def _bootstrap(job: FakeJob, path: Path) -> int:
    """Run the export's bootstrap function over the lines in ``path`` on ``job``'s fake state
    and timers, each line with its key current, as Flink runs it; the number of lines."""
    from fssdk.flink._bootstrap import BootstrapFunction  # needs PyFlink
    from fssdk.flink._export import Line

    function = BootstrapFunction()
    function.open(job.runtime)
    lines = path.read_text(encoding="ascii").splitlines()
    for text in lines:
        key = Line.decode(text).key
        job.flink.key = job.function._current.value = key
        assert list(function.process_element(text, FakeContext(job.flink, key))) == [True]
    job.function._current.value = None
    return len(lines)


@needs_flink
def test_the_exported_state_resumed_on_fake_flink_equals_one_local_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every kind of state, the queue's counter, the TTL index and pending timers go to their
    key's partition; lines split at a lowered LINE_ENTRIES."""
    from fssdk.flink import _export

    monkeypatch.setattr(_export, "LINE_ENTRIES", 3)
    second, whole = _first_half_and_uninterrupted(tmp_path, seed=21)
    summary = _export.write_bootstrap_input(str(tmp_path / "state"), tmp_path / "lines", _fail)
    assert summary.timers > 0
    assert summary.stores == ["profiles", "timers"]

    copy = tmp_path / "profiles_on_fake_flink.py"
    copy.write_text(PROFILES, encoding="utf-8")
    job = FakeJob(lambda: load_operator(str(copy)).driver, {})
    assert _bootstrap(job, tmp_path / "lines") == summary.lines
    partitions = job.runtime.states["profiles"].partitions
    assert any(len(entries) > 3 for entries in partitions.values())
    # Every entry, the TTL index's and the timers' included, is in a user's partition.
    users = {json.loads(line)["user"].encode() for line in _lines(tmp_path / "first.jsonl")}
    for state in job.runtime.states.values():
        assert {key for key, entries in state.partitions.items() if entries} <= users
    highest = json.loads(second[0])["ts"]
    for text in second:
        click = json.loads(text)
        job.record(click["user"].encode(), text.encode())
        highest = max(highest, click["ts"])
        job.advance(highest - DELAY)
    job.advance(MAX)

    assert {target for target, _ in job.out} == {0}
    flink = [data.decode() for _, data in job.out]
    _assert_halves_make_the_whole(_lines(tmp_path / "first.out"), flink, whole)
    # Each user's reminder is a processing-time timer, due and not fired (no fire=1).
    assert {(kind, key) for kind, key, _ in job.flink.timers} == {
        ("processing", user) for user in users
    }


def test_simple_keys_are_refused_naming_the_store_and_a_key(tmp_path: Path) -> None:
    (tmp_path / "counter.py").write_text(
        "import fssdk\n\n"
        "class Counter(fssdk.BaseDriver):\n"
        "    def init(self, ctx, config):\n"
        "        self.store = ctx.get_or_create_store('counter-store')\n\n"
        "    def process(self, ctx, source_id, data):\n"
        "        n = int(self.store.get_state(data) or b'0') + 1\n"
        "        self.store.put_state(data, str(n).encode())\n\n"
        "fssdk.run(Counter())\n",
        encoding="utf-8",
    )
    (tmp_path / "in.txt").write_text("apple\npear\napple\n", encoding="utf-8")
    done = run_fssdk(
        "run", "counter.py", "--input", "in.txt", "--output", "out", "--state-dir", "state",
        "-q", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = run_fssdk("state", "export-flink", "state", "--savepoint", "sp", cwd=tmp_path)
    assert done.returncode == 3
    assert "store 'counter-store' holds 2 simple key(s) (put_state), e.g. 'apple'" in done.stderr
    assert not (tmp_path / "sp").exists()


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda path: None, "is not an fssdk state directory"),
        (lambda path: path.mkdir(), "is not an fssdk state directory"),
    ],
)
def test_what_is_not_a_state_dir_is_refused(tmp_path: Path, prepare: Any, message: str) -> None:
    from fssdk.flink._export import choose_checkpoint

    prepare(tmp_path / "state")
    with pytest.raises(StateDirError, match=message):
        choose_checkpoint(str(tmp_path / "state"), _fail)


def test_a_damaged_newest_checkpoint_is_passed_over_with_a_warning_and_left_in_place(
    tmp_path: Path,
) -> None:
    from fssdk.flink._export import choose_checkpoint

    damaged_run(tmp_path, "bit flip")
    state = tmp_path / "s.state"
    before = sorted(path.relative_to(state) for path in state.rglob("*"))
    warnings: list[str] = []
    assert choose_checkpoint(str(state), warnings.append).id == 2
    assert len(warnings) == 1
    assert "checkpoint 3: Corruption: block checksum mismatch" in warnings[0]
    assert sorted(path.relative_to(state) for path in state.rglob("*")) == before


# -- the bootstrap function --------------------------------------------------------------------


class _TimerContext(FakeContext):
    def __init__(self, flink: FakeFlink, key: bytes, domain: Any) -> None:
        super().__init__(flink, key)
        self._domain = domain

    def time_domain(self) -> Any:
        return self._domain


@needs_flink
def test_a_due_processing_time_timer_that_fires_in_the_bootstrap_is_kept_for_the_resumed_job() -> (
    None
):
    from pyflink.datastream import TimeDomain as FlinkTimeDomain

    from fssdk.flink._bootstrap import REARM_MS, BootstrapFunction

    flink = FakeFlink()
    flink.key, flink.now = b"alice", 50_000
    function = BootstrapFunction()
    processing = _TimerContext(flink, b"alice", FlinkTimeDomain.PROCESSING_TIME)
    assert list(function.on_timer(10, processing)) == []
    assert flink.timers == {("processing", b"alice", 50_000 + REARM_MS)}
    with pytest.raises(RuntimeError, match="event-time timer 10 fired"):
        function.on_timer(10, _TimerContext(flink, b"alice", FlinkTimeDomain.EVENT_TIME))


# -- the export and the resumed job on Flink ---------------------------------------------------


@needs_flink
def test_a_state_dir_exported_and_resumed_on_flink_at_parallelism_2_equals_one_local_run(
    tmp_path: Path,
) -> None:
    whole = _first_half_and_uninterrupted(tmp_path, seed=5)[1]
    done = run_fssdk(
        "state", "export-flink", "state", "--savepoint", "savepoints", "--parallelism", 2,
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "exported checkpoint" in done.stdout
    assert list((tmp_path / "savepoints").glob("savepoint-*/_metadata"))
    done = run_fssdk(
        "run", "profiles.py", "-q", "--engine", "flink", "--key-field", "user",
        "--parallelism", 2, "--input", "second.jsonl", "--output", "second.out",
        "--from-savepoint", "savepoints", "--watermark-field", "ts",
        "--watermark-delay", DELAY, "--final-watermark", "--set", "remind=1", "--set", "fire=1",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    second = _lines(tmp_path / "second.out")
    reminders = [line for line in second if '"reminder"' in line]
    _assert_halves_make_the_whole(
        _lines(tmp_path / "first.out"), [line for line in second if line not in reminders], whole
    )
    # The reminders registered in the first half were due at the export: the bootstrap job
    # kept them, and the resumed job fired each once (the newcomer's is the second half's).
    assert sorted(json.loads(line)["user"] for line in reminders) == sorted(_by_user(whole))
