"""Each state type against a plain Python model, as hypothesis state machines, on every backend.

One machine per type drives random operations over several key groups, primary keys and
namespaces (prefixes of one another, with 0x00 and 0xFF bytes) through per-record handles, and
checks every read against the model: ValueState ~ optional value, ListState ~ list, MapState ~
dict iterated sorted, PriorityQueueState ~ sorted multiset, AggregatingState and ReducingState ~
a fold. Steps flush the backend and, on RocksDB, close and reopen it (a fresh backend over the
same directory), after which nothing written before may be missing.

Each machine runs on both backends and under both threshold settings (the ``thresholds``
fixture): with every size threshold at its smallest, small examples cross the write buffer's and
the queue cursor's sizes; bulk rules write up to ``MAX_BULK`` elements or entries to one state in
one step, past them at their production values. RocksDB machines run a third of the profile's
examples (at least 10): opening a database costs tens of milliseconds, and each example opens
one up to three times.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk_advanced import (
    BytesCodec,
    IntCodec,
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedReducingStateFactory,
    KeyedValueStateFactory,
    StringCodec,
    TupleCodec,
)
from tests.support import machine_examples

KEY_GROUPS = st.sampled_from([b"g", b"g\x00", b"h"])
PRIMARY_KEYS = st.sampled_from([b"", b"a", b"ab", b"a\x00", b"\xff"])
NAMESPACES = st.sampled_from([b"", b"w", b"w\x00"])
NAMES = st.sampled_from(["", "w", "w\x00", "é"])
SMALL_INTS = st.integers(-3, 3)
INTS = st.integers(-(2**63), 2**63 - 1)
SHORT_TEXT = st.text(alphabet="ab\x00\xff", max_size=3)
ELEMENT_BYTES = st.binary(max_size=300)
MAX_REOPENS = 2
#: Elements or entries one bulk step writes at most.
MAX_BULK = 300
COUNTS = st.integers(0, MAX_BULK)


def cycled(templates: list[Any], count: int) -> list[Any]:
    """``count`` elements repeating ``templates``: a bulk step draws a few, not hundreds."""
    return [templates[number % len(templates)] for number in range(count)] if templates else []


Scope = tuple[bytes, bytes, bytes]


class _Harness:
    """One backend (memory, or RocksDB in its own directory) that can be flushed and reopened."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.directory = tempfile.mkdtemp(prefix="fssdk-machine-") if kind == "rocksdb" else None
        self.reopens = 0
        self.backend = self._open()

    def _open(self) -> Backend:
        if self.directory is None:
            return MemoryBackend()
        return RocksDBBackend(Path(self.directory) / "db")

    @property
    def can_reopen(self) -> bool:
        return self.directory is not None and self.reopens < MAX_REOPENS

    def ctx(self) -> LocalContext:
        return LocalContext(self.backend)

    def reopen(self) -> None:
        self.backend.close()
        self.backend = self._open()
        self.reopens += 1

    def check(self) -> None:
        for name in self.backend.store_names():
            check = getattr(self.backend.store(name), "_check", None)
            if check is not None:
                check()

    def close(self) -> None:
        self.backend.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


class _Machine(RuleBasedStateMachine):
    """Backend handling shared by every machine: flush, reopen, store invariants, teardown."""

    backend_kind: ClassVar[str] = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.harness = _Harness(self.backend_kind)
        self.bind(self.harness.ctx())

    def bind(self, ctx: LocalContext) -> None:
        """Create the factories over ``ctx`` (again after a reopen)."""
        raise NotImplementedError

    @rule()
    def flush(self) -> None:
        self.harness.backend.flush()

    @precondition(lambda self: self.harness.can_reopen)
    @rule()
    def reopen(self) -> None:
        self.harness.reopen()
        self.bind(self.harness.ctx())

    @invariant()
    def stores_hold_their_invariants(self) -> None:
        self.harness.check()

    def teardown(self) -> None:
        self.harness.close()


# -- ValueState ----------------------------------------------------------------------------------


class ValueMachine(_Machine):
    def bind(self, ctx: LocalContext) -> None:
        self.factories = {
            kg: KeyedValueStateFactory.from_context(ctx, "values", kg, IntCodec())
            for kg in (b"g", b"g\x00", b"h")
        }
        if not hasattr(self, "model"):
            self.model: dict[Scope, int] = {}

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, ns=NAMESPACES, value=INTS)
    def update(self, kg: bytes, pk: bytes, ns: bytes, value: int) -> None:
        self.factories[kg].new_keyed_value(pk, ns).update(value)
        self.model[kg, pk, ns] = value

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, ns=NAMESPACES)
    def clear(self, kg: bytes, pk: bytes, ns: bytes) -> None:
        self.factories[kg].new_keyed_value(pk, ns).clear()
        self.model.pop((kg, pk, ns), None)

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, ns=NAMESPACES)
    def value(self, kg: bytes, pk: bytes, ns: bytes) -> None:
        expected = self.model.get((kg, pk, ns))
        found = (kg, pk, ns) in self.model
        assert self.factories[kg].new_keyed_value(pk, ns).value() == (expected, found)


# -- ListState -----------------------------------------------------------------------------------


class ListMachine(_Machine):
    """Variable-size elements (any bytes, long ones too) in one key group, fixed-size in another."""

    def bind(self, ctx: LocalContext) -> None:
        self.bytes_lists = KeyedListStateFactory.from_context(ctx, "lists", b"b", BytesCodec())
        self.int_lists = KeyedListStateFactory.from_context(ctx, "lists", b"i", IntCodec())
        if not hasattr(self, "model"):
            self.model: dict[Scope, list[Any]] = {}

    def _state(self, fixed: bool, pk: bytes, ns: bytes) -> Any:
        factory = self.int_lists if fixed else self.bytes_lists
        return factory.new_keyed_list(pk, ns)

    @staticmethod
    def _elements(data: st.DataObject, fixed: bool, max_size: int) -> list[Any]:
        return data.draw(st.lists(INTS if fixed else ELEMENT_BYTES, max_size=max_size))

    @rule(data=st.data(), fixed=st.booleans(), pk=PRIMARY_KEYS, ns=NAMESPACES)
    def add(self, data: st.DataObject, fixed: bool, pk: bytes, ns: bytes) -> None:
        (element,) = self._elements(data, fixed, 1) or [0 if fixed else b""]
        self._state(fixed, pk, ns).add(element)
        self.model.setdefault((b"i" if fixed else b"b", pk, ns), []).append(element)

    @rule(data=st.data(), fixed=st.booleans(), pk=PRIMARY_KEYS, ns=NAMESPACES)
    def add_all(self, data: st.DataObject, fixed: bool, pk: bytes, ns: bytes) -> None:
        elements = self._elements(data, fixed, 5)
        self._state(fixed, pk, ns).add_all(elements)
        self.model.setdefault((b"i" if fixed else b"b", pk, ns), []).extend(elements)

    @rule(data=st.data(), fixed=st.booleans(), pk=PRIMARY_KEYS, ns=NAMESPACES, count=COUNTS)
    def add_bulk(self, data: st.DataObject, fixed: bool, pk: bytes, ns: bytes, count: int) -> None:
        """Up to MAX_BULK ``add`` calls in one step: many merge operands on one entry."""
        elements = cycled(self._elements(data, fixed, 3) or [0 if fixed else b""], count)
        state = self._state(fixed, pk, ns)
        for element in elements:
            state.add(element)
        self.model.setdefault((b"i" if fixed else b"b", pk, ns), []).extend(elements)

    @rule(data=st.data(), fixed=st.booleans(), pk=PRIMARY_KEYS, ns=NAMESPACES)
    def update(self, data: st.DataObject, fixed: bool, pk: bytes, ns: bytes) -> None:
        elements = self._elements(data, fixed, 4)
        self._state(fixed, pk, ns).update(elements)
        self.model[b"i" if fixed else b"b", pk, ns] = list(elements)

    @rule(fixed=st.booleans(), pk=PRIMARY_KEYS, ns=NAMESPACES)
    def clear(self, fixed: bool, pk: bytes, ns: bytes) -> None:
        self._state(fixed, pk, ns).clear()
        self.model.pop((b"i" if fixed else b"b", pk, ns), None)

    @rule(fixed=st.booleans(), pk=PRIMARY_KEYS, ns=NAMESPACES)
    def get(self, fixed: bool, pk: bytes, ns: bytes) -> None:
        expected = self.model.get((b"i" if fixed else b"b", pk, ns), [])
        assert self._state(fixed, pk, ns).get() == expected


# -- MapState ------------------------------------------------------------------------------------


class MapMachine(_Machine):
    def bind(self, ctx: LocalContext) -> None:
        self.factories = {
            kg: KeyedMapStateFactory.from_context(ctx, "maps", kg, StringCodec(), IntCodec())
            for kg in (b"g", b"g\x00", b"h")
        }
        if not hasattr(self, "model"):
            self.model: dict[tuple[bytes, bytes, str], dict[str, int]] = {}

    def _map(self, kg: bytes, pk: bytes, name: str) -> Any:
        return self.factories[kg].new_keyed_map(pk, name)

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, name=NAMES, key=SHORT_TEXT, value=SMALL_INTS)
    def put(self, kg: bytes, pk: bytes, name: str, key: str, value: int) -> None:
        self._map(kg, pk, name).put(key, value)
        self.model.setdefault((kg, pk, name), {})[key] = value

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, name=NAMES, prefix=SHORT_TEXT, count=COUNTS)
    def put_bulk(self, kg: bytes, pk: bytes, name: str, prefix: str, count: int) -> None:
        """Up to MAX_BULK entries ``prefix + 000``, ``prefix + 001``, ... in one map, one step."""
        state = self._map(kg, pk, name)
        model = self.model.setdefault((kg, pk, name), {})
        for number in range(count):
            key = f"{prefix}{number:03d}"
            state.put(key, number % 7 - 3)
            model[key] = number % 7 - 3

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, name=NAMES, key=SHORT_TEXT)
    def delete(self, kg: bytes, pk: bytes, name: str, key: str) -> None:
        self._map(kg, pk, name).delete(key)
        self.model.get((kg, pk, name), {}).pop(key, None)

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, name=NAMES)
    def clear(self, kg: bytes, pk: bytes, name: str) -> None:
        self._map(kg, pk, name).clear()
        self.model.pop((kg, pk, name), None)

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, name=NAMES, key=SHORT_TEXT)
    def get(self, kg: bytes, pk: bytes, name: str, key: str) -> None:
        model = self.model.get((kg, pk, name), {})
        state = self._map(kg, pk, name)
        assert state.get(key) == (model.get(key), key in model)
        assert state.contains(key) == (key in model)

    @rule(kg=KEY_GROUPS, pk=PRIMARY_KEYS, name=NAMES)
    def all(self, kg: bytes, pk: bytes, name: str) -> None:
        model = self.model.get((kg, pk, name), {})
        state = self._map(kg, pk, name)
        assert list(state.all()) == sorted(model.items())
        assert state.is_empty() == (not model)

    @rule(
        kg=KEY_GROUPS,
        pk=PRIMARY_KEYS,
        name=NAMES,
        start=st.none() | SHORT_TEXT,
        end=st.none() | SHORT_TEXT,
        reverse=st.booleans(),
    )
    def items(
        self,
        *,
        kg: bytes,
        pk: bytes,
        name: str,
        start: str | None,
        end: str | None,
        reverse: bool,
    ) -> None:
        model = self.model.get((kg, pk, name), {})
        expected = sorted(
            (k, v)
            for k, v in model.items()
            if (start is None or k >= start) and (end is None or k < end)
        )
        if reverse:
            expected.reverse()
        state = self._map(kg, pk, name)
        assert list(state.items(start, end, reverse=reverse)) == expected
        assert list(state.keys(start, end, reverse=reverse)) == [k for k, _ in expected]
        assert list(state.values(start, end, reverse=reverse)) == [v for _, v in expected]


# -- PriorityQueueState --------------------------------------------------------------------------


class _QueueMachine(_Machine):
    """Elements of ``codec`` drawn from ``elements``; the model is a sorted multiset per scope.

    With lowered thresholds the cursor's window is 2 and its LRU holds one cursor and one resume
    point, so short runs reach window overflows, evictions, polls from a resume point (adds below
    it lower it) and cursors made from one; bulk adds and polls pass the production window.
    """

    codec: ClassVar[Any] = IntCodec()
    elements: ClassVar[st.SearchStrategy[Any]] = SMALL_INTS

    def bind(self, ctx: LocalContext) -> None:
        self.factory = KeyedPriorityQueueStateFactory.from_context(ctx, "queues", b"g", self.codec)
        if not hasattr(self, "model"):
            self.model: dict[tuple[bytes, bytes], list[Any]] = {}

    def _queue(self, pk: bytes, ns: bytes) -> Any:
        return self.factory.new_keyed_priority_queue(pk, ns)

    def _sorted(self, pk: bytes, ns: bytes) -> list[Any]:
        return sorted(self.model.get((pk, ns), []))

    @rule(data=st.data(), pk=PRIMARY_KEYS, ns=NAMESPACES)
    def add(self, data: st.DataObject, pk: bytes, ns: bytes) -> None:
        element = data.draw(self.elements)
        self._queue(pk, ns).add(element)
        self.model.setdefault((pk, ns), []).append(element)

    @rule(data=st.data(), pk=PRIMARY_KEYS, ns=NAMESPACES)
    def add_many(self, data: st.DataObject, pk: bytes, ns: bytes) -> None:
        elements = data.draw(st.lists(self.elements, max_size=12))
        queue = self._queue(pk, ns)
        for element in elements:
            queue.add(element)
        self.model.setdefault((pk, ns), []).extend(elements)

    @rule(data=st.data(), pk=PRIMARY_KEYS, ns=NAMESPACES, count=COUNTS)
    def add_bulk(self, data: st.DataObject, pk: bytes, ns: bytes, count: int) -> None:
        """Up to MAX_BULK adds in one step, then as many polls (``drain`` of them)."""
        elements = cycled(data.draw(st.lists(self.elements, min_size=1, max_size=4)), count)
        queue = self._queue(pk, ns)
        for element in elements:
            queue.add(element)
        model = self.model.setdefault((pk, ns), [])
        model.extend(elements)
        for _ in range(data.draw(st.integers(0, count), label="drain")):
            expected = min(model)
            assert queue.poll() == (expected, True)
            model.remove(expected)

    @rule(pk=PRIMARY_KEYS, ns=NAMESPACES)
    def peek(self, pk: bytes, ns: bytes) -> None:
        expected = self._sorted(pk, ns)
        assert self._queue(pk, ns).peek() == ((expected[0], True) if expected else (None, False))
        assert self._queue(pk, ns).is_empty() == (not expected)

    @rule(pk=PRIMARY_KEYS, ns=NAMESPACES, count=st.integers(1, 4))
    def poll(self, pk: bytes, ns: bytes, count: int) -> None:
        for _ in range(count):
            expected = self._sorted(pk, ns)
            got = self._queue(pk, ns).poll()
            if not expected:
                assert got == (None, False)
                return
            assert got == (expected[0], True)
            self.model[pk, ns].remove(expected[0])

    @rule(pk=PRIMARY_KEYS, ns=NAMESPACES)
    def clear(self, pk: bytes, ns: bytes) -> None:
        self._queue(pk, ns).clear()
        self.model.pop((pk, ns), None)

    @rule(pk=PRIMARY_KEYS, ns=NAMESPACES)
    def all(self, pk: bytes, ns: bytes) -> None:
        assert list(self._queue(pk, ns).all()) == self._sorted(pk, ns)

    @invariant()
    def cursors_hold_their_invariants(self) -> None:
        self.factory._shared._check()


class IntQueueMachine(_QueueMachine):
    """Fixed-size elements with many duplicates."""


class StringQueueMachine(_QueueMachine):
    """Variable-length elements, prefixes of one another and holding 0x00."""

    codec = StringCodec()
    elements = SHORT_TEXT


class TupleQueueMachine(_QueueMachine):
    """Composite elements whose first part varies in length."""

    codec = TupleCodec(BytesCodec(), IntCodec())
    elements = st.tuples(st.sampled_from([b"", b"a", b"a\x00", b"ab"]), SMALL_INTS)


# -- AggregatingState ----------------------------------------------------------------------------


class CountAndSum:
    def create_accumulator(self) -> tuple[int, int]:
        return (0, 0)

    def add(self, value: int, accumulator: tuple[int, int]) -> tuple[int, int]:
        return (accumulator[0] + 1, accumulator[1] + value)

    def get_result(self, accumulator: tuple[int, int]) -> tuple[int, int]:
        return accumulator

    def merge(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        return (a[0] + b[0], a[1] + b[1])


class AggregatingMachine(_Machine):
    def bind(self, ctx: LocalContext) -> None:
        self.factory = KeyedAggregatingStateFactory.from_context(
            ctx, "aggregates", b"g", TupleCodec(IntCodec(), IntCodec()), CountAndSum()
        )
        if not hasattr(self, "model"):
            self.model: dict[tuple[bytes, str], list[int]] = {}

    @rule(pk=PRIMARY_KEYS, name=NAMES, value=SMALL_INTS)
    def add(self, pk: bytes, name: str, value: int) -> None:
        self.factory.new_aggregating_state(pk, name).add(value)
        self.model.setdefault((pk, name), []).append(value)

    @rule(pk=PRIMARY_KEYS, name=NAMES)
    def clear(self, pk: bytes, name: str) -> None:
        self.factory.new_aggregating_state(pk, name).clear()
        self.model.pop((pk, name), None)

    @rule(pk=PRIMARY_KEYS, name=NAMES)
    def get(self, pk: bytes, name: str) -> None:
        values = self.model.get((pk, name))
        expected = ((len(values), sum(values)), True) if values is not None else (None, False)
        assert self.factory.new_aggregating_state(pk, name).get() == expected

    @rule(pk=PRIMARY_KEYS, into=NAMES, sources=st.lists(NAMES, max_size=3))
    def merge_namespaces(self, pk: bytes, into: str, sources: list[str]) -> None:
        self.factory.merge_namespaces(pk, into, sources)
        merged = self.model.get((pk, into))
        for name in sources:
            if name != into and (pk, name) in self.model:
                merged = (merged or []) + self.model.pop((pk, name))
        if merged is not None:
            self.model[pk, into] = merged


# -- ReducingState -------------------------------------------------------------------------------


def concat(a: str, b: str) -> str:
    return a + b


class ReducingMachine(_Machine):
    def bind(self, ctx: LocalContext) -> None:
        self.factory = KeyedReducingStateFactory.from_context(
            ctx, "reductions", b"g", StringCodec(), concat
        )
        if not hasattr(self, "model"):
            self.model: dict[tuple[bytes, bytes], str] = {}

    @rule(pk=PRIMARY_KEYS, ns=NAMESPACES, value=SHORT_TEXT)
    def add(self, pk: bytes, ns: bytes, value: str) -> None:
        self.factory.new_reducing_state(pk, ns).add(value)
        self.model[pk, ns] = self.model.get((pk, ns), "") + value

    @rule(pk=PRIMARY_KEYS, ns=NAMESPACES)
    def clear(self, pk: bytes, ns: bytes) -> None:
        self.factory.new_reducing_state(pk, ns).clear()
        self.model.pop((pk, ns), None)

    @rule(pk=PRIMARY_KEYS, ns=NAMESPACES)
    def get(self, pk: bytes, ns: bytes) -> None:
        expected = self.model.get((pk, ns))
        found = (pk, ns) in self.model
        assert self.factory.new_reducing_state(pk, ns).get() == (expected, found)

    @rule(pk=PRIMARY_KEYS, into=NAMESPACES, sources=st.lists(NAMESPACES, max_size=3))
    def merge_namespaces(self, pk: bytes, into: bytes, sources: list[bytes]) -> None:
        self.factory.merge_namespaces(pk, into, sources)
        for ns in sources:
            if ns != into and (pk, ns) in self.model:
                self.model[pk, into] = self.model.get((pk, into), "") + self.model.pop((pk, ns))


# -- every machine on every backend, under both threshold settings --------------------------------

MACHINES: dict[str, type[_Machine]] = {
    "value": ValueMachine,
    "list": ListMachine,
    "map": MapMachine,
    "int-queue": IntQueueMachine,
    "string-queue": StringQueueMachine,
    "tuple-queue": TupleQueueMachine,
    "aggregating": AggregatingMachine,
    "reducing": ReducingMachine,
}


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
@pytest.mark.parametrize("name", list(MACHINES))
def test_state_type_matches_its_model(thresholds: str, name: str, kind: str) -> None:
    machine = MACHINES[name]
    variant = type(f"{machine.__name__}On{kind.title()}", (machine,), {"backend_kind": kind})
    current = settings()
    examples = current.max_examples if kind == "memory" else max(10, current.max_examples // 3)
    examples = machine_examples(examples, thresholds)
    run_state_machine_as_test(variant, settings=settings(current, max_examples=examples))
