"""Tumbling-window fare statistics per pickup zone, fired by watermarks.

Each input record is a taxi trip, ``{"ts": seconds, "zone": "...", "fare": 12.5}``, in roughly
time order. Trips are grouped per zone into tumbling windows of ``window_seconds`` (config,
default 300): window ``[start, start + size)`` holds the trips with ``start <= ts < start + size``.

State: one :class:`WindowedAggregation` over ``TumblingWindows(window_seconds)`` in the store
``windows``: a :class:`KeyedAggregatingStateFactory` keyed by zone (a ``str``, through
``key_codec=StringCodec()``) holds one :class:`FareStats` accumulator per zone and window, and
the aggregation's timer service one timer per window at its last second.

A watermark ``W`` says no trip at or before ``W`` is still to come. On each one the windows whose
last second is ``<= W`` fire: each is emitted as one JSON line on target 0 and cleared. A trip
whose window has already fired is late: it goes, unchanged, to target 1 (with ``fssdk run`` and
``--output FILE``, the file ``FILE.1``). Watermarks are forwarded.

``windowed_fares_manual.py`` is the same operator with the windows written by hand.

Run it (from the repository root)::

    fssdk run examples/windowed_fares/windowed_fares.py \\
        --input examples/windowed_fares/trips.jsonl --output windows.jsonl \\
        --state-dir state/windowed_fares --watermark-field ts --watermark-delay 30 \\
        --final-watermark --set window_seconds=300
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fssdk
from fssdk_advanced import (
    KeyedAggregatingStateFactory,
    StringCodec,
    TumblingWindows,
    WindowedAggregation,
    WindowResult,
)


@dataclass
class FareAccumulator:
    """What a window keeps: trip count, fare total (in cents, exact) and the largest fare."""

    trips: int = 0
    total_cents: int = 0
    max_cents: int = 0


class FareStats:
    """The AggregateFunc of a window: fares in, ``{trips, total_fare, avg_fare, max_fare}`` out."""

    def create_accumulator(self) -> FareAccumulator:
        return FareAccumulator()

    def add(self, value: int, accumulator: FareAccumulator) -> FareAccumulator:
        return FareAccumulator(
            accumulator.trips + 1,
            accumulator.total_cents + value,
            max(accumulator.max_cents, value),
        )

    def get_result(self, accumulator: FareAccumulator) -> dict[str, Any]:
        return {
            "trips": accumulator.trips,
            "total_fare": accumulator.total_cents / 100,
            "avg_fare": round(accumulator.total_cents / accumulator.trips / 100, 2),
            "max_fare": accumulator.max_cents / 100,
        }

    def merge(self, a: FareAccumulator, b: FareAccumulator) -> FareAccumulator:
        return FareAccumulator(
            a.trips + b.trips, a.total_cents + b.total_cents, max(a.max_cents, b.max_cents)
        )


def parse_trip(data: bytes) -> tuple[int, str, int]:
    """``(ts, zone, fare in cents)`` of one input record; ValueError names what is wrong."""
    trip = json.loads(data)
    if not isinstance(trip, dict):
        raise ValueError(f"a trip must be a JSON object, got {data[:80]!r}")
    ts, zone, fare = trip.get("ts"), trip.get("zone"), trip.get("fare")
    if type(ts) is not int or not isinstance(zone, str) or not isinstance(fare, int | float):
        raise ValueError(f"a trip needs integer ts, string zone and numeric fare: {data[:80]!r}")
    return ts, zone, round(fare * 100)


class WindowedFares(fssdk.BaseDriver):
    """Per zone and tumbling window: trips, total, average and largest fare."""

    def init(self, ctx: fssdk.Context, config: Mapping[str, str]) -> None:
        size = int(config.get("window_seconds", "300"))
        if size < 1:
            raise ValueError(f"window_seconds must be positive, got {size}")
        fares = KeyedAggregatingStateFactory.from_context_auto_codec(
            ctx, "windows", b"fares", FareStats(), FareAccumulator, key_codec=StringCodec()
        )
        self.windows = WindowedAggregation(fares, TumblingWindows(size), on_result=self.emit)

    def emit(self, ctx: fssdk.Context, fired: WindowResult[dict[str, Any]]) -> None:
        out = {
            "zone": fired.key,
            "window_start": fired.window.start,
            "window_end": fired.window.end,
            **fired.result,
        }
        ctx.emit(json.dumps(out, sort_keys=True).encode())

    def process(self, ctx: fssdk.Context, source_id: int, data: bytes) -> None:
        ts, zone, cents = parse_trip(data)
        if not self.windows.add(ctx, zone, ts, cents):
            ctx.emit(data, 1)

    def process_watermark(self, ctx: fssdk.Context, source_id: int, watermark: int) -> None:
        self.windows.advance_watermark(ctx, watermark)
        ctx.emit_watermark(watermark)


fssdk.run(WindowedFares())
