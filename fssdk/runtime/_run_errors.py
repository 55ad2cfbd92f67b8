"""Errors of the runner and the command line, each with the exit code ``fssdk`` returns for it.

::

    RunnerError(fssdk.SDKError)         .exit_code
    ├── UsageError (ValueError)         2  bad options, bad --set, bad config file
    ├── OperatorLoadError               2  no such operator file or module, import failed, no driver
    ├── StateDirError                   3  state dir locked or incompatible, input/output changed
    ├── RunnerIOError (OSError)         4  input unreadable, output unwritable
    ├── OutputRecordError (ValueError)  5  the operator emitted a record the output cannot hold
    ├── OperatorFailedError             1  the operator raised; ``__cause__`` is its exception
    └── RunInterruptedError     130 / 143  SIGINT (Ctrl-C) / SIGTERM: stopped at a record boundary,
                                           the state dir keeps its last checkpoint

They belong to the SDK's one error tree, each with its own ``ErrorCode``; errors the operator's
code raised reach the command line wrapped in :class:`OperatorFailedError`.
"""

from __future__ import annotations

import signal

from fssdk._errors import ErrorCode, SDKError


class RunnerError(SDKError):
    """A run that cannot start or cannot go on; ``error.message`` says what and what to do."""

    default_code = ErrorCode.RUNTIME_USAGE
    #: The exit code of ``fssdk`` for this error (a class default; an instance may refine it).
    exit_code: int = 2


class UsageError(RunnerError, ValueError):
    """An option, a ``--set`` entry or the config file is wrong."""

    default_code = ErrorCode.RUNTIME_USAGE
    exit_code = 2


class OperatorLoadError(RunnerError):
    """The operator could not be loaded: no such file or module, import failed, no driver."""

    default_code = ErrorCode.RUNTIME_OPERATOR_LOAD
    exit_code = 2


class StateDirError(RunnerError):
    """The state directory is locked by another run, or cannot be resumed by this one."""

    default_code = ErrorCode.RUNTIME_STATE_DIR
    exit_code = 3


class RunnerIOError(RunnerError, OSError):
    """The input cannot be read or an output cannot be written."""

    default_code = ErrorCode.RUNTIME_IO
    exit_code = 4


class OutputRecordError(RunnerError, ValueError):
    """The operator emitted a record that a line-oriented output cannot hold (a newline in it)."""

    default_code = ErrorCode.RUNTIME_OUTPUT_RECORD
    exit_code = 5


class OperatorFailedError(RunnerError):
    """The operator's code raised; the message says in which call and on which input record.

    ``operator_traceback`` is the operator's part of the stack (from its first frame in the
    operator's file down to the raise), formatted; empty when the operator did not raise.
    """

    default_code = ErrorCode.RUNTIME_OPERATOR_FAILED
    exit_code = 1

    def __init__(self, *args: object, operator_traceback: str = "") -> None:
        super().__init__(*args)
        self.operator_traceback = operator_traceback


class RunInterruptedError(RunnerError):
    """The run was stopped by a signal; the message says where and how to resume.

    ``exit_code`` is 128 + the signal's number, as a shell reports it: 130 for SIGINT (Ctrl-C,
    the default), 143 for SIGTERM.
    """

    default_code = ErrorCode.RUNTIME_INTERRUPTED
    exit_code = 128 + signal.SIGINT

    def __init__(self, *args: object, signal_number: int = signal.SIGINT) -> None:
        super().__init__(*args)
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number
