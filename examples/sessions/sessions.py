"""Per-user sessions in event time: clicks at most ``gap_ms`` apart belong to one session.

Each input record is a click, ``{"ts": milliseconds, "user": "...", "page": "..."}``, in roughly
time order. A click at ``ts`` opens the session window ``[ts, ts + gap)``; windows of one user
that overlap or touch merge (as Flink's event-time session windows do), so a session is a run of
clicks with no pause of more than ``gap_ms`` (config, default 30 000), and it ends ``gap_ms``
after its last click. When the watermark passes that end the session is emitted on target 0 as
one JSON line, ``{"user", "start", "end", "clicks", "pages"}`` (``pages``: the distinct pages,
sorted). A click that falls in no open session and whose own window has already ended is late:
it goes, unchanged, to target 1 (``FILE.1`` with ``fssdk run --output FILE``).

State:

- ``sessions``: a :class:`KeyedMapStateFactory` keyed by user, mapping each open session's
  start to ``(last click, clicks, pages)``.
- ``timers``: the timers of :class:`KeyedProcessDriver`, one event-time timer per open session,
  named by its start and due at its last millisecond (``last click + gap - 1``). A click that
  extends a session registers its timer again under the same name, which replaces the pending
  one; a merge deletes the merged sessions' timers by name. The watermark fires them; each
  reaches ``on_timer``, which emits the session.

Run it (from the repository root)::

    fssdk run examples/sessions/sessions.py --input examples/sessions/clicks.jsonl \\
        --output sessions.jsonl --state-dir state/sessions --watermark-field ts \\
        --watermark-delay 5000 --final-watermark
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import fssdk
from fssdk_advanced import (
    IntCodec,
    KeyedMapStateFactory,
    KeyedProcessDriver,
    MsgpackCodec,
    ProcessTimer,
)

START = IntCodec()


def parse_click(data: bytes) -> tuple[int, str, str]:
    """``(ts, user, page)`` of one input record; ValueError names what is wrong."""
    click = json.loads(data)
    if not isinstance(click, dict):
        raise ValueError(f"a click must be a JSON object, got {data[:80]!r}")
    ts, user, page = click.get("ts"), click.get("user"), click.get("page")
    if type(ts) is not int or not isinstance(user, str) or not isinstance(page, str):
        raise ValueError(f"a click needs integer ts, string user and string page: {data[:80]!r}")
    return ts, user, page


class Sessions(KeyedProcessDriver):
    """Event-time session windows per user, one named timer per open session."""

    def open(self, ctx: fssdk.Context, config: Mapping[str, str]) -> None:
        self.gap = int(config.get("gap_ms", "30000"))
        if self.gap < 1:
            raise ValueError(f"gap_ms must be positive, got {self.gap}")
        self.sessions = KeyedMapStateFactory.from_context(
            ctx, "sessions", b"open", IntCodec(), MsgpackCodec()
        )

    def key_of(self, record: bytes) -> bytes:
        return parse_click(record)[1].encode()

    def process_element(self, ctx: fssdk.Context, key: bytes, record: bytes) -> None:
        ts, _, page = parse_click(record)
        sessions = self.sessions.new_keyed_map(key)
        overlapping = [
            (start, session)
            for start, session in sessions.all()
            if start <= ts + self.gap and ts <= session[0] + self.gap
        ]
        watermark = self.timers.current_watermark
        if not overlapping and watermark is not None and ts + self.gap - 1 <= watermark:
            ctx.emit(record, 1)
            return
        start, last, clicks, pages = ts, ts, 1, {page}
        for old_start, (old_last, old_clicks, old_pages) in overlapping:
            sessions.delete(old_start)
            self.timers.delete_timer(key, START.encode(old_start))
            start, last = min(start, old_start), max(last, old_last)
            clicks += old_clicks
            pages.update(old_pages)
        sessions.put(start, [last, clicks, sorted(pages)])
        self.timers.register_event_time_timer(key, last + self.gap - 1, name=START.encode(start))

    def on_timer(self, ctx: fssdk.Context, timer: ProcessTimer) -> None:
        start = START.decode(timer.name)
        sessions = self.sessions.new_keyed_map(timer.key)
        session, found = sessions.get(start)
        if not found or session is None:
            raise RuntimeError(f"timer {timer} has no session")
        last, clicks, pages = session
        out = {
            "user": timer.key.decode(),
            "start": start,
            "end": last + self.gap,
            "clicks": clicks,
            "pages": pages,
        }
        ctx.emit(json.dumps(out, sort_keys=True).encode())
        sessions.delete(start)


fssdk.run(Sessions())
