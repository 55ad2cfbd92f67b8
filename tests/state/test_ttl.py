"""State TTL wired into every state type: expiry, visibility, update types, cleanup, identity."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)

from fssdk import ComplexKey, CorruptStateError, StateConflictError, Store
from fssdk.reserved import IDENTITY_KEY_GROUP, TTL_INDEX_KEY_GROUP
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk.stores import RocksDBStore
from fssdk_advanced.codecs import IntCodec, StringCodec
from fssdk_advanced.state import (
    AggregatingState,
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedReducingStateFactory,
    KeyedValueStateFactory,
    ListState,
    MapState,
    PriorityQueueState,
    ReducingState,
    StateView,
    ValueState,
)
from fssdk_advanced.state import _ttl as ttl_module
from fssdk_advanced.state._priority_queue import TtlPriorityQueueState
from fssdk_advanced.state._ttl import TtlScopes
from fssdk_advanced.time import StateTtl, TimerService
from tests.support import in_run, machine_examples

#: The type of the ``backend_factory`` fixture (tests/conftest.py).
BackendFactory = Callable[[], Backend]

#: Entries or elements one bulk step of the machine writes at most.
MAX_BULK = 300


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class Sum:
    def create_accumulator(self) -> int:
        return 0

    def add(self, value: int, acc: int) -> int:
        return acc + value

    def get_result(self, acc: int) -> int:
        return acc

    def merge(self, a: int, b: int) -> int:
        return a + b


def test_value_expires_and_is_removed_on_read(ctx: LocalContext) -> None:
    clock = Clock()
    state = ValueState.from_context(ctx, "v", IntCodec(), ttl=StateTtl(10, clock=clock))
    state.update(7)
    clock.now = 9
    assert state.value() == (7, True)
    clock.now = 10
    assert state.value() == (None, False)
    assert state._scope.get(b"") is None


def test_return_expired_if_not_cleaned_up_returns_it_once(ctx: LocalContext) -> None:
    clock = Clock()
    ttl = StateTtl(10, visibility="return_expired_if_not_cleaned_up", clock=clock)
    state = ValueState.from_context(ctx, "v", IntCodec(), ttl=ttl)
    state.update(7)
    clock.now = 50
    assert state.value() == (7, True)
    assert state.value() == (None, False)


def test_on_read_and_write_extends_the_lifetime(ctx: LocalContext) -> None:
    clock = Clock()
    read = ValueState.from_context(
        ctx, "r", IntCodec(), ttl=StateTtl(10, update_type="on_read_and_write", clock=clock)
    )
    write = ValueState.from_context(ctx, "w", IntCodec(), ttl=StateTtl(10, clock=clock))
    read.update(1)
    write.update(1)
    clock.now = 8
    assert read.value() == (1, True)
    assert write.value() == (1, True)
    clock.now = 15
    assert read.value() == (1, True)
    assert write.value() == (None, False)


def test_reducing_and_aggregating_restart_from_scratch_after_expiry(ctx: LocalContext) -> None:
    clock = Clock()
    ttl = StateTtl(10, clock=clock)
    reducing = ReducingState.from_context(ctx, "r", IntCodec(), lambda a, b: a + b, ttl=ttl)
    aggregating = AggregatingState.from_context(ctx, "a", IntCodec(), Sum(), ttl=ttl)
    for state in (reducing, aggregating):
        state.add(3)
        state.add(4)
    assert reducing.get() == (7, True)
    assert aggregating.get() == (7, True)
    clock.now = 20
    reducing.add(1)
    aggregating.add(1)
    assert reducing.get() == (1, True)
    assert aggregating.get() == (1, True)


@pytest.mark.parametrize("visibility", ["never_return_expired", "return_expired_if_not_cleaned_up"])
@pytest.mark.parametrize("update_type", ["on_create_and_write", "on_read_and_write"])
def test_a_fold_stamps_what_it_writes_and_never_builds_on_an_expired_accumulator(
    ctx: LocalContext, visibility: str, update_type: str
) -> None:
    clock = Clock()
    ttl = StateTtl(10, update_type=update_type, visibility=visibility, clock=clock)
    reducing = KeyedReducingStateFactory.from_context(
        ctx, "s", b"r", IntCodec(), lambda a, b: a + b, ttl=ttl
    )
    aggregating = KeyedAggregatingStateFactory.from_context(
        ctx, "s", b"a", IntCodec(), Sum(), ttl=ttl
    )
    for state in (reducing.new_reducing_state(b"k"), aggregating.new_aggregating_state(b"k")):
        clock.now = 0
        state.add(3)  # expires at 10
        clock.now = 9
        state.add(4)  # folded into, and stamped again: expires at 19
        clock.now = 18
        state.add(5)  # expires at 28
        clock.now = 28
        state.add(1)  # expired: a new accumulator
        assert state.get() == (1, True)
        clock.now = 100
        assert state.get() == ((1, True) if ttl.returns_expired else (None, False))
    assert stored(reducing) == stored(aggregating) == 0


def test_a_fold_into_a_corrupt_accumulator_raises_and_leaves_it(ctx: LocalContext) -> None:
    clock = Clock()
    aggregating = KeyedAggregatingStateFactory.from_context(
        ctx, "s", b"a", IntCodec(), Sum(), ttl=StateTtl(10, clock=clock)
    )
    state = aggregating.new_aggregating_state(b"k")
    raw = ctx.get_or_create_store("s").scopes(b"a")
    for data, error in [
        (b"\x01", "TTL'd value does not decode: 1 bytes hold no 8-byte expiry stamp"),
        (IntCodec().encode(5) + b"\x01", "accumulator does not decode"),
    ]:
        raw.put(b"k", b"", b"", data)
        with pytest.raises(CorruptStateError, match=f"'s'.*{error}"):
            state.add(1)
        assert raw.get(b"k", b"", b"") == data


def test_a_fold_that_raises_leaves_the_accumulator_as_it_was(ctx: LocalContext) -> None:
    clock = Clock()

    def reduce(a: int, b: int) -> int:
        if b < 0:
            raise ValueError("no negative values")
        return a + b

    reducing = KeyedReducingStateFactory.from_context(
        ctx, "s", b"r", IntCodec(), reduce, ttl=StateTtl(10, clock=clock)
    )
    state = reducing.new_reducing_state(b"k")
    state.add(2)
    raw = ctx.get_or_create_store("s").scopes(b"r")
    data = raw.get(b"k", b"", b"")
    with pytest.raises(ValueError, match="no negative values"):
        state.add(-1)
    assert raw.get(b"k", b"", b"") == data
    assert state.get() == (2, True)


def test_a_compute_on_scopes_that_do_not_stamp_sees_the_bytes_stored(ctx: LocalContext) -> None:
    lists = KeyedListStateFactory.from_context(
        ctx, "s", b"l", IntCodec(), ttl=StateTtl(10, clock=Clock())
    )
    scopes = lists._scopes
    assert isinstance(scopes, TtlScopes)
    seen: list[bytes | None] = []

    def change(data: bytes | None, arg: bytes) -> bytes | None:
        seen.append(data)
        return None if data == arg else arg

    scopes.compute(b"k", b"", b"u", change, b"v")
    scopes.compute(b"k", b"", b"u", change, b"v")
    assert seen == [None, b"v"]
    assert scopes.get(b"k", b"", b"u") is None


def test_list_elements_expire_one_by_one(ctx: LocalContext) -> None:
    clock = Clock()
    state = ListState.from_context(ctx, "l", IntCodec(), ttl=StateTtl(10, clock=clock))
    state.add(1)
    clock.now = 5
    state.add_all([2, 3])
    assert state.get() == [1, 2, 3]
    clock.now = 10
    assert state.get() == [2, 3]
    clock.now = 15
    assert state.get() == []
    assert state._scope.get(b"") is None


def test_map_entries_expire_one_by_one(ctx: LocalContext) -> None:
    clock = Clock()
    state = MapState.from_context(
        ctx, "m", StringCodec(), IntCodec(), ttl=StateTtl(10, clock=clock)
    )
    state.put("a", 1)
    clock.now = 5
    state.put("b", 2)
    clock.now = 12
    assert list(state.items()) == [("b", 2)]
    assert list(state.keys()) == ["b"]
    assert not state.contains("a")
    assert state.contains("b")
    assert state.get("a") == (None, False)
    clock.now = 20
    assert state.is_empty()


def test_priority_queue_elements_expire(ctx: LocalContext) -> None:
    clock = Clock()
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec(), ttl=StateTtl(10, clock=clock))
    queue.add(5)
    clock.now = 5
    queue.add(9)
    queue.add(1)
    assert queue.peek() == (1, True)
    clock.now = 10
    assert list(queue.all()) == [1, 9]
    assert queue.poll() == (1, True)
    assert queue.poll() == (9, True)
    assert queue.poll() == (None, False)


def test_event_time_ttl_follows_the_watermark(ctx: LocalContext) -> None:
    timers = TimerService.from_context(ctx, "timers")
    ttl = StateTtl(1_000, clock=timers.event_time_clock(initial=0))
    assert ttl.ttl_schema()["time_domain"] == "event-time"
    state = MapState.from_context(ctx, "m", StringCodec(), IntCodec(), ttl=ttl)
    state.put("a", 1)
    list(timers.advance_watermark(999))
    assert state.get("a") == (1, True)
    list(timers.advance_watermark(1_000))
    assert state.get("a") == (None, False)


def test_cleanup_keeps_the_live_elements_of_a_list(ctx: LocalContext) -> None:
    clock = Clock()
    factory = KeyedListStateFactory.from_context(
        ctx, "s", b"g", StringCodec(), ttl=StateTtl(80, clock=clock)
    )
    names = factory.new_keyed_list(b"k")
    names.add("old" * 50)
    clock.now = 50
    names.add("new")
    clock.now = 100
    assert factory.cleanup(10) == 1
    raw = names._scope.get(b"")
    assert raw is not None
    assert b"old" not in raw
    assert names.get() == ["new"]


def values_with_ttl_10(ctx: LocalContext) -> tuple[Clock, KeyedValueStateFactory[int]]:
    """A keyed ValueState of ints in store "s", key group b"g", with a TTL of 10 on a clock."""
    clock = Clock()
    return clock, KeyedValueStateFactory.from_context(
        ctx, "s", b"g", IntCodec(), ttl=StateTtl(10, clock=clock)
    )


def index_size(ctx: LocalContext, store_name: str, key_group: bytes) -> int:
    """The index keys a checkpoint stores (a store that flushes writes the index's entries at
    its flush, :meth:`fssdk.Store.on_flush`)."""
    ctx.backend.flush()
    scope = ctx.get_or_create_store(store_name).scope(TTL_INDEX_KEY_GROUP, key_group, b"")
    with scope.scan() as scan:
        return sum(1 for _ in scan)


def stored(factory: Any) -> int:
    return sum(1 for _ in factory.keys(None))


@pytest.mark.parametrize("kind", ["value", "list", "map", "queue", "reducing", "aggregating"])
def test_cleanup_removes_state_that_is_never_read(ctx: LocalContext, kind: str) -> None:
    clock = Clock()
    ttl = StateTtl(100, clock=clock)
    write: Callable[[str], None]
    if kind == "value":
        values = KeyedValueStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), key_codec=StringCodec(), ttl=ttl
        )
        write = lambda key: values.new_keyed_value(key).update(1)  # noqa: E731
        factory: Any = values
    elif kind == "list":
        lists = KeyedListStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), key_codec=StringCodec(), ttl=ttl
        )
        write = lambda key: lists.new_keyed_list(key).add(1)  # noqa: E731
        factory = lists
    elif kind == "map":
        maps = KeyedMapStateFactory.from_context(
            ctx, "s", b"g", StringCodec(), IntCodec(), key_codec=StringCodec(), ttl=ttl
        )
        write = lambda key: maps.new_keyed_map(key).put("x", 1)  # noqa: E731
        factory = maps
    elif kind == "reducing":
        reducing = KeyedReducingStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), max, key_codec=StringCodec(), ttl=ttl
        )
        write = lambda key: reducing.new_reducing_state(key).add(1)  # noqa: E731
        factory = reducing
    elif kind == "aggregating":
        aggregating = KeyedAggregatingStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), Sum(), key_codec=StringCodec(), ttl=ttl
        )
        write = lambda key: aggregating.new_aggregating_state(key).add(1)  # noqa: E731
        factory = aggregating
    else:
        queues = KeyedPriorityQueueStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), key_codec=StringCodec(), ttl=ttl
        )
        write = lambda key: queues.new_keyed_priority_queue(key).add(1)  # noqa: E731
        factory = queues
    for n in range(10):
        write(f"old{n}")
    assert stored(factory) == 10
    clock.now = 1_000
    assert factory.cleanup(4) == 4
    assert stored(factory) == 6
    assert factory.cleanup(100) == 6
    assert stored(factory) == 0
    assert index_size(ctx, "s", b"g") == 0
    assert factory.cleanup(100) == 0


def test_writes_clean_up_by_themselves_and_the_store_levels_off(ctx: LocalContext) -> None:
    clock = Clock()
    factory = KeyedValueStateFactory.from_context(
        ctx, "s", b"g", IntCodec(), key_codec=IntCodec(), ttl=StateTtl(1_000, clock=clock)
    )
    sizes = []
    for step in range(20_000):
        clock.now = step
        factory.new_keyed_value(step).update(step)
        if step % 5_000 == 4_999:
            sizes.append(stored(factory))
    assert max(sizes) <= 1_200, sizes
    assert index_size(ctx, "s", b"g") <= 1_200


def test_without_ttl_the_plain_helpers_are_used(ctx: LocalContext) -> None:
    from fssdk_advanced.state._values import ScopedCodec

    state = ValueState.from_context(ctx, "v", IntCodec())
    assert type(state._values) is ScopedCodec
    assert not isinstance(state._scopes, TtlScopes)
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec())
    assert not isinstance(queue, TtlPriorityQueueState)


def test_ttl_argument_is_checked(ctx: LocalContext) -> None:
    with pytest.raises(TypeError, match="ttl"):
        ValueState.from_context(ctx, "v", IntCodec(), ttl=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="migrate"):
        ValueState.from_context(ctx, "w", IntCodec(), ttl=StateTtl(1), migrate=lambda v: v)


def test_cleanup_refuses_a_bad_count_and_visits_nothing_for_zero(ctx: LocalContext) -> None:
    clock, values = values_with_ttl_10(ctx)
    values.new_keyed_value(b"k").update(1)
    clock.now = 50
    for bad in (-1, 1.5, "3"):
        with pytest.raises(ValueError, match="max_entries"):
            values.cleanup(bad)  # type: ignore[arg-type]
    assert values.cleanup(0) == 0
    assert values.new_keyed_value(b"k")._scope.get(b"") is not None
    assert values.cleanup(5) == 1
    assert values.new_keyed_value(b"k")._scope.get(b"") is None


def test_a_second_cleanup_at_the_same_time_starts_past_what_the_first_visited(
    ctx: LocalContext,
) -> None:
    clock = Clock()
    maps = KeyedMapStateFactory.from_context(
        ctx, "s", b"g", IntCodec(), IntCodec(), ttl=StateTtl(10, clock=clock)
    )
    for key in range(3):
        maps.new_keyed_map(b"k").put(key, key)
    clock.now = 100
    assert maps.cleanup(10) == 3
    assert maps.cleanup(10) == 0
    assert list(maps.new_keyed_map(b"k").all()) == []


def test_a_corrupt_stamp_raises_corrupt_state_error_naming_the_store(ctx: LocalContext) -> None:
    values = KeyedValueStateFactory.from_context(
        ctx, "s", b"g", IntCodec(), ttl=StateTtl(10, clock=Clock())
    )
    state = values.new_keyed_value(b"k")
    state._scope.put(b"", b"\x01")  # shorter than a stamp
    with pytest.raises(CorruptStateError, match="'s'"):
        state.value()


def test_cleanup_of_a_corrupt_index_key_or_entry_raises_corrupt_state_error(
    ctx: LocalContext,
) -> None:
    clock, values = values_with_ttl_10(ctx)
    values.new_keyed_value(b"k").update(1)
    store = ctx.get_or_create_store("s")
    store.scope(b"g", b"k", b"").put(b"", b"\x01")  # under the state, past its index
    clock.now = 100
    with pytest.raises(CorruptStateError, match="TTL'd entry does not decode"):
        values.cleanup(5)
    index = store.scope(TTL_INDEX_KEY_GROUP, b"g", b"")
    index.put(b"\x00", b"")  # sorts first: not an index key
    with pytest.raises(CorruptStateError, match="TTL index key does not decode"):
        values.cleanup(5)


def test_changing_ttl_across_a_restart_is_refused(durable_backend_factory: BackendFactory) -> None:
    def write(ctx: LocalContext) -> None:
        ValueState.from_context(ctx, "v", IntCodec()).update(5)

    def with_ttl(ctx: LocalContext) -> object:
        return ValueState.from_context(ctx, "v", IntCodec(), ttl=StateTtl(60_000))

    in_run(durable_backend_factory, write)
    with pytest.raises(StateConflictError, match=r"no TTL.*TTL \{"):
        in_run(durable_backend_factory, with_ttl)

    def ttl_write(ctx: LocalContext) -> None:
        ValueState.from_context(ctx, "t", IntCodec(), ttl=StateTtl(60_000)).update(5)

    def other_ttl(ctx: LocalContext) -> object:
        return ValueState.from_context(ctx, "t", IntCodec(), ttl=StateTtl(30_000))

    def no_ttl(ctx: LocalContext) -> object:
        return ValueState.from_context(ctx, "t", IntCodec())

    def same_ttl(ctx: LocalContext) -> object:
        return ValueState.from_context(ctx, "t", IntCodec(), ttl=StateTtl(60_000)).value()

    in_run(durable_backend_factory, ttl_write)
    with pytest.raises(StateConflictError, match=r"60000.*30000"):
        in_run(durable_backend_factory, other_ttl)
    with pytest.raises(StateConflictError, match="TTL"):
        in_run(durable_backend_factory, no_ttl)
    assert in_run(durable_backend_factory, same_ttl) == (5, True)


TTLS = st.tuples(
    st.sampled_from(["on_create_and_write", "on_read_and_write"]),
    st.sampled_from(["never_return_expired", "return_expired_if_not_cleaned_up"]),
)


class TtlMachine(RuleBasedStateMachine):
    """Every state type with TTL against a model, under a clock the test moves.

    With ``return_expired_if_not_cleaned_up`` what a read returns depends on what was cleaned up,
    so the automatic cleanup step is switched off, index keys are due at the expiry itself (one
    slice per time unit: no rounding up, which would leave an expired entry to a later cleanup)
    and the ``cleanup`` rule removes every expired entry, as ``cleanup(max_entries)`` does when
    ``max_entries`` covers the whole index. With
    ``never_return_expired`` cleanup is invisible to reads and runs by itself (every write, with
    lowered thresholds). Bulk rules write up to ``MAX_BULK`` map entries, list elements or queue
    elements in one step.
    """

    LIFE = 10

    def make_backend(self) -> Backend:
        return MemoryBackend()

    @initialize(options=TTLS)
    def start(self, options: tuple[str, str]) -> None:
        self.saved = ttl_module.CLEANUP_EVERY, ttl_module.INDEX_SLICES
        self.clock = Clock()
        self.update_type, self.visibility = options
        self.on_read = self.update_type == "on_read_and_write"
        self.returns = self.visibility == "return_expired_if_not_cleaned_up"
        if self.returns:
            setattr(ttl_module, "CLEANUP_EVERY", 2**62)  # noqa: B010 - a Final constant
            setattr(ttl_module, "INDEX_SLICES", self.LIFE)  # noqa: B010 - due = expiry
        ttl = StateTtl(
            self.LIFE, update_type=self.update_type, visibility=self.visibility, clock=self.clock
        )
        self.ctx = LocalContext(self.make_backend())
        ctx = self.ctx
        self.factories: list[Any] = [
            KeyedValueStateFactory.from_context(ctx, "s", b"v", IntCodec(), ttl=ttl),
            KeyedListStateFactory.from_context(ctx, "s", b"l", IntCodec(), ttl=ttl),
            KeyedMapStateFactory.from_context(ctx, "s", b"m", IntCodec(), IntCodec(), ttl=ttl),
            KeyedPriorityQueueStateFactory.from_context(ctx, "s", b"q", IntCodec(), ttl=ttl),
            KeyedReducingStateFactory.from_context(
                ctx, "s", b"r", IntCodec(), lambda a, b: a + b, ttl=ttl
            ),
            KeyedAggregatingStateFactory.from_context(ctx, "s", b"a", IntCodec(), Sum(), ttl=ttl),
        ]
        value, lists, maps, queues, reducing, aggregating = self.factories
        self.value = value.new_keyed_value(b"k")
        self.list = lists.new_keyed_list(b"k")
        self.map = maps.new_keyed_map(b"k")
        self.queue = queues.new_keyed_priority_queue(b"k")
        self.reducing = reducing.new_reducing_state(b"k")
        self.aggregating = aggregating.new_aggregating_state(b"k")
        # the model: (value, expires_at) per value, element and entry
        self.m_value: tuple[int, int] | None = None
        self.m_reducing: tuple[int, int] | None = None
        self.m_aggregating: tuple[int, int] | None = None
        self.m_list: list[tuple[int, int]] = []
        self.m_map: dict[int, tuple[int, int]] = {}
        self.m_queue: list[tuple[int, int, int]] = []  # (value, order, expires_at)
        self.order = 0

    def teardown(self) -> None:
        setattr(ttl_module, "CLEANUP_EVERY", self.saved[0])  # noqa: B010
        setattr(ttl_module, "INDEX_SLICES", self.saved[1])  # noqa: B010
        self.ctx.close()

    def expires(self) -> int:
        return self.clock.now + self.LIFE

    def live(self, expires_at: int) -> bool:
        return expires_at > self.clock.now

    def read_one(self, model: tuple[int, int] | None) -> tuple[tuple[int | None, bool], Any]:
        """What reading ``model`` returns, and the model after the read."""
        if model is None:
            return (None, False), None
        if not self.live(model[1]):
            return ((model[0], True) if self.returns else (None, False)), None
        return (model[0], True), (model[0], self.expires()) if self.on_read else model

    def fold(self, model: tuple[int, int] | None, v: int) -> tuple[int, int]:
        base = model[0] if model is not None and self.live(model[1]) else 0
        return base + v, self.expires()

    @rule(step=st.integers(0, 12))
    def advance(self, step: int) -> None:
        self.clock.now += step

    @rule()
    def cleanup(self) -> None:
        for factory in self.factories:
            factory.cleanup(10_000)
        live = self.live
        self.m_value = self.m_value if self.m_value and live(self.m_value[1]) else None
        self.m_reducing = self.m_reducing if self.m_reducing and live(self.m_reducing[1]) else None
        self.m_aggregating = (
            self.m_aggregating if self.m_aggregating and live(self.m_aggregating[1]) else None
        )
        self.m_list = [(v, e) for v, e in self.m_list if live(e)]
        self.m_map = {k: (v, e) for k, (v, e) in self.m_map.items() if live(e)}
        self.m_queue = [(v, o, e) for v, o, e in self.m_queue if live(e)]

    @rule(v=st.integers(-5, 5))
    def update_value(self, v: int) -> None:
        self.value.update(v)
        self.m_value = (v, self.expires())

    @rule()
    def read_value(self) -> None:
        expected, self.m_value = self.read_one(self.m_value)
        assert self.value.value() == expected

    @rule(v=st.integers(-5, 5))
    def add_reducing(self, v: int) -> None:
        self.reducing.add(v)
        self.m_reducing = self.fold(self.m_reducing, v)

    @rule(v=st.integers(-5, 5))
    def add_aggregating(self, v: int) -> None:
        self.aggregating.add(v)
        self.m_aggregating = self.fold(self.m_aggregating, v)

    @rule()
    def read_folds(self) -> None:
        expected, self.m_reducing = self.read_one(self.m_reducing)
        assert self.reducing.get() == expected
        expected, self.m_aggregating = self.read_one(self.m_aggregating)
        assert self.aggregating.get() == expected

    @rule(v=st.integers(-5, 5))
    def add(self, v: int) -> None:
        self.list.add(v)
        self.m_list.append((v, self.expires()))

    @rule(count=st.integers(0, MAX_BULK))
    def add_bulk(self, count: int) -> None:
        for v in range(count):
            self.list.add(v % 11 - 5)
            self.m_list.append((v % 11 - 5, self.expires()))

    @rule()
    def read_list(self) -> None:
        got = self.list.get()
        returned = [v for v, e in self.m_list if self.live(e) or self.returns]
        live = [(v, e) for v, e in self.m_list if self.live(e)]
        self.m_list = [(v, self.expires()) for v, _ in live] if self.on_read else live
        assert got == returned

    @rule(k=st.integers(0, 3), v=st.integers(-5, 5))
    def put(self, k: int, v: int) -> None:
        self.map.put(k, v)
        self.m_map[k] = (v, self.expires())

    @rule(count=st.integers(0, MAX_BULK))
    def put_bulk(self, count: int) -> None:
        for k in range(count):
            self.map.put(k, k % 11 - 5)
            self.m_map[k] = (k % 11 - 5, self.expires())

    @rule(k=st.integers(0, 3))
    def get(self, k: int) -> None:
        expected, model = self.read_one(self.m_map.get(k))
        if model is None:
            self.m_map.pop(k, None)
        else:
            self.m_map[k] = model
        assert self.map.get(k) == expected

    @rule()
    def items(self) -> None:
        got = list(self.map.items())
        returned = [
            (k, v) for k, (v, e) in sorted(self.m_map.items()) if self.live(e) or self.returns
        ]
        self.m_map = {
            k: (v, self.expires() if self.on_read else e)
            for k, (v, e) in self.m_map.items()
            if self.live(e)
        }
        assert got == returned

    @rule(v=st.integers(-5, 5))
    def queue_add(self, v: int) -> None:
        self.queue.add(v)
        self.m_queue.append((v, self.order, self.expires()))
        self.order += 1
        self.m_queue.sort()

    @rule(count=st.integers(0, MAX_BULK))
    def queue_add_bulk(self, count: int) -> None:
        for v in range(count):
            self.queue_add(v % 11 - 5)

    def queue_head(self) -> tuple[tuple[int | None, bool], bool]:
        """What peek returns and whether it took the element out (an expired one)."""
        while self.m_queue:
            v, order, e = self.m_queue[0]
            if not self.live(e):
                del self.m_queue[0]
                if self.returns:
                    return (v, True), True
                continue
            if self.on_read:
                self.m_queue[0] = (v, order, self.expires())
            return (v, True), False
        return (None, False), False

    @rule()
    def peek(self) -> None:
        expected, _ = self.queue_head()
        assert self.queue.peek() == expected

    @rule()
    def poll(self) -> None:
        expected, removed = self.queue_head()
        if expected[1] and not removed:
            del self.m_queue[0]
        assert self.queue.poll() == expected


class RocksDBTtlMachine(TtlMachine):
    def make_backend(self) -> Backend:
        self.directory = tempfile.TemporaryDirectory()
        return RocksDBBackend(self.directory.name)

    def teardown(self) -> None:
        super().teardown()
        self.directory.cleanup()


@pytest.mark.parametrize("machine", [TtlMachine, RocksDBTtlMachine], ids=["memory", "rocksdb"])
def test_every_state_type_with_ttl_matches_its_model(
    thresholds: str, machine: type[TtlMachine]
) -> None:
    examples = machine_examples(settings().max_examples, thresholds)
    run_state_machine_as_test(machine, settings=settings(settings(), max_examples=examples))


def test_a_state_view_shows_ttl_values_without_their_stamp_and_with_their_expiry(
    store: Store,
) -> None:
    clock = Clock()
    clock.now = 1000
    ttl = StateTtl(10, clock=clock)
    KeyedValueStateFactory(store, b"v", IntCodec(), ttl=ttl).new_keyed_value(b"k").update(7)
    lists = KeyedListStateFactory(store, b"l", IntCodec(), ttl=ttl)
    lists.new_keyed_list(b"k").add(1)
    clock.now = 1005
    lists.new_keyed_list(b"k").add(2)
    KeyedMapStateFactory(store, b"m", StringCodec(), IntCodec(), ttl=ttl).new_keyed_map(b"k").put(
        "a", 3
    )
    KeyedPriorityQueueStateFactory(store, b"q", IntCodec(), ttl=ttl).new_keyed_priority_queue(
        b"k"
    ).add(4)

    def shown(key_group: bytes) -> list[tuple[Any, Any, Any]]:
        descriptor = store.get(ComplexKey(IDENTITY_KEY_GROUP, key_group, b"", b""))
        assert descriptor is not None
        view = StateView.from_descriptor(descriptor)
        with store.scan_complex(key_group, b"k", b"") as entries:
            return [(*view.entry(k, v), view.expiry(k, v)) for k, v in entries]

    assert shown(b"v") == [(None, 7, 1010)]
    assert shown(b"l") == [(None, [1, 2], [1010, 1015])]
    assert shown(b"m") == [("a", 3, 1015)]
    assert shown(b"q") == [(4, None, 1015)]


def test_rewriting_an_entry_within_its_slice_writes_its_index_key_once() -> None:
    from fssdk.stores import MemoryStore
    from tests.support import CountingStore

    store = CountingStore(MemoryStore("s"))
    clock = Clock()
    factory = KeyedValueStateFactory(store, b"g", IntCodec(), ttl=StateTtl(800, clock=clock))
    factory.new_keyed_value(b"k").update(1)
    store.reset()
    for value in range(5):  # the same slice (ttl // INDEX_SLICES = 100 ms): no index write
        factory.new_keyed_value(b"k").update(value)
    assert store.writes == 5
    clock.now = 150  # the next slice: its index key once
    factory.new_keyed_value(b"k").update(6)
    factory.new_keyed_value(b"k").update(7)
    assert store.writes == 5 + 2 + 1


def test_an_index_key_that_cleanup_removed_is_written_again(ctx: LocalContext) -> None:
    clock = Clock()
    state = ValueState.from_context(ctx, "v", IntCodec(), ttl=StateTtl(10, clock=clock))
    state.update(1)
    clock.now = 20
    assert state._scopes._ttl_index.cleanup(10) == 1  # type: ignore[attr-defined]
    clock.now = 0  # the clock went back: the same index key as the first write
    state.update(2)
    assert index_size(ctx, "v", b"") == 1
    clock.now = 20
    assert state._scopes._ttl_index.cleanup(10) == 1  # type: ignore[attr-defined]
    assert state.value() == (None, False)


def index_keys(ctx: LocalContext, store_name: str, key_group: bytes) -> list[tuple[bytes, bytes]]:
    """The index keys and values a checkpoint stores (see :func:`index_size`)."""
    ctx.backend.flush()
    scope = ctx.get_or_create_store(store_name).scope(TTL_INDEX_KEY_GROUP, key_group, b"")
    with scope.scan() as scan:
        return list(scan)


def test_new_entries_fill_batches_of_index_batch_and_a_cleanup_visits_one_in_part(
    ctx: LocalContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ttl_module, "INDEX_BATCH", 3)
    clock, values = values_with_ttl_10(ctx)
    for key in range(7):
        values.new_keyed_value(b"k%d" % key).update(key)
    batches = index_keys(ctx, "s", b"g")
    assert all(ttl_module.is_batch_key(index_key) for index_key, _ in batches)
    assert [len(ttl_module.unpack_entries(value)) for _, value in batches] == [3, 3, 1]
    clock.now = 100
    assert values.cleanup(4) == 4
    left = index_keys(ctx, "s", b"g")
    assert [key for key, _ in left] == [key for key, _ in batches[1:]]
    assert ttl_module.unpack_entries(left[0][1]) == [(b"k4", b"", b""), (b"k5", b"", b"")]
    assert stored(values) == 3
    assert values.cleanup(10) == 3
    assert index_keys(ctx, "s", b"g") == []
    assert stored(values) == 0


def test_an_entry_key_of_an_index_written_before_batches_is_still_cleaned_up(
    ctx: LocalContext,
) -> None:
    clock, values = values_with_ttl_10(ctx)
    values.new_keyed_value(b"k").update(1)
    ctx.backend.flush()  # the index entry is written
    index = ctx.get_or_create_store("s").scope(TTL_INDEX_KEY_GROUP, b"g", b"")
    index.delete_prefix()
    index.put(ttl_module.entry_key((10, b"k", b"", b"")), b"")  # as earlier versions wrote it
    clock.now = 100
    assert values.cleanup(10) == 1
    assert index_keys(ctx, "s", b"g") == []
    assert stored(values) == 0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"", "names no entry"),
        (b"\x00\x00\x00", "hold no entry header"),
        (b"\x00\x00\x00\x05" + bytes(8) + b"abc", "runs 2 bytes past the end"),
    ],
)
def test_a_batch_that_does_not_decode_is_refused_naming_the_problem(
    ctx: LocalContext, value: bytes, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        ttl_module.unpack_entries(value)
    clock, values = values_with_ttl_10(ctx)
    index = ctx.get_or_create_store("s").scope(TTL_INDEX_KEY_GROUP, b"g", b"")
    index.put(ttl_module.batch_key(5, 1), value)
    clock.now = 100
    with pytest.raises(CorruptStateError, match="TTL index key does not decode"):
        values.cleanup(10)


@given(
    st.lists(
        st.tuples(st.binary(max_size=6), st.binary(max_size=6), st.binary(max_size=6)), min_size=1
    )
)
def test_packed_entries_unpack_to_themselves(entries: list[tuple[bytes, bytes, bytes]]) -> None:
    packed = b"".join(ttl_module.pack_entry(*entry) for entry in entries)
    assert ttl_module.unpack_entries(packed) == entries
    due = 7
    named = ttl_module.index_entries_of(ttl_module.batch_key(due, 3), packed)
    assert named == [(due, *entry) for entry in entries]


def test_no_entry_key_is_taken_for_a_batch_key() -> None:
    for entry in [(5, b"", b"", b""), (5, b"\x00\x02", b"", b""), (5, b"\x00", b"\x00", b"x")]:
        assert not ttl_module.is_batch_key(ttl_module.entry_key(entry))
        assert ttl_module.index_entries_of(ttl_module.entry_key(entry), b"") == [entry]
    with pytest.raises(ValueError, match="a batch key has 18 bytes"):
        ttl_module.index_entries_of(ttl_module.batch_key(5, 1) + b"x", b"")


def test_the_export_reads_a_batch_as_one_entry_key_per_entry_ordered_by_key() -> None:
    from fssdk_advanced._layouts import RESERVED_LAYOUTS

    packed = ttl_module.pack_entry(b"bob", b"n", b"u") + ttl_module.pack_entry(b"ann", b"", b"")
    assert RESERVED_LAYOUTS.expiry(ttl_module.batch_key(9, 1), packed) == [
        (b"ann", ttl_module.entry_key((9, b"ann", b"", b""))),
        (b"bob", ttl_module.entry_key((9, b"bob", b"n", b"u"))),
    ]
    single = ttl_module.entry_key((9, b"cy", b"", b"v"))
    assert RESERVED_LAYOUTS.expiry(single, b"") == [(b"cy", single)]


def test_a_cleanup_before_the_earliest_due_time_it_knows_reads_nothing(ctx: LocalContext) -> None:
    from tests.support import python_frames

    clock = Clock()
    state = ValueState.from_context(ctx, "v", IntCodec(), ttl=StateTtl(10, clock=clock))
    state.update(1)
    index = state._scopes._ttl_index  # type: ignore[attr-defined]
    assert index.cleanup(10) == 0  # learns that the first entry is due at 10
    assert not [frame for frame in python_frames(lambda: index.cleanup(10)) if "scan" in frame]
    clock.now = 10
    assert index.cleanup(10) == 1
    assert state.value() == (None, False)


# -- entries held until the flush (a store that flushes, Store.on_flush) ----------------------


def durable(ctx: LocalContext) -> bool:
    """True when the store flushes: the index holds the entries recorded since back until then."""
    return isinstance(ctx.backend, RocksDBBackend)


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_a_rolled_back_record_loses_no_index_entry_of_the_records_before_it(
    ctx: LocalContext, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """As ``fssdk run --on-error skip`` rolls a failed record back: the entries held for the
    records before it (in the same slice, in batches of INDEX_BATCH) are all written."""
    monkeypatch.setattr(ttl_module, "INDEX_BATCH", batch)
    clock, values = values_with_ttl_10(ctx)
    for key in range(5):  # as many as leave 1 or 2 entries of an unfilled batch held
        values.new_keyed_value(b"k%d" % key).update(key)
    ctx.backend.savepoint()
    for written in (b"failed", b"k0", b"failed too"):  # k0: a rewrite in the slice, not recorded
        values.new_keyed_value(written).update(9)
    ctx.backend.rollback()
    ctx.backend.savepoint()
    values.new_keyed_value(b"k5").update(5)
    ctx.backend.release()
    ctx.backend.flush()
    assert stored(values) == 6
    clock.now = 100
    assert values.cleanup(100) >= 6
    assert stored(values) == 0
    assert index_size(ctx, "s", b"g") == 0


def test_cleanup_under_a_savepoint_leaves_held_entries_for_after_the_flush(
    ctx: LocalContext,
) -> None:
    clock, values = values_with_ttl_10(ctx)
    values.new_keyed_value(b"k").update(1)
    clock.now = 100
    ctx.backend.savepoint()
    # A store written as it goes has the entry in its index; a store that flushes holds it
    # back, and writes under a savepoint could be rolled back with another record's.
    assert values.cleanup(10) == (0 if durable(ctx) else 1)
    ctx.backend.release()
    ctx.backend.flush()
    assert values.cleanup(10) == (1 if durable(ctx) else 0)
    assert stored(values) == 0
    assert index_size(ctx, "s", b"g") == 0


def test_cleanup_outside_a_savepoint_writes_the_due_held_entries_first(ctx: LocalContext) -> None:
    clock, values = values_with_ttl_10(ctx)
    values.new_keyed_value(b"k").update(1)
    values.new_keyed_value(b"other").update(1)
    clock.now = 100
    assert values.cleanup(1) == 1  # visits one of the two, keeps the other in the index
    assert stored(values) == 1
    assert values.cleanup(10) == 1
    assert stored(values) == 0


def test_held_entries_are_written_in_batches_of_index_batch(
    ctx: LocalContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import sizes_around

    monkeypatch.setattr(ttl_module, "INDEX_BATCH", 3)
    for count in sizes_around(ttl_module.INDEX_BATCH):
        group = b"g%d" % count
        values = KeyedValueStateFactory.from_context(
            ctx, "s", group, IntCodec(), ttl=StateTtl(10, clock=Clock())
        )
        for key in range(count):
            values.new_keyed_value(b"k%d" % key).update(key)
        sizes = [len(ttl_module.unpack_entries(value)) for _, value in index_keys(ctx, "s", group)]
        assert sizes == [3] * (count // 3) + ([count % 3] if count % 3 else []), count


def test_a_crash_after_a_checkpoint_leaves_every_ttl_entry_findable_by_cleanup(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entries held back go into the checkpoint's batch with the state they name: a store
    restored from it has an index entry for every TTL'd entry (those written after it are lost
    with their index entries)."""
    monkeypatch.setattr(ttl_module, "INDEX_BATCH", 3)
    clock = Clock()
    backend = RocksDBBackend(tmp_path / "db")
    ctx = LocalContext(backend)
    values = KeyedValueStateFactory.from_context(
        ctx, "s", b"g", IntCodec(), ttl=StateTtl(10, clock=clock)
    )
    for key in range(8):
        values.new_keyed_value(b"k%d" % key).update(key)
    backend.checkpoint(tmp_path / "checkpoint")
    for key in range(8, 12):
        values.new_keyed_value(b"k%d" % key).update(key)  # after the checkpoint: lost
    with RocksDBBackend(tmp_path / "checkpoint") as restored:
        restored_ctx = LocalContext(restored)
        again = KeyedValueStateFactory.from_context(
            restored_ctx, "s", b"g", IntCodec(), ttl=StateTtl(10, clock=clock)
        )
        assert stored(again) == 8
        clock.now = 100
        assert again.cleanup(100) == 8
        assert stored(again) == 0
        assert index_size(restored_ctx, "s", b"g") == 0
    backend.rollback()
    ctx.close()
    backend.close()


@pytest.mark.parametrize("returned", [1.5, None, 2**63])
def test_a_ttld_write_or_read_with_a_clock_that_returns_no_time_raises_and_writes_nothing(
    ctx: LocalContext, returned: object
) -> None:
    values = KeyedValueStateFactory.from_context(
        ctx,
        "s",
        b"g",
        IntCodec(),
        ttl=StateTtl(10, clock=lambda: returned),  # type: ignore[arg-type, return-value]
    )
    state = values.new_keyed_value(b"k")
    with pytest.raises(TypeError, match=r"clock .* must return a signed 64-bit int"):
        state.update(1)
    scopes = values._scopes
    with pytest.raises(TypeError, match=r"clock .* must return a signed 64-bit int"):
        scopes.merge(b"k", b"", b"merged", b"x")  # a list's path, whose codec reads it first
    assert stored(values) == 0
    ctx.get_or_create_store("s").scopes(b"g").put(b"k", b"", b"", IntCodec().encode(1) * 2)
    with pytest.raises(TypeError, match=r"clock .* must return a signed 64-bit int"):
        state.value()


def test_a_dropped_factory_is_let_go_after_two_idle_flushes_and_its_entries_stay_findable(
    tmp_path: Any,
) -> None:
    """The store holds an index for the next flush only, again at each flush while it holds
    entries: factories made per record do not pile up, and their held entries are written."""
    clock = Clock()
    with RocksDBBackend(tmp_path) as backend:
        ctx = LocalContext(backend)
        store = backend.store("s")
        assert isinstance(store, RocksDBStore)

        def hooks() -> list[Callable[[], None]]:
            return store._buffer._hooks

        def factory() -> KeyedValueStateFactory[int]:
            return KeyedValueStateFactory.from_context(
                ctx, "s", b"g", IntCodec(), ttl=StateTtl(10, clock=clock)
            )

        for key in range(5):  # a factory per record, dropped at once
            factory().new_keyed_value(b"k%d" % key).update(key)
        assert len(hooks()) == 5  # held until the flush
        backend.flush()  # writes their entries; they held some: registered once more
        assert len(hooks()) == 5
        backend.flush()  # idle for a flush: registered once more
        assert len(hooks()) == 5
        backend.flush()  # idle for two: let go
        assert hooks() == []
        steady = factory()
        for flush in range(4):  # a steady stream: registered again at every flush
            steady.new_keyed_value(b"s%d" % flush).update(flush)
            backend.flush()
            assert [getattr(hook, "__self__", None) for hook in hooks()] == [steady._ttl_index]
        clock.now = 100
        assert steady.cleanup(100) == 9
        assert stored(steady) == 0
        assert index_size(ctx, "s", b"g") == 0
