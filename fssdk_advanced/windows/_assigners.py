"""Event-time window assigners: which windows ``[start, end)`` hold a timestamp.

A :class:`Window` is identified in the store by :data:`WINDOW_ID`, the ordered encoding of
``(start, end)``, so scanning a key's windows meets them in time order.
"""

from __future__ import annotations

import abc
from typing import Final, NamedTuple

from fssdk.reserved import MAX_TIME, MIN_TIME
from fssdk_advanced.codecs import IntCodec, TupleCodec

WINDOW_ID: Final = TupleCodec(IntCodec(), IntCodec())
"""The ordered codec of a window's id, ``(start, end)``: byte order is (start, end) order."""


class Window(NamedTuple):
    """The event-time window ``[start, end)``: timestamps ``t`` with ``start <= t < end``."""

    start: int
    end: int

    @property
    def max_timestamp(self) -> int:
        """The last timestamp the window holds; its timer fires when the watermark reaches it."""
        return self.end - 1

    def encode(self) -> bytes:
        """The window's id: :data:`WINDOW_ID` of ``(start, end)``, ordered by start, then end."""
        return WINDOW_ID.encode((self.start, self.end))

    @classmethod
    def decode(cls, window_id: bytes) -> Window:
        """The window of an id made by :meth:`encode`; ``ValueError`` if it does not decode."""
        start, end = WINDOW_ID.decode(window_id)
        return cls(start, end)


def _positive(value: object, argument: str, owner: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{owner}: {argument} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{owner}: {argument} must be positive, got {value}")
    return value


def _offset(offset: object, period: int, argument: str, owner: str) -> int:
    """``offset`` normalised into ``[0, period)``; it must satisfy ``abs(offset) < period``.

    A negative offset shifts the windows back, as Flink's ``of(days(1), hours(-8))`` does:
    ``-8h`` and ``16h`` give the same windows of a day.
    """
    if type(offset) is not int:
        raise TypeError(f"{owner}: offset must be an int, not {type(offset).__name__}")
    if not -period < offset < period:
        raise ValueError(
            f"{owner}: offset must satisfy abs(offset) < {argument}={period}, got {offset}"
        )
    return offset % period


def check_timestamp(timestamp: object, operation: str) -> int:
    """``timestamp`` if it is a signed 64-bit int; ``TypeError`` / ``ValueError`` naming the
    operation otherwise."""
    if type(timestamp) is not int:
        raise TypeError(f"{operation}: timestamp must be an int, not {type(timestamp).__name__}")
    if not MIN_TIME <= timestamp <= MAX_TIME:
        raise ValueError(f"{operation}: timestamp must be a signed 64-bit int, got {timestamp}")
    return timestamp


class WindowAssigner(abc.ABC):
    """Assigns each event timestamp to the windows that contain it, in start order."""

    __slots__ = ()

    merging: bool = False
    """True for assigners whose overlapping windows of one key merge (sessions)."""

    @abc.abstractmethod
    def assign(self, timestamp: int) -> list[Window]:
        """The windows holding ``timestamp``, ascending by start."""

    def span(self, timestamp: int) -> tuple[int, int]:
        """``(lo, hi)`` with ``lo <= timestamp < hi``: every timestamp in ``[lo, hi)`` is in the
        same windows as ``timestamp``, so a caller may reuse one :meth:`assign` for them all.

        This default, ``(timestamp, timestamp + 1)``, promises nothing beyond ``timestamp``.
        """
        return timestamp, timestamp + 1


class TumblingWindows(WindowAssigner):
    """Fixed, non-overlapping windows of ``size``: ``[offset + k*size, offset + (k+1)*size)``.

    ``offset`` satisfies ``abs(offset) < size`` and is kept normalised into ``[0, size)``: a
    negative one shifts the windows back (days starting at 16:00 UTC, i.e. midnight UTC+8).

    >>> TumblingWindows(300).assign(610)
    [Window(start=600, end=900)]
    >>> TumblingWindows(3600, offset=900).assign(610)
    [Window(start=-2700, end=900)]
    >>> TumblingWindows(86_400, offset=-28_800)
    TumblingWindows(size=86400, offset=57600)
    """

    __slots__ = ("offset", "size")

    def __init__(self, size: int, offset: int = 0) -> None:
        self.size: Final = _positive(size, "size", "TumblingWindows")
        self.offset: Final = _offset(offset, size, "size", "TumblingWindows")

    def __repr__(self) -> str:
        return f"TumblingWindows(size={self.size}, offset={self.offset})"

    def assign(self, timestamp: int) -> list[Window]:
        """The one window holding ``timestamp``."""
        timestamp = check_timestamp(timestamp, "TumblingWindows.assign")
        start = timestamp - (timestamp - self.offset) % self.size
        return [Window(start, start + self.size)]

    def span(self, timestamp: int) -> tuple[int, int]:
        """The window holding ``timestamp``: ``(start, end)``.

        >>> TumblingWindows(300).span(610)
        (600, 900)
        """
        start = timestamp - (timestamp - self.offset) % self.size
        return start, start + self.size


class SlidingWindows(WindowAssigner):
    """Hopping windows of ``size`` starting every ``slide``: ``size / slide`` (rounded up) per
    timestamp. ``slide`` must not exceed ``size`` (every timestamp is in some window);
    ``offset`` satisfies ``abs(offset) < slide`` and is kept normalised into ``[0, slide)``.

    >>> SlidingWindows(60, 20).assign(65)
    [Window(start=20, end=80), Window(start=40, end=100), Window(start=60, end=120)]
    """

    __slots__ = ("offset", "size", "slide")

    def __init__(self, size: int, slide: int, offset: int = 0) -> None:
        self.size: Final = _positive(size, "size", "SlidingWindows")
        self.slide: Final = _positive(slide, "slide", "SlidingWindows")
        if slide > size:
            raise ValueError(
                f"SlidingWindows: slide ({slide}) must not exceed size ({size}): timestamps "
                "between windows would belong to none"
            )
        self.offset: Final = _offset(offset, slide, "slide", "SlidingWindows")

    def __repr__(self) -> str:
        return f"SlidingWindows(size={self.size}, slide={self.slide}, offset={self.offset})"

    def assign(self, timestamp: int) -> list[Window]:
        """Every window holding ``timestamp``, earliest start first."""
        timestamp = check_timestamp(timestamp, "SlidingWindows.assign")
        last = timestamp - (timestamp - self.offset) % self.slide
        first = last - (self.size - 1 - (timestamp - last)) // self.slide * self.slide
        return [Window(start, start + self.size) for start in range(first, last + 1, self.slide)]

    def span(self, timestamp: int) -> tuple[int, int]:
        """From the later of the last window start and the first end at or before
        ``timestamp``, to the earlier of the next start and the first end after it.

        >>> SlidingWindows(10, 4).span(8), SlidingWindows(10, 4).span(11)
        ((8, 10), (10, 12))
        """
        last = timestamp - (timestamp - self.offset) % self.slide
        first = last - (self.size - 1 - (timestamp - last)) // self.slide * self.slide
        return max(last, first - self.slide + self.size), min(last + self.slide, first + self.size)


class SessionWindows(WindowAssigner):
    """Session windows: an event at ``t`` opens ``[t, t + gap)``; overlapping windows of one
    key merge, so a session is a run of events with no pause of ``gap`` or more.

    >>> SessionWindows(30).assign(100)
    [Window(start=100, end=130)]
    """

    __slots__ = ("gap",)

    merging = True

    def __init__(self, gap: int) -> None:
        self.gap: Final = _positive(gap, "gap", "SessionWindows")

    def __repr__(self) -> str:
        return f"SessionWindows(gap={self.gap})"

    def assign(self, timestamp: int) -> list[Window]:
        """The event's own window, before any merge."""
        timestamp = check_timestamp(timestamp, "SessionWindows.assign")
        return [Window(timestamp, timestamp + self.gap)]
