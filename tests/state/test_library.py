"""What holds across the state library: exports, layering, identities, cheap per-key handles."""

from __future__ import annotations

import ast
import gc
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import fssdk_advanced
import fssdk_advanced.codecs
import fssdk_advanced.state
from fssdk import ComplexKey, StateConflictError, Store
from fssdk.runtime import LocalContext
from fssdk.stores import MemoryStore
from fssdk_advanced import (
    AggregatingState,
    IntCodec,
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
    ValueState,
)
from fssdk_advanced.state import _identity

PACKAGE = Path(fssdk_advanced.__file__).parent

API = {
    "SessionWindows",
    "SlidingWindows",
    "TumblingWindows",
    "Window",
    "WindowAssigner",
    "WindowedAggregation",
    "WindowResult",
    "StateTtl",
    "Timer",
    "TimerService",
    "KeyedProcessDriver",
    "ProcessTimer",
    "AggregateFunc",
    "AggregatingState",
    "Count",
    "Sum",
    "Min",
    "Max",
    "Mean",
    "BoolCodec",
    "BytesCodec",
    "Codec",
    "FloatCodec",
    "IntCodec",
    "JsonCodec",
    "KeyedAggregatingState",
    "KeyedAggregatingStateFactory",
    "KeyedListState",
    "KeyedListStateFactory",
    "KeyedMapState",
    "KeyedMapStateFactory",
    "KeyedPriorityQueueState",
    "KeyedPriorityQueueStateFactory",
    "KeyedReducingState",
    "KeyedReducingStateFactory",
    "KeyedValueState",
    "KeyedValueStateFactory",
    "ListState",
    "MapState",
    "MsgpackCodec",
    "PickleCodec",
    "PriorityQueueState",
    "ReducingState",
    "StateView",
    "StringCodec",
    "TupleCodec",
    "UnorderedCodecError",
    "ValueState",
    "default_codec_for",
}


class Count:
    def create_accumulator(self) -> int:
        return 0

    def add(self, value: int, accumulator: int) -> int:
        return accumulator + 1

    def get_result(self, accumulator: int) -> int:
        return accumulator

    def merge(self, a: int, b: int) -> int:
        return a + b


def add(a: int, b: int) -> int:
    return a + b


#: One way to declare each kind of state on ``(ctx, store_name, key_group)``, and to write 1.
KINDS: dict[str, Callable[[LocalContext, str, bytes], Callable[[], Any]]] = {
    "value": lambda ctx, name, kg: (
        lambda: (
            KeyedValueStateFactory.from_context(ctx, name, kg, IntCodec())
            .new_keyed_value(b"k", b"")
            .update(1)
        )
    ),
    "list": lambda ctx, name, kg: (
        lambda: (
            KeyedListStateFactory.from_context(ctx, name, kg, IntCodec())
            .new_keyed_list(b"k", b"")
            .add(1)
        )
    ),
    "map": lambda ctx, name, kg: (
        lambda: (
            KeyedMapStateFactory.from_context(ctx, name, kg, IntCodec(), IntCodec())
            .new_keyed_map(b"k", "")
            .put(1, 1)
        )
    ),
    "queue": lambda ctx, name, kg: (
        lambda: (
            KeyedPriorityQueueStateFactory.from_context(ctx, name, kg, IntCodec())
            .new_keyed_priority_queue(b"k", b"")
            .add(1)
        )
    ),
    "aggregating": lambda ctx, name, kg: (
        lambda: (
            KeyedAggregatingStateFactory.from_context(ctx, name, kg, IntCodec(), Count())
            .new_aggregating_state(b"k", "")
            .add(1)
        )
    ),
    "reducing": lambda ctx, name, kg: (
        lambda: (
            KeyedReducingStateFactory.from_context(ctx, name, kg, IntCodec(), add)
            .new_reducing_state(b"k", b"")
            .add(1)
        )
    ),
}


def test_exports_are_exactly_the_api() -> None:
    assert set(fssdk_advanced.__all__) == API
    for name in API:
        assert getattr(fssdk_advanced, name) is not None
    assert set(fssdk_advanced.state.__all__) <= API
    assert set(fssdk_advanced.codecs.__all__) - API == {
        "CodecBase",
        "codec_signature",
        "codec_schema",
        "schema_change",
    }


def test_keyed_state_names_are_the_state_classes() -> None:
    for kind in ("Value", "List", "Map", "PriorityQueue", "Aggregating", "Reducing"):
        keyed = getattr(fssdk_advanced, f"Keyed{kind}State")
        assert keyed is getattr(fssdk_advanced, f"{kind}State")


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_layers_import_downward_only() -> None:
    for path in (PACKAGE / "state").glob("*.py"):
        for module in _imports(path):
            top = module.split(".")[0]
            assert top not in {"rocksdict", "sortedcontainers", "msgpack"}, (path, module)
            assert not module.startswith(("fssdk.stores", "fssdk.runtime")), (path, module)
    for path in (PACKAGE / "codecs").glob("*.py"):
        for module in _imports(path):
            assert not module.startswith(("fssdk_advanced.state", "fssdk.", "rocksdict")), (
                path,
                module,
            )


def test_implementation_modules_are_private() -> None:
    for directory in (PACKAGE / "state", PACKAGE / "codecs"):
        for path in directory.glob("*.py"):
            assert path.name == "__init__.py" or path.name.startswith("_"), path


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(KINDS, 2)))
def test_one_identity_declared_as_two_kinds_conflicts(
    ctx: LocalContext, first: str, second: str
) -> None:
    KINDS[first](ctx, "s", b"g")()
    with pytest.raises(StateConflictError, match="store 's' key group b'g'"):
        KINDS[second](ctx, "s", b"g")()


@pytest.mark.parametrize("kind", list(KINDS))
def test_other_key_groups_and_store_names_are_other_identities(
    ctx: LocalContext, kind: str
) -> None:
    KINDS[kind](ctx, "s", b"g")()
    for other, declare in KINDS.items():
        declare(ctx, "s", b"group of " + other.encode())()
        declare(ctx, "store of " + other, b"g")()


def test_non_keyed_constructors_declare_the_empty_key_group(ctx: LocalContext) -> None:
    ValueState.from_context(ctx, "v", IntCodec())
    ListState.from_context(ctx, "l", IntCodec())
    MapState.from_context(ctx, "m", IntCodec(), IntCodec())
    PriorityQueueState.from_context(ctx, "q", IntCodec())
    AggregatingState.from_context(ctx, "a", IntCodec(), Count())
    ReducingState.from_context(ctx, "r", IntCodec(), add)
    for name in ("v", "l", "m", "q", "a", "r"):
        with pytest.raises(StateConflictError):
            KINDS["value" if name != "v" else "list"](ctx, name, b"")()


def test_every_kind_in_one_store_keeps_to_its_key_group(ctx: LocalContext) -> None:
    for kind, declare in KINDS.items():
        declare(ctx, "shared", kind.encode())()
    store = ctx.get_or_create_store("shared")
    for kind in KINDS:
        entries = list(store.scan_complex(kind.encode(), b"k", b""))
        assert len(entries) == 1, (kind, entries)


def test_the_identity_registry_does_not_keep_stores_alive() -> None:
    store = MemoryStore("gone")
    KeyedValueStateFactory(store, b"g", IntCodec())
    assert store in _identity._REGISTRY
    del store
    gc.collect()
    assert all(s.name != "gone" for s in _identity._REGISTRY)


class _CountingStore(MemoryStore):
    """Counts the data operations made on it (scopes included)."""

    def __init__(self) -> None:
        super().__init__("counting")
        self.calls = 0

    def get(self, key: ComplexKey) -> bytes | None:
        self.calls += 1
        return super().get(key)

    def put(self, key: ComplexKey, value: bytes) -> None:
        self.calls += 1
        super().put(key, value)

    def get_state(self, key: bytes) -> bytes | None:
        self.calls += 1
        return super().get_state(key)


def _factories(store: Store) -> list[Callable[[], object]]:
    value = KeyedValueStateFactory(store, b"v", IntCodec())
    lists = KeyedListStateFactory(store, b"l", IntCodec())
    maps = KeyedMapStateFactory(store, b"m", IntCodec(), IntCodec())
    queues = KeyedPriorityQueueStateFactory(store, b"q", IntCodec())
    aggregates = KeyedAggregatingStateFactory(store, b"a", IntCodec(), Count())
    reductions = KeyedReducingStateFactory(store, b"r", IntCodec(), add)
    return [
        lambda: value.new_keyed_value(b"k", b"w"),
        lambda: lists.new_keyed_list(b"k", b"w"),
        lambda: maps.new_keyed_map(b"k", "w"),
        lambda: queues.new_keyed_priority_queue(b"k", b"w"),
        lambda: aggregates.new_aggregating_state(b"k", "w"),
        lambda: reductions.new_reducing_state(b"k", b"w"),
    ]


def test_per_key_handles_touch_no_store_data() -> None:
    store = _CountingStore()
    makers = _factories(store)
    before = store.calls
    for make in makers:
        for _ in range(100):
            make()
    assert store.calls == before
