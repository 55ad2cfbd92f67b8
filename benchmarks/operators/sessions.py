"""Per-user sessions, closed by event-time timers kept in a priority queue.

Each input record is a page view, ``{"user": "u00042", "ts": ms, "page": "/p/7", "dwell_ms": n}``,
in roughly time order. A user's session is a run of views with less than ``gap_ms`` (config,
default 30 000) between consecutive ones. When the watermark passes a session's last view plus
the gap, the session is emitted as one JSON line on target 0 and its state is cleared. A view at
or before the last watermark is late: it goes, unchanged, to target 1.

The state uses the five state types of :mod:`fssdk_advanced`, with public APIs only:

- ``bounds``: a keyed ValueState per user, ``(first ts, last ts, armed timer)`` of the open
  session;
- ``path``: a keyed ListState per user, the pages in arrival order;
- ``pages``: a keyed MapState per user, views per page;
- ``dwell``: a keyed AggregatingState per user, ``(views, total, longest)`` of the dwell times;
- ``timers``: a non-keyed PriorityQueueState of ``(deadline, user)``, fired on watermarks (the
  way an operator keeps event-time timers without a timer service); ``watermark``: a non-keyed
  ValueState with the last watermark.

A session arms one timer at ``first ts + gap``. When it fires and the session has seen later
views, it is armed again at ``last ts + gap``; a timer that no longer matches its session's armed
one is stale and dropped. A view more than the gap after its session's last view closes that
session at once and opens a new one.

Run it from the repository root, on input written by ``benchmarks.e2e.write_page_views``::

    python -c "from pathlib import Path; from benchmarks.e2e import write_page_views as w; \\
        w(Path('events.jsonl'), 40_000)"
    fssdk run benchmarks/operators/sessions.py --input events.jsonl --output sessions.jsonl \\
        --state-dir state/sessions --watermark-field ts --watermark-every 100 \\
        --watermark-delay 2000 --final-watermark
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import fssdk
from fssdk_advanced import (
    BytesCodec,
    IntCodec,
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedValueStateFactory,
    PriorityQueueState,
    StringCodec,
    TupleCodec,
    ValueState,
)

#: ``(views, total dwell ms, longest dwell ms)``.
Dwell = tuple[int, int, int]
#: ``(first ts, last ts, armed timer)`` of an open session.
Bounds = tuple[int, int, int]


class DwellStats:
    """AggregateFunc of dwell times: ``(views, total, longest)`` in, ``{views, mean, max}`` out."""

    def create_accumulator(self) -> Dwell:
        return (0, 0, 0)

    def add(self, value: int, accumulator: Dwell) -> Dwell:
        views, total, longest = accumulator
        return (views + 1, total + value, max(longest, value))

    def get_result(self, accumulator: Dwell) -> dict[str, float]:
        views, total, longest = accumulator
        return {"views": views, "mean_ms": round(total / views, 1), "max_ms": longest}

    def merge(self, a: Dwell, b: Dwell) -> Dwell:
        return (a[0] + b[0], a[1] + b[1], max(a[2], b[2]))


def parse_view(data: bytes) -> tuple[bytes, int, str, int]:
    """``(user, ts, page, dwell_ms)`` of one record; ValueError names what is wrong."""
    view = json.loads(data)
    if not isinstance(view, dict):
        raise ValueError(f"a page view must be a JSON object, got {data[:80]!r}")
    user, ts, page, dwell = view.get("user"), view.get("ts"), view.get("page"), view.get("dwell_ms")
    if not (
        isinstance(user, str) and type(ts) is int and isinstance(page, str) and type(dwell) is int
    ):
        raise ValueError(f"a page view needs str user and page, int ts and dwell_ms: {data[:80]!r}")
    return user.encode(), ts, page, dwell


class Sessions(fssdk.BaseDriver):
    """Per-user sessions of page views, emitted when the watermark passes their end."""

    def init(self, ctx: fssdk.Context, config: Mapping[str, str]) -> None:
        self.gap = int(config.get("gap_ms", "30000"))
        if self.gap < 1:
            raise ValueError(f"gap_ms must be positive, got {self.gap}")
        ints = IntCodec()
        self.bounds = KeyedValueStateFactory.from_context(
            ctx, "sessions", b"bounds", TupleCodec(ints, ints, ints)
        )
        self.path = KeyedListStateFactory.from_context(ctx, "sessions", b"path", StringCodec())
        self.pages = KeyedMapStateFactory.from_context(
            ctx, "sessions", b"pages", StringCodec(), ints
        )
        self.dwell = KeyedAggregatingStateFactory.from_context(
            ctx, "sessions", b"dwell", TupleCodec(ints, ints, ints), DwellStats()
        )
        self.timers = PriorityQueueState.from_context(ctx, "timers", TupleCodec(ints, BytesCodec()))
        self.watermark = ValueState.from_context(ctx, "watermark", ints)

    def process(self, ctx: fssdk.Context, source_id: int, data: bytes) -> None:
        user, ts, page, dwell = parse_view(data)
        watermark, seen = self.watermark.value()
        if seen and watermark is not None and ts <= watermark:
            ctx.emit(data, 1)
            return
        session = self.bounds.new_keyed_value(user, b"")
        bounds, found = session.value()
        if found and bounds is not None and ts > bounds[1] + self.gap:
            self._close(ctx, user, bounds)
            bounds = None
        if bounds is None:
            deadline = ts + self.gap
            session.update((ts, ts, deadline))
            self.timers.add((deadline, user))
        else:
            first, last, armed = bounds
            session.update((min(first, ts), max(last, ts), armed))
        self.path.new_keyed_list(user, b"").add(page)
        views = self.pages.new_keyed_map(user, "pages")
        count, _ = views.get(page)
        views.put(page, (count or 0) + 1)
        self.dwell.new_aggregating_state(user).add(dwell)

    def process_watermark(self, ctx: fssdk.Context, source_id: int, watermark: int) -> None:
        timers = self.timers
        while True:
            timer, found = timers.peek()
            if not found or timer is None or timer[0] > watermark:
                break
            timers.poll()
            deadline, user = timer
            session = self.bounds.new_keyed_value(user, b"")
            bounds, open_ = session.value()
            if not open_ or bounds is None or bounds[2] != deadline:
                continue
            first, last, _ = bounds
            if last + self.gap <= watermark:
                self._close(ctx, user, bounds)
            else:
                session.update((first, last, last + self.gap))
                timers.add((last + self.gap, user))
        self.watermark.update(watermark)
        ctx.emit_watermark(watermark)

    def _close(self, ctx: fssdk.Context, user: bytes, bounds: Bounds) -> None:
        """Emit the session of ``user`` and clear its state."""
        path = self.path.new_keyed_list(user, b"")
        views = self.pages.new_keyed_map(user, "pages")
        dwell = self.dwell.new_aggregating_state(user)
        pages = path.get()
        top_page, top_views = max(views.all(), key=lambda entry: entry[1])
        stats, _ = dwell.get()
        session = {
            "user": user.decode(),
            "start": bounds[0],
            "end": bounds[1],
            "views": len(pages),
            "entry": pages[0],
            "exit": pages[-1],
            "top_page": top_page,
            "top_page_views": top_views,
            "dwell": stats,
        }
        ctx.emit(json.dumps(session, sort_keys=True).encode())
        self.bounds.new_keyed_value(user, b"").clear()
        path.clear()
        views.clear()
        dwell.clear()


fssdk.run(Sessions())
