"""End to end: a realistic operator fed through the runner, ``fssdk run`` on memory and RocksDB.

``e2e.sessions`` runs :mod:`benchmarks.operators.sessions` (five state types, timers in a
priority queue fired on watermarks) over generated page views with :func:`fssdk.runtime.
run_operator`, the function behind ``fssdk run``: ``--memory`` on the memory row, a fresh
``--state-dir`` (RocksDB, a checkpoint every 10 000 records and at the end) on the rocksdb row.
The figure is µs per input record of the whole run: loading the operator, parsing, state,
watermarks, checkpoints and output. There is no raw row; the target compares the two backends.

``e2e.windows`` runs :mod:`benchmarks.operators.windows` (a WindowedAggregation of per-key sums
in tumbling 10 s windows) over 300 000 generated events on 1 000 keys, out of order by less than
the watermark delay, with the runner's default watermarks and checkpoints: the job of issue 19,
which ``benchmarks/peers/bytewax_windows.py`` also runs on Bytewax.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from benchmarks._data import SEED
from benchmarks._harness import MEMORY, Settings, StoreEnv, Workload
from fssdk.runtime import RunSummary, run_operator

#: The operator file, run the way ``fssdk run`` runs it.
OPERATOR: Final = Path(__file__).resolve().parent / "operators" / "sessions.py"
#: Users the page views are spread over.
USERS: Final = 2_000
#: Session gap of the operator (its ``gap_ms`` config): a user idle this long ends a session.
GAP_MS: Final = 30_000
#: Largest delay of a view behind its event time: the input's disorder.
MAX_DELAY_MS: Final = 3_000
#: The runner's watermark settings: every 100 records, 2 s behind the largest ``ts`` seen.
WATERMARK_EVERY: Final = 100
WATERMARK_DELAY_MS: Final = 2_000
#: Event time of the first view (ms since the epoch).
EPOCH_MS: Final = 1_700_000_000_000
#: The windowed job: its operator, keys, window size and the input's disorder (< the delay).
WINDOWS_OPERATOR: Final = Path(__file__).resolve().parent / "operators" / "windows.py"
WINDOW_KEYS: Final = 1_000
WINDOW_MS: Final = 10_000
WINDOW_DISORDER_MS: Final = WATERMARK_DELAY_MS - 1
#: Input records of the full run (``--quick`` runs ``Settings.events``).
WINDOW_EVENTS: Final = 300_000
WINDOWS_REQUIRES: Final = ("WindowedAggregation", "TumblingWindows", "Sum")
REQUIRES: Final = (
    "KeyedValueStateFactory",
    "KeyedListStateFactory",
    "KeyedMapStateFactory",
    "KeyedAggregatingStateFactory",
    "PriorityQueueState",
    "ValueState",
)
PAGES: Final = tuple(f"/p/{index}" for index in range(50))


def page_views(n: int, *, seed: int = SEED) -> list[bytes]:
    """``n`` JSON page views, one per line, in arrival order (event time plus up to 3 s).

    Sessions start about every 0.4 s on a random idle user and hold 2-30 views 0.5-10 s apart;
    a user is idle for more than the gap between two of its sessions. Pages follow a skewed
    distribution; the same ``seed`` gives the same bytes.
    """
    rng = random.Random(seed)
    views: list[tuple[int, int, bytes]] = []
    idle_from: dict[int, int] = {}
    start = EPOCH_MS
    while len(views) < n:
        start += rng.randint(0, 800)
        user = rng.randrange(USERS)
        if idle_from.get(user, start) > start:
            continue
        ts = start
        for _ in range(rng.randint(2, 30)):
            page = PAGES[min(int(rng.expovariate(0.15)), len(PAGES) - 1)]
            line = json.dumps(
                {
                    "user": f"u{user:05d}",
                    "ts": ts,
                    "page": page,
                    "dwell_ms": rng.randint(100, 30_000),
                }
            ).encode()
            views.append((ts + rng.randint(0, MAX_DELAY_MS), len(views), line))
            last, ts = ts, ts + rng.randint(500, 10_000)
        idle_from[user] = last + GAP_MS + 1
    views.sort()
    return [line for _, _, line in views[:n]]


def window_events(n: int, *, seed: int = SEED) -> list[bytes]:
    """``n`` JSON events ``{"key", "ts", "value"}``, one per line, in arrival order.

    Arrivals are about 1 ms apart (0-2 ms); each event's ``ts`` is its arrival time minus up to
    :data:`WINDOW_DISORDER_MS`, strictly less than the watermark delay, so with watermarks
    :data:`WATERMARK_DELAY_MS` behind the largest ``ts`` seen no event is late. Keys are spread
    uniformly over :data:`WINDOW_KEYS`, values are 1-1000; the same ``seed`` gives the same bytes.
    """
    rng = random.Random(seed)
    events: list[bytes] = []
    arrival = EPOCH_MS + WINDOW_DISORDER_MS
    for _ in range(n):
        arrival += rng.randint(0, 2)
        event = {
            "key": f"k{rng.randrange(WINDOW_KEYS):04d}",
            "ts": arrival - rng.randint(0, WINDOW_DISORDER_MS),
            "value": rng.randint(1, 1_000),
        }
        events.append(json.dumps(event).encode())
    return events


def write_window_events(path: Path, n: int) -> None:
    """Write :func:`window_events` ``(n)`` to ``path``, one per line: the windows operator's
    input file."""
    path.write_bytes(b"\n".join(window_events(n)) + b"\n")


def write_page_views(path: Path, n: int) -> None:
    """Write :func:`page_views` ``(n)`` to ``path``, one per line: the operator's input file."""
    path.write_bytes(b"\n".join(page_views(n)) + b"\n")


def _run(
    operator: Path,
    input: Path,
    output: Path,
    state_dir: Path | None,
    *,
    config: dict[str, str],
    watermark_every: int | None,
) -> RunSummary:
    """``run_operator`` as ``fssdk run`` runs it: on RocksDB in ``state_dir`` (a checkpoint
    every 10 000 records and at the end), or ``--memory`` without one; event time from ``ts``,
    watermarks 2 s behind it and a final one."""
    return run_operator(
        str(operator),
        input=str(input),
        output=str(output),
        state_dir=state_dir,
        memory=state_dir is None,
        config=config,
        watermark_every=watermark_every,
        watermark_field="ts",
        watermark_delay=WATERMARK_DELAY_MS,
        final_watermark=True,
        warn=lambda message: None,
    )


def run_sessions(input: Path, output: Path, state_dir: Path | None) -> RunSummary:
    """Run the sessions operator over ``input`` as ``fssdk run`` does, with a watermark every
    100 records: on RocksDB in ``state_dir``, or ``--memory`` without one. Sessions go to
    ``output``, late views to ``output`` + ``.1``."""
    config = {"gap_ms": str(GAP_MS)}
    return _run(OPERATOR, input, output, state_dir, config=config, watermark_every=WATERMARK_EVERY)


def run_windows(input: Path, output: Path, state_dir: Path | None) -> RunSummary:
    """Run the windows operator over ``input`` as ``fssdk run`` does, with the runner's
    default watermarks (after every record that raises the largest ``ts``) and checkpoints:
    on RocksDB in ``state_dir``, or ``--memory`` without one. Windows go to ``output``, late
    events to ``output`` + ``.1``."""
    config = {"window_ms": str(WINDOW_MS)}
    return _run(WINDOWS_OPERATOR, input, output, state_dir, config=config, watermark_every=None)


@dataclass(frozen=True)
class Job:
    """An end-to-end job: how to write its input and run it, and what its outputs count.

    ``emitted`` names the records of target 0 (``sessions``), ``late`` those of target 1.
    """

    write: Callable[[Path, int], None]
    run: Callable[[Path, Path, Path | None], RunSummary]
    emitted: str
    late: str


SESSIONS: Final = Job(write_page_views, run_sessions, "sessions", "late_views")
WINDOWS: Final = Job(write_window_events, run_windows, "windows", "late_events")


@dataclass
class RunnerBench:
    """Each sample is one whole run of ``job`` over the same input file, from a fresh start.

    The input is written once; each sample's untimed setup removes the previous run's state
    directory and outputs. ``extra`` gets what the last run emitted and what it found late, so
    that the two rows can be checked to have done the same work.
    """

    memory: bool
    n: int
    job: Job = SESSIONS
    ops: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ops = self.n
        self.root = Path(tempfile.mkdtemp(prefix="fssdk-bench-e2e-"))
        weakref.finalize(self, shutil.rmtree, self.root, True)
        self.input = self.root / "events.jsonl"
        self.job.write(self.input, self.n)
        self.output = self.root / "out.jsonl"
        self.state = self.root / "state"

    def prepare(self, samples: int) -> None:
        """Nothing: the input is written."""

    def _reset(self) -> None:
        shutil.rmtree(self.state, ignore_errors=True)
        for path in self.root.glob("out.jsonl*"):
            path.unlink()

    def sample(self) -> float:
        """One run of the operator over the input; nanoseconds per input record."""
        self._reset()
        started = time.perf_counter_ns()
        summary = self.job.run(self.input, self.output, None if self.memory else self.state)
        elapsed = time.perf_counter_ns() - started
        if summary.records_this_run != self.n:
            raise RuntimeError(f"the run consumed {summary.records_this_run} of {self.n} records")
        return elapsed / self.n

    def finish(self) -> None:
        """Count what the last run emitted and found late, then remove the files."""
        late = self.root / "out.jsonl.1"
        self.extra[self.job.emitted] = float(len(self.output.read_bytes().splitlines()))
        self.extra[self.job.late] = float(
            len(late.read_bytes().splitlines()) if late.exists() else 0
        )
        shutil.rmtree(self.root, ignore_errors=True)


def sessions(env: StoreEnv, n: int, settings: Settings) -> RunnerBench:
    """Per input record: ``run_operator`` of the sessions operator (value, list, map, aggregating
    state per user; a priority queue of timers fired on watermarks) over n generated JSON page
    views with disorder, a watermark every 100 records, ``--memory`` or a fresh RocksDB state dir
    with a checkpoint every 10 000 records; the whole run timed."""
    return RunnerBench(memory=env.target == MEMORY, n=n)


def windows(env: StoreEnv, n: int, settings: Settings) -> RunnerBench:
    """Per input record: ``run_operator`` of the windows operator (WindowedAggregation of a
    built-in Sum per key in tumbling 10 s windows) over n generated JSON events on 1 000 keys,
    out of order by less than the 2 s watermark delay (nothing late), the runner's default
    watermarks and checkpoints: ``--memory`` or a fresh RocksDB state dir with a checkpoint
    every 10 000 records; the whole run timed."""
    return RunnerBench(memory=env.target == MEMORY, n=n, job=WINDOWS)


def _events(settings: Settings) -> tuple[int, ...]:
    return (settings.events,)


def _window_events(settings: Settings) -> tuple[int, ...]:
    return (settings.events if settings.quick else WINDOW_EVENTS,)


WORKLOADS = (
    Workload("e2e.sessions", sessions, points=_events, requires=REQUIRES, unit="record"),
    Workload(
        "e2e.windows", windows, points=_window_events, requires=WINDOWS_REQUIRES, unit="record"
    ),
)
