"""Per-key sums over tumbling event-time windows, fired by watermarks.

Each input record is an event, ``{"key": "k0042", "ts": ms, "value": n}``, in roughly time
order. Values are summed per key in tumbling windows of ``window_ms`` (config, default 10 000):
window ``[start, start + size)`` holds the events with ``start <= ts < start + size``. When the
watermark passes a window's last millisecond, its sum is emitted as one JSON line on target 0,
``{"end": ..., "key": ..., "start": ..., "sum": ...}``, and its state is cleared. An event whose
window has already fired is late: it goes, unchanged, to target 1.

State, with public APIs only: one :class:`WindowedAggregation` over
``TumblingWindows(window_ms)`` in the store ``windows``, whose contents are a
:class:`KeyedAggregatingStateFactory` with the built-in :class:`Sum` of ints, keyed by the
event's key (a ``str``, through ``key_codec=StringCodec()``).

Run it from the repository root, on input written by ``benchmarks.e2e.write_window_events``::

    python -c "from pathlib import Path; from benchmarks.e2e import write_window_events as w; \\
        w(Path('events.jsonl'), 300_000)"
    fssdk run benchmarks/operators/windows.py --input events.jsonl --output windows.jsonl \\
        --state-dir state/windows --watermark-field ts --watermark-delay 2000 --final-watermark
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import fssdk
from fssdk_advanced import (
    IntCodec,
    KeyedAggregatingStateFactory,
    StringCodec,
    Sum,
    TumblingWindows,
    WindowedAggregation,
    WindowResult,
)


def parse_event(data: bytes) -> tuple[str, int, int]:
    """``(key, ts, value)`` of one record; ValueError names what is wrong."""
    event = json.loads(data)
    if not isinstance(event, dict):
        raise ValueError(f"an event must be a JSON object, got {data[:80]!r}")
    key, ts, value = event.get("key"), event.get("ts"), event.get("value")
    if not (isinstance(key, str) and type(ts) is int and type(value) is int):
        raise ValueError(f"an event needs a str key, an int ts and an int value: {data[:80]!r}")
    return key, ts, value


class WindowedSums(fssdk.BaseDriver):
    """The sum of the values per key and tumbling window, emitted when the window ends."""

    def init(self, ctx: fssdk.Context, config: Mapping[str, str]) -> None:
        size = int(config.get("window_ms", "10000"))
        if size < 1:
            raise ValueError(f"window_ms must be positive, got {size}")
        sums = KeyedAggregatingStateFactory.from_context(
            ctx, "windows", b"sums", IntCodec(), Sum(int), key_codec=StringCodec()
        )
        self.windows = WindowedAggregation(sums, TumblingWindows(size), on_result=self.emit)

    def emit(self, ctx: fssdk.Context, fired: WindowResult[int]) -> None:
        out = {
            "key": fired.key,
            "start": fired.window.start,
            "end": fired.window.end,
            "sum": fired.result,
        }
        ctx.emit(json.dumps(out, sort_keys=True).encode())

    def process(self, ctx: fssdk.Context, source_id: int, data: bytes) -> None:
        key, ts, value = parse_event(data)
        if not self.windows.add(ctx, key, ts, value):
            ctx.emit(data, 1)

    def process_watermark(self, ctx: fssdk.Context, source_id: int, watermark: int) -> None:
        self.windows.advance_watermark(ctx, watermark)
        ctx.emit_watermark(watermark)


fssdk.run(WindowedSums())
