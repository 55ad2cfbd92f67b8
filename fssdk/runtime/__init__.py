"""The local runtime: backends, a Context over them, and the runner behind ``fssdk run``."""

from fssdk.runtime._context import LocalContext
from fssdk.runtime._run_errors import (
    OperatorFailedError,
    OperatorLoadError,
    OutputRecordError,
    RunInterruptedError,
    RunnerError,
    RunnerIOError,
    StateDirError,
    UsageError,
)
from fssdk.runtime._runner import RunProgress, RunSummary, run_operator
from fssdk.stores._backend import Backend, MemoryBackend
from fssdk.stores._rocksdb import RocksDBBackend

__all__ = [
    "Backend",
    "LocalContext",
    "MemoryBackend",
    "OperatorFailedError",
    "OperatorLoadError",
    "OutputRecordError",
    "RocksDBBackend",
    "RunInterruptedError",
    "RunProgress",
    "RunSummary",
    "RunnerError",
    "RunnerIOError",
    "StateDirError",
    "UsageError",
    "run_operator",
]
