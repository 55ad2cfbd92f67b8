"""fssdk: write Function Stream operators in Python.

An operator is a :class:`Driver` (usually a :class:`BaseDriver` subclass) registered with
:func:`run`. The runtime hands it a :class:`Context`, from which it gets named byte
:class:`Store` s addressed by simple keys or by :class:`ComplexKey`. Typed state (ValueState,
ListState, ...) lives in :mod:`fssdk_advanced`; the local runtime and its backends in
:mod:`fssdk.runtime`; the conformance kit for stores in :mod:`fssdk.testing`.
"""

from fssdk._complex_key import ComplexKey
from fssdk._context import Context, EngineTimers, TimeDomain
from fssdk._driver import BaseDriver, Driver, run
from fssdk._errors import (
    ClosedError,
    CorruptStateError,
    ErrorCode,
    InvalidDriverError,
    InvalidStoreNameError,
    NotInitializedError,
    SDKError,
    StateConflictError,
    StoreInternalError,
    StoreIOError,
    StoreNotFoundError,
    UnexpectedResultError,
    WrongKeyError,
)
from fssdk._store import Iterator, Store, StoreScope, StoreScopes

__all__ = [
    "BaseDriver",
    "ClosedError",
    "ComplexKey",
    "Context",
    "CorruptStateError",
    "Driver",
    "EngineTimers",
    "ErrorCode",
    "InvalidDriverError",
    "InvalidStoreNameError",
    "Iterator",
    "NotInitializedError",
    "SDKError",
    "StateConflictError",
    "Store",
    "StoreIOError",
    "StoreInternalError",
    "StoreNotFoundError",
    "StoreScope",
    "StoreScopes",
    "TimeDomain",
    "UnexpectedResultError",
    "WrongKeyError",
    "run",
]
