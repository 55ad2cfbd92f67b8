"""Names and bounds the libraries reserve for themselves, in one place.

fssdk_advanced and the engine adapters keep their own state beside the user's, in key groups
(and one simple-key prefix) of the user's stores. They are spelled here and only here:

==========================  ==================================================================
``IDENTITY_KEY_GROUP``      state descriptors: kind, codecs, TTL of each declared state
``TTL_INDEX_KEY_GROUP``     the expiry index of TTL'd state
``EVENT_TIMERS_KEY_GROUP``  event-time timers of a TimerService
``PROCESSING_TIMERS_...``   processing-time timers of a TimerService
``TIMER_CLOCK_KEY_GROUP``   a TimerService's watermark and processing time
``NAMED_TIMERS_KEY_GROUP``  the named timers of a KeyedProcessDriver: domain, time, payload
``SESSIONS_KEY_GROUP``      open session windows of a WindowedAggregation
``QUEUE_SEQ_PREFIX``        simple keys: the insertion counter of each priority-queue key group
==========================  ==================================================================

The hidden ones (identity, TTL index) start with ``HIDDEN_PREFIX`` (a NUL byte, then
``fssdk_advanced/``) and the others with ``LIBRARY_PREFIX``; the spellings are part of the
on-disk format (docs/key-format.md) and never change within a format version. User state may use
neither prefix (:func:`is_reserved`), and ``fssdk state inspect`` lists none of these groups among
the user's.

Time is a signed 64-bit integer (milliseconds by convention): ``MIN_TIME`` to ``MAX_TIME``.
``MAX_TIME`` is also the final watermark, which fires every event-time timer.

>>> is_reserved(EVENT_TIMERS_KEY_GROUP), is_reserved(b"fssdk_advanced/mine"), is_reserved(b"mine")
(True, True, False)
"""

from __future__ import annotations

LIBRARY_PREFIX = b"fssdk_advanced/"
HIDDEN_PREFIX = b"\x00" + LIBRARY_PREFIX

IDENTITY_KEY_GROUP = HIDDEN_PREFIX + b"identity"
TTL_INDEX_KEY_GROUP = HIDDEN_PREFIX + b"ttl"
EVENT_TIMERS_KEY_GROUP = LIBRARY_PREFIX + b"timers/event"
PROCESSING_TIMERS_KEY_GROUP = LIBRARY_PREFIX + b"timers/processing"
TIMER_CLOCK_KEY_GROUP = LIBRARY_PREFIX + b"timers/clock"
NAMED_TIMERS_KEY_GROUP = LIBRARY_PREFIX + b"timers/named"
SESSIONS_KEY_GROUP = LIBRARY_PREFIX + b"windows/sessions"
QUEUE_SEQ_PREFIX = LIBRARY_PREFIX + b"pq-seq/"

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1


def is_reserved(key_group: bytes) -> bool:
    """True for a key group the libraries keep for themselves (refused for user state)."""
    return key_group.startswith(LIBRARY_PREFIX) or key_group.startswith(HIDDEN_PREFIX)


__all__ = [
    "EVENT_TIMERS_KEY_GROUP",
    "HIDDEN_PREFIX",
    "IDENTITY_KEY_GROUP",
    "LIBRARY_PREFIX",
    "MAX_TIME",
    "MIN_TIME",
    "NAMED_TIMERS_KEY_GROUP",
    "PROCESSING_TIMERS_KEY_GROUP",
    "QUEUE_SEQ_PREFIX",
    "SESSIONS_KEY_GROUP",
    "TIMER_CLOCK_KEY_GROUP",
    "TTL_INDEX_KEY_GROUP",
    "is_reserved",
]
