"""Shared fixtures: every store test runs on every backend through the ``backend`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fssdk import Store
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend
from fssdk.testing import load_profile, lowered_thresholds, register_profiles

# Profiles "ci" (the default) and "thorough" (HYPOTHESIS_PROFILE=thorough): see docs/testing.md.
register_profiles()
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
def ctx(backend: Backend) -> Iterator[LocalContext]:
    """A LocalContext over ``backend`` (every backend), closed after the test."""
    context = LocalContext(backend)
    yield context
    context.close()
