"""Shared fixtures: every store test runs on every backend through the ``backend`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from fssdk import Store
from fssdk.flink._cluster import LocalCluster
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk.stores import MemoryStore
from fssdk.testing import load_profile, lowered_thresholds, register_profiles
from tests.support import flink_missing

# Profiles "ci" (the default) and "thorough" (HYPOTHESIS_PROFILE=thorough): see docs/testing.md.
register_profiles()
# The mutation run's (python -m tests.mutation): few examples, and the same ones on every run, so
# that every mutant meets the same tests.
settings.register_profile("mutation", settings.get_profile("ci"), max_examples=10, derandomize=True)
load_profile()

BackendFactory = Callable[[], Backend]

BACKENDS: dict[str, Callable[[Path], BackendFactory]] = {
    "memory": lambda path: MemoryBackend,
    "rocksdb": lambda path: lambda: RocksDBBackend(path / "db"),
}


@pytest.fixture(params=["production", "lowered"])
def thresholds(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test twice: with every threshold at its production value, then at its smallest
    (``fssdk.testing.lowered_thresholds``). Request it before the fixtures that make stores."""
    with lowered_thresholds(request.param == "lowered"):
        yield request.param


@pytest.fixture(params=sorted(BACKENDS))
def backend_factory(request: pytest.FixtureRequest, tmp_path: Path) -> BackendFactory:
    """Opens a backend over the same data each time it is called (RocksDB: a real database)."""
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def backend(backend_factory: BackendFactory) -> Iterator[Backend]:
    with backend_factory() as opened:
        yield opened


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store("test-store")


@pytest.fixture
def durable_backend_factory(
    request: pytest.FixtureRequest, backend_factory: BackendFactory
) -> BackendFactory:
    """``backend_factory`` for the tests of what survives a close: skipped for MemoryBackend."""
    if request.node.callspec.params["backend_factory"] == "memory":
        pytest.skip("MemoryBackend keeps nothing once closed")
    return backend_factory


@pytest.fixture
def reopening_backend_factory(
    request: pytest.FixtureRequest, backend_factory: BackendFactory
) -> BackendFactory:
    """``backend_factory`` whose backends all hold the same data, on every backend: for memory,
    each backend takes over the stores of the last one, which reopen over their entries as new
    store objects (as a new process sees them)."""
    if request.node.callspec.params["backend_factory"] != "memory":
        return backend_factory
    stores: dict[str, MemoryStore] = {}

    def reopen() -> Backend:
        backend = MemoryBackend()
        backend._stores = stores
        return backend

    return reopen


@pytest.fixture
def ctx(backend: Backend) -> Iterator[LocalContext]:
    """A LocalContext over ``backend`` (every backend), closed after the test."""
    context = LocalContext(backend)
    yield context
    context.close()


@pytest.fixture(scope="session")
def flink_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A local Flink session cluster of 2 TaskManagers (1 slot each), one for the test session.

    Started on first use (about 20 s, 5 GB of memory); stopped at the end of the session by
    its own process ids, whether the tests passed or not. Skips where Flink cannot run.
    """
    missing = flink_missing()
    if missing is not None:
        pytest.skip(missing)
    cluster = LocalCluster(tmp_path_factory.mktemp("flink-cluster"), taskmanagers=2, port=0)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
