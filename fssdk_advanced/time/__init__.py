"""Time in the state library: persistent timers and state TTL, over the Store API only.

:class:`TimerService` keeps event-time and processing-time timers in a store, deduplicated per
(key, namespace, timestamp) and fired exactly once each, in timestamp order, by
:meth:`TimerService.advance_watermark` and :meth:`TimerService.advance_processing_time`.
:class:`StateTtl` says how long state values live, in processing time (the default clock) or in
event time (``timers.event_time_clock()``). :class:`KeyedProcessDriver` is an operator written
as ``process_element`` and ``on_timer`` over named timers (:class:`KeyedTimers`) that fire by
themselves. See docs/time.md.
"""

from fssdk_advanced.time._process import (
    KeyedProcessDriver,
    KeyedTimers,
    PendingTimer,
    ProcessTimer,
)
from fssdk_advanced.time._timers import EventTimeClock, Timer, TimerService
from fssdk_advanced.time._ttl import StateTtl, processing_time_ms

__all__ = [
    "EventTimeClock",
    "KeyedProcessDriver",
    "KeyedTimers",
    "PendingTimer",
    "ProcessTimer",
    "StateTtl",
    "Timer",
    "TimerService",
    "processing_time_ms",
]
