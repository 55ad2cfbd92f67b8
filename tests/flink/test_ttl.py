"""State TTL on Flink: the six state types, both time domains, the expiry index per key.

The unit tests run the operator below through DriverFunction over fake Flink state and timers
(tests/flink/test_timers.py's FakeJob) and compare with a local run; the job tests run it on a
real mini-cluster against ``fssdk run``.
"""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from fssdk import ComplexKey, WrongKeyError
from fssdk.flink import CurrentKey, FlinkStore
from fssdk.reserved import TTL_INDEX_KEY_GROUP
from fssdk.runtime import LocalContext, MemoryBackend
from fssdk.runtime._loader import load_operator
from fssdk_advanced.state import KeyedListStateFactory, KeyedValueStateFactory
from fssdk_advanced.time import StateTtl
from tests.flink.test_store import FakeKeyedMapState
from tests.flink.test_timers import FakeJob

needs_pyflink = pytest.mark.skipif(
    importlib.util.find_spec("pyflink") is None, reason="PyFlink is not installed"
)

TTL_OPERATOR = '''
"""Six TTL'd states per user in one store; each record reports what is live, then writes.

config ``domain``: "event" (the watermark is the clock), "processing" (the wall clock) or
"record" (the record's "now" field, a clock the tests control); ``ttl``: the lifetime.
"""

import json

import fssdk
from fssdk_advanced.state import (
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedReducingStateFactory,
    KeyedValueStateFactory,
)
from fssdk_advanced.time import StateTtl, TimerService


class Sum:
    def create_accumulator(self):
        return 0

    def add(self, value, acc):
        return acc + value

    def get_result(self, acc):
        return acc

    def merge(self, a, b):
        return a + b


def add(a, b):
    return a + b


class TtlAll(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.now = 0
        self.timers = TimerService.from_context(ctx, "timers")
        lifetime = int(config["ttl"])
        domain = config["domain"]
        if domain == "event":
            ttl = StateTtl(lifetime, clock=self.timers.event_time_clock())
        elif domain == "record":
            ttl = StateTtl(lifetime, clock=lambda: self.now)
        else:
            ttl = StateTtl(lifetime)
        self.value = KeyedValueStateFactory.from_context_auto_codec(
            ctx, "s", b"value", int, ttl=ttl)
        self.list = KeyedListStateFactory.from_context_auto_codec(ctx, "s", b"list", int, ttl=ttl)
        self.map = KeyedMapStateFactory.from_context_auto_codec(
            ctx, "s", b"map", int, int, ttl=ttl)
        self.queue = KeyedPriorityQueueStateFactory.from_context_auto_codec(
            ctx, "s", b"queue", int, ttl=ttl)
        self.reducing = KeyedReducingStateFactory.from_context_auto_codec(
            ctx, "s", b"reducing", add, int, ttl=ttl)
        self.aggregating = KeyedAggregatingStateFactory.from_context_auto_codec(
            ctx, "s", b"aggregating", Sum(), int, ttl=ttl)

    def process(self, ctx, source_id, data):
        event = json.loads(data)
        user, n = event["user"], event["n"]
        self.now = event.get("now", 0)
        key = user.encode()
        value = self.value.new_keyed_value(key, b"")
        items = self.list.new_keyed_list(key)
        entries = self.map.new_keyed_map(key)
        queue = self.queue.new_keyed_priority_queue(key)
        reducing = self.reducing.new_reducing_state(key)
        aggregating = self.aggregating.new_aggregating_state(key)
        report = {
            "user": user,
            "n": n,
            "value": value.value()[0],
            "list": items.get(),
            "map": sorted(entries.all()),
            "queue": list(queue.all()),
            "reducing": reducing.get()[0],
            "aggregating": aggregating.get()[0],
        }
        value.update(n)
        items.add(n)
        entries.put(n % 5, n)
        queue.add(n % 7)
        if n % 4 == 0:
            queue.poll()
        reducing.add(n)
        aggregating.add(n)
        ctx.emit(json.dumps(report).encode())

    def process_watermark(self, ctx, source_id, watermark):
        for _ in self.timers.advance_watermark(watermark):
            pass


fssdk.run(TtlAll())
'''


def _operator(folder: Path, name: str) -> Any:
    """A factory of the TtlAll driver, from module ``name`` (no other test imports it)."""
    path = folder / f"{name}.py"
    path.write_text(TTL_OPERATOR, encoding="utf-8")
    return lambda: load_operator(str(path)).driver


def _events(count: int, users: int) -> list[dict[str, int | str]]:
    """Events in time order (``now`` = ``ts``): 10 time units apart, with a pause of 200
    after every 20."""
    events: list[dict[str, int | str]] = []
    for n in range(count):
        at = n * 10 + n // 20 * 200
        events.append({"user": f"u{n * 7 % users}", "n": n, "now": at, "ts": at})
    return events


def _by_user(lines: list[bytes]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for line in lines:
        report = json.loads(line)
        grouped[report["user"]].append(report)
    return dict(grouped)


@needs_pyflink
@pytest.mark.parametrize("domain", ["event", "record", "processing"])
def test_six_ttl_states_on_flink_state_match_a_local_run(tmp_path: Path, domain: str) -> None:
    # A lifetime of about three events of one user (5 users, 10 time units per event): values
    # live from one event of a user to the next, and expire over the pauses. The wall clock
    # never expires them.
    config = {"domain": domain, "ttl": "60_000" if domain == "processing" else "140"}
    factory = _operator(tmp_path, f"ttl_all_on_fake_flink_{domain}")
    local = factory()
    ctx = LocalContext(MemoryBackend(), config=config)
    local.init(ctx, config)
    job = FakeJob(factory, config)
    for event in _events(120, 5):
        data = json.dumps(event).encode()
        local.process(ctx, 0, data)
        job.record(str(event["user"]).encode(), data)
        # The local rule: after every record, the largest time minus the delay (0 here).
        local.process_watermark(ctx, 0, int(event["ts"]))
        job.advance(int(event["ts"]))

    expected = _by_user([data for _, data in ctx.emitted])
    assert _by_user([data for _, data in job.out]) == expected
    reports = [report for user in expected.values() for report in user]
    if domain == "processing":
        assert all(report["value"] is not None for report in reports if report["n"] >= 5)
    else:
        # Some state expired between a user's events, some lived on.
        assert any(report["value"] is None for report in reports if report["n"] >= 5)
        assert any(len(report["list"]) > 1 for report in reports)


def _two_keys() -> tuple[CurrentKey, FakeKeyedMapState, FlinkStore]:
    current = CurrentKey()
    state = FakeKeyedMapState(current)
    return current, state, FlinkStore("s", state, current)


class _Ctx(LocalContext):
    """A context whose store ``s`` is a given FlinkStore."""

    def __init__(self, store: FlinkStore) -> None:
        super().__init__(MemoryBackend())
        self._flink_store = store

    def get_or_create_store(self, name: str) -> FlinkStore:
        assert name == "s"
        return self._flink_store


def test_the_expiry_index_lives_in_the_current_keys_partition() -> None:
    current, state, store = _two_keys()
    now = [0]
    ttl = StateTtl(10, clock=lambda: now[0])
    factory = KeyedValueStateFactory.from_context_auto_codec(_Ctx(store), "s", b"v", int, ttl=ttl)
    for key in (b"a", b"b"):
        current.value = key
        factory.new_keyed_value(key, b"").update(1)
    # Each partition holds its value and the index entry of that value, nothing of the other.
    assert set(state.partitions) == {b"a", b"b"}
    for key, entries in state.partitions.items():
        assert len(entries) == 2, key
        current.value = key
        index = list(store.scan_complex(TTL_INDEX_KEY_GROUP, b"v", b""))
        assert len(index) == 1
        assert key in index[0][0]


def test_cleanup_in_one_keys_partition_does_not_skip_another_keys_due_entries() -> None:
    current, state, store = _two_keys()
    now = [0]
    ttl = StateTtl(10, clock=lambda: now[0])
    factory = KeyedListStateFactory.from_context_auto_codec(_Ctx(store), "s", b"l", int, ttl=ttl)
    for key, at in ((b"b", 0), (b"a", 5)):
        now[0] = at
        current.value = key
        factory.new_keyed_list(key).add(1)
    now[0] = 100
    current.value = b"a"
    assert factory.cleanup(10) == 1
    assert state.partitions[b"a"] == {}
    # b's entry is due earlier than the last entry visited in a's partition: still found.
    current.value = b"b"
    assert factory.cleanup(10) == 1
    assert state.partitions[b"b"] == {}


def test_a_ttl_state_of_another_key_still_raises_naming_both_keys() -> None:
    current, _, store = _two_keys()
    factory = KeyedValueStateFactory.from_context_auto_codec(
        _Ctx(store), "s", b"count", int, ttl=StateTtl(60_000)
    )
    current.value = b"a"
    factory.new_keyed_value(b"a", b"").update(1)
    with pytest.raises(WrongKeyError, match=r"put of key b'b' while processing key b'a'"):
        factory.new_keyed_value(b"b", b"").update(1)
    # The index scope is reachable only while some key is processed.
    current.value = None
    with pytest.raises(WrongKeyError, match="outside process"):
        store.put(ComplexKey(TTL_INDEX_KEY_GROUP, b"count", b"", b"x"), b"")
