"""Peak memory while scanning one scope: a scan streams, so its peak must not grow with the scope.

Two measures, side by side for each scope size: the peak of Python allocations during the scan
(``tracemalloc``, which sees everything the Python layer holds, and nothing the engine caches in
C++) and the growth of the process' resident set high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs`` before the scan; it includes RocksDB's block cache, which is bounded by
its capacity, not by the scope). The figure in µs is the time per entry of the same scans.
"""

from __future__ import annotations

import gc
import re
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from rocksdict import ReadOptions

from benchmarks._data import KEY_GROUP, physical, scope_bounds
from benchmarks._harness import RawEnv, Settings, StoreEnv, Workload, timed
from fssdk import ComplexKey

SCOPE_KEY = b"scan-scope"
VALUE = b"v" * 16
FILL_CHUNK = 100_000


def _status_kib(field_name: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    found = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def _reset_rss_high_water() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def user_keys(n: int) -> Iterator[bytes]:
    """The n user keys of the scanned scope, ascending, 9 bytes each."""
    return (b"e%08x" % index for index in range(n))


@dataclass
class ScanBench:
    """Times whole scans of one scope; ``finish`` measures one more scan's peak memory."""

    ops: int
    scan: Callable[[], None]
    extra: dict[str, float] = field(default_factory=dict)

    def prepare(self, samples: int) -> None:
        """Nothing: the scope is filled when the bench is built."""

    def sample(self) -> float:
        """One whole scan, timed; nanoseconds per entry."""
        return timed(self.scan) / self.ops

    def finish(self) -> None:
        """Scan once more under tracemalloc, with the RSS high-water mark reset before."""
        gc.collect()
        resettable = _reset_rss_high_water()
        rss_before = _status_kib("VmRSS")
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            baseline = tracemalloc.get_traced_memory()[0]
            self.scan()
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
        high_water = _status_kib("VmHWM")
        self.extra["tracemalloc_peak_bytes"] = float(peak)
        if resettable and rss_before is not None and high_water is not None:
            self.extra["rss_growth_bytes"] = float(max(0, high_water - rss_before) * 1024)
        else:
            self.extra["rss_growth_bytes"] = float("nan")


def scan_memory(env: StoreEnv, n: int, settings: Settings) -> ScanBench:
    """One scope of n flushed entries (9-byte user keys, 16-byte values) scanned whole with
    ``Store.scan_complex``, consuming each pair."""
    store = env.store("bench")
    keys = user_keys(n)
    for _ in range(0, n, FILL_CHUNK):
        for user_key in islice(keys, FILL_CHUNK):
            store.put(ComplexKey(KEY_GROUP, SCOPE_KEY, b"", user_key), VALUE)
        env.flush()

    def scan() -> None:
        for _pair in store.scan_complex(KEY_GROUP, SCOPE_KEY, b""):
            pass

    return ScanBench(n, scan)


def raw_scan_memory(env: RawEnv, n: int, settings: Settings) -> ScanBench:
    """Raw: the same physical keys scanned with ``Rdict.items(from_key=low)`` and the scope's
    upper bound."""
    db: Any = env.db
    for user_key in user_keys(n):
        db.put(physical(ComplexKey(KEY_GROUP, SCOPE_KEY, b"", user_key)), VALUE)
    low, high = scope_bounds(KEY_GROUP, SCOPE_KEY, b"")

    def scan() -> None:
        options = ReadOptions()
        options.set_iterate_upper_bound(high)
        for _pair in db.items(from_key=low, read_opt=options):
            pass

    return ScanBench(n, scan)


def _scan_sizes(settings: Settings) -> tuple[int, ...]:
    return settings.scan_sizes


WORKLOADS = (
    Workload(
        "memory.scan", scan_memory, raw_scan_memory, points=_scan_sizes, unit="entry", curve=True
    ),
)
