"""lowered_thresholds: every declared size threshold at its smallest, for one block of code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fssdk.thresholds import Threshold, registered, set_lowered


@contextmanager
def lowered_thresholds(lowered: bool = True) -> Iterator[list[Threshold]]:
    """Run the block with every threshold declared through :func:`fssdk.thresholds.threshold`
    at its smallest meaningful value (``lowered=False``: at its production value); restore the
    previous setting on exit. Yields the thresholds declared so far.

    Small examples then cross every size a store or state type branches on (a buffer's
    automatic flush, a scope turning sorted, a cache refill, a cleanup step), so a property test
    or a :func:`~fssdk.testing.check_store` run inside the block tests both sides of each.
    Modules first imported inside the block start lowered too. Objects that read a threshold
    when they are made (a TTL index's slice) keep the value of the setting they were made in,
    so make the stores and states under test inside the block.

    >>> import fssdk.stores._buffer as buffer
    >>> with lowered_thresholds():
    ...     buffer.ORDERED_AT
    1
    >>> buffer.ORDERED_AT
    64
    """
    previous = set_lowered(lowered)
    try:
        yield registered()
    finally:
        set_lowered(previous)
