"""The runner behind ``fssdk run``: feed an input file to a Driver, checkpoint, recover.

One run: load the operator; take the state directory's lock; restore its newest sound
checkpoint (or start fresh), falling back past damaged ones; cut the outputs back to the lengths
that checkpoint recorded and skip the input it had consumed; call ``init``; then ``process`` per
input line, a watermark every ``watermark_every`` records, and a checkpoint every
``checkpoint_interval`` records and at the end of the input's complete lines; then the last line
if it has no newline, the final watermark and ``close``, which no checkpoint covers (a rerun
redoes them, so that a grown input resumes exactly). SIGINT and SIGTERM stop the run at a record
boundary, keeping the last checkpoint.

A checkpoint is: the driver's ``take_checkpoint``, a flush of the stores, a flush and fsync of
the outputs, a RocksDB checkpoint of the database, and last the metadata (records, input byte
position and SHA-256 of the consumed input, output lengths, watermark progress, configuration),
written atomically. Checkpoints fall on fixed record counts, so a recovered run calls the driver
exactly as an uninterrupted one does, and its outputs and state end up byte for byte the same.
See docs/runtime.md for the state directory and the guarantees.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import signal
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, Final

from fssdk._driver import Driver
from fssdk.reserved import MAX_TIME
from fssdk.runtime._checkpoint import CheckpointInfo, StateDir, tree_size
from fssdk.runtime._context import LocalContext
from fssdk.runtime._dead_letters import BadRecords
from fssdk.runtime._event_time import EventTimeField
from fssdk.runtime._loader import LoadedOperator, load_operator, operator_from_driver
from fssdk.runtime._outputs import DEAD_LETTERS, STDIO, Outputs
from fssdk.runtime._recovery import RunIdentity, newest_sound, plan_resume
from fssdk.runtime._run_errors import (
    OperatorFailedError,
    RunInterruptedError,
    RunnerError,
    RunnerIOError,
    StateDirError,
    UsageError,
)
from fssdk.stores._backend import Backend, MemoryBackend
from fssdk.stores._rocksdb import RocksDBBackend

DEFAULT_CHECKPOINT_INTERVAL: Final = 10_000
DEFAULT_KEEP_CHECKPOINTS: Final = 3
#: What ``--on-error`` takes: stop at a record whose ``process`` raises, or skip it to the
#: dead-letter file (fssdk/runtime/_dead_letters.py).
ON_ERROR: Final = ("fail", "skip")
_PROGRESS_EVERY: Final = 2048
_READ_BUFFER: Final = 1 << 20
_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
#: Phases in which a stop signal ends the run at once: no operator code is running, and the
#: runner's own writes are crash-safe. In the others it waits for the next record boundary.
_STOP_AT_ONCE: Final = frozenset({"start", "checkpoint"})
#: Where the frames of the libraries are: fssdk and fssdk_advanced (found without importing
#: it), which an operator's traceback leaves out.
_LIBRARIES: Final = {
    str(Path(origin).resolve().parent) + os.sep: name
    for name in ("fssdk", "fssdk_advanced")
    if (spec := importlib.util.find_spec(name)) is not None and (origin := spec.origin)
}


def _library_of(filename: str) -> str | None:
    """The library (``fssdk`` or ``fssdk_advanced``) that ``filename`` belongs to, if any."""
    return next((name for folder, name in _LIBRARIES.items() if filename.startswith(folder)), None)


def _in_library(filename: str) -> bool:
    return _library_of(filename) is not None


@dataclass(frozen=True)
class RunProgress:
    """Where a run is: records consumed in all (``records``) and in this run, input bytes, time."""

    records: int
    records_this_run: int
    input_position: int
    input_size: int | None
    checkpoints: int
    elapsed: float


@dataclass(frozen=True)
class RunSummary:
    """What a finished run did. ``checkpoint_seconds`` lists each persisted checkpoint's time.

    ``nothing_new`` is True for a resumed run whose input had no complete line beyond the
    checkpoint it resumed from (an unterminated last line is read again on every run). With
    ``--on-error skip``: ``dead_letter`` is the dead-letter file, ``skipped`` the records this
    run skipped to it and ``skipped_total`` those of the whole state dir.
    """

    operator: str
    records: int
    records_this_run: int
    elapsed: float
    checkpoints: int
    last_checkpoint_id: int | None
    resumed_from: int | None
    checkpoint_seconds: list[float] = field(default_factory=list)
    state_bytes: int | None = None
    outputs: dict[str, int | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    nothing_new: bool = False
    dead_letter: str | None = None
    skipped: int = 0
    skipped_total: int = 0

    @property
    def records_per_second(self) -> float:
        """Records of this run per second of its wall time."""
        return self.records_this_run / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class _Settings:
    input: str
    output: str
    state_dir: str | None
    memory: bool
    fresh: bool
    config: dict[str, str]
    checkpoint_interval: int
    keep_checkpoints: int
    watermark_every: int | None
    watermark_field: str | None
    watermark_delay: int
    final_watermark: bool
    side_outputs: str | None
    on_error: str = "fail"
    dead_letter: str | None = None

    def watermark_settings(self) -> dict[str, Any]:
        return {
            "every": self.watermark_every,
            "field": self.watermark_field,
            "delay": self.watermark_delay,
            "final": self.final_watermark,
        }


def _positive(name: str, value: int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if type(value) is not int or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")


def _validate(settings: _Settings) -> None:
    if settings.memory and settings.state_dir is not None:
        raise UsageError("--memory keeps no state on disk: drop --state-dir (or --memory)")
    if not settings.memory and settings.state_dir is None:
        raise UsageError("--state-dir DIR is required (or --memory to run without recovery)")
    if settings.memory and settings.fresh:
        raise UsageError("--fresh discards a state dir: --memory has none, drop --fresh")
    _positive("--checkpoint-interval", settings.checkpoint_interval)
    _positive("--keep-checkpoints", settings.keep_checkpoints)
    _positive("--watermark-every", settings.watermark_every, allow_none=True)
    if type(settings.watermark_delay) is not int or settings.watermark_delay < 0:
        raise UsageError(
            f"--watermark-delay must be a non-negative integer, got {settings.watermark_delay!r}"
        )
    if settings.watermark_field is not None and not settings.watermark_field:
        raise UsageError("--watermark-field must name a JSON field")
    if settings.watermark_delay and settings.watermark_field is None:
        raise UsageError("--watermark-delay only applies with --watermark-field")
    if STDIO not in (settings.input, settings.output):
        same = Path(settings.input).resolve() == Path(settings.output).resolve()
        if same:
            raise UsageError(f"--input and --output are the same file ({settings.input!r})")
    _validate_on_error(settings)
    for key, value in settings.config.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise UsageError(f"config entries must be strings, got {key!r}: {value!r}")


def _validate_on_error(settings: _Settings) -> None:
    if settings.on_error not in ON_ERROR:
        raise UsageError(
            f"--on-error must be one of {', '.join(ON_ERROR)}, not {settings.on_error!r}"
        )
    dead_letter = settings.dead_letter
    if settings.on_error == "fail":
        if dead_letter is not None:
            raise UsageError("--dead-letter only applies with --on-error skip")
        return
    if dead_letter is None:
        raise UsageError(
            "--on-error skip needs --dead-letter FILE: every skipped record is written there "
            "(nothing is skipped silently)"
        )
    if dead_letter == STDIO or not dead_letter:
        raise UsageError("--dead-letter must name a file (not '-': it is cut back on resume)")
    for option, other in (("--input", settings.input), ("--output", settings.output)):
        if other != STDIO and Path(other).resolve() == Path(dead_letter).resolve():
            raise UsageError(f"--dead-letter and {option} are the same file ({dead_letter!r})")


class _Input:
    """The input: a file (replayable, hashed as it is read) or a stream (stdin, a pipe)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.path: Path | None = None
        self.size: int | None = None
        self.digest = hashlib.sha256()
        if spec == STDIO:
            self.handle: BinaryIO = sys.stdin.buffer
            self.replayable = False
            return
        path = Path(spec)
        try:
            if path.is_dir():
                raise IsADirectoryError(21, "is a directory")
            self.handle = open(path, "rb", buffering=_READ_BUFFER)  # noqa: SIM115 - see close()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise RunnerIOError(f"cannot read input {spec!r}: {reason}") from exc
        mode = os.fstat(self.handle.fileno()).st_mode
        self.replayable = stat.S_ISREG(mode)
        if self.replayable:
            self.path = path.resolve()
            self.size = os.fstat(self.handle.fileno()).st_size

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "file" if self.replayable else "stream",
            "path": str(self.path) if self.path else self.spec,
        }

    def skip_to(self, position: int, expected_digest: str, checkpoint_id: int) -> None:
        """Check that the first ``position`` bytes are those the checkpoint read; seek past them."""
        size = os.fstat(self.handle.fileno()).st_size
        if size < position:
            raise StateDirError(
                f"input {self.spec!r} has {size} bytes but checkpoint {checkpoint_id} had consumed "
                f"{position}: it is not the input this state dir was run on (or it was truncated)"
            )
        remaining = position
        while remaining:
            chunk = self.handle.read(min(remaining, _READ_BUFFER))
            if not chunk:
                break
            self.digest.update(chunk)
            remaining -= len(chunk)
        if remaining or self.digest.hexdigest() != expected_digest:
            raise StateDirError(
                f"input {self.spec!r} differs from the input checkpoint {checkpoint_id} consumed "
                f"(its first {position} bytes changed): resume with the same input (it may have "
                "grown), or use another --state-dir"
            )

    def close(self) -> None:
        if self.handle is not sys.stdin.buffer:
            self.handle.close()


class _Runner:
    """One run; :func:`run_operator` builds it, calls :meth:`run` and always :meth:`release`."""

    def __init__(
        self,
        operator: LoadedOperator,
        settings: _Settings,
        progress: Callable[[RunProgress], None] | None,
        warn: Callable[[str], None],
    ) -> None:
        self.operator = operator
        self.driver: Driver = operator.driver
        self.settings = settings
        self.progress = progress
        self.warnings: list[str] = []
        self._warn_sink = warn
        self.state: StateDir | None = None
        self.backend: Backend | None = None
        self.ctx: LocalContext | None = None
        self.input: _Input | None = None
        self.outputs = Outputs(settings.output, settings.side_outputs, settings.dead_letter)
        self.bad_records: BadRecords | None = None
        if settings.on_error == "skip":
            frames = functools.partial(operator_frames, operator=operator)
            self.bad_records = BadRecords(self.outputs, settings.input, frames)
        self.record_offset = 0
        self.records = 0
        self.records_at_start = 0
        self.position = 0
        self.last_checkpoint_id = 0
        self.resumed_from: int | None = None
        self.checkpoints_taken = 0
        self.checkpoint_seconds: list[float] = []
        self.dirty = False
        self.max_event: int | None = None
        field_name = settings.watermark_field
        self.event_time = EventTimeField(field_name) if field_name is not None else None
        self.last_watermark: int | None = None
        self.final_sent = False
        self.tail = False
        self.started = time.monotonic()
        self.phase = "start"
        self.reading = False
        self.stop_signal: int | None = None

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self._warn_sink(message)

    # -- start -------------------------------------------------------------------------------

    def start(self) -> None:
        settings = self.settings
        self.input = _Input(settings.input)
        if settings.memory:
            self._fresh_outputs()
            self.backend = MemoryBackend()
            self.dirty = True
            return
        assert settings.state_dir is not None
        self.state = StateDir.open(
            settings.state_dir, self.operator.identity, self.operator.spec, fresh=settings.fresh
        )
        self.state.remove_incomplete()
        checkpoints = self.state.complete_checkpoints()
        if checkpoints:
            self._resume(checkpoints)
        else:
            self.state.wipe_database()
            self._fresh_outputs()
            self.dirty = True
        if not self.input.replayable:
            self.warn(
                f"input {settings.input!r} is not a regular file and cannot be replayed: after a "
                "crash, a restart resumes the state of the last checkpoint, but the records read "
                "after it are lost (no exactly-once promise)"
            )
        if settings.output == STDIO:
            self.warn(
                "output is stdout, which cannot be cut back: after a crash, records emitted since "
                "the last checkpoint are emitted again"
            )
        try:
            self.backend = RocksDBBackend(self.state.db_path)
        except Exception as exc:
            raise StateDirError(f"cannot open the state database: {exc}") from exc

    def _fresh_outputs(self) -> None:
        for stale in self.outputs.stale_side_files(set()):
            stale.unlink()
        self.outputs.open_main(truncate_to=None)
        if self.bad_records is not None:
            self.outputs.open_dead_letters(truncate_to=None)

    def _resume(self, checkpoints: list[CheckpointInfo]) -> None:
        """Resume from the newest sound checkpoint (see :mod:`fssdk.runtime._recovery`), then
        discard the damaged newer ones."""
        state, source = self.state, self.input
        assert state is not None
        assert source is not None
        checkpoint, damaged = newest_sound(state, checkpoints, self.warn)
        run = RunIdentity(
            operator_sha256=self.operator.source_sha256,
            config=self.settings.config,
            watermark_settings=self.settings.watermark_settings(),
            input_replayable=source.replayable,
            output_path=self.outputs.path_of,
        )
        resume = plan_resume(state, checkpoint, run, self.warn)
        if resume.input_sha256 is not None:
            source.skip_to(resume.input_position, resume.input_sha256, checkpoint.id)
        state.restore(checkpoint)
        for stale in self.outputs.stale_side_files(set(resume.outputs)):
            stale.unlink()
        main = resume.outputs.get("0", {"length": 0})
        self.outputs.open_main(truncate_to=main["length"])
        for key, recorded in resume.outputs.items():
            if key != "0" and recorded["length"] is not None:
                self.outputs.reopen(key, recorded["length"])
        if self.bad_records is not None:
            self.bad_records.total = resume.dead_letters
            if DEAD_LETTERS not in resume.outputs:
                self.outputs.open_dead_letters(truncate_to=None)
        self.records = self.records_at_start = resume.records
        self.position = resume.input_position
        self.last_checkpoint_id = self.resumed_from = checkpoint.id
        self.max_event = resume.max_event
        self.last_watermark = resume.last_watermark
        self.final_sent = resume.final_sent
        state.discard(damaged)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> RunSummary:
        self.start()
        assert self.backend is not None
        assert self.input is not None
        bad = self.bad_records
        self.ctx = ctx = LocalContext(
            self.backend,
            self.settings.config,
            sink=self.outputs.emit if bad is None else bad.sink,
            watermark_sink=self.outputs.emit_watermark if bad is None else bad.watermark_sink,
        )
        self._call("init", lambda: self.driver.init(ctx, ctx.config))
        self._consume(ctx)
        if self.stop_signal is not None:
            raise self.interrupted()
        if self.dirty and not self.tail:
            self._call("checkpoint", lambda: self._checkpoint(ctx))
        if self.settings.final_watermark and not self.final_sent:
            self._call("process_watermark", lambda: self._send_watermark(ctx, MAX_TIME))
            self.final_sent = True
        self._report()
        self._call("close", lambda: self.driver.close(ctx))
        ctx.close()
        self.backend.close()
        self.outputs.close()
        return self._summary()

    def _consume(self, ctx: LocalContext) -> None:
        """Feed the remaining input lines to ``process``, with watermarks and checkpoints.

        A last line without a newline (the *tail*) may be one that is still being written: it
        is processed after a checkpoint of everything before it and ends the run's reading, so
        that a rerun after the line was completed resumes before it and reads it whole. Stops
        at the record boundary after a stop signal.
        """
        try:
            self._feed(ctx)
        except RunnerError as exc:
            if "input line" in str(exc):
                raise
            raise type(exc)(f"{exc} (at input line {self.records})") from exc
        except Exception as exc:
            raise self._failed(exc) from exc

    def _feed(self, ctx: LocalContext) -> None:
        assert self.input is not None
        readline = self.input.handle.readline
        process = self.driver.process if self.bad_records is None else self._isolated
        observe = self._observe_event_time if self.bad_records is None else self._observe_or_skip
        update_digest = self.input.digest.update if self.input.replayable else None
        interval = self.settings.checkpoint_interval
        every = self.settings.watermark_every
        if every is None and self.settings.watermark_field is not None:
            every = 1
        field_name = self.settings.watermark_field
        #: The largest event time when the watermark was last advanced: until it grows, an
        #: event-time watermark cannot either.
        advanced_at: int | None = None
        self.phase = "process"
        while self.stop_signal is None:
            self.reading = True
            line = readline()
            self.reading = False
            if not line:
                break
            tail = line[-1:] != b"\n"
            if tail:
                self._before_tail(ctx)
            self.record_offset = self.position
            self.position += len(line)
            if update_digest is not None:
                update_digest(line)
            record = line if tail else line[:-1]
            self.records += 1
            self.dirty = True
            if field_name is None or observe(record, field_name):
                process(ctx, 0, record)
            records = self.records
            if (
                every is not None
                and records % every == 0
                and (field_name is None or self.max_event != advanced_at)
            ):
                advanced_at = self.max_event
                self._advance_watermark(ctx)
                self.phase = "process"
            if tail:
                break
            if records % interval == 0:
                self._checkpoint(ctx)
                self.phase = "process"
            if records % _PROGRESS_EVERY == 0:
                self._report()

    def _before_tail(self, ctx: LocalContext) -> None:
        """The input's last line has no newline: checkpoint what comes before it, if anything."""
        self.tail = True
        if self.dirty:
            self._checkpoint(ctx)
            self.phase = "process"

    def _isolated(self, ctx: LocalContext, source_id: int, record: bytes) -> None:
        """``process`` under ``--on-error skip`` (see :mod:`fssdk.runtime._dead_letters`)."""
        assert self.bad_records is not None
        assert self.backend is not None
        self.bad_records.process(
            self.driver,
            ctx,
            self.backend,
            record,
            where=(self.records, self.record_offset),
            restart=lambda: self._restart_operator(ctx),
        )

    def _restart_operator(self, ctx: LocalContext) -> None:
        """After a skipped record: new store handles, and ``init`` again on the same driver."""
        assert self.backend is not None
        self.backend.close_stores()
        self._call("init", lambda: self.driver.init(ctx, ctx.config))
        self.phase = "process"

    def _observe_or_skip(self, record: bytes, field_name: str) -> bool:
        """:meth:`_observe_event_time`, with a record whose event time cannot be read skipped
        to the dead-letter file (False)."""
        assert self.bad_records is not None
        try:
            return self._observe_event_time(record, field_name)
        except UsageError as exc:
            where = (self.records, self.record_offset)
            self.bad_records.reject(record, where, "EventTimeError", exc.message)
            return False

    def _observe_event_time(self, record: bytes, field_name: str) -> bool:
        try:
            assert self.event_time is not None
            value = self.event_time.value(record)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise UsageError(
                f"--watermark-field {field_name!r}: input line {self.records} is not a JSON object "
                f"with that field: {record[:80]!r}"
            ) from exc
        if type(value) is not int:
            raise UsageError(
                f"--watermark-field {field_name!r}: input line {self.records} has {value!r}, "
                "not an integer"
            )
        if self.max_event is None or value > self.max_event:
            self.max_event = value
        return True

    def _advance_watermark(self, ctx: LocalContext) -> None:
        if self.settings.watermark_field is None:
            watermark: int | None = self.records
        elif self.max_event is None:
            watermark = None
        else:
            watermark = self.max_event - self.settings.watermark_delay
        if watermark is None:
            return
        if self.last_watermark is None or watermark > self.last_watermark:
            self._send_watermark(ctx, watermark)

    def _send_watermark(self, ctx: LocalContext, watermark: int) -> None:
        self.phase = "process_watermark"
        self.driver.process_watermark(ctx, 0, watermark)
        self.last_watermark = watermark
        self.dirty = True

    def _call(self, phase: str, call: Callable[[], None]) -> None:
        self.phase = phase
        try:
            call()
        except RunnerError:
            raise
        except Exception as exc:
            raise self._failed(exc) from exc

    def _failed(self, exc: Exception) -> OperatorFailedError:
        where = {
            "init": "in init()",
            "close": "in close()",
            "process": f"in process() on input line {self.records}",
            "process_watermark": f"in process_watermark() after input line {self.records}",
            "take_checkpoint": f"in take_checkpoint() after input line {self.records}",
            "check_heartbeat": f"in check_heartbeat() after input line {self.records}",
        }.get(self.phase, f"after input line {self.records}")
        resume = ""
        kept = self._kept_checkpoint()
        if kept is not None:
            resume = (
                f"; the state dir keeps checkpoint {kept}: fix the operator and run the same "
                "command to resume from it"
            )
        return OperatorFailedError(
            f"the operator raised {type(exc).__name__} {where}: {exc}{resume}",
            operator_traceback=operator_traceback(exc, self.operator),
        )

    # -- checkpoints -------------------------------------------------------------------------

    def _checkpoint(self, ctx: LocalContext) -> None:
        assert self.backend is not None
        assert self.input is not None
        began = time.perf_counter()
        checkpoint_id = self.last_checkpoint_id + 1
        self.phase = "check_heartbeat"
        if not self.driver.check_heartbeat(ctx):
            kept = self._kept_checkpoint()
            restart = (
                f"run the same command to resume from checkpoint {kept}"
                if kept is not None
                else "run the same command to start over"
            )
            raise OperatorFailedError(
                f"the operator's check_heartbeat() returned False after input line {self.records}:"
                f" it asks for a restart; {restart}"
            )
        self.phase = "take_checkpoint"
        self.driver.take_checkpoint(ctx, checkpoint_id)
        self.phase = "checkpoint"
        try:
            self._persist(checkpoint_id)
        except RunnerError:
            raise
        except Exception as exc:
            raise StateDirError(f"checkpoint {checkpoint_id} failed: {exc}") from exc
        if self.state is not None:
            self.checkpoint_seconds.append(time.perf_counter() - began)
        self.last_checkpoint_id = checkpoint_id
        self.checkpoints_taken += 1
        self.dirty = False
        self._report()

    def _persist(self, checkpoint_id: int) -> None:
        """Flush stores and outputs; with a state dir, snapshot the database and write metadata."""
        assert self.backend is not None
        assert self.input is not None
        self.backend.flush()
        outputs = self.outputs.sync()
        if self.state is not None:
            assert isinstance(self.backend, RocksDBBackend)
            root = self.state.path.resolve()
            for output in outputs.values():
                if output["path"] is not None:  # where it is from the state dir, if it moves
                    output["relative"] = os.path.relpath(str(output["path"]), root)
            metadata = {
                "operator": self.operator.identity,
                "operator_sha256": self.operator.source_sha256,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "records": self.records,
                "input": {
                    **self.input.describe(),
                    "position": self.position,
                    "sha256": self.input.digest.hexdigest() if self.input.replayable else None,
                },
                "outputs": outputs,
                "watermark": {
                    "max_event": self.max_event,
                    "last": self.last_watermark,
                    "final_sent": self.final_sent,
                },
                "config": self.settings.config,
                "watermark_settings": self.settings.watermark_settings(),
            }
            if self.bad_records is not None:
                metadata["dead_letters"] = self.bad_records.total
            self.state.write_checkpoint(self.backend, checkpoint_id, metadata)
            self.state.prune(self.settings.keep_checkpoints)

    # -- reporting ---------------------------------------------------------------------------

    def _report(self) -> None:
        if self.progress is None or self.input is None:
            return
        self.progress(
            RunProgress(
                records=self.records,
                records_this_run=self.records - self.records_at_start,
                input_position=self.position,
                input_size=self.input.size,
                checkpoints=self.checkpoints_taken,
                elapsed=time.monotonic() - self.started,
            )
        )

    def _summary(self) -> RunSummary:
        main = self.outputs.path_of("0")
        outputs: dict[str, int | None] = {str(main) if main else STDIO: None}
        for path in [main, *self.outputs.stale_side_files(set())]:
            if path is not None:
                outputs[str(path)] = path.stat().st_size
        state_bytes = tree_size(self.state.db_path) if self.state is not None else None
        new_records = self.records - self.records_at_start - (1 if self.tail else 0)
        return RunSummary(
            operator=self.operator.identity,
            records=self.records,
            records_this_run=self.records - self.records_at_start,
            elapsed=time.monotonic() - self.started,
            checkpoints=self.checkpoints_taken if self.state is not None else 0,
            last_checkpoint_id=self.last_checkpoint_id if self.state is not None else None,
            resumed_from=self.resumed_from,
            checkpoint_seconds=self.checkpoint_seconds,
            state_bytes=state_bytes,
            outputs=outputs,
            warnings=self.warnings,
            nothing_new=self.resumed_from is not None and new_records == 0,
            dead_letter=self.settings.dead_letter,
            skipped=self.bad_records.skipped if self.bad_records is not None else 0,
            skipped_total=self.bad_records.total if self.bad_records is not None else 0,
        )

    # -- shutdown ----------------------------------------------------------------------------

    def _kept_checkpoint(self) -> int | None:
        """The newest complete checkpoint on disk now (a restart resumes from it), if any."""
        if self.state is None:
            return None
        try:
            checkpoints = self.state.complete_checkpoints()
        except OSError:
            return None
        return checkpoints[-1].id if checkpoints else None

    def on_signal(self, signal_number: int, _frame: FrameType | None) -> None:
        """SIGINT/SIGTERM: stop at the next record boundary (at once when reading input, in
        the runner's own crash-safe steps, or on a second signal)."""
        again = self.stop_signal is not None
        self.stop_signal = signal_number
        if again or self.reading or self.phase in _STOP_AT_ONCE:
            raise KeyboardInterrupt

    def interrupted(self) -> RunInterruptedError:
        """The error for a stop signal now: where the run was and what the state dir keeps."""
        signal_number = self.stop_signal or signal.SIGINT
        stopped = (
            "interrupted"
            if signal_number == signal.SIGINT
            else f"terminated ({signal.Signals(signal_number).name})"
        )
        checkpoint = self._kept_checkpoint()
        if self.state is None:
            kept = "nothing is kept (--memory)" if self.settings.memory else "nothing was started"
        elif checkpoint is not None:
            kept = (
                f"the state dir keeps checkpoint {checkpoint}: run the same command to resume "
                "from it"
            )
        else:
            kept = "no checkpoint was taken yet: the same command starts over"
        return RunInterruptedError(
            f"{stopped} at input line {self.records}; {kept}", signal_number=signal_number
        )

    def release(self) -> None:
        """Close what is open and drop the lock; after an error, the state dir is left to resume."""
        with contextlib.suppress(Exception):
            if self.ctx is not None:
                self.ctx.close()
        with contextlib.suppress(Exception):
            if self.backend is not None:
                self.backend.close()
        with contextlib.suppress(Exception):
            self.outputs.close()
        if self.input is not None:
            with contextlib.suppress(Exception):
                self.input.close()
        if self.state is not None:
            self.state.release()


def operator_frames(exc: BaseException, operator: LoadedOperator) -> str:
    """The operator's frames of ``exc``'s stack, formatted, as pytest trims a traceback.

    From the first frame in the operator's file (without one, the first outside fssdk and
    fssdk_advanced) down to the last frame outside them: the frames of the libraries the
    operator called into, where the error was raised, are left out and counted on a last line,
    since the error's message already says what is wrong. Neither the message nor a header is
    included (a dead letter holds these lines as they are).
    """
    frames = traceback.extract_tb(exc.__traceback__)
    source = str(operator.source) if operator.source is not None else None
    start = next((i for i, f in enumerate(frames) if f.filename == source), None)
    if start is None:
        start = next((i for i, f in enumerate(frames) if not _in_library(f.filename)), None)
    shown = [] if start is None else frames[start:]
    end = len(shown)
    while end and _in_library(shown[end - 1].filename):
        end -= 1
    hidden = (frames[start:] if start is not None else frames)[end:]
    lines = traceback.format_list(shown[:end])
    if hidden:
        where = _library_of(hidden[-1].filename)
        lines.append(f"  ... raised inside {where} ({len(hidden)} frames not shown)\n")
    return "".join(lines).rstrip()


def operator_traceback(exc: BaseException, operator: LoadedOperator) -> str:
    """:func:`operator_frames` under a header: what follows an operator's error line."""
    return f"operator traceback (most recent call last):\n{operator_frames(exc, operator)}"


def run_operator(
    operator: str | Driver,
    *,
    input: str,
    output: str,
    state_dir: str | os.PathLike[str] | None = None,
    memory: bool = False,
    fresh: bool = False,
    config: Mapping[str, str] | None = None,
    checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
    keep_checkpoints: int = DEFAULT_KEEP_CHECKPOINTS,
    watermark_every: int | None = None,
    watermark_field: str | None = None,
    watermark_delay: int = 0,
    final_watermark: bool = False,
    side_outputs: str | None = None,
    on_error: str = "fail",
    dead_letter: str | None = None,
    progress: Callable[[RunProgress], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run ``operator`` over ``input`` (a file path or ``"-"``), writing to ``output``.

    ``operator`` is a Driver, a .py path or a module name that registers one with ``fssdk.run``.
    With ``state_dir`` the run checkpoints every ``checkpoint_interval`` records and at the end,
    and resumes from the newest complete checkpoint when the directory has one; ``memory=True``
    runs on a MemoryBackend instead (no recovery); ``fresh=True`` first discards the state
    dir's checkpoints and database (no question asked). Watermarks: every ``watermark_every``
    records (the record count, or with ``watermark_field`` the largest integer of that JSON
    field seen, minus ``watermark_delay``), and ``MAX_TIME`` after the last record when
    ``final_watermark``. Side targets and emitted watermarks go to ``side_outputs``
    (default: ``output``) + ``.N`` / ``.watermarks``. ``on_error="skip"`` writes each record
    whose ``process`` raises to ``dead_letter`` and goes on, leaving no trace of it in the
    state or the outputs (see :mod:`fssdk.runtime._dead_letters`); ``"fail"`` (the default)
    stops there. ``progress`` is called every few thousand
    records and at each checkpoint; ``warn`` receives warnings (default: stderr). In the main
    thread, SIGINT and SIGTERM stop the run at a record boundary (``RunInterruptedError``).

    Raises a :class:`RunnerError` subclass (see :mod:`fssdk.runtime._run_errors`) on failure.
    """
    settings = _Settings(
        input=input,
        output=output,
        state_dir=os.fspath(state_dir) if state_dir is not None else None,
        memory=memory,
        fresh=fresh,
        config=dict(config or {}),
        checkpoint_interval=checkpoint_interval,
        keep_checkpoints=keep_checkpoints,
        watermark_every=watermark_every,
        watermark_field=watermark_field,
        watermark_delay=watermark_delay,
        final_watermark=final_watermark,
        side_outputs=side_outputs,
        on_error=on_error,
        dead_letter=os.fspath(dead_letter) if dead_letter is not None else None,
    )
    _validate(settings)
    loaded = (
        load_operator(operator) if isinstance(operator, str) else operator_from_driver(operator)
    )
    runner = _Runner(loaded, settings, progress, warn or stderr_warning)
    try:
        with _stop_signals(runner.on_signal):
            return runner.run()
    except KeyboardInterrupt as exc:
        raise runner.interrupted() from exc
    finally:
        runner.release()


@contextlib.contextmanager
def _stop_signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only: elsewhere Python cannot)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def stderr_warning(message: str) -> None:
    """Print ``message`` as a warning on stderr."""
    sys.stderr.write(f"fssdk: warning: {message}\n")
