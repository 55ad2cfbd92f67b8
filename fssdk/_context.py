"""Context: what an operator sees of the runtime (emit, stores, configuration, engine timers)."""

from __future__ import annotations

import abc
import enum
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Protocol

from fssdk._store import Store


class TimeDomain(enum.StrEnum):
    """The two clocks timers follow: the watermark (event time) and the wall clock."""

    EVENT = "event-time"
    PROCESSING = "processing-time"


class EngineTimers(Protocol):
    """An engine's own timer service, keeping the timers of one store: what
    :meth:`Context.engine_timers` returns on an engine that has one (Flink's).

    ``fssdk_advanced.TimerService.from_context`` delegates to it, so the engine keeps,
    checkpoints, rescales and triggers the timers; arguments arrive checked.
    """

    @property
    def store(self) -> Store:
        """The store the timers belong to."""

    def register(self, domain: TimeDomain, key: bytes, namespace: bytes, timestamp: int) -> None:
        """Register the timer (registering it twice keeps one)."""

    def delete(self, domain: TimeDomain, key: bytes, namespace: bytes, timestamp: int) -> None:
        """Forget the timer; a missing one is fine."""

    def fire(self, domain: TimeDomain, bound: int) -> Iterator[tuple[int, bytes, bytes]]:
        """Lazily yield and forget the due timers (timestamp ``<= bound``), smallest first."""

    def current_time(self, domain: TimeDomain) -> int | None:
        """The engine's watermark or processing time (``None`` when it has none)."""


class Context(abc.ABC):
    """The runtime as seen from a Driver: output channels, named stores and configuration.

    A Context is also a context manager that closes itself.
    """

    @abc.abstractmethod
    def emit(self, data: bytes, target_id: int = 0) -> None:
        """Send ``data`` to output channel ``target_id``."""

    @abc.abstractmethod
    def emit_watermark(self, watermark: int, target_id: int = 0) -> None:
        """Forward ``watermark`` to output channel ``target_id``."""

    @abc.abstractmethod
    def get_or_create_store(self, name: str) -> Store:
        """The store called ``name`` (the same object for the same name).

        Raises ``InvalidStoreNameError`` (``STORE_INVALID_NAME``) for an empty or non-str name.
        """

    @property
    @abc.abstractmethod
    def config(self) -> Mapping[str, str]:
        """The read-only startup configuration."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything; later calls raise ``ClosedError`` (``RUNTIME_CLOSED``)."""

    def processing_time(self) -> int:
        """The runtime's processing time, in milliseconds since the Unix epoch.

        The wall clock by default. A runtime that owns time (the test harness
        ``fssdk.testing.OperatorHarness``, a ``LocalContext`` given a ``clock``) returns its
        own, so that code reading time through the context, such as
        ``fssdk_advanced.KeyedProcessDriver``'s processing-time timers, can be tested without
        sleeping.
        """
        return time.time_ns() // 1_000_000

    @property
    def current_key(self) -> bytes | None:
        """The key the engine partitioned the current record or timer by, or ``None``.

        An optional capability: ``None`` (the default; the local runtime and Function Stream)
        means the engine does not partition by key. Flink returns the key of the record or
        timer being processed, so that a keyed driver can check that its own key agrees.
        """
        return None

    def engine_timers(self, store_name: str) -> EngineTimers | None:
        """The engine's own timers for the timers kept in store ``store_name``, or ``None``.

        An optional capability: ``None`` (the default; the local runtime and Function Stream)
        means timers live in the store itself, which ``fssdk_advanced.TimerService`` manages.
        An engine with keyed timers of its own (Flink) returns them, and the TimerService
        delegates to them.
        """
        return None

    def __enter__(self) -> Context:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
