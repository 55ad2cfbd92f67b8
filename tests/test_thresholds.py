"""The threshold registry (fssdk.thresholds) and fssdk.testing.lowered_thresholds."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import fssdk.functionstream.guest._stores
import fssdk.stores._buffer
import fssdk_advanced.state._priority_queue
import fssdk_advanced.state._ttl
import fssdk_advanced.time._timers
from fssdk import thresholds
from fssdk.testing import lowered_thresholds
from fssdk.thresholds import Threshold, registered, threshold

#: Every size or count threshold of the stores, the state types, time and the engines' stores:
#: (module, name) -> (production, smallest). The Flink store has none (each call is one map
#: access or one read of the partition); windows have two caches of their own (the windows
#: whose ids they computed, the open (key, window) pairs whose timers they registered).
EXPECTED = {
    ("fssdk.stores._buffer", "AUTO_FLUSH_WRITES"): (32_768, 8),
    ("fssdk.stores._buffer", "FOLD_RATIO"): (2, 1),
    ("fssdk.stores._buffer", "ORDERED_AT"): (64, 1),
    ("fssdk.stores._buffer", "RECENT_RANGES"): (4096, 1),
    ("fssdk.stores._buffer", "SMALL_RANGE"): (16, 1),
    ("fssdk.stores._buffered", "ITEMS_FIRST_CHUNK"): (16, 1),
    ("fssdk.stores._buffered", "ITEMS_MOST_CHUNK"): (256, 2),
    ("fssdk.stores._rocksdb", "SKIPPABLE_KEYS"): (64, 1),
    ("fssdk.functionstream.guest._stores", "SEQ_BLOCK"): (65_536, 1),
    ("fssdk_advanced.state._priority_queue", "MAX_CURSORS"): (4096, 1),
    ("fssdk_advanced.state._priority_queue", "MAX_RESUME"): (65_536, 1),
    ("fssdk_advanced.state._priority_queue", "WINDOW"): (32, 2),
    ("fssdk_advanced.state._ttl", "CLEANUP_EVERY"): (16, 1),
    ("fssdk_advanced.state._ttl", "CLEANUP_STEP"): (32, 1),
    ("fssdk_advanced.state._ttl", "INDEX_BATCH"): (256, 1),
    ("fssdk_advanced.state._ttl", "INDEX_SLICES"): (8, 1),
    ("fssdk_advanced.state._ttl", "RECORDED_KEYS"): (16_384, 1),
    ("fssdk_advanced.time._timers", "WINDOW"): (64, 1),
    ("fssdk_advanced.windows._aggregation", "CACHED_WINDOWS"): (1024, 1),
    ("fssdk_advanced.windows._aggregation", "OPEN_WINDOWS"): (65_536, 1),
}


def declared() -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (found.module, found.name): (found.production, found.smallest)
        for found in registered()
        if found.module.startswith(("fssdk.", "fssdk_advanced."))
    }


def current(found: Threshold) -> object:
    return getattr(sys.modules[found.module], found.name)


def test_every_threshold_of_the_stores_state_and_time_is_declared() -> None:
    assert declared() == EXPECTED


def test_lowered_thresholds_sets_every_threshold_to_its_smallest_then_restores_it() -> None:
    assert all(current(found) == found.production for found in registered())
    with lowered_thresholds() as inside:
        assert {(found.module, found.name) for found in inside} >= set(EXPECTED)
        assert all(current(found) == found.smallest for found in registered())
        assert fssdk.stores._buffer.ORDERED_AT == 1
        assert fssdk_advanced.time._timers.WINDOW == 1
    assert all(current(found) == found.production for found in registered())


def test_lowered_thresholds_nest_and_restore_the_setting_around_them() -> None:
    with lowered_thresholds():
        with lowered_thresholds(False):
            assert fssdk_advanced.state._priority_queue.WINDOW == 32
        assert fssdk_advanced.state._priority_queue.WINDOW == 2
    assert fssdk_advanced.state._priority_queue.WINDOW == 32


def test_thresholds_are_restored_when_the_block_raises() -> None:
    with pytest.raises(KeyError), lowered_thresholds():
        raise KeyError("x")
    assert fssdk.stores._buffer.AUTO_FLUSH_WRITES == 32_768


@pytest.fixture
def late_module(tmp_path: Path) -> Iterator[str]:
    """The name of a module, not yet imported, that declares one threshold."""
    name = "fssdk_test_late_threshold"
    (tmp_path / f"{name}.py").write_text(
        "from fssdk.thresholds import threshold\n"
        "LIMIT = threshold(__name__, 'LIMIT', 100, smallest=3)\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield name
    sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)
    del thresholds._REGISTRY[name, "LIMIT"]


def test_a_module_first_imported_while_lowered_starts_lowered(late_module: str) -> None:
    with lowered_thresholds():
        module = importlib.import_module(late_module)
        assert module.LIMIT == 3
    assert module.LIMIT == 100
    with lowered_thresholds():
        assert module.LIMIT == 3


def test_a_declared_name_that_is_not_a_global_of_its_module_is_an_error() -> None:
    threshold(__name__, "NOT_A_GLOBAL", 10, smallest=1)
    try:
        with pytest.raises(AttributeError, match="NOT_A_GLOBAL"), lowered_thresholds():
            pass
        assert all(
            current(found) == found.production
            for found in registered()
            if found.name != "NOT_A_GLOBAL"
        ), "a refused lowering left thresholds lowered"
    finally:
        del thresholds._REGISTRY[__name__, "NOT_A_GLOBAL"]
    # refused before any threshold was lowered
    assert all(current(found) == found.production for found in registered())


@pytest.mark.parametrize(
    ("production", "smallest", "error", "named"),
    [
        (10, 11, ValueError, "smallest must be in"),
        (10, -1, ValueError, "smallest must be in"),
        (10.0, 1, TypeError, "production must be an int"),
        (10, True, TypeError, "smallest must be an int"),
    ],
)
def test_a_threshold_with_bad_values_is_refused_naming_them(
    production: object, smallest: object, error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=named):
        threshold("m", "X", production, smallest=smallest)  # type: ignore[arg-type]
    assert ("m", "X") not in {(found.module, found.name) for found in registered()}
