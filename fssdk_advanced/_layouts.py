"""The user keys of this library's reserved key groups, for fssdk's tools.

``fssdk state export-flink`` moves a state dir's entries into Flink's per-key partitions. A
timer queue (``fssdk.reserved.EVENT_TIMERS_KEY_GROUP``, ``PROCESSING_TIMERS_KEY_GROUP``) and a
TTL expiry index (``TTL_INDEX_KEY_GROUP``) are scopes whose scope key is not a stream key: the
stream key is inside their user keys, in this library's tuple encoding. fssdk never imports
fssdk_advanced, so it finds :data:`RESERVED_LAYOUTS` through the entry point group
``fssdk.reserved_layouts`` (pyproject.toml); it follows ``fssdk.flink._export.ReservedLayouts``.
"""

from __future__ import annotations

from typing import Final

from fssdk_advanced.state._ttl import entry_key, index_entries_of
from fssdk_advanced.time._timers import timer_of_queue_key


class ReservedLayouts:
    """Reads timer queue keys and expiry index keys; ``ValueError`` for bytes that do not decode.

    >>> from fssdk_advanced.codecs import BytesCodec, IntCodec, TupleCodec
    >>> queue_key = TupleCodec(IntCodec(), BytesCodec(), BytesCodec()).encode((5, b"ann", b"ns"))
    >>> RESERVED_LAYOUTS.timer(queue_key)
    (5, b'ann', b'ns')
    """

    @staticmethod
    def timer(user_key: bytes) -> tuple[int, bytes, bytes]:
        """``(timestamp, key, namespace)`` of a timer queue entry."""
        timestamp, key, namespace = timer_of_queue_key(user_key)
        return timestamp, key, namespace

    @staticmethod
    def expiry(user_key: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
        """``(primary key, entry key)`` of each entry an expiry index key names, ordered by
        primary key: an entry key as it is, a batch as the entry keys of its entries (the
        layout of a store partitioned by key, which keeps no batches)."""
        return sorted((entry[1], entry_key(entry)) for entry in index_entries_of(user_key, value))


RESERVED_LAYOUTS: Final = ReservedLayouts()
