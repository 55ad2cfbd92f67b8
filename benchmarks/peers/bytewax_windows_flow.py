"""The windowed job for Bytewax 0.21: per-key sums over tumbling 10 s event-time windows.

Runs under Bytewax's own interpreter (not a dependency of fssdk), started by
:mod:`benchmarks.peers.bytewax_windows`::

    python -m bytewax.run "benchmarks/peers/bytewax_windows_flow.py:flow('in.jsonl', 'out')"

It reads the events ``benchmarks.e2e.write_window_events`` writes and folds them as
``benchmarks/operators/windows.py`` does in fssdk: ``fold_window`` over a
``TumblingWindower`` aligned to the Unix epoch, with an ``EventClock`` whose watermark is the
largest ``ts`` seen minus 2 s. Its ``now_getter`` is pinned (so the watermark does not follow
the wall clock while the file is replayed) and ``to_system_utc`` returns None (so the runtime
does not wake up to close windows by the wall clock; input and EOF close them). Closed windows
go to ``out`` as the same JSON lines fssdk emits, late events to ``out.late``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import bytewax.operators as op
from bytewax.connectors.files import FileSink, FileSource
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import EventClock, TumblingWindower, fold_window

#: Window length and the watermark's delay behind the largest ``ts`` seen, in ms.
WINDOW_MS = 10_000
DELAY_MS = 2_000
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The pinned "system time": the watermark is the largest timestamp seen minus the delay.
PINNED_NOW = UNIX_EPOCH


def _timestamp(event: dict[str, Any]) -> datetime:
    return UNIX_EPOCH + timedelta(milliseconds=event["ts"])


def _now() -> datetime:
    return PINNED_NOW


def _no_wake_up(close_time: datetime) -> None:
    return None


def _add(total: int, event: dict[str, Any]) -> int:
    return total + int(event["value"])


def _merge(a: int, b: int) -> int:
    return a + b


def _window_line(item: tuple[str, tuple[int, int]]) -> tuple[str, str]:
    key, (window_id, total) = item
    start = window_id * WINDOW_MS
    window = {"key": key, "start": start, "end": start + WINDOW_MS, "sum": total}
    return key, json.dumps(window, sort_keys=True)


def _late_line(item: tuple[str, tuple[int, dict[str, Any]]]) -> tuple[str, str]:
    return item[0], json.dumps(item[1][1], sort_keys=True)


def flow(input_path: str, output_path: str) -> Any:
    """The dataflow: ``input_path`` (JSON lines) in, closed windows to ``output_path``."""
    dataflow = Dataflow("windowed_sums")
    lines = op.input("events", dataflow, FileSource(input_path))
    events = op.map("parse", lines, json.loads)
    keyed = op.key_on("key", events, lambda event: event["key"])
    clock = EventClock(
        ts_getter=_timestamp,
        wait_for_system_duration=timedelta(milliseconds=DELAY_MS),
        now_getter=_now,
        to_system_utc=_no_wake_up,
    )
    windower = TumblingWindower(length=timedelta(milliseconds=WINDOW_MS), align_to=UNIX_EPOCH)
    sums = fold_window("sum", keyed, clock, windower, lambda: 0, _add, _merge, ordered=False)
    op.output("windows", op.map("format", sums.down, _window_line), FileSink(output_path))
    op.output("late", op.map("format_late", sums.late, _late_line), FileSink(output_path + ".late"))
    return dataflow
