"""KeyedProcessDriver: process_element and on_timer, named timers with payloads that fire by
themselves as watermarks and processing time advance (driven here by the OperatorHarness)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from fssdk import Context, CorruptStateError, NotInitializedError, Store, TimeDomain, WrongKeyError
from fssdk.reserved import NAMED_TIMERS_KEY_GROUP
from fssdk.runtime import LocalContext, MemoryBackend
from fssdk.testing import OperatorHarness
from fssdk_advanced import KeyedProcessDriver, MsgpackCodec, ProcessTimer
from fssdk_advanced.time import PendingTimer
from tests.support import CountingStore

BACKENDS = ["memory", "rocksdb"]


class Commands(KeyedProcessDriver):
    """Records are ``key command [argument...]``; every fired timer is emitted as text.

    ``event T NAME [PAYLOAD]`` and ``proc T NAME [PAYLOAD]`` set a timer, ``delete NAME`` deletes
    one (emitting whether one was pending), ``pending NAME`` emits the pending timer.
    ``rearm`` timers register themselves again, 10 later, once.
    """

    def key_of(self, record: bytes) -> bytes:
        return record.split()[0]

    def process_element(self, ctx: Context, key: bytes, record: bytes) -> None:
        _, command, *args = record.decode().split()
        if command in ("event", "proc"):
            timestamp, name = int(args[0]), args[1].encode()
            payload = args[2].encode() if len(args) > 2 else None
            register = (
                self.timers.register_event_time_timer
                if command == "event"
                else self.timers.register_processing_time_timer
            )
            register(key, timestamp, name=name, payload=payload)
        elif command == "delete":
            ctx.emit(b"deleted %s" % str(self.timers.delete_timer(key, args[0].encode())).encode())
        elif command == "pending":
            ctx.emit(repr(self.timers.pending_timer(key, args[0].encode())).encode())

    def on_timer(self, ctx: Context, timer: ProcessTimer) -> None:
        ctx.emit(
            b"%s %s %d %s %r"
            % (timer.key, timer.name, timer.timestamp, timer.domain.value.encode(), timer.payload)
        )
        if timer.name == b"rearm" and timer.payload is None:
            self.timers.register_event_time_timer(
                timer.key, timer.timestamp + 10, name=b"rearm", payload=b"again"
            )


@pytest.mark.parametrize("backend", BACKENDS)
def test_event_time_timers_fire_by_themselves_in_order_with_their_payload(backend: str) -> None:
    with OperatorHarness(Commands, backend=backend) as harness:
        harness.process_all(
            ["b event 20 x", "a event 20 y p", "a event 5 z", "a event 99 late", "b event 3 w"]
        )
        harness.watermark(20)
        assert harness.emitted() == [
            b"b w 3 event-time None",
            b"a z 5 event-time None",
            b"a y 20 event-time b'p'",
            b"b x 20 event-time None",
        ]
        assert harness.emitted_watermarks() == [20]
        harness.watermark(98)
        assert len(harness.emitted()) == 4


def test_a_name_has_one_pending_timer_which_a_new_registration_replaces() -> None:
    with OperatorHarness(Commands) as harness:
        harness.process_all(["a event 10 t one", "a event 30 t two", "a proc 40 u", "a event 5 u"])
        harness.process("a pending t")
        harness.watermark(100)
        harness.advance_processing_time(1_000)
        assert harness.emitted() == [
            repr(PendingTimer(30, TimeDomain.EVENT, b"two")).encode(),
            b"a u 5 event-time None",  # the processing-time u was replaced by this one
            b"a t 30 event-time b'two'",
        ]


def test_delete_by_name_needs_no_timestamp() -> None:
    with OperatorHarness(Commands) as harness:
        harness.process_all(["a event 10 t", "a proc 10 u", "a delete t", "a delete t"])
        harness.process_all(["a delete u", "b delete t", "a pending t"])
        harness.watermark(100)
        harness.advance_processing_time(100)
        assert harness.emitted() == [
            b"deleted True",
            b"deleted False",
            b"deleted True",
            b"deleted False",
            b"None",
        ]


def test_processing_time_timers_fire_when_the_clock_passes_them() -> None:
    with OperatorHarness(Commands, processing_time=100) as harness:
        harness.process_all(["a proc 150 t", "b proc 120 u"])
        harness.advance_processing_time(119)
        assert harness.emitted() == []
        harness.advance_processing_time(130)  # the heartbeat fires what came due
        assert harness.emitted() == [b"b u 120 processing-time None"]
        harness.watermark(0)  # so does a watermark
        harness.advance_processing_time(150)
        assert harness.emitted()[1:] == [b"a t 150 processing-time None"]


def test_a_record_fires_the_due_processing_time_timers_first() -> None:
    now = [100]
    ctx = LocalContext(MemoryBackend(), clock=lambda: now[0])
    driver = Commands()
    driver.init(ctx, ctx.config)
    driver.process(ctx, 0, b"a proc 150 t")
    now[0] = 150  # a wall clock moves between calls
    driver.process(ctx, 0, b"c pending x")
    assert ctx.emitted == [(0, b"a t 150 processing-time None"), (0, b"None")]
    assert driver.timers.current_processing_time == 150


def test_on_timer_may_register_its_name_again() -> None:
    with OperatorHarness(Commands) as harness:
        harness.process("a event 10 rearm")
        harness.watermark(15)
        harness.watermark(25)
        assert harness.emitted() == [
            b"a rearm 10 event-time None",
            b"a rearm 20 event-time b'again'",
        ]


class Typed(Commands):
    timer_payload = MsgpackCodec()

    def process_element(self, ctx: Context, key: bytes, record: bytes) -> None:
        self.timers.register_event_time_timer(key, 1, name=b"t", payload={"seen": [1, 2]})


def test_a_payload_codec_gives_typed_payloads() -> None:
    with OperatorHarness(Typed) as harness:
        harness.process("a")
        harness.watermark(1)
        assert harness.emitted() == [b"a t 1 event-time {'seen': [1, 2]}"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_timers_survive_a_crash_and_fire_once(backend: str) -> None:
    with OperatorHarness(Commands, backend=backend) as harness:
        harness.process_all(["a event 10 t one", "b proc 50 u two"])
        harness.checkpoint()
        harness.process("a event 11 t other")  # lost in the crash
        harness.watermark(10)
        harness.crash()
        assert harness.emitted() == []
        harness.watermark(10)
        harness.advance_processing_time(50)
        harness.watermark(20)
        harness.advance_processing_time(60)
        assert harness.emitted() == [
            b"a t 10 event-time b'one'",
            b"b u 50 processing-time b'two'",
        ]


def test_a_record_that_fires_nothing_reads_and_writes_no_timer_state() -> None:
    counting: dict[str, CountingStore] = {}

    class Counted(LocalContext):
        def get_or_create_store(self, name: str) -> Store:
            if name not in counting:
                counting[name] = CountingStore(super().get_or_create_store(name))
            return counting[name]

    ctx = Counted(MemoryBackend(), clock=lambda: 10)
    driver = Commands()
    driver.init(ctx, ctx.config)
    driver.process(ctx, 0, b"a proc 500 t")
    driver.process(ctx, 0, b"a pending t")
    timers = counting["timers"]
    timers.reset()
    for _ in range(100):
        driver.process(ctx, 0, b"a nothing")
    driver.check_heartbeat(ctx)
    assert (timers.reads, timers.scans, timers.writes) == (0, 0, 0)
    assert driver.timers.current_processing_time is None  # nothing was due: no clock written


class NoSuperInit(Commands):
    def init(self, ctx: Context, config: Mapping[str, str]) -> None:
        self.ready = True


class NoOnTimer(KeyedProcessDriver):
    def key_of(self, record: bytes) -> bytes:
        return record

    def process_element(self, ctx: Context, key: bytes, record: bytes) -> None:
        self.timers.register_event_time_timer(key, 1)


class StrKeys(NoOnTimer):
    def key_of(self, record: bytes) -> Any:
        return record.decode()


def test_mistakes_are_named() -> None:
    with (
        OperatorHarness(NoSuperInit) as harness,
        pytest.raises(NotInitializedError, match=r"must call super\(\).init\(ctx, config\)"),
    ):
        harness.process("a event 1 t")
    with OperatorHarness(NoOnTimer) as harness:
        harness.process("a")
        with pytest.raises(NotImplementedError, match="does not override on_timer"):
            harness.watermark(1)
    with (
        OperatorHarness(StrKeys) as harness,
        pytest.raises(TypeError, match=r"StrKeys.key_of must return bytes, not str"),
    ):
        harness.process("a")
    with OperatorHarness(Commands) as harness:
        with pytest.raises(TypeError, match="name must be bytes"):
            harness.driver.timers.register_event_time_timer(b"a", 1, name="t")  # type: ignore[attr-defined]
        with pytest.raises(ValueError, match="signed 64-bit"):
            harness.driver.timers.register_processing_time_timer(b"a", 2**63)  # type: ignore[attr-defined]


def test_a_key_that_disagrees_with_the_engines_key_raises() -> None:
    class Keyed(LocalContext):
        @property
        def current_key(self) -> bytes | None:
            return b"alice"

    ctx = Keyed(MemoryBackend())
    driver = Commands()
    driver.init(ctx, ctx.config)
    driver.process(ctx, 0, b"alice pending t")
    with pytest.raises(WrongKeyError, match=r"returned b'bob' for a record the engine keyed by"):
        driver.process(ctx, 0, b"bob pending t")


def test_a_corrupt_named_timer_is_reported_with_its_place() -> None:
    with OperatorHarness(Commands) as harness:
        harness.process("a event 5 t")
        store = harness.ctx.get_or_create_store("timers")
        store.scope(NAMED_TIMERS_KEY_GROUP, b"a", b"").put(b"t", b"x")
        with pytest.raises(CorruptStateError, match=r"store 'timers' .* user_key b't'"):
            harness.process("a pending t")
