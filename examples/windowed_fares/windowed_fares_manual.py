"""Tumbling-window fare statistics per pickup zone, fired by watermarks: windows by hand.

The same operator as ``windowed_fares.py`` with its windows written out (a priority queue of
pending windows and the window start as namespace) instead of :class:`WindowedAggregation`; it
gives the same output byte for byte, and serves as the comparison for the helper's cost.

Each input record is a taxi trip, ``{"ts": seconds, "zone": "...", "fare": 12.5}``, in roughly
time order. Trips are grouped per zone into tumbling windows of ``window_seconds`` (config,
default 300): window ``[start, start + size)`` holds the trips with ``start <= ts < start + size``.

State (fssdk_advanced):

- ``windows``: a :class:`KeyedAggregatingStateFactory` keyed by zone, whose state name (the
  scope's namespace) is the window start: one :class:`FareStats` accumulator per zone and window.
- ``timers``: a :class:`PriorityQueueState` of ``(last second of window, zone)``, the windows
  waiting for the watermark, smallest first.
- ``watermark``: a :class:`ValueState` with the last watermark seen.

A watermark ``W`` says no trip at or before ``W`` is still to come. On each one the operator
fires every window whose last second is ``<= W``: it emits the window's statistics as one JSON
line on target 0 and clears the window. A trip whose window has already fired is late: it goes,
unchanged, to target 1 (with ``fssdk run`` and ``--output FILE``, the file ``FILE.1``).
Watermarks are forwarded.

Run it (from the repository root)::

    fssdk run examples/windowed_fares/windowed_fares_manual.py \\
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
    IntCodec,
    KeyedAggregatingStateFactory,
    PriorityQueueState,
    StringCodec,
    TupleCodec,
    ValueState,
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
        self.size = int(config.get("window_seconds", "300"))
        if self.size < 1:
            raise ValueError(f"window_seconds must be positive, got {self.size}")
        self.windows = KeyedAggregatingStateFactory.from_context_auto_codec(
            ctx, "windows", b"fares", FareStats(), FareAccumulator
        )
        self.timers = PriorityQueueState.from_context(
            ctx, "timers", TupleCodec(IntCodec(), StringCodec())
        )
        self.watermark = ValueState.from_context(ctx, "watermark", IntCodec())

    def process(self, ctx: fssdk.Context, source_id: int, data: bytes) -> None:
        ts, zone, cents = parse_trip(data)
        start = ts - ts % self.size
        last_second = start + self.size - 1
        watermark, seen = self.watermark.value()
        if seen and watermark is not None and last_second <= watermark:
            ctx.emit(data, 1)
            return
        window = self.windows.new_aggregating_state(zone.encode(), str(start))
        _, exists = window.get()
        if not exists:
            self.timers.add((last_second, zone))
        window.add(cents)

    def process_watermark(self, ctx: fssdk.Context, source_id: int, watermark: int) -> None:
        while True:
            timer, found = self.timers.peek()
            if not found or timer is None or timer[0] > watermark:
                break
            self.timers.poll()
            last_second, zone = timer
            start = last_second + 1 - self.size
            window = self.windows.new_aggregating_state(zone.encode(), str(start))
            stats, exists = window.get()
            if exists and stats is not None:
                out = {
                    "zone": zone,
                    "window_start": start,
                    "window_end": start + self.size,
                    **stats,
                }
                ctx.emit(json.dumps(out, sort_keys=True).encode())
            window.clear()
        self.watermark.update(watermark)
        ctx.emit_watermark(watermark)


fssdk.run(WindowedFares())
