"""The SDK's errors: one tree rooted at :class:`SDKError`, each carrying an :class:`ErrorCode`.

::

    SDKError(Exception)                 .code: ErrorCode
    ├── InvalidDriverError              RUNTIME_INVALID_DRIVER
    ├── NotInitializedError             RUNTIME_NOT_INITIALIZED
    ├── ClosedError                     RUNTIME_CLOSED
    ├── InvalidStoreNameError           STORE_INVALID_NAME (also a ValueError)
    ├── StoreNotFoundError              STORE_NOT_FOUND
    ├── StoreIOError                    STORE_IO (also an OSError)
    ├── StoreInternalError              STORE_INTERNAL
    ├── CorruptStateError               STATE_CORRUPT (a ValueError): stored bytes do not decode
    ├── StateConflictError              STATE_CONFLICT: one state identity declared two ways
    ├── WrongKeyError                   STATE_WRONG_KEY: state of a key other than the current
    │                                   one (engines with per-key state, fssdk.flink)
    ├── UnexpectedResultError           RESULT_UNEXPECTED
    └── RunnerError                     the local runner's errors (fssdk.runtime), each with the
        │                               exit code of ``fssdk run``
        ├── UsageError (ValueError)     RUNTIME_USAGE            exit 2
        ├── OperatorLoadError           RUNTIME_OPERATOR_LOAD    exit 2
        ├── StateDirError               RUNTIME_STATE_DIR        exit 3
        ├── RunnerIOError (OSError)     RUNTIME_IO               exit 4
        ├── OutputRecordError           RUNTIME_OUTPUT_RECORD    exit 5
        ├── OperatorFailedError         RUNTIME_OPERATOR_FAILED  exit 1
        └── RunInterruptedError         RUNTIME_INTERRUPTED      exit 130 (143 for SIGTERM)

Programmer mistakes are not storage errors: a wrong argument type raises ``TypeError`` and a bad
argument value ``ValueError``, each naming the argument.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class ErrorCode(enum.Enum):
    """What failed; the codes of the Go SDK plus the state library's own."""

    RUNTIME_INVALID_DRIVER = "runtime-invalid-driver"
    RUNTIME_NOT_INITIALIZED = "runtime-not-initialized"
    RUNTIME_CLOSED = "runtime-closed"
    STORE_INVALID_NAME = "store-invalid-name"
    STORE_INTERNAL = "store-internal"
    STORE_NOT_FOUND = "store-not-found"
    STORE_IO = "store-io"
    STATE_CORRUPT = "state-corrupt"
    STATE_CONFLICT = "state-conflict"
    RESULT_UNEXPECTED = "result-unexpected"
    RUNTIME_USAGE = "runtime-usage"
    RUNTIME_OPERATOR_LOAD = "runtime-operator-load"
    RUNTIME_STATE_DIR = "runtime-state-dir"
    RUNTIME_IO = "runtime-io"
    RUNTIME_OUTPUT_RECORD = "runtime-output-record"
    RUNTIME_OPERATOR_FAILED = "runtime-operator-failed"
    RUNTIME_INTERRUPTED = "runtime-interrupted"
    STATE_WRONG_KEY = "state-wrong-key"


class SDKError(Exception):
    """Base of every error the SDK raises on purpose; ``code`` says which kind.

    ``SDKError(code, message)`` builds an error of the generic class; the subclasses below fix
    their code, so ``ClosedError("store 'x': put after close")`` is the usual spelling.
    """

    default_code: ClassVar[ErrorCode] = ErrorCode.STORE_INTERNAL

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], ErrorCode):
            self.code: ErrorCode = args[0]
            args = args[1:]
        else:
            self.code = self.default_code
        super().__init__(*args)

    def __str__(self) -> str:
        return f"[{self.code.name}] {self.message}"

    @property
    def message(self) -> str:
        """The message without the code."""
        return super().__str__()


class InvalidDriverError(SDKError):
    """``fssdk.run`` was given something that is not a Driver."""

    default_code = ErrorCode.RUNTIME_INVALID_DRIVER


class NotInitializedError(SDKError):
    """The runtime was used before it was set up (no driver registered, say)."""

    default_code = ErrorCode.RUNTIME_NOT_INITIALIZED


class ClosedError(SDKError):
    """A context, backend, store or iterator was used after ``close()``."""

    default_code = ErrorCode.RUNTIME_CLOSED


class InvalidStoreNameError(SDKError, ValueError):
    """A store name that is empty or not a ``str``."""

    default_code = ErrorCode.STORE_INVALID_NAME


class StoreNotFoundError(SDKError):
    """A store or state directory that should exist does not."""

    default_code = ErrorCode.STORE_NOT_FOUND


class StoreIOError(SDKError, OSError):
    """The storage engine failed to read or write."""

    default_code = ErrorCode.STORE_IO


class StoreInternalError(SDKError):
    """An invariant of the store was broken (a bug, or data written by something else)."""

    default_code = ErrorCode.STORE_INTERNAL


class CorruptStateError(SDKError, ValueError):
    """Stored bytes that cannot be decoded; chained to the codec's or framing's exception."""

    default_code = ErrorCode.STATE_CORRUPT


class StateConflictError(SDKError):
    """One state identity (store name and key group) declared as two kinds or with other codecs."""

    default_code = ErrorCode.STATE_CONFLICT


class UnexpectedResultError(SDKError):
    """A result the runtime did not expect (a driver method returning the wrong type, say)."""

    default_code = ErrorCode.RESULT_UNEXPECTED


class WrongKeyError(SDKError):
    """State of another stream key was addressed where only the current key's state is reachable.

    Flink keyed state is partitioned by the key of the record (or timer) being processed; writing
    another key's state there would put it in the wrong partition and break rescaling.
    """

    default_code = ErrorCode.STATE_WRONG_KEY
