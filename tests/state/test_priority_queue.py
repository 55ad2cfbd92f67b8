"""PriorityQueueState and KeyedPriorityQueueStateFactory on every backend."""

from __future__ import annotations

import dataclasses
import gc
import itertools
import random
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fssdk import ComplexKey, CorruptStateError, StateConflictError
from fssdk import Iterator as StoreIterator
from fssdk._store import StoreScopes
from fssdk.reserved import QUEUE_SEQ_PREFIX
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk.stores import MemoryStore
from fssdk_advanced import (
    BytesCodec,
    FloatCodec,
    IntCodec,
    KeyedPriorityQueueState,
    KeyedPriorityQueueStateFactory,
    MsgpackCodec,
    PriorityQueueState,
    StringCodec,
    TupleCodec,
    UnorderedCodecError,
)
from fssdk_advanced.state import _priority_queue as pq
from fssdk_advanced.state import _ttl as ttl_module
from fssdk_advanced.time import StateTtl

SEQ_KEY = QUEUE_SEQ_PREFIX + b"g"


@dataclasses.dataclass
class Job:
    name: str


def drain(queue: PriorityQueueState[Any]) -> list[Any]:
    out: list[Any] = []
    while True:
        value, found = queue.poll()
        if not found:
            return out
        out.append(value)


def test_empty_queue(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec())
    assert queue.peek() == (None, False)
    assert queue.poll() == (None, False)
    assert queue.is_empty()
    assert list(queue.all()) == []


def test_poll_returns_ascending_and_peek_does_not_remove(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec())
    for value in (5, -3, 12, 0):
        queue.add(value)
    assert queue.peek() == (-3, True)
    assert queue.peek() == (-3, True)
    assert not queue.is_empty()
    assert drain(queue) == [-3, 0, 5, 12]
    assert queue.is_empty()


def test_duplicates_are_kept(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec())
    queue.add(5)
    queue.add(5)
    queue.add(1)
    assert list(queue.all()) == [1, 5, 5]
    assert drain(queue) == [1, 5, 5]


def test_variable_length_elements_keep_value_order(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", BytesCodec())
    elements = [b"b", b"a\x00", b"", b"a", b"ab", b"\x00", b"a\x00\x00", b"a\x01", b"a"]
    for element in elements:
        queue.add(element)
    assert list(queue.all()) == sorted(elements)
    assert drain(queue) == sorted(elements)


def test_tuple_and_float_elements(ctx: LocalContext) -> None:
    tuples = PriorityQueueState.from_context(ctx, "t", TupleCodec(StringCodec(), IntCodec()))
    for pair in [("ab", 1), ("a", 2), ("a", -1)]:
        tuples.add(pair)
    assert drain(tuples) == [("a", -1), ("a", 2), ("ab", 1)]
    floats = PriorityQueueState.from_context_auto_codec(ctx, "f", float)
    for number in [float("nan"), 1.5, -0.0, float("-inf"), 0.0]:
        floats.add(number)
    out = drain(floats)
    assert out[:4] == [float("-inf"), -0.0, 0.0, 1.5]
    assert out[4] != out[4]


def test_equal_elements_are_stored_in_insertion_order(ctx: LocalContext) -> None:
    factory = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", StringCodec())
    for _ in range(3):
        factory.new_keyed_priority_queue(b"k", b"").add("same")
    store = ctx.get_or_create_store("q")
    keys = store.list_complex(b"g", b"k", b"", b"", b"")
    assert [key[:-8] for key in keys] == [b"same\x00\x01"] * 3
    seqs = [int.from_bytes(key[-8:], "big") for key in keys]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3


def test_layout_of_fixed_size_elements_has_no_terminator(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec())
    queue.add(7)
    store = ctx.get_or_create_store("q")
    (user_key,) = store.list_complex(b"", b"", b"", b"", b"")
    assert user_key[:8] == IntCodec().encode(7)
    assert len(user_key) == 16
    assert store.get(ComplexKey(b"", b"", b"", user_key)) == b""


def test_sequence_numbers_keep_growing_across_reopen(
    backend_factory: Callable[[], Backend],
) -> None:
    with backend_factory() as backend:
        if isinstance(backend, MemoryBackend):
            pytest.skip("the memory backend keeps nothing across reopen")
        ctx = LocalContext(backend)
        factory = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())
        factory.new_keyed_priority_queue(b"k", b"").add(5)
    with backend_factory() as backend:
        ctx = LocalContext(backend)
        factory = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())
        factory.new_keyed_priority_queue(b"k", b"").add(5)
        factory.new_keyed_priority_queue(b"k", b"").add(1)
        store = ctx.get_or_create_store("q")
        backend.flush()  # a store that flushes gets the counter then, with the elements
        assert store.get_state(SEQ_KEY) == (3).to_bytes(8, "big")
        keys = store.list_complex(b"g", b"k", b"", b"", b"")
        fives = [int.from_bytes(key[8:], "big") for key in keys if key[:8] == IntCodec().encode(5)]
        assert len(fives) == 2
        assert fives == [0, 1]
        assert drain(factory.new_keyed_priority_queue(b"k", b"")) == [1, 5, 5]


def test_queue_survives_reopen_mid_drain(backend_factory: Callable[[], Backend]) -> None:
    values = list(range(200))
    random.Random(1).shuffle(values)
    with backend_factory() as backend:
        if isinstance(backend, MemoryBackend):
            pytest.skip("the memory backend keeps nothing across reopen")
        queue = PriorityQueueState.from_context(LocalContext(backend), "q", IntCodec())
        for value in values:
            queue.add(value)
        assert [queue.poll()[0] for _ in range(150)] == list(range(150))
    with backend_factory() as backend:
        queue = PriorityQueueState.from_context(LocalContext(backend), "q", IntCodec())
        queue.add(3)
        assert drain(queue) == [3, *range(150, 200)]


def test_clear_empties_and_the_queue_is_usable_afterwards(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec())
    for value in range(10):
        queue.add(value)
    queue.poll()
    queue.clear()
    assert queue.peek() == (None, False)
    assert list(queue.all()) == []
    queue.add(4)
    queue.add(2)
    assert drain(queue) == [2, 4]


def test_all_after_polls_and_adds_below_the_head(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec())
    for value in range(100):
        queue.add(value)
    for _ in range(60):
        queue.poll()
    queue.add(-1)
    queue.add(59)
    assert list(queue.all()) == [-1, 59, *range(60, 100)]
    assert queue.poll() == (-1, True)
    assert queue.poll() == (59, True)


def test_adds_below_a_full_window_stay_ordered(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", IntCodec())
    queue.add(10_000)
    for _ in range(6):
        queue.add(10_001)
        queue.peek()
        queue.poll()
    for value in range(5 * pq.WINDOW, 0, -1):
        queue.add(value)
    assert drain(queue) == [*range(1, 5 * pq.WINDOW + 1), 10_001]


def test_keyed_queues_are_isolated(ctx: LocalContext) -> None:
    factory = KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "q", b"g", int)
    other = KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "q", b"h", int)
    factory.new_keyed_priority_queue(b"user1", b"").add(1)
    factory.new_keyed_priority_queue(b"user1", b"w").add(2)
    factory.new_keyed_priority_queue(b"user12", b"").add(3)
    other.new_keyed_priority_queue(b"user1", b"").add(4)
    assert list(factory.new_keyed_priority_queue(b"user1", b"").all()) == [1]
    assert factory.new_keyed_priority_queue(b"user1", b"w").poll() == (2, True)
    assert factory.new_keyed_priority_queue(b"user1", b"w").poll() == (None, False)
    factory.new_keyed_priority_queue(b"user1", b"").clear()
    assert factory.new_keyed_priority_queue(b"user12", b"").peek() == (3, True)
    assert other.new_keyed_priority_queue(b"user1", b"").peek() == (4, True)
    assert isinstance(factory.new_keyed_priority_queue(b"x"), KeyedPriorityQueueState)


def test_many_scopes_beyond_the_cursor_cache(ctx: LocalContext, monkeypatch: Any) -> None:
    monkeypatch.setattr(pq, "MAX_CURSORS", 2)
    factory = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())
    keys = [b"a", b"b", b"c", b"d"]
    for round_ in range(20):
        for index, key in enumerate(keys):
            factory.new_keyed_priority_queue(key, b"").add(100 * index + round_)
    for round_ in range(20):
        for index, key in enumerate(keys):
            assert factory.new_keyed_priority_queue(key, b"").poll() == (100 * index + round_, True)
    for key in keys:
        assert factory.new_keyed_priority_queue(key, b"").is_empty()


class _ResumeRun:
    """Keyed queues on a backend that can be reopened, beside a sorted-list model of each."""

    KEYS = (b"a", b"b", b"c")

    def __init__(self, backend_factory: Callable[[], Backend], ttl: bool) -> None:
        self.open = backend_factory
        self.options: dict[str, Any] = {"ttl": StateTtl(10**12)} if ttl else {}
        self.model: dict[bytes, list[int]] = {key: [] for key in self.KEYS}
        self.backend = backend_factory()
        self.durable = not isinstance(self.backend, MemoryBackend)
        self.bind()

    def bind(self) -> None:
        ctx = LocalContext(self.backend)
        self.factory = KeyedPriorityQueueStateFactory.from_context(
            ctx, "q", b"g", IntCodec(), **self.options
        )

    def add(self, key: bytes, value: int) -> None:
        self.factory.new_keyed_priority_queue(key).add(value)
        self.model[key] = sorted([*self.model[key], value])

    def poll(self, key: bytes) -> None:
        expected = self.model[key].pop(0) if self.model[key] else None
        assert self.factory.new_keyed_priority_queue(key).poll() == (expected, expected is not None)
        self.factory._shared._check()

    def peek(self, key: bytes) -> None:
        head = self.model[key][0] if self.model[key] else None
        assert self.factory.new_keyed_priority_queue(key).peek() == (head, head is not None)

    def failed_record(self, rng: random.Random) -> None:
        """Adds and polls under a savepoint, rolled back; then new store handles, as the runner
        makes after a record it skips."""
        self.backend.savepoint()
        for _ in range(rng.randrange(1, 6)):
            queue = self.factory.new_keyed_priority_queue(rng.choice(self.KEYS))
            if rng.random() < 0.5:
                queue.add(rng.randrange(-30, 30))
            else:
                queue.poll()
        self.backend.rollback()
        self.backend.close_stores()
        self.bind()

    def reopen(self) -> None:
        if self.durable:
            self.backend.close()
            self.backend = self.open()
            self.bind()


@pytest.mark.parametrize("max_resume", [1, 3])
@pytest.mark.parametrize("ttl", [False, True], ids=["plain", "ttl"])
@pytest.mark.parametrize("seed", range(4))
def test_resume_points_against_a_model(
    backend_factory: Callable[[], Backend],
    monkeypatch: Any,
    max_resume: int,
    ttl: bool,
    seed: int,
) -> None:
    """Queues polled in turn past one cursor, with resume points at 1 (fewer than the queues)
    or 3 (as many): adds below the polled keys, polls, peeks, flushes, rolled back savepoints
    and reopens, against a sorted-list model."""
    monkeypatch.setattr(pq, "MAX_CURSORS", 1)
    monkeypatch.setattr(pq, "MAX_RESUME", max_resume)
    monkeypatch.setattr(pq, "WINDOW", 2)
    rng = random.Random(seed)
    run = _ResumeRun(backend_factory, ttl)
    try:
        for _ in range(300):
            key = rng.choice(run.KEYS)
            step = rng.random()
            if step < 0.4:  # mostly below what was polled: the resume point must be lowered
                run.add(key, rng.randrange(-20, 20))
            elif step < 0.75:
                run.poll(key)
            elif step < 0.8:
                run.peek(key)
            elif step < 0.9:
                run.backend.flush()
            elif step < 0.95:
                run.failed_record(rng)
            else:
                run.reopen()
        for key in run.KEYS:
            while run.model[key]:
                run.poll(key)
            run.poll(key)
    finally:
        run.backend.close()


@pytest.mark.parametrize("update_type", ["on_create_and_write", "on_read_and_write"])
@pytest.mark.parametrize("visibility", ["never_return_expired", "return_expired_if_not_cleaned_up"])
def test_ttl_polls_of_scopes_beyond_the_cursor_cache(
    backend: Backend, ctx: LocalContext, monkeypatch: Any, update_type: str, visibility: str
) -> None:
    """Every poll of queues polled in turn past ``MAX_CURSORS`` reads its head with no cursor
    (from the table after a flush, through the write buffer before one): a live head is
    returned, an expired one skipped (or returned, if it may be)."""
    monkeypatch.setattr(pq, "MAX_CURSORS", 1)
    monkeypatch.setattr(ttl_module, "CLEANUP_EVERY", 2**62)  # expired elements stay until read
    now = [0]
    ttl = StateTtl(10, update_type=update_type, visibility=visibility, clock=lambda: now[0])
    factory = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec(), ttl=ttl)
    keys = [b"a", b"b", b"c"]
    for key in keys:
        factory.new_keyed_priority_queue(key).add(1)
    now[0] = 5
    for key in keys:
        factory.new_keyed_priority_queue(key).add(3)
        factory.new_keyed_priority_queue(key).add(2)
    backend.flush()
    now[0] = 10  # 1 expired everywhere; 2 and 3 live until 15
    expected = [1, 2, 3] if visibility == "return_expired_if_not_cleaned_up" else [2, 3]
    for value in [*expected, None]:
        for key in keys:
            assert factory.new_keyed_priority_queue(key).poll() == (value, value is not None)
    now[0] = 20
    for key in keys:
        factory.new_keyed_priority_queue(key).add(4)
    now[0] = 30
    for key in keys:
        assert factory.new_keyed_priority_queue(key).poll() == (
            (4, True) if visibility == "return_expired_if_not_cleaned_up" else (None, False)
        )
        assert factory.new_keyed_priority_queue(key).is_empty()


class _RecordingScopes(StoreScopes):
    """Records where every scan of a scope starts."""

    __slots__ = ()

    def scan(
        self,
        key: bytes,
        namespace: bytes,
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> StoreIterator:
        starts: list[bytes] = self.store.starts  # type: ignore[attr-defined]
        starts.append(start)
        return super().scan(key, namespace, start=start, end=end, reverse=reverse)


class _RecordingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__("recording")
        self.starts: list[bytes] = []

    def _scopes(self, key_group: bytes) -> StoreScopes:
        return _RecordingScopes(self, key_group)


def test_polls_seek_past_the_polled_head_and_rarely(monkeypatch: Any) -> None:
    store = _RecordingStore()
    factory = KeyedPriorityQueueStateFactory(store, b"g", IntCodec())
    values = list(range(1_000))
    random.Random(2).shuffle(values)
    for value in values:
        factory.new_keyed_priority_queue(b"k", b"").add(value)
    polled = [factory.new_keyed_priority_queue(b"k", b"").poll()[0] for _ in range(1_000)]
    assert polled == list(range(1_000))
    starts = store.starts
    assert starts[0] == b""
    assert all(a < b for a, b in itertools.pairwise(starts))
    assert len(starts) <= 1_000 // pq.WINDOW + 8


def test_unordered_codecs_are_rejected_at_construction(ctx: LocalContext) -> None:
    with pytest.raises(UnorderedCodecError, match="codec MsgpackCodec"):
        PriorityQueueState.from_context(ctx, "q", MsgpackCodec())
    with pytest.raises(TypeError, match="not ordered"):
        KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", MsgpackCodec(Job))
    with pytest.raises(ValueError, match="value_type=None has no ordered codec"):
        PriorityQueueState.from_context_auto_codec(ctx, "q")
    with pytest.raises(UnorderedCodecError, match="Job has no ordered codec"):
        KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "q", b"g", Job)


def test_a_corrupt_entry_raises_and_stays(ctx: LocalContext) -> None:
    factory = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", StringCodec())
    queue = factory.new_keyed_priority_queue(b"user1", b"w")
    queue.add("b")
    ctx.get_or_create_store("q").put(ComplexKey(b"g", b"user1", b"w", b"a" + bytes(8)), b"")
    with pytest.raises(CorruptStateError, match=r"'q'.*b'g'.*b'user1'.*b'w'"):
        queue.peek()
    with pytest.raises(CorruptStateError, match="queue element does not decode") as info:
        factory.new_keyed_priority_queue(b"user1", b"w").poll()
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(CorruptStateError):
        list(queue.all())


@pytest.mark.parametrize(
    ("codec", "user_key"),
    [
        (IntCodec(), b"\x00" * 4),  # shorter than a sequence number
        (IntCodec(), b"\x00" * 17),  # element of 9 bytes
        (StringCodec(), b"a\x00\x01x" + bytes(8)),  # bytes after the terminator
        (StringCodec(), b"\xff\xfe\x00\x01" + bytes(8)),  # not UTF-8
    ],
)
def test_malformed_entry_keys_are_corrupt(ctx: LocalContext, codec: Any, user_key: bytes) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", codec)
    ctx.get_or_create_store("q").put(ComplexKey(b"", b"", b"", user_key), b"")
    with pytest.raises(CorruptStateError):
        queue.poll()


class _ClaimsFixed:
    """An ordered codec that declares 2-byte encodings but writes any length."""

    ordered = True
    fixed_size = 2

    def encode(self, value: bytes) -> bytes:
        return value

    def decode(self, data: bytes) -> bytes:
        return data


def test_a_codec_breaking_its_fixed_size_is_refused(ctx: LocalContext) -> None:
    queue = PriorityQueueState.from_context(ctx, "q", _ClaimsFixed())
    with pytest.raises(ValueError, match="declares fixed_size 2"):
        queue.add(b"abc")
    queue.add(b"ab")
    assert queue.poll() == (b"ab", True)


def test_a_corrupt_sequence_counter_is_reported(ctx: LocalContext) -> None:
    ctx.get_or_create_store("q").put_state(SEQ_KEY, b"xx")
    with pytest.raises(CorruptStateError, match="sequence counter"):
        KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())


def test_identity_conflicts(ctx: LocalContext) -> None:
    PriorityQueueState.from_context(ctx, "q", IntCodec())
    with pytest.raises(StateConflictError):
        PriorityQueueState.from_context(ctx, "q", FloatCodec())
    KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"", IntCodec())


def test_bad_arguments(ctx: LocalContext) -> None:
    factory = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())
    with pytest.raises(TypeError, match="new_keyed_priority_queue: namespace must be str or bytes"):
        factory.new_keyed_priority_queue(b"k", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="IntCodec encodes int"):
        factory.new_keyed_priority_queue(b"k").add("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key_group must be bytes"):
        KeyedPriorityQueueStateFactory(ctx.get_or_create_store("q"), 1, IntCodec())  # type: ignore[arg-type]


def test_shared_cursor_state_holds_its_invariants(ctx: LocalContext) -> None:
    factory = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())
    rng = random.Random(3)
    for _ in range(500):
        key = rng.choice([b"a", b"b"])
        if rng.random() < 0.6:
            factory.new_keyed_priority_queue(key, b"").add(rng.randrange(100))
        else:
            factory.new_keyed_priority_queue(key, b"").poll()
        factory._shared._check()


def test_a_closed_and_dropped_store_with_a_queue_is_freed(tmp_path: Path) -> None:
    """The per-store registry holds stores weakly; the queue's shared state must not pin them."""
    backend = RocksDBBackend(tmp_path / "db")
    ctx = LocalContext(backend)
    queue = PriorityQueueState.from_context(ctx, "queue", IntCodec())
    queue.add(3)
    store = weakref.ref(ctx.get_or_create_store("queue"))
    ctx.close()
    backend.close()
    del queue, ctx, backend
    gc.collect()
    assert store() is None


@pytest.mark.parametrize("cursors", [1, 4096])
def test_a_rollback_puts_back_the_elements_polled_under_the_savepoint(
    ctx: LocalContext, monkeypatch: Any, cursors: int
) -> None:
    """The queue's cursors and resume points are dropped when the store's writes are rolled
    back with the same store objects (``Backend.rollback``, ``Store.on_rollback``): the polls
    undone are polled again, in order."""
    monkeypatch.setattr(pq, "MAX_CURSORS", cursors)
    states = KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "q", b"g", int)
    for key in (b"a", b"b"):
        queue = states.new_keyed_priority_queue(key)
        for element in (5, 1, 4, 2, 6, 3):
            queue.add(element)
    ctx.backend.flush()
    for key in (b"a", b"b"):
        assert states.new_keyed_priority_queue(key).poll() == (1, True)
    ctx.backend.savepoint()
    for key in (b"a", b"b"):
        queue = states.new_keyed_priority_queue(key)
        assert [queue.poll(), queue.poll(), queue.peek()] == [(2, True), (3, True), (4, True)]
    ctx.backend.rollback()
    ctx.backend.savepoint()
    states.new_keyed_priority_queue(b"a").add(0)
    ctx.backend.release()  # a release drops nothing
    assert drain(states.new_keyed_priority_queue(b"a")) == [0, 2, 3, 4, 5, 6]
    assert drain(states.new_keyed_priority_queue(b"b")) == [2, 3, 4, 5, 6]


def test_the_sequence_counter_is_written_at_each_flush_with_the_elements_it_numbers(
    tmp_path: Path,
) -> None:
    """On a store that flushes the counter is held in memory and written by the flush that
    writes the elements (a checkpoint, an automatic flush): a restored store never numbers an
    element twice, and a queue idle for two flushes is let go by the store."""
    from fssdk.testing import lowered_thresholds

    with lowered_thresholds(), RocksDBBackend(tmp_path / "db") as backend:
        assert isinstance(backend, RocksDBBackend)
        ctx = LocalContext(backend)
        states = KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "q", b"g", int)
        store = ctx.get_or_create_store("q")
        for element in range(20):  # AUTO_FLUSH_WRITES is 8: the buffer flushes by itself
            states.new_keyed_priority_queue(b"k").add(element % 3)
        assert store.get_state(SEQ_KEY) is not None
        backend.checkpoint(tmp_path / "checkpoint")
        assert store.get_state(SEQ_KEY) == (20).to_bytes(8, "big")
        for element in range(5):
            states.new_keyed_priority_queue(b"k").add(element)  # lost with the crash
        hooks = store._buffer._hooks  # type: ignore[attr-defined]
        assert len(hooks) == 1
    with RocksDBBackend(tmp_path / "checkpoint") as restored:
        ctx = LocalContext(restored)
        states = KeyedPriorityQueueStateFactory.from_context_auto_codec(ctx, "q", b"g", int)
        for _ in range(2):
            states.new_keyed_priority_queue(b"k").add(1)
        assert drain(states.new_keyed_priority_queue(b"k")) == sorted(
            [element % 3 for element in range(20)] + [1, 1]
        )
        store = ctx.get_or_create_store("q")
        for _ in range(3):  # written, then idle for two flushes: let go
            restored.flush()
        assert store._buffer._hooks == []  # type: ignore[attr-defined]
        assert store.get_state(SEQ_KEY) == (22).to_bytes(8, "big")
