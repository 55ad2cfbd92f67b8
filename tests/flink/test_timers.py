"""fssdk_advanced's TimerService on Flink's timer service (fssdk.flink.FlinkTimers).

The unit tests drive DriverFunction with fake Flink state and timers (no cluster); one job runs
examples/sessions, a KeyedProcessDriver, on a local mini-cluster at parallelism 2 against
``fssdk run --memory``.
"""

from __future__ import annotations

import heapq
import importlib.util
import json
import os
import random
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fssdk import (
    ComplexKey,
    Context,
    CorruptStateError,
    EngineTimers,
    StateConflictError,
    WrongKeyError,
)
from fssdk.flink import CurrentCall, FlinkStore, FlinkTimers
from fssdk.reserved import EVENT_TIMERS_KEY_GROUP, MAX_TIME, MIN_TIME
from fssdk.runtime import LocalContext, MemoryBackend
from fssdk.runtime._loader import load_operator
from fssdk_advanced import (
    IntCodec,
    KeyedProcessDriver,
    KeyedValueStateFactory,
    ProcessTimer,
    StringCodec,
)
from fssdk_advanced.time import Timer, TimerService
from tests.support import flink_missing

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = ROOT / "examples" / "sessions" / "sessions.py"
MIN, MAX = MIN_TIME, MAX_TIME
EVENT = EVENT_TIMERS_KEY_GROUP


needs_pyflink = pytest.mark.skipif(
    importlib.util.find_spec("pyflink") is None, reason="PyFlink is not installed"
)


# -- fakes -------------------------------------------------------------------------------------


class FakeMapState:
    """A MapState partitioned by the current key, as Flink's keyed state is."""

    def __init__(self, call: CurrentCall) -> None:
        self._call = call
        self.partitions: dict[bytes, dict[bytes, bytes]] = defaultdict(dict)

    def _map(self) -> dict[bytes, bytes]:
        assert self._call.value is not None, "keyed state outside a call"
        return self.partitions[self._call.value]

    def get(self, key: bytes) -> bytes | None:
        return self._map().get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self._map()[key] = value

    def remove(self, key: bytes) -> None:
        self._map().pop(key, None)

    def keys(self) -> list[bytes]:
        return list(self._map())

    def items(self) -> list[tuple[bytes, bytes]]:
        return list(self._map().items())


class FakeFlink:
    """Flink's per-key timers and watermark for one key at a time (a key is set per call)."""

    def __init__(self) -> None:
        self.watermark = MIN
        self.now = 0
        self.timers: set[tuple[str, bytes, int]] = set()
        self.key: bytes | None = None

    def _key(self) -> bytes:
        assert self.key is not None
        return self.key

    def register_event_time_timer(self, timestamp: int) -> None:
        self.timers.add(("event", self._key(), timestamp))

    def delete_event_time_timer(self, timestamp: int) -> None:
        self.timers.discard(("event", self._key(), timestamp))

    def register_processing_time_timer(self, timestamp: int) -> None:
        self.timers.add(("processing", self._key(), timestamp))

    def delete_processing_time_timer(self, timestamp: int) -> None:
        self.timers.discard(("processing", self._key(), timestamp))

    def current_watermark(self) -> int:
        return self.watermark

    def current_processing_time(self) -> int:
        return self.now


class FakeContext:
    """The KeyedProcessFunction context of one call."""

    def __init__(self, flink: FakeFlink, key: bytes) -> None:
        self._flink = flink
        self._key = key

    def get_current_key(self) -> bytes:
        return self._key

    def timer_service(self) -> FakeFlink:
        return self._flink


class FakeRuntimeContext:
    def __init__(self, call: CurrentCall) -> None:
        self._call = call
        self.states: dict[str, FakeMapState] = {}

    def get_map_state(self, descriptor: Any) -> FakeMapState:
        name = descriptor.get_name()
        if name not in self.states:
            self.states[name] = FakeMapState(self._call)
        return self.states[name]


class FakeJob:
    """A DriverFunction run the way Flink runs it: records per key, timers fired in order."""

    def __init__(self, driver: Any, config: dict[str, str]) -> None:
        from fssdk.flink import DriverFunction  # needs PyFlink, unlike the other fakes

        self.function = DriverFunction(driver, config=config, process_watermarks=True, tagged=True)
        self.flink = FakeFlink()
        self.runtime = FakeRuntimeContext(self.function._current)
        self.function.open(self.runtime)
        self.out: list[tuple[int, bytes]] = []

    def _collect(self, results: Iterator[Any]) -> None:
        from fssdk.flink._function import read_tagged_line  # needs PyFlink

        for line in results:
            self.out.append(read_tagged_line(line.encode()))

    def record(self, key: bytes, data: bytes) -> None:
        self.flink.key = key
        self._collect(self.function.process_element(data, FakeContext(self.flink, key)))

    def advance(self, watermark: int, domain: str = "event") -> None:
        """Fire every timer of ``domain`` at or below ``watermark`` (event time) or that
        processing time (``domain="processing"``), in timestamp order."""
        if domain == "event":
            self.flink.watermark = max(self.flink.watermark, watermark)
        else:
            self.flink.now = max(self.flink.now, watermark)
        while True:
            due = [t for t in self.flink.timers if t[0] == domain and t[2] <= watermark]
            if not due:
                return
            _, key, timestamp = heapq.nsmallest(1, due, key=lambda t: (t[2], t[1]))[0]
            self.flink.timers.discard((domain, key, timestamp))
            self.flink.key = key
            self._collect(self.function.on_timer(timestamp, FakeContext(self.flink, key)))


def _sessions_factory(folder: Path) -> Any:
    """A factory of the sessions driver, loaded from a copy with a name no other test imports."""
    copy = folder / "sessions_on_fake_flink.py"
    copy.write_bytes(SESSIONS.read_bytes())
    return lambda: load_operator(str(copy)).driver


def _clicks(count: int, users: int, seed: int) -> list[bytes]:
    """Clicks in time order (so none is late on either runtime), with pauses past the gap."""
    rng = random.Random(seed)
    ts, clicks = 0, []
    for _ in range(count):
        ts += rng.choice((0, 50, 400, 2_000, 9_000))
        user, page = f"u{rng.randrange(users)}", f"/p{rng.randrange(6)}"
        clicks.append(json.dumps({"ts": ts, "user": user, "page": page}).encode())
    return clicks


def _by_user(lines: list[bytes]) -> dict[str, list[bytes]]:
    grouped: dict[str, list[bytes]] = defaultdict(list)
    for line in lines:
        grouped[json.loads(line)["user"]].append(line)
    return dict(grouped)


# -- unit tests with fakes ---------------------------------------------------------------------


@needs_pyflink
def test_unchanged_sessions_give_the_same_per_user_sessions_as_the_local_timer_service(
    tmp_path: Path,
) -> None:
    clicks = _clicks(400, 9, seed=3)
    config = {"gap_ms": "5000"}
    sessions = _sessions_factory(tmp_path)
    local_driver = sessions()
    ctx = LocalContext(MemoryBackend(), config=config)
    local_driver.init(ctx, config)
    job = FakeJob(sessions, config)
    highest = MIN
    for data in clicks:
        click = json.loads(data)
        local_driver.process(ctx, 0, data)
        job.record(click["user"].encode(), data)
        highest = max(highest, click["ts"])
        local_driver.process_watermark(ctx, 0, highest - 1000)
        job.advance(highest - 1000)
    local_driver.process_watermark(ctx, 0, MAX)
    job.advance(MAX)

    assert {target for target, _ in ctx.emitted + job.out} == {0}
    expected = _by_user([data for _, data in ctx.emitted])
    assert _by_user([data for _, data in job.out]) == expected
    assert sum(map(len, expected.values())) > 30
    # Every session fired: no Flink timer and no timer entry is left.
    assert not job.flink.timers
    timer_state = job.runtime.states["timers"]
    assert not any(timer_state.partitions.values())


class Reminders(KeyedProcessDriver):
    """``user,ms,note``: a processing-time timer per user, replaced by each record; the
    payload is the note. ``user,cancel`` deletes it."""

    def key_of(self, record: bytes) -> bytes:
        return record.split(b",")[0]

    def process_element(self, ctx: Context, key: bytes, record: bytes) -> None:
        _, when, *note = record.split(b",")
        if when == b"cancel":
            self.timers.delete_timer(key, b"remind")
            return
        self.timers.register_processing_time_timer(key, int(when), name=b"remind", payload=note[0])

    def on_timer(self, ctx: Context, timer: ProcessTimer) -> None:
        ctx.emit(b"%s %d %s" % (timer.key, timer.timestamp, timer.payload))


@needs_pyflink
def test_a_process_driver_runs_on_flinks_timers_with_payloads_and_deletes() -> None:
    job = FakeJob(Reminders(), {})
    for record in (b"ann,50,tea", b"bob,40,call", b"ann,60,lunch", b"cid,10,x", b"cid,cancel"):
        job.record(record.split(b",")[0], record)
    pending = {timer for timer in job.flink.timers if timer[0] == "processing"}
    assert pending == {("processing", b"ann", 60), ("processing", b"bob", 40)}
    job.advance(55, domain="processing")
    assert job.out == [(0, b"bob 40 call")]
    job.advance(100, domain="processing")
    assert job.out[1:] == [(0, b"ann 60 lunch")]
    assert not any(job.runtime.states["timers"].partitions.values())
    with pytest.raises(WrongKeyError, match="key_of returned b'ann' for a record the engine"):
        job.record(b"bob", b"ann,1,x")


def _service(key: bytes = b"alice") -> tuple[TimerService, FakeFlink, CurrentCall]:
    flink = FakeFlink()
    flink.key = key
    call = CurrentCall(key, flink)
    store = FlinkStore("timers", FakeMapState(call), call)

    engine: EngineTimers = FlinkTimers(store, call)  # mypy checks the protocol here

    class Ctx(LocalContext):
        def engine_timers(self, name: str) -> EngineTimers:
            assert name == "timers"
            return engine

    return TimerService.from_context(Ctx(MemoryBackend()), "timers"), flink, call


def test_namespaces_of_a_timestamp_share_one_flink_timer() -> None:
    timers, flink, _ = _service()
    timers.register_event_time_timer(b"alice", b"b", 10)
    timers.register_event_time_timer(b"alice", b"a", 10)
    timers.register_event_time_timer(b"alice", b"a", 10)
    timers.register_processing_time_timer(b"alice", b"a", 10)
    assert flink.timers == {("event", b"alice", 10), ("processing", b"alice", 10)}
    timers.delete_event_time_timer(b"alice", b"b", 10)
    timers.delete_event_time_timer(b"alice", b"zz", 10)
    assert ("event", b"alice", 10) in flink.timers
    timers.delete_event_time_timer(b"alice", b"a", 10)
    timers.delete_event_time_timer(b"alice", b"a", 99)
    assert flink.timers == {("processing", b"alice", 10)}
    assert list(timers.advance_watermark(MAX)) == []
    assert list(timers.advance_processing_time(10)) == [Timer(10, b"alice", b"a")]
    assert flink.timers == set()


def test_advance_yields_the_due_timers_in_order_and_sees_changes_while_firing() -> None:
    timers, flink, _ = _service()
    for namespace, timestamp in ((b"n", 30), (b"m", 30), (b"x", 5), (b"late", 50)):
        timers.register_event_time_timer(b"alice", namespace, timestamp)
    fired = []
    for timer in timers.advance_watermark(30):
        fired.append(timer)
        if timer.timestamp == 5:
            timers.register_event_time_timer(b"alice", b"new", 7)
            timers.delete_event_time_timer(b"alice", b"n", 30)
    assert fired == [
        Timer(5, b"alice", b"x"),
        Timer(7, b"alice", b"new"),
        Timer(30, b"alice", b"m"),
    ]
    assert flink.timers == {("event", b"alice", 50)}
    assert list(timers.advance_watermark(49)) == []
    assert list(timers.advance_watermark(MAX)) == [Timer(50, b"alice", b"late")]


def test_clocks_are_flinks() -> None:
    timers, flink, call = _service()
    assert timers.current_watermark is None
    assert timers.event_time_clock(initial=-1)() == -1
    flink.watermark, flink.now = 42, 1234
    assert timers.current_watermark == 42
    assert timers.current_processing_time == 1234
    assert timers.event_time_clock()() == 42
    call.timer_service = None
    assert timers.current_watermark is None


def test_another_keys_timer_raises_wrong_key_error() -> None:
    timers, _, call = _service(b"alice")
    with pytest.raises(WrongKeyError, match="key b'bob' while processing key b'alice'"):
        timers.register_event_time_timer(b"bob", b"", 1)
    with pytest.raises(WrongKeyError, match="key b'bob' while processing key b'alice'"):
        timers.delete_processing_time_timer(b"bob", b"", 1)
    call.value = None
    with pytest.raises(WrongKeyError, match="outside process/process_watermark"):
        list(timers.advance_watermark(1))


def test_arguments_are_checked_as_locally() -> None:
    timers, _, _ = _service()
    with pytest.raises(TypeError, match="key must be bytes"):
        timers.register_event_time_timer("alice", b"", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="watermark must be an int"):
        timers.advance_watermark(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="signed 64-bit"):
        timers.register_processing_time_timer(b"alice", b"", 2**63)


def test_a_corrupt_timer_entry_raises_naming_the_store() -> None:
    timers, _, _ = _service()
    timers.store.put(ComplexKey(EVENT, b"alice", b"", bytes(8)), b"\x00\x00\x00\x09ab")
    with pytest.raises(CorruptStateError, match=r"'timers'.*timer entry does not decode"):
        list(timers.advance_watermark(MAX))


# -- one real job ------------------------------------------------------------------------------


def _jittered(clicks: list[bytes], seed: int) -> list[bytes]:
    """The clicks with some timestamps moved back: some within a 1 000 ms watermark delay,
    some beyond it and beyond a session gap (late on any runtime with the same watermarks)."""
    rng = random.Random(seed)
    out = []
    for data in clicks:
        click = json.loads(data)
        click["ts"] = max(0, click["ts"] - rng.choice((0, 0, 0, 300, 900, 2_500, 8_000)))
        out.append(json.dumps(click).encode())
    return out


def _local_and_flink(folder: Path, operator: Path, options: list[str]) -> None:
    """Run ``operator`` with ``options`` under fssdk run (memory) and on Flink (parallelism 2)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    common = [sys.executable, "-m", "fssdk", "run", str(operator), "-q", *options]
    for extra in (
        ["--output", "local.jsonl", "--memory"],
        ["--output", "flink.jsonl", "--engine", "flink", "--key-field", "user",
         "--parallelism", "2"],
    ):  # fmt: skip
        done = subprocess.run(
            [*common, *extra],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]


def _outputs(folder: Path, name: str) -> dict[str, list[bytes]]:
    path = folder / name
    return _by_user(path.read_bytes().splitlines()) if path.exists() else {}


@pytest.mark.skipif(flink_missing() is not None, reason=flink_missing() or "")
def test_sessions_on_flink_at_parallelism_2_match_fssdk_run(tmp_path: Path) -> None:
    """examples/sessions, unchanged, with out-of-order and late clicks and the final watermark:
    every user's sessions and late clicks are those of fssdk run."""
    clicks = _jittered(_clicks(300, 12, seed=8), seed=9)
    (tmp_path / "clicks.jsonl").write_bytes(b"\n".join(clicks) + b"\n")
    options = ["--input", "clicks.jsonl", "--set", "gap_ms=5000", "--watermark-field", "ts",
               "--watermark-delay", "1000", "--final-watermark"]  # fmt: skip
    _local_and_flink(tmp_path, SESSIONS, options)
    expected = _outputs(tmp_path, "local.jsonl")
    assert len(expected) == 12
    assert _outputs(tmp_path, "flink.jsonl") == expected
    late = _outputs(tmp_path, "local.jsonl.1")
    assert late, "the input should hold late clicks"
    assert _outputs(tmp_path, "flink.jsonl.1") == late


IDLE_OPERATOR = """
import json
import fssdk
from fssdk_advanced import KeyedValueStateFactory
from fssdk_advanced.time import TimerService

IDLE_MS = 3_000


class IdleUsers(fssdk.BaseDriver):
    \"\"\"Emits {"user", "idle_after"} when a user sends nothing for IDLE_MS of event time.\"\"\"

    def init(self, ctx, config):
        self.timers = TimerService.from_context(ctx, "timers")
        self.last = KeyedValueStateFactory.from_context_auto_codec(ctx, "last", b"ts", int)

    def process(self, ctx, source_id, data):
        click = json.loads(data)
        user, ts = click["user"].encode(), click["ts"]
        last = self.last.new_keyed_value(user, b"")
        before = last.value()[0]
        if before is not None:
            self.timers.delete_event_time_timer(user, b"idle", before + IDLE_MS)
        last.update(ts)
        self.timers.register_event_time_timer(user, b"idle", ts + IDLE_MS)

    def process_watermark(self, ctx, source_id, watermark):
        for timer in self.timers.advance_watermark(watermark):
            since = self.last.new_keyed_value(timer.key, b"").value()[0]
            ctx.emit(json.dumps({"user": timer.key.decode(), "idle_after": since}).encode())


fssdk.run(IdleUsers())
"""


@pytest.mark.skipif(flink_missing() is not None, reason=flink_missing() or "")
def test_an_idle_timer_operator_on_flink_matches_fssdk_run_without_a_final_watermark(
    tmp_path: Path,
) -> None:
    """Timers due by the last watermark fire as locally; later ones do not fire at the end."""
    operator = tmp_path / "idle_users.py"
    operator.write_text(IDLE_OPERATOR, encoding="utf-8")
    clicks = _jittered(_clicks(400, 15, seed=4), seed=5)
    (tmp_path / "clicks.jsonl").write_bytes(b"\n".join(clicks) + b"\n")
    options = ["--input", "clicks.jsonl", "--watermark-field", "ts", "--watermark-delay", "500"]
    _local_and_flink(tmp_path, operator, options)
    expected = _outputs(tmp_path, "local.jsonl")
    assert sum(map(len, expected.values())) > 40
    assert _outputs(tmp_path, "flink.jsonl") == expected


def test_state_declared_in_init_is_described_outside_any_key() -> None:
    """fssdk_advanced records descriptors in init, where Flink has no current key."""
    call = CurrentCall()
    store = FlinkStore("s", FakeMapState(call), call)

    class Ctx(LocalContext):
        def get_or_create_store(self, name: str) -> FlinkStore:
            return store

    ctx = Ctx(MemoryBackend())
    KeyedValueStateFactory.from_context(ctx, "s", b"sizes", IntCodec())
    KeyedValueStateFactory.from_context(ctx, "s", b"sizes", IntCodec())
    with pytest.raises(StateConflictError, match="b'sizes'"):
        KeyedValueStateFactory.from_context(ctx, "s", b"sizes", StringCodec())
    with pytest.raises(WrongKeyError, match="outside process"):
        store.put(ComplexKey(b"sizes", b"alice", b"", b""), b"1")
