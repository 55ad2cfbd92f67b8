"""Driver: the operator lifecycle the runtime calls, and ``run`` to register one."""

from __future__ import annotations

import abc
import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from fssdk._errors import InvalidDriverError, NotInitializedError

if TYPE_CHECKING:
    from fssdk._context import Context


class Driver(abc.ABC):
    """The interface of an operator. Subclass :class:`BaseDriver` to override only what you need.

    The runtime calls ``init`` once, then ``process`` per record and ``process_watermark`` per
    watermark, ``take_checkpoint`` before it persists state, and ``close`` once at the end.
    """

    @abc.abstractmethod
    def init(self, ctx: Context, config: Mapping[str, str]) -> None:
        """Once at start: obtain stores and state handles, read the configuration."""

    @abc.abstractmethod
    def process(self, ctx: Context, source_id: int, data: bytes) -> None:
        """Once per input record from input ``source_id``."""

    @abc.abstractmethod
    def process_watermark(self, ctx: Context, source_id: int, watermark: int) -> None:
        """Once per watermark: event time has reached ``watermark`` on input ``source_id``."""

    @abc.abstractmethod
    def take_checkpoint(self, ctx: Context, checkpoint_id: int) -> None:
        """Before the runtime persists checkpoint ``checkpoint_id``: write in-memory state out."""

    @abc.abstractmethod
    def check_heartbeat(self, ctx: Context) -> bool:
        """Periodically; returning False asks the runtime for a restart."""

    @abc.abstractmethod
    def close(self, ctx: Context) -> None:
        """Once at shutdown."""

    @abc.abstractmethod
    def exec(self, ctx: Context, class_name: str, modules: Sequence[tuple[str, bytes]]) -> None:
        """Optional extension point (dynamic module loading)."""

    @abc.abstractmethod
    def custom(self, ctx: Context, payload: bytes) -> bytes:
        """Optional request/response call."""


class BaseDriver(Driver):
    """A Driver whose every method does nothing: override the ones your operator needs.

    ``check_heartbeat`` returns True and ``custom`` returns a copy of ``payload``.
    """

    def init(self, ctx: Context, config: Mapping[str, str]) -> None:
        return None

    def process(self, ctx: Context, source_id: int, data: bytes) -> None:
        return None

    def process_watermark(self, ctx: Context, source_id: int, watermark: int) -> None:
        return None

    def take_checkpoint(self, ctx: Context, checkpoint_id: int) -> None:
        return None

    def check_heartbeat(self, ctx: Context) -> bool:
        return True

    def close(self, ctx: Context) -> None:
        return None

    def exec(self, ctx: Context, class_name: str, modules: Sequence[tuple[str, bytes]]) -> None:
        return None

    def custom(self, ctx: Context, payload: bytes) -> bytes:
        return bytes(payload)


_lock = threading.Lock()
_registered: Driver | None = None
_loading = 0


@contextlib.contextmanager
def loading_operator() -> Iterator[None]:
    """Mark the import of an operator module by a runtime (``fssdk run``, an engine's loader).

    Inside it, ``run`` only registers the driver. Outside it, ``run`` called from a module run
    as a script (``python op.py``) also says on stderr how to run the operator, since nothing
    else will. Every runtime that imports operator modules must import them inside this block.
    """
    global _loading  # noqa: PLW0603 - a process-wide count, like the registration slot
    with _lock:
        _loading += 1
    try:
        yield
    finally:
        with _lock:
            _loading -= 1


def _script_hint(caller_globals: Mapping[str, object]) -> str:
    file = caller_globals.get("__file__")
    shown = os.path.relpath(file) if isinstance(file, str) else "OPERATOR.py"
    return (
        f"fssdk: this registers the operator; run it with `fssdk run {shown} --input FILE "
        "--output FILE --state-dir DIR` (see fssdk run --help)\n"
    )


def run(driver: Driver) -> None:
    """Register ``driver`` as this module's operator; the runtime picks it up after import.

    The equivalent of the Go SDK's ``fssdk.Run`` called from ``init()``: call it at module level.
    Called from a script run directly (``python op.py``, no runtime loading it), it also writes
    one line to stderr saying how to run the operator with ``fssdk run``.

    >>> run("not a driver")
    Traceback (most recent call last):
    ...
    fssdk._errors.InvalidDriverError: [RUNTIME_INVALID_DRIVER] fssdk.run expects a Driver, got str
    """
    global _registered  # noqa: PLW0603 - the registration slot is process-wide by design
    if not isinstance(driver, Driver):
        raise InvalidDriverError(f"fssdk.run expects a Driver, got {type(driver).__name__}")
    with _lock:
        _registered = driver
        loading = _loading > 0
    caller = sys._getframe(1).f_globals
    if not loading and caller.get("__name__") == "__main__":
        sys.stderr.write(_script_hint(caller))


def take_registered_driver() -> Driver:
    """Return the driver registered by ``run`` and clear the slot (for the runtime's loader)."""
    global _registered
    with _lock:
        driver, _registered = _registered, None
    if driver is None:
        raise NotInitializedError(
            "no driver registered: the operator module must call fssdk.run(driver)"
        )
    return driver
