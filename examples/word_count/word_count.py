"""Word count: the Go SDK guide's CounterProcessor, ported to Python.

Each input record is a word (surrounding whitespace is trimmed, empty records are skipped). The
count of each word lives in the store ``counter-store`` under the simple key
``key_prefix + word`` (``key_prefix`` comes from the configuration). After each word the
operator emits one JSON object with ``total_processed`` (words so far) and ``counter_map``
(every word's count), keys sorted and without spaces, as Go's ``json.Marshal`` writes it.
Watermarks are forwarded unchanged.

The Go version keeps ``counter_map`` and ``total_processed`` in memory only, so they restart
from zero when the operator restarts. Here ``init`` rebuilds both from the store (every key under
``key_prefix`` is a word, and the total is the sum of the counts), so that a run resumed from a
checkpoint emits exactly what an uninterrupted one does; nothing extra is written at
``take_checkpoint``.

Run it (from the repository root)::

    fssdk run examples/word_count/word_count.py --input examples/word_count/gettysburg.txt \\
        --output counts.jsonl --state-dir state/word_count \\
        --config-file examples/word_count/config.yaml
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import fssdk

STORE_NAME = "counter-store"


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key after every key that starts with ``prefix`` (b"": no end)."""
    stripped = prefix.rstrip(b"\xff")
    return stripped[:-1] + bytes((stripped[-1] + 1,)) if stripped else b""


class CounterProcessor(fssdk.BaseDriver):
    """Counts words per ``key_prefix`` and emits the running totals as JSON."""

    def __init__(self) -> None:
        self.store: fssdk.Store | None = None
        self.counter_map: dict[str, int] = {}
        self.total_processed = 0
        self.key_prefix = ""

    def init(self, ctx: fssdk.Context, config: Mapping[str, str]) -> None:
        self.store = ctx.get_or_create_store(STORE_NAME)
        self.key_prefix = config.get("key_prefix", "").strip()
        self.counter_map = {}
        self.total_processed = 0
        prefix = self.key_prefix.encode()
        for key in self.store.list_states(prefix, prefix_end(prefix)):
            count = self._count(key)
            self.counter_map[key[len(prefix) :].decode()] = count
            self.total_processed += count

    def _count(self, key: bytes) -> int:
        assert self.store is not None
        stored = self.store.get_state(key)
        if stored is None:
            return 0
        try:
            return int(stored)
        except ValueError as exc:
            raise fssdk.CorruptStateError(
                f"store {STORE_NAME!r}: key {key!r} holds {stored!r}, not a count"
            ) from exc

    def process(self, ctx: fssdk.Context, source_id: int, data: bytes) -> None:
        assert self.store is not None, "process() before init()"
        word = data.decode("utf-8").strip()
        if not word:
            return
        self.total_processed += 1
        full_key = (self.key_prefix + word).encode()
        count = self._count(full_key) + 1
        self.counter_map[word] = count
        self.store.put_state(full_key, str(count).encode())
        out = {"total_processed": self.total_processed, "counter_map": self.counter_map}
        text = json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        ctx.emit(text.encode())

    def process_watermark(self, ctx: fssdk.Context, source_id: int, watermark: int) -> None:
        ctx.emit_watermark(watermark, 0)

    def close(self, ctx: fssdk.Context) -> None:
        self.store = None
        self.counter_map = {}


fssdk.run(CounterProcessor())
