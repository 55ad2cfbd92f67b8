"""Settings of a Flink file job that the command line builds without loading PyFlink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fssdk.runtime._run_errors import UsageError


@dataclass(frozen=True)
class Restarts:
    """Flink's restart strategy: ``attempts`` restarts (0: none, a failure fails the job),
    ``delay_ms`` apart (fixed delay). Each restart resumes from the newest checkpoint."""

    attempts: int = 0
    delay_ms: int = 1_000

    def settings(self) -> dict[str, str]:
        if self.attempts == 0:
            return {"restart-strategy.type": "none"}
        return {
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": str(self.attempts),
            "restart-strategy.fixed-delay.delay": f"{self.delay_ms}ms",
        }


@dataclass(frozen=True)
class Watermarks:
    """Event time of the command line: the JSON field ``field``; after every record the
    watermark is the largest timestamp minus ``delay`` (``fssdk run``'s rule); the end of a
    bounded input calls ``process_watermark`` with ``2**63 - 1`` only with ``final``."""

    field: str | None = None
    delay: int = 0
    final: bool = False


#: No restarts: a failure fails the job (the default).
NO_RESTARTS: Final = Restarts()
#: No event time (the default of the command line without --watermark-field).
NO_WATERMARKS: Final = Watermarks()


def split_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``HOST:PORT``; ``UsageError`` naming a malformed one."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--jobmanager must be HOST:PORT (the REST address), got {address!r}")
    return host, int(port)
