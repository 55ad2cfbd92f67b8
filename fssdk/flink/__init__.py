"""Run fssdk operators on Apache Flink through PyFlink, with all their state in Flink keyed state.

- :class:`DriverFunction`: a PyFlink ``KeyedProcessFunction`` that runs a Driver; each store is a
  :class:`FlinkStore` over a ``MapState<bytes, bytes>`` of the current key, and
  ``fssdk_advanced``'s ``TimerService`` runs on Flink's timers through :class:`FlinkTimers`.
- :func:`keyed_stage`: ``key_by`` + :class:`DriverFunction` + side outputs, for your own
  DataStream programs; :class:`KeyedStage` is what it returns.
- :func:`local_configuration`: a mini-cluster configuration (RocksDB, checkpoints, thread mode);
  :func:`json_field_key` and :class:`JsonFieldTimestamp` key and time JSON records.
- :func:`run_file_job`: the local mini-cluster job behind ``fssdk run --engine flink``.

Everything that needs PyFlink (the ``flink`` extra) is imported on first use, so that
:class:`FlinkStore` and the command line work without it. Import these names before the
program creates its ``StreamExecutionEnvironment``: the first import prepares the ``PYTHONPATH``
of Flink's embedded Python. docs/flink.md has the details.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fssdk.flink._store import CurrentKey, FlinkStore, MapStateLike
from fssdk.flink._timers import CurrentCall, FlinkTimers, FlinkTimerServiceLike

if TYPE_CHECKING:
    from fssdk.flink._function import BYTES, DriverFunction, FlinkContext
    from fssdk.flink._job import (
        FlinkJobResult,
        JsonFieldTimestamp,
        KeyedStage,
        json_field_key,
        keyed_stage,
        local_configuration,
        run_file_job,
    )

__all__ = [
    "BYTES",
    "CurrentCall",
    "CurrentKey",
    "DriverFunction",
    "FlinkContext",
    "FlinkJobResult",
    "FlinkStore",
    "FlinkTimerServiceLike",
    "FlinkTimers",
    "JsonFieldTimestamp",
    "KeyedStage",
    "MapStateLike",
    "json_field_key",
    "keyed_stage",
    "local_configuration",
    "run_file_job",
]

_LAZY = {
    "BYTES": "fssdk.flink._function",
    "DriverFunction": "fssdk.flink._function",
    "FlinkContext": "fssdk.flink._function",
    "FlinkJobResult": "fssdk.flink._job",
    "JsonFieldTimestamp": "fssdk.flink._job",
    "KeyedStage": "fssdk.flink._job",
    "json_field_key": "fssdk.flink._job",
    "keyed_stage": "fssdk.flink._job",
    "local_configuration": "fssdk.flink._job",
    "run_file_job": "fssdk.flink._job",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fssdk.flink' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
