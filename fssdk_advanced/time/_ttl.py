"""StateTtl: time-to-live of state values, and the stamp that a TTL'd value carries.

A TTL'd value is stored stamped with the time at which it expires::

    stamp = IntCodec(expires_at) · value bytes        (8 bytes, then the value's own encoding)

``expires_at = now + ttl`` (saturating at ``2**63 - 1``), where ``now`` is the TTL's clock when
the value is written (and, with ``update_type="on_read_and_write"``, when it is read). A value
is expired once ``expires_at <= now``, as in Flink's ``TtlUtils.expired``. The state types
stamp each value, and each list, map and queue element, through :meth:`StateTtl.stamp` and read
it through :meth:`StateTtl.unstamp` and :meth:`StateTtl.is_expired`; docs/time.md gives the
semantics (update types, visibility, cleanup).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from fssdk.reserved import MAX_TIME, MIN_TIME
from fssdk_advanced.codecs import IntCodec

ON_CREATE_AND_WRITE: Final = "on_create_and_write"
ON_READ_AND_WRITE: Final = "on_read_and_write"
NEVER_RETURN_EXPIRED: Final = "never_return_expired"
RETURN_EXPIRED_IF_NOT_CLEANED_UP: Final = "return_expired_if_not_cleaned_up"

UPDATE_TYPES: Final = (ON_CREATE_AND_WRITE, ON_READ_AND_WRITE)
VISIBILITIES: Final = (NEVER_RETURN_EXPIRED, RETURN_EXPIRED_IF_NOT_CLEANED_UP)

STAMP_FORMAT: Final = 1
"""Version of the stamp layout, recorded in :meth:`StateTtl.ttl_schema`."""

STAMP_SIZE: Final = 8
"""Bytes of the expiry stamp in front of every TTL'd value."""

_TIME: Final = IntCodec()


def processing_time_ms() -> int:
    """The wall clock in milliseconds since the Unix epoch: the default TTL clock."""
    return time.time_ns() // 1_000_000


def _choice(value: object, argument: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"StateTtl: {argument} must be a str, not {type(value).__name__}")
    if value not in choices:
        valid = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"StateTtl: {argument} must be one of {valid}, not {value!r}")
    return value


class StateTtl:
    """How long state values live: ``ttl`` time units after they were written (or read).

    - ``update_type``: ``"on_create_and_write"`` (default) restarts a value's lifetime when it
      is written; ``"on_read_and_write"`` also when it is read.
    - ``visibility``: ``"never_return_expired"`` (default) hides an expired value even if it
      is still stored; ``"return_expired_if_not_cleaned_up"`` returns it until it is removed.
    - ``clock``: a zero-argument callable returning the current time in the unit of ``ttl``;
      ``None`` is processing time in milliseconds (:func:`processing_time_ms`). For event time
      pass ``TimerService.event_time_clock()``.

    Bad arguments raise ``TypeError`` or ``ValueError`` naming the argument.

    >>> now = [1_000]
    >>> ttl = StateTtl(500, clock=lambda: now[0])
    >>> stamped = ttl.stamp(b"v", ttl.now())
    >>> expires_at, value = ttl.unstamp(stamped)
    >>> expires_at, value, ttl.is_expired(expires_at, ttl.now())
    (1500, b'v', False)
    >>> now[0] = 1_500
    >>> ttl.is_expired(expires_at, ttl.now())
    True
    """

    __slots__ = ("clock", "ttl", "update_type", "visibility")

    def __init__(
        self,
        ttl: int,
        *,
        update_type: str = ON_CREATE_AND_WRITE,
        visibility: str = NEVER_RETURN_EXPIRED,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if type(ttl) is not int:
            raise TypeError(f"StateTtl: ttl must be an int, not {type(ttl).__name__}")
        if not 0 < ttl <= MAX_TIME:
            raise ValueError(f"StateTtl: ttl must be positive (and below 2**63), got {ttl!r}")
        if clock is not None and not callable(clock):
            raise TypeError(
                f"StateTtl: clock must be a zero-argument callable or None, not "
                f"{type(clock).__name__}"
            )
        self.ttl: Final = ttl
        self.update_type: Final = _choice(update_type, "update_type", UPDATE_TYPES)
        self.visibility: Final = _choice(visibility, "visibility", VISIBILITIES)
        self.clock: Final[Callable[[], int]] = processing_time_ms if clock is None else clock

    # -- configuration -----------------------------------------------------------------------

    @property
    def update_on_read(self) -> bool:
        """True when reading a live value restarts its lifetime (it is stamped again)."""
        return self.update_type == ON_READ_AND_WRITE

    @property
    def returns_expired(self) -> bool:
        """True when an expired value that is still stored is returned by reads."""
        return self.visibility == RETURN_EXPIRED_IF_NOT_CLEANED_UP

    @property
    def time_domain(self) -> str:
        """``"processing-time"`` (the default clock), the clock's own ``time_domain``
        (``"event-time"`` for a timer service's clock), or ``"custom"``."""
        if self.clock is processing_time_ms:
            return "processing-time"
        domain = getattr(self.clock, "time_domain", None)
        return domain if isinstance(domain, str) else "custom"

    def ttl_schema(self) -> dict[str, str | int]:
        """A JSON-serialisable description of this TTL, for a state's stored identity.

        Two TTLs with the same schema read each other's stamps the same way.

        >>> StateTtl(60_000).ttl_schema()  # doctest: +NORMALIZE_WHITESPACE
        {'format': 1, 'ttl': 60000, 'update_type': 'on_create_and_write',
         'visibility': 'never_return_expired', 'time_domain': 'processing-time'}
        """
        return {
            "format": STAMP_FORMAT,
            "ttl": self.ttl,
            "update_type": self.update_type,
            "visibility": self.visibility,
            "time_domain": self.time_domain,
        }

    # -- stamping ----------------------------------------------------------------------------

    def now(self) -> int:
        """The clock's current time; ``TypeError`` if the clock returns something else than an
        int in the signed 64-bit range."""
        current = self.clock()
        if type(current) is not int or not MIN_TIME <= current <= MAX_TIME:
            raise TypeError(
                f"StateTtl: clock {self.clock!r} must return a signed 64-bit int, "
                f"returned {current!r}"
            )
        return current

    def stamp_now(self, value: bytes) -> bytes:
        """``value`` stamped to expire ``ttl`` from the clock's now: :meth:`stamp` of
        :meth:`now`, in one call (every TTL'd write)."""
        now = self.clock()
        if type(now) is not int or not MIN_TIME <= now <= MAX_TIME:
            now = self.now()  # raises
        expires_at = now + self.ttl
        return _TIME.encode(expires_at if expires_at < MAX_TIME else MAX_TIME) + value

    def expires_at(self, now: int) -> int:
        """When a value written (or refreshed) at ``now`` expires: ``now + ttl``, saturated."""
        return min(now + self.ttl, MAX_TIME)

    def stamp(self, value: bytes, now: int) -> bytes:
        """``value`` stamped to expire at :meth:`expires_at` ``(now)``: 8 bytes + ``value``."""
        return _TIME.encode(self.expires_at(now)) + value

    @staticmethod
    def unstamp(data: bytes) -> tuple[int, bytes]:
        """``(expires_at, value)`` of stamped bytes; ``ValueError`` if ``data`` is too short
        to hold a stamp (the state's value helper turns it into a CorruptStateError)."""
        if len(data) < STAMP_SIZE:
            raise ValueError(
                f"a TTL'd value starts with an {STAMP_SIZE}-byte expiry stamp; got "
                f"{len(data)} bytes: {data!r}"
            )
        return _TIME.decode(data[:STAMP_SIZE]), data[STAMP_SIZE:]

    @staticmethod
    def is_expired(expires_at: int, now: int) -> bool:
        """True once ``now`` has reached ``expires_at``."""
        return expires_at <= now

    # -- identity ----------------------------------------------------------------------------

    def _key(self) -> tuple[int, str, str, Callable[[], int]]:
        return (self.ttl, self.update_type, self.visibility, self.clock)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StateTtl):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"StateTtl({self.ttl!r}, update_type={self.update_type!r}, "
            f"visibility={self.visibility!r}, time_domain={self.time_domain!r})"
        )
