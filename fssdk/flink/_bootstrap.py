"""The bootstrap job of ``fssdk state export-flink``: exported state into a Flink savepoint.

Flink's tool for writing savepoints, the State Processor API, is a Java library that PyFlink
does not ship. So the export runs an ordinary PyFlink job shaped like the one that resumes it:
the same operator uid (``fssdk-operator``), the same key type and max parallelism, and the same
``MapState<bytes, bytes>`` per store as :class:`~fssdk.flink.DriverFunction`. Its input is the
:class:`~fssdk.flink._export.Line` s of the export; :class:`BootstrapFunction` writes each into
its key's maps and registers its timers as that key's Flink timers. Once every line is in, the
job stops with a savepoint without draining (no final watermark), so that Flink writes the
state, timers included, in its own format.

No watermark reaches the job, so no event-time timer fires in it. A processing-time timer that
is already due fires as soon as it is registered: the function registers it again
:data:`REARM_MS` later, so it is in the savepoint and fires as soon as the resumed job runs.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pyflink.common import Types, WatermarkStrategy
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream import TimeDomain as FlinkTimeDomain
from pyflink.datastream.data_stream import CloseableIterator
from pyflink.datastream.state import MapStateDescriptor

from fssdk._context import TimeDomain
from fssdk.flink._export import ExportSummary, Line, line_key, write_bootstrap_input
from fssdk.flink._function import BYTES
from fssdk.flink._job import (
    MAX_PARALLELISM,
    OPERATOR_UID,
    KeyOf,
    collect_stream,
    execution_environment,
    file_source,
    job_failure,
    local_configuration,
    stop_with_savepoint,
    wait_for_records,
)
from fssdk.runtime._recovery import Warn
from fssdk.runtime._run_errors import UsageError

#: How far ahead a processing-time timer that fires in the bootstrap job is registered again.
REARM_MS: Final = 1_000


class BootstrapFunction(KeyedProcessFunction):  # type: ignore[misc]
    """Writes each line's entries into its key's MapStates and registers its Flink timers.

    The MapState of store ``name`` is ``MapStateDescriptor(name, BYTES, BYTES)``, the one
    :class:`~fssdk.flink.FlinkContext` opens, so the resumed job reads what this one wrote.
    Emits ``True`` per line, for the client to count.
    """

    def __init__(self) -> None:
        self._runtime: RuntimeContext | None = None
        self._states: dict[str, Any] = {}

    def open(self, runtime_context: RuntimeContext) -> None:
        self._runtime = runtime_context
        self._states = {}

    def _state(self, name: str) -> Any:
        state = self._states.get(name)
        if state is None:
            assert self._runtime is not None, "process_element before open"
            descriptor = MapStateDescriptor(name, BYTES, BYTES)
            state = self._states[name] = self._runtime.get_map_state(descriptor)
        return state

    def process_element(self, value: str, ctx: KeyedProcessFunction.Context) -> Iterator[bool]:
        line = Line.decode(value)
        state = self._state(line.store)
        for map_key, data in line.entries:
            state.put(map_key, data)
        service = ctx.timer_service()
        for domain, timestamp in line.timers:
            if domain == TimeDomain.EVENT:
                service.register_event_time_timer(timestamp)
            else:
                service.register_processing_time_timer(timestamp)
        yield True

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        """Keep a due processing-time timer for the resumed job (see the module docstring)."""
        service = ctx.timer_service()
        if ctx.time_domain() != FlinkTimeDomain.PROCESSING_TIME:
            raise RuntimeError(
                f"event-time timer {timestamp} fired in the export's bootstrap job, which has no "
                "watermarks: the savepoint would lose it"
            )
        service.register_processing_time_timer(service.current_processing_time() + REARM_MS)
        return iter(())


@dataclass(frozen=True)
class ExportResult:
    """What ``export-flink`` did: what it read (``summary``), the savepoint, seconds."""

    summary: ExportSummary
    savepoint: str
    parallelism: int
    elapsed: float


def export_to_savepoint(
    state_dir: str, savepoint_dir: str, *, parallelism: int, warn: Warn
) -> ExportResult:
    """Turn the newest sound checkpoint of ``state_dir`` into a savepoint in ``savepoint_dir``.

    The savepoint's job runs ``parallelism`` instances of the operator; a job resumed from it
    may run another parallelism up to the max parallelism (Flink rescales keyed state).
    """
    if parallelism < 1 or parallelism > MAX_PARALLELISM:
        raise UsageError(f"--parallelism must be in 1..{MAX_PARALLELISM}, got {parallelism}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fssdk-export-") as scratch:
        lines = Path(scratch) / "state.lines"
        summary = write_bootstrap_input(state_dir, lines, warn)
        env = execution_environment(local_configuration(1, str(Path(scratch) / "checkpoints")))
        run_id = uuid.uuid4().hex
        records = env.from_source(
            file_source(str(lines), unbounded=True), WatermarkStrategy.no_watermarks(), "state"
        ).uid(f"fssdk-export-input-{run_id}")
        written = (
            records.key_by(KeyOf(line_key), key_type=BYTES)
            .process(BootstrapFunction(), output_type=Types.BOOLEAN())
            .uid(OPERATOR_UID)
            .name("fssdk export")
            .set_parallelism(parallelism)
        )
        progress = collect_stream(env, written, f"fssdk-export-progress-{run_id}")
        try:
            client = env.execute_async(f"fssdk export-flink {Path(state_dir).name}")
            with CloseableIterator(progress, Types.BOOLEAN()) as done:
                wait_for_records(done, summary.lines)
                savepoint = stop_with_savepoint(client, savepoint_dir)
        except Exception as exc:
            if type(exc).__name__ == "Py4JJavaError":
                raise job_failure(exc) from None
            raise
    return ExportResult(summary, savepoint, parallelism, time.monotonic() - started)
