"""Moving average temperature per sensor over sliding windows, with late readings on the side.

Each input record is a reading, ``{"ts": seconds, "sensor": "...", "celsius": 21.4}``, in
roughly time order. Readings are grouped per sensor into sliding windows of ``window_seconds``
(config, default 60) starting every ``slide_seconds`` (default 20), so each reading counts in
three windows. When the watermark passes a window's end the window is emitted on target 0 as
one JSON line, ``{"sensor", "window_start", "window_end", "readings", "average"}``; with an
``allowed_lateness`` (default 0) a late reading within it updates its windows and emits them
again (``emit="on_end_and_late"``), and a window is cleared once the watermark passes its end
plus the lateness. A reading whose windows have all closed is late: it goes, unchanged, to
target 1 (``FILE.1`` with ``fssdk run --output FILE``).

State: one :class:`WindowedAggregation` over ``SlidingWindows`` in the store ``averages``; per
sensor and window a :class:`Mean` accumulator (count and sum of tenths of a degree: exact).

Run it (from the repository root)::

    fssdk run examples/moving_average/moving_average.py \\
        --input examples/moving_average/readings.jsonl --output averages.jsonl \\
        --state-dir state/moving_average --watermark-field ts --watermark-delay 10 \\
        --final-watermark
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import fssdk
from fssdk_advanced import (
    AggregateFunc,
    KeyedAggregatingStateFactory,
    SlidingWindows,
    WindowedAggregation,
    WindowResult,
)


class Mean(AggregateFunc[int, list[int], tuple[int, float]]):
    """Readings in tenths of a degree in, ``(count, average in degrees)`` out."""

    def create_accumulator(self) -> list[int]:
        return [0, 0]

    def add(self, value: int, accumulator: list[int]) -> list[int]:
        return [accumulator[0] + 1, accumulator[1] + value]

    def get_result(self, accumulator: list[int]) -> tuple[int, float]:
        count, tenths = accumulator
        return count, round(tenths / count / 10, 2)

    def merge(self, a: list[int], b: list[int]) -> list[int]:
        return [a[0] + b[0], a[1] + b[1]]


def parse_reading(data: bytes) -> tuple[int, str, int]:
    """``(ts, sensor, tenths of a degree)`` of one record; ValueError names what is wrong."""
    reading = json.loads(data)
    if not isinstance(reading, dict):
        raise ValueError(f"a reading must be a JSON object, got {data[:80]!r}")
    ts, sensor, celsius = reading.get("ts"), reading.get("sensor"), reading.get("celsius")
    if type(ts) is not int or not isinstance(sensor, str) or not isinstance(celsius, int | float):
        raise ValueError(
            f"a reading needs integer ts, string sensor and numeric celsius: {data[:80]!r}"
        )
    return ts, sensor, round(celsius * 10)


class MovingAverage(fssdk.BaseDriver):
    """Per sensor and sliding window: the number of readings and their average."""

    def init(self, ctx: fssdk.Context, config: Mapping[str, str]) -> None:
        windows = SlidingWindows(
            int(config.get("window_seconds", "60")), int(config.get("slide_seconds", "20"))
        )
        means = KeyedAggregatingStateFactory.from_context_auto_codec(
            ctx, "averages", b"means", Mean(), list[int]
        )
        self.averages = WindowedAggregation(
            means,
            windows,
            on_result=self.emit,
            allowed_lateness=int(config.get("allowed_lateness", "0")),
            emit="on_end_and_late",
        )

    def emit(self, ctx: fssdk.Context, fired: WindowResult[tuple[int, float]]) -> None:
        count, average = fired.result
        out = {
            "sensor": fired.key.decode(),
            "window_start": fired.window.start,
            "window_end": fired.window.end,
            "readings": count,
            "average": average,
        }
        ctx.emit(json.dumps(out, sort_keys=True).encode())

    def process(self, ctx: fssdk.Context, source_id: int, data: bytes) -> None:
        ts, sensor, tenths = parse_reading(data)
        if not self.averages.add(ctx, sensor.encode(), ts, tenths):
            ctx.emit(data, 1)

    def process_watermark(self, ctx: fssdk.Context, source_id: int, watermark: int) -> None:
        self.averages.advance_watermark(ctx, watermark)
        ctx.emit_watermark(watermark)


fssdk.run(MovingAverage())
