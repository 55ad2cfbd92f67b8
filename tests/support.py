"""Helpers shared by the test packages: the command line, database dumps, a counting store,
runs over the same data, dataclasses made on the fly.

Fixtures live in ``tests/conftest.py``; what a test calls by name lives here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from rocksdict import AccessType, Options, Rdict

from fssdk import ComplexKey, Store
from fssdk import Iterator as StoreIterator
from fssdk._store import Pair
from fssdk.runtime import Backend, LocalContext

ROOT = Path(__file__).resolve().parents[1]
R = TypeVar("R")


def in_run(open_backend: Callable[[], Backend], body: Callable[[LocalContext], R]) -> R:
    """Run ``body`` on a fresh backend over the same data, then close it (a process's life)."""
    with open_backend() as backend:
        ctx = LocalContext(backend)
        try:
            return body(ctx)
        finally:
            ctx.close()


def record(name: str = "Point", **fields: Any) -> type:
    """A dataclass named ``name``; a field is a type or ``(type, default)``."""
    specs: list[Any] = []
    for field_name, spec in fields.items():
        if isinstance(spec, tuple):
            specs.append((field_name, spec[0], dataclasses.field(default=spec[1])))
        else:
            specs.append((field_name, spec))
    cls = dataclasses.make_dataclass(name, specs)
    cls.__module__ = __name__
    return cls


def flink_missing() -> str | None:
    """Why Flink cannot run here (no PyFlink, no Java), or None when it can."""
    if importlib.util.find_spec("pyflink") is None:
        return "PyFlink is not installed: pip install 'fssdk[flink]'"
    if shutil.which("java") is None:
        return "Java is not on the PATH: Flink needs Java 17"
    return None


def run_fssdk(
    *args: object,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    prefix: tuple[str, ...] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m fssdk ARGS`` in a subprocess; its stderr never holds a Python traceback.

    ``prefix`` goes before the interpreter (``("nice",)``, say); ``env`` is added to this
    process's environment, with the project root on ``PYTHONPATH``.
    """
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "fssdk", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        input=stdin,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def database_dump(path: Path) -> list[tuple[str, object, object]]:
    """Every entry of every column family of the RocksDB database at ``path``, in order."""
    families = Rdict.list_cf(str(path))
    db = Rdict(
        str(path),
        Options(raw_mode=True),
        access_type=AccessType.read_only(),
        column_families={n: Options(raw_mode=True) for n in families if n != "default"},
    )
    try:
        entries: list[tuple[str, object, object]] = [("default", k, v) for k, v in db.items()]
        for name in sorted(families):
            if name != "default":
                entries += [(name, k, v) for k, v in db.get_column_family(name).items()]
    finally:
        db.close()
    return entries


class CountingStore(Store):
    """A store that forwards to ``inner`` and counts what reaches it: point ``reads``,
    ``scans``, entries ``scanned`` and ``writes``. For tests of cost claims."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner.name)
        self.inner = inner
        self.reads = self.scans = self.scanned = self.writes = 0

    def reset(self) -> None:
        self.reads = self.scans = self.scanned = self.writes = 0

    def _put_state(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        self.inner.put_state(key, value)

    def _get_state(self, key: bytes) -> bytes | None:
        self.reads += 1
        return self.inner.get_state(key)

    def _delete_state(self, key: bytes) -> None:
        self.writes += 1
        self.inner.delete_state(key)

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        self.scans += 1
        found = self.inner.list_states(start_inclusive, end_exclusive)
        self.scanned += len(found)
        return found

    def _put(self, key: ComplexKey, value: bytes) -> None:
        self.writes += 1
        self.inner.put(key, value)

    def _get(self, key: ComplexKey) -> bytes | None:
        self.reads += 1
        return self.inner.get(key)

    def _delete(self, key: ComplexKey) -> None:
        self.writes += 1
        self.inner.delete(key)

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        self.writes += 1
        self.inner.merge(key, value)

    def _delete_prefix(self, key: ComplexKey) -> None:
        self.writes += 1
        self.inner.delete_prefix(key)

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> Iterator[Pair]:
        self.scans += 1
        inner = self.inner.scan_complex(*low.scope, start=low.user_key, end=end, reverse=reverse)
        return self._counted(inner)

    def _counted(self, inner: StoreIterator) -> Iterator[Pair]:
        with inner:
            for pair in inner:
                self.scanned += 1
                yield pair


def python_frames(operation: Callable[[], object]) -> list[str]:
    """The Python-level function calls ``operation()`` makes, as ``module:function`` in call
    order (``sys.setprofile``'s ``call`` events, generator resumptions included, the call of
    ``operation`` itself not; C functions are not Python frames and do not count)."""
    frames: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            code = frame.f_code
            frames.append(f"{Path(code.co_filename).stem}:{code.co_name}")

    sys.setprofile(profile)
    try:
        operation()
    finally:
        sys.setprofile(None)
    return frames[1:]


def python_calls(operation: Callable[[], object]) -> int:
    """How many Python-level function calls ``operation()`` makes (:func:`python_frames`).

    Deterministic where timing is not: a call-budget test pins this count for a hot path, so a
    change that adds frames fails a test instead of a benchmark months later.
    """
    return len(python_frames(operation))


def sizes_around(*thresholds: int, most: int | None = None) -> list[int]:
    """Sizes on both sides of each threshold: ``t - 1``, ``t``, ``t + 1`` (a size is a count of
    entries; ``t`` entries are at the threshold, ``t + 1`` past it), plus 0, 1 and ``2t + 3``,
    sorted, none above ``most``. Call it inside the test, so that it sees lowered thresholds."""
    sizes = {0, 1}
    for value in thresholds:
        sizes |= {value - 1, value, value + 1, 2 * value + 3}
    return sorted(size for size in sizes if size >= 0 and (most is None or size <= most))


def machine_examples(examples: int, thresholds: str) -> int:
    """The examples of a machine run under the ``thresholds`` fixture's setting: ``examples``
    with production thresholds, half as many (at least 10) lowered, where small examples
    already cross every threshold and the run repeats the production one's rules."""
    return examples if thresholds == "production" else max(10, examples // 2)
