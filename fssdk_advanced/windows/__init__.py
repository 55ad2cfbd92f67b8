"""Event-time windows over the keyed states: assigners and :class:`WindowedAggregation`.

Assigners (:class:`TumblingWindows`, :class:`SlidingWindows`, :class:`SessionWindows`) say
which windows hold a timestamp; a window's id (:data:`WINDOW_ID`, ordered by start then end) is
the namespace of its state. :class:`WindowedAggregation` folds values into those windows and
emits results as the watermark passes, through a :class:`fssdk_advanced.TimerService`. See the
windows section of docs/state.md.
"""

from fssdk.reserved import SESSIONS_KEY_GROUP
from fssdk_advanced.windows._aggregation import (
    EmitMode,
    WindowedAggregation,
    WindowResult,
)
from fssdk_advanced.windows._assigners import (
    WINDOW_ID,
    SessionWindows,
    SlidingWindows,
    TumblingWindows,
    Window,
    WindowAssigner,
)

__all__ = [
    "SESSIONS_KEY_GROUP",
    "WINDOW_ID",
    "EmitMode",
    "SessionWindows",
    "SlidingWindows",
    "TumblingWindows",
    "Window",
    "WindowAssigner",
    "WindowResult",
    "WindowedAggregation",
]
