"""OperatorHarness: drive an operator in-process, as ``fssdk run`` does, and look at its output.

The harness is a runtime whose input is the test: it feeds records, watermarks and processing
time to a Driver one call at a time, collects what each target emits, and takes checkpoints and
crashes on demand. Checkpoints and recovery are the runner's own: on RocksDB a state directory
(:class:`~fssdk.runtime._checkpoint.StateDir`, the same layout, lock, checkpoint files and
verification as ``fssdk run``), on the memory backend a copy of the stores. :meth:`crash` drops
everything since the last checkpoint (the driver object, the write buffers, the output emitted
since), restores that checkpoint as a restarted ``fssdk run`` does, and calls ``init`` on a new
driver, so a test can check that an operator recovers exactly. See docs/testing.md.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from fssdk._driver import Driver
from fssdk.runtime._checkpoint import StateDir
from fssdk.runtime._context import LocalContext
from fssdk.runtime._loader import LoadedOperator, load_operator, operator_from_driver
from fssdk.runtime._recovery import newest_sound
from fssdk.runtime._run_errors import OperatorFailedError
from fssdk.stores._backend import Backend, MemoryBackend
from fssdk.stores._rocksdb import RocksDBBackend

#: The backends a harness runs on.
BACKENDS: Final = ("memory", "rocksdb")

Operator = Driver | Callable[[], Driver] | str | os.PathLike[str]


class OperatorHarness:
    """Runs ``operator`` in this process over ``backend`` (``"memory"`` or ``"rocksdb"``).

    ``operator`` is a Driver class or factory (called for a new driver at start and after each
    :meth:`crash`), an operator file or module as ``fssdk run`` takes it (loaded again after a
    crash), or a Driver object (copied before its first ``init``, and the copy copied again
    after a crash). ``config`` is the configuration ``init`` and ``ctx.config`` see;
    ``processing_time`` the start of the harness's clock (``ctx.processing_time()``, in
    milliseconds), which only :meth:`advance_processing_time` moves. On RocksDB the state lives
    in ``state_dir`` (a temporary directory, deleted on :meth:`close`, when not given); a
    ``state_dir`` with checkpoints is resumed from its newest sound one, as ``fssdk run`` does.

    What the operator raises is raised unchanged. The harness is a context manager;
    :meth:`close` calls the driver's ``close`` and releases the state dir.

    >>> from fssdk import BaseDriver
    >>> class Upper(BaseDriver):
    ...     def process(self, ctx, source_id, data):
    ...         ctx.emit(data.upper())
    >>> with OperatorHarness(Upper) as harness:
    ...     harness.process(b"hello")
    ...     harness.checkpoint()
    ...     harness.process(b"lost in the crash")
    ...     harness.crash()
    ...     harness.process(b"world")
    ...     harness.emitted()
    1
    [b'HELLO', b'WORLD']
    """

    def __init__(
        self,
        operator: Operator,
        *,
        backend: str = "memory",
        state_dir: str | os.PathLike[str] | None = None,
        config: Mapping[str, str] | None = None,
        processing_time: int = 0,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"OperatorHarness: backend must be one of {BACKENDS}, not {backend!r}")
        if state_dir is not None and backend != "rocksdb":
            raise ValueError("OperatorHarness: state_dir needs backend='rocksdb'")
        if type(processing_time) is not int:
            raise TypeError(
                f"OperatorHarness: processing_time must be an int, not {processing_time!r}"
            )
        self._make_driver = _driver_maker(operator)
        self._config = dict(config or {})
        self._now = processing_time
        self._memory = backend == "memory"
        self._scratch: Path | None = None
        if not self._memory and state_dir is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="fssdk-harness-"))
            state_dir = self._scratch / "state"
        self.state_dir: Path | None = None if state_dir is None else Path(state_dir)
        self._log: list[tuple[int, bytes]] = []
        self._watermark_log: list[tuple[int, int]] = []
        self._records = 0
        self._checkpoint_id = 0
        #: Records, emitted records and watermarks at each checkpoint this harness took.
        self._kept: dict[int, tuple[int, int, int]] = {0: (0, 0, 0)}
        self._snapshot: MemoryBackend | None = None
        self._state: StateDir | None = None
        self._backend: Backend | None = None
        self._ctx: LocalContext | None = None
        self._driver: Driver | None = None
        self._closed = False
        #: Warnings a start gave (a damaged checkpoint skipped), as ``fssdk run`` prints them.
        self.warnings: list[str] = []
        try:
            self._start()
        except BaseException:
            self._closed = True
            self._release()
            raise

    # -- what a test calls -------------------------------------------------------------------

    @property
    def driver(self) -> Driver:
        """The driver now running (a new object after each :meth:`crash`)."""
        return self._running()[0]

    @property
    def ctx(self) -> LocalContext:
        """The context the driver now runs with (its stores: ``ctx.get_or_create_store``)."""
        return self._running()[1]

    @property
    def now(self) -> int:
        """The harness's processing time (what ``ctx.processing_time()`` returns)."""
        return self._now

    @property
    def records(self) -> int:
        """Records processed and not lost in a crash."""
        return self._records

    def process(self, record: bytes | str, source_id: int = 0) -> None:
        """Hand ``record`` (a str is encoded as UTF-8) to the driver's ``process``."""
        driver, ctx = self._running()
        data = record.encode() if isinstance(record, str) else record
        if type(data) is not bytes:
            raise TypeError(f"process: record must be bytes or str, not {type(record).__name__}")
        driver.process(ctx, source_id, data)
        self._records += 1

    def process_all(self, records: Iterable[bytes | str], source_id: int = 0) -> None:
        """:meth:`process` each of ``records`` in order."""
        for record in records:
            self.process(record, source_id)

    def watermark(self, watermark: int, source_id: int = 0) -> None:
        """Call the driver's ``process_watermark`` with ``watermark``."""
        driver, ctx = self._running()
        driver.process_watermark(ctx, source_id, watermark)

    def advance_processing_time(self, now: int) -> None:
        """Move the clock to ``now`` (never back), then make the runtimes' periodic call
        (:meth:`heartbeat`), where a driver can fire what came due."""
        if type(now) is not int:
            raise TypeError(f"advance_processing_time: now must be an int, not {now!r}")
        if now < self._now:
            raise ValueError(f"advance_processing_time: {now} is before the clock's {self._now}")
        self._now = now
        self.heartbeat()

    def heartbeat(self) -> None:
        """Call the driver's ``check_heartbeat``; its False (asking for a restart) raises
        :class:`~fssdk.runtime.OperatorFailedError`, as in ``fssdk run``."""
        driver, ctx = self._running()
        if not driver.check_heartbeat(ctx):
            raise OperatorFailedError(
                f"the operator's check_heartbeat() returned False after {self._records} records:"
                " it asks for a restart"
            )

    def emitted(self, target: int = 0) -> list[bytes]:
        """What the driver emitted on ``target``, in order, without what a crash took back."""
        return [data for target_id, data in self._log if target_id == target]

    def output(self) -> list[tuple[int, bytes]]:
        """Every ``(target, record)`` emitted, in order, without what a crash took back."""
        return list(self._log)

    def emitted_watermarks(self, target: int = 0) -> list[int]:
        """The watermarks the driver forwarded on ``target``, in order."""
        return [mark for target_id, mark in self._watermark_log if target_id == target]

    def checkpoint(self) -> int:
        """Take a checkpoint as ``fssdk run`` does; its id (1, 2, ...).

        The driver's ``check_heartbeat`` (False raises) and ``take_checkpoint``, a flush of the
        stores, then on RocksDB a checkpoint in the state dir (kept: the newest 3), on memory a
        copy of the stores.
        """
        driver, ctx = self._running()
        checkpoint_id = self._checkpoint_id + 1
        self.heartbeat()
        driver.take_checkpoint(ctx, checkpoint_id)
        backend = self._backend
        assert backend is not None
        backend.flush()
        if isinstance(backend, MemoryBackend):
            self._snapshot = backend.copy()
        else:
            assert isinstance(backend, RocksDBBackend)
            assert self._state is not None
            metadata = {
                "records": self._records,
                "input": {"kind": "harness", "path": "<OperatorHarness>", "position": 0},
                "outputs": {},
            }
            self._state.write_checkpoint(backend, checkpoint_id, metadata)
            self._state.prune(_KEEP_CHECKPOINTS)
        self._checkpoint_id = checkpoint_id
        self._kept[checkpoint_id] = (self._records, len(self._log), len(self._watermark_log))
        return checkpoint_id

    def crash(self) -> None:
        """Lose everything since the last checkpoint and restart from it, as ``fssdk run`` does
        after a ``kill -9``: no ``close`` call, write buffers dropped, the output since the
        checkpoint taken back, the checkpoint restored, and ``init`` called on a new driver.
        Without a checkpoint the operator starts over on empty state. On RocksDB a damaged
        checkpoint is skipped for the newest sound one (see :attr:`warnings`).
        """
        self._running()
        self._drop()
        self._start()

    def close(self) -> None:
        """Call the driver's ``close``, close the stores and release the state dir. Idempotent.

        No checkpoint is taken: call :meth:`checkpoint` first to keep the state.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._ctx is not None and self._driver is not None:
                self._driver.close(self._ctx)
        finally:
            self._release()

    def _release(self) -> None:
        try:
            self._drop(graceful=True)
        finally:
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> OperatorHarness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _running(self) -> tuple[Driver, LocalContext]:
        if self._closed or self._driver is None or self._ctx is None:
            raise RuntimeError("OperatorHarness: the harness is closed")
        return self._driver, self._ctx

    def _start(self) -> None:
        """Open the backend at the last checkpoint (or empty), then ``init`` a new driver."""
        loaded = self._make_driver()
        if self._memory:
            self._backend = MemoryBackend() if self._snapshot is None else self._snapshot.copy()
            self._restart_at(self._checkpoint_id)
        else:
            assert self.state_dir is not None
            state = self._state = StateDir.open(self.state_dir, loaded.identity, loaded.spec)
            state.remove_incomplete()
            checkpoints = state.complete_checkpoints()
            if checkpoints:
                checkpoint, damaged = newest_sound(state, checkpoints, self.warnings.append)
                state.restore(checkpoint)
                state.discard(damaged)
                self._restart_at(checkpoint.id, int(checkpoint.metadata.get("records", 0)))
            else:
                state.wipe_database()
                self._restart_at(0)
            self._backend = RocksDBBackend(state.db_path)
        self._ctx = LocalContext(
            self._backend,
            self._config,
            sink=self._emit,
            watermark_sink=self._emit_watermark,
            clock=lambda: self._now,
        )
        self._driver = loaded.driver
        self._driver.init(self._ctx, self._ctx.config)

    def _restart_at(self, checkpoint_id: int, records: int = 0) -> None:
        """Take the output and the record count back to checkpoint ``checkpoint_id`` (one this
        harness did not take, of a state dir it resumes: nothing emitted yet, ``records``)."""
        self._checkpoint_id = checkpoint_id
        records, emitted, watermarks = self._kept.get(checkpoint_id, (records, 0, 0))
        self._records = records
        del self._log[emitted:]
        del self._watermark_log[watermarks:]

    def _drop(self, *, graceful: bool = False) -> None:
        """Let go of the driver, context, backend and lock. A crash closes only a RocksDB
        backend (its database must close before a start reopens it); what that flushes reaches
        the live database alone, which the start replaces with the checkpoint."""
        self._driver, ctx, self._ctx = None, self._ctx, None
        backend, self._backend = self._backend, None
        try:
            if graceful and ctx is not None:
                ctx.close()
            if backend is not None and (graceful or not isinstance(backend, MemoryBackend)):
                backend.close()
        finally:
            if self._state is not None:
                self._state.release()
                self._state = None

    def _emit(self, target_id: int, data: bytes) -> None:
        self._log.append((target_id, data))

    def _emit_watermark(self, target_id: int, watermark: int) -> None:
        self._watermark_log.append((target_id, watermark))


_KEEP_CHECKPOINTS: Final = 3


def _driver_maker(operator: Operator) -> Callable[[], LoadedOperator]:
    """How the harness gets a new driver at each start (see :class:`OperatorHarness`)."""
    if isinstance(operator, str | os.PathLike):
        spec = os.fspath(operator)
        return lambda: load_operator(spec)
    if isinstance(operator, Driver):
        template: Any = copy.deepcopy(operator)
        return lambda: operator_from_driver(copy.deepcopy(template))
    if callable(operator):
        factory = operator

        def make() -> LoadedOperator:
            driver = factory()
            if not isinstance(driver, Driver):
                raise TypeError(
                    f"OperatorHarness: the operator factory returned {type(driver).__name__}, "
                    "not a Driver"
                )
            return operator_from_driver(driver)

        return make
    raise TypeError(
        "OperatorHarness: operator must be a Driver, a Driver class or factory, or an operator "
        f"file or module, not {type(operator).__name__}"
    )
