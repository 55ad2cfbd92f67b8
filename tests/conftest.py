"""Shared fixtures: every store test runs on every backend through the ``backend`` fixture."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from fssdk import Store
from fssdk.runtime import Backend, MemoryBackend, RocksDBBackend

settings.register_profile(
    "ci",
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
settings.register_profile(
    "thorough",
    max_examples=2_000,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BackendFactory = Callable[[], Backend]

BACKENDS: dict[str, Callable[[Path], BackendFactory]] = {
    "memory": lambda path: MemoryBackend,
    "rocksdb": lambda path: lambda: RocksDBBackend(path / "db"),
}


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
