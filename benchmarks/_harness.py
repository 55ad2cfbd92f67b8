"""The measuring harness: run settings, targets, temporary databases, timing and statistics.

Method, the same for every figure:

- each (workload, size, target) gets a fresh database in a temporary directory, removed afterwards;
- the workload's builder prepares its data and state untimed, from the same seeded data for every
  target, and returns a :class:`Bench`;
- a bench runs ``warmup`` untimed times, then ``repeats`` timed times; before each run its
  optional ``setup`` runs untimed and the garbage collector is emptied (``gc.collect()``) so that
  no run pays for garbage left by the previous one; the collector stays enabled during runs, as
  it is for users;
- a run is timed with ``time.perf_counter_ns`` around the whole loop and divided by the number
  of operations it performs: the figure is nanoseconds per operation, reported in µs;
- the reported value is the median of the repeats, the spread their interquartile range (the
  JSON file also has min, max and every sample).
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from rocksdict import Options, Rdict

from fssdk import Store
from fssdk.runtime import Backend, LocalContext, MemoryBackend, RocksDBBackend

RAW: Final = "raw"
RAW_BATCH: Final = "raw-batch"
MEMORY: Final = "memory"
ROCKSDB: Final = "rocksdb"

#: Every target in table order: raw rocksdict (the floor), raw with WriteBatch, the two backends.
TARGETS: Final = (RAW, RAW_BATCH, MEMORY, ROCKSDB)

#: ``--backend`` choices and the targets each selects (``raw`` brings its WriteBatch row along).
BACKEND_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "raw": (RAW, RAW_BATCH),
    "memory": (MEMORY,),
    "rocksdb": (ROCKSDB,),
}


@dataclass(frozen=True)
class Settings:
    """Sizes and repeat counts of one run (``FULL`` or ``QUICK``)."""

    quick: bool
    repeats: int
    warmup: int
    records: int
    list_lengths: tuple[int, ...]
    queue_sizes: tuple[int, ...]
    map_sizes: tuple[int, ...]
    scan_sizes: tuple[int, ...]
    #: Iterations of each ``scaling.clear_loop`` figure (today's cost grows with them).
    clear_loops: tuple[int, ...]
    #: Input records of the end-to-end workloads.
    events: int
    #: Writing workloads flush the backend (a checkpoint) after this many operations.
    checkpoint_every: int = 3_000


FULL: Final = Settings(
    quick=False,
    repeats=5,
    warmup=1,
    records=100_000,
    list_lengths=(10, 100, 1_000, 10_000, 100_000),
    queue_sizes=(1_000, 10_000, 100_000, 1_000_000),
    map_sizes=(10, 100, 1_000, 10_000, 100_000),
    scan_sizes=(10_000, 100_000, 1_000_000),
    clear_loops=(500, 2_500),
    events=40_000,
)

QUICK: Final = Settings(
    quick=True,
    repeats=3,
    warmup=1,
    records=2_000,
    list_lengths=(10, 100, 1_000),
    queue_sizes=(1_000, 5_000),
    map_sizes=(10, 100, 1_000),
    scan_sizes=(1_000, 10_000),
    clear_loops=(100, 500),
    events=2_000,
)


class StoreEnv:
    """A fresh backend (MemoryBackend or RocksDBBackend) and a LocalContext over it."""

    def __init__(self, target: str, backend: Backend) -> None:
        self.target: Final = target
        self.backend: Final = backend
        self.ctx: Final = LocalContext(backend)

    def store(self, name: str) -> Store:
        """The context's store called ``name``."""
        return self.ctx.get_or_create_store(name)

    def flush(self) -> None:
        """A checkpoint's write: make everything written so far durable."""
        self.backend.flush()


class RawEnv:
    """A fresh raw-mode rocksdict database: the floor every other row is compared to."""

    def __init__(self, target: str, db: Any) -> None:
        self.target: Final = target
        self.db: Final[Any] = db

    @property
    def batched(self) -> bool:
        """True for the ``raw-batch`` row, which writes through WriteBatches."""
        return self.target == RAW_BATCH


Env = StoreEnv | RawEnv


@contextmanager
def open_env(target: str, root: Path) -> Iterator[Env]:
    """A fresh environment for ``target`` under ``root``; its database is deleted on exit."""
    path = Path(tempfile.mkdtemp(prefix=f"{target}-", dir=root))
    try:
        if target in (RAW, RAW_BATCH):
            db = Rdict(str(path / "db"), Options(raw_mode=True))
            try:
                yield RawEnv(target, db)
            finally:
                gc.collect()
                db.close()
        else:
            backend: Backend = MemoryBackend() if target == MEMORY else RocksDBBackend(path / "db")
            env = StoreEnv(target, backend)
            try:
                yield env
            finally:
                env.ctx.close()
                backend.close()
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Measurable(Protocol):
    """What a workload builder returns: something that yields per-operation timings.

    ``prepare`` runs once before the first sample, ``sample`` times one run (its own untimed
    setup first) and ``finish`` runs once after the last; all three are driven by
    :func:`measure`, or by the runner, which interleaves the samples of every target.
    """

    ops: int
    extra: dict[str, float]

    def prepare(self, samples: int) -> None:
        """Get ready for ``samples`` calls to ``sample`` (warm-up included)."""
        ...

    def sample(self) -> float:
        """Nanoseconds per operation of one timed run."""
        ...

    def finish(self) -> None:
        """Untimed work after the last sample (memory figures go into ``extra``)."""
        ...


def timed(run: Callable[[], None]) -> int:
    """Nanoseconds ``run()`` takes, after emptying the garbage collector (untimed)."""
    gc.collect()
    started = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - started


def measure(bench: Measurable, repeats: int, warmup: int) -> list[float]:
    """Per-operation nanoseconds of ``repeats`` samples of ``bench`` after ``warmup`` samples."""
    bench.prepare(warmup + repeats)
    samples = [bench.sample() for _ in range(warmup + repeats)][warmup:]
    bench.finish()
    return samples


@dataclass
class Bench:
    """``run`` performs ``ops`` operations; ``setup`` (untimed) restores its starting state."""

    ops: int
    run: Callable[[], None]
    setup: Callable[[], None] | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def prepare(self, samples: int) -> None:
        """Nothing: a Bench is ready when built."""

    def sample(self) -> float:
        """``setup`` untimed, then ``run`` timed; nanoseconds per operation."""
        if self.setup is not None:
            self.setup()
        return timed(self.run) / self.ops

    def finish(self) -> None:
        """Nothing to add."""


@dataclass(frozen=True)
class Stats:
    """Summary of per-operation timings in µs: median, quartiles and extremes."""

    median: float
    q1: float
    q3: float
    low: float
    high: float

    @property
    def iqr(self) -> float:
        """Interquartile range (µs)."""
        return self.q3 - self.q1

    @classmethod
    def of(cls, samples_us: Sequence[float]) -> Stats:
        """Statistics of ``samples_us`` (at least one sample)."""
        if len(samples_us) == 1:
            only = samples_us[0]
            return cls(only, only, only, only, only)
        q1, median, q3 = statistics.quantiles(samples_us, n=4, method="inclusive")
        return cls(median, q1, q3, min(samples_us), max(samples_us))


def chunked(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """``items`` cut into consecutive slices of ``size`` (the last may be shorter).

    Writing workloads loop over these slices and checkpoint after each, so every target runs the
    same loop shape.
    """
    return [items[start : start + size] for start in range(0, len(items), size)]


class Generations:
    """Fresh data for every run, the same on every target: run i uses what ``build(i)`` returns.

    Workloads that consume or grow their state (appends to new lists, polls) call ``advance`` in
    their untimed ``setup``.
    """

    def __init__(self, build: Callable[[int], Any]) -> None:
        self._build = build
        self._next = 0
        self.current: Any = None

    def advance(self) -> None:
        """Build the next run's data."""
        self.current = self._build(self._next)
        self._next += 1


StoreBuilder = Callable[[StoreEnv, int, Settings], Measurable]
RawBuilder = Callable[[RawEnv, int, Settings], Measurable]


def _records(settings: Settings) -> Sequence[int]:
    return (settings.records,)


@dataclass(frozen=True)
class Workload:
    """A named workload: how to build it on the backends and on raw rocksdict, at which sizes.

    ``store`` runs on the memory and rocksdb targets, ``raw`` on raw rocksdict (and, when
    ``batch_row`` is set, a second time through WriteBatches). Their docstrings give the
    operation mix and are copied into the results. ``points`` lists the sizes ``n`` to run (one
    for a plain workload, several for a scaling curve); ``requires`` names what the workload
    needs from ``fssdk_advanced``, so that it is reported as skipped while that is missing.
    """

    name: str
    store: StoreBuilder | None
    raw: RawBuilder | None = None
    points: Callable[[Settings], Sequence[int]] = _records
    requires: tuple[str, ...] = ()
    unit: str = "op"
    batch_row: bool = False
    curve: bool = False

    @property
    def family(self) -> str:
        """The part of the name before the first dot (``value`` for ``value.update``)."""
        return self.name.split(".", 1)[0]

    @property
    def description(self) -> str:
        """The operation mix, from the builders' docstrings."""
        parts = [
            " ".join((builder.__doc__ or "").split())
            for builder in (self.store, self.raw)
            if builder is not None
        ]
        return " ".join(part for part in parts if part)

    def targets(self) -> tuple[str, ...]:
        """The targets this workload has a row for, in table order."""
        found: list[str] = []
        if self.raw is not None:
            found.append(RAW)
            if self.batch_row:
                found.append(RAW_BATCH)
        if self.store is not None:
            found.extend((MEMORY, ROCKSDB))
        return tuple(found)
