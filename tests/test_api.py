"""The public surface: exactly the names of API.md (plus the listed extras), one error tree.

A name added to or removed from a package's ``__all__`` must be added here too, on purpose.
"""

from __future__ import annotations

import inspect
import types

import pytest

import fssdk
import fssdk.reserved
import fssdk.runtime
import fssdk.stores
import fssdk.testing
from fssdk import ErrorCode, SDKError

#: API.md section 1, then the extras the package exports on purpose.
FSSDK_API = {"BaseDriver", "ComplexKey", "Context", "Driver", "ErrorCode", "Iterator", "SDKError"}
FSSDK_API |= {"Store", "run"}
FSSDK_EXTRAS = {
    "ClosedError",
    "EngineTimers",
    "TimeDomain",
    "CorruptStateError",
    "InvalidDriverError",
    "InvalidStoreNameError",
    "NotInitializedError",
    "StateConflictError",
    "StoreIOError",
    "StoreInternalError",
    "StoreNotFoundError",
    "StoreScope",
    "StoreScopes",
    "UnexpectedResultError",
    "WrongKeyError",
}

#: API.md section 3, then the base class of backends and the runner behind ``fssdk run``.
RESERVED_API = {
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
}
RUNTIME_API = {"LocalContext", "MemoryBackend", "RocksDBBackend"}
RUNTIME_EXTRAS = {
    "Backend",
    "OperatorFailedError",
    "OperatorLoadError",
    "OutputRecordError",
    "RunInterruptedError",
    "RunProgress",
    "RunSummary",
    "RunnerError",
    "RunnerIOError",
    "StateDirError",
    "UsageError",
    "run_operator",
}

TESTING_API = {"check_store", "load_profile", "register_profiles", "store_machine"}
TESTING_API |= {"StoreMachine", "StoreMismatch", "OperatorHarness"}
TESTING_API |= {"HARD_BYTES", "Scope", "colliding_scopes", "complex_keys", "components"}
TESTING_API |= {"long_values", "scopes", "simple_keys", "user_keys", "values"}
TESTING_API |= {"lowered_thresholds"}

REQUIRED_CODES = {
    "RUNTIME_INVALID_DRIVER",
    "RUNTIME_NOT_INITIALIZED",
    "RUNTIME_CLOSED",
    "STORE_INVALID_NAME",
    "STORE_INTERNAL",
    "STORE_NOT_FOUND",
    "STORE_IO",
    "RESULT_UNEXPECTED",
}


def public_names(module: types.ModuleType) -> set[str]:
    """Names a ``from module import *`` or a reader of ``dir()`` would take for public."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (fssdk, FSSDK_API | FSSDK_EXTRAS),
        (fssdk.runtime, RUNTIME_API | RUNTIME_EXTRAS),
        (fssdk.stores, {"MemoryStore", "RocksDBStore"}),
        (fssdk.testing, TESTING_API),
        (fssdk.reserved, RESERVED_API),
    ],
    ids=["fssdk", "fssdk.runtime", "fssdk.stores", "fssdk.testing", "fssdk.reserved"],
)
def test_exports_are_exactly_the_documented_names(
    module: types.ModuleType, expected: set[str]
) -> None:
    assert set(module.__all__) == expected
    assert public_names(module) == expected
    assert list(module.__all__) == sorted(module.__all__)


@pytest.mark.parametrize(
    "module", [fssdk, fssdk.runtime, fssdk.stores, fssdk.testing, fssdk.reserved]
)
def test_every_export_has_a_docstring(module: types.ModuleType) -> None:
    undocumented = [
        name
        for name in module.__all__
        if (inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name)))
        and not inspect.getdoc(getattr(module, name))
    ]
    assert undocumented == []


def test_error_codes_include_those_of_the_api() -> None:
    assert {code.name for code in ErrorCode} >= REQUIRED_CODES


def exported_exceptions(module: types.ModuleType) -> list[type[BaseException]]:
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, BaseException)
    ]


def sdk_errors() -> list[type[SDKError]]:
    return [error for error in exported_exceptions(fssdk) if issubclass(error, SDKError)]


def test_every_exported_error_is_an_sdk_error_with_its_own_code() -> None:
    errors = exported_exceptions(fssdk)
    assert SDKError in errors
    assert errors == sdk_errors()
    codes = [error.default_code for error in sdk_errors() if error is not SDKError]
    assert len(set(codes)) == len(codes)
    runner_codes = {
        error.default_code
        for error in exported_exceptions(fssdk.runtime)
        if issubclass(error, SDKError)
    }
    assert set(codes) | runner_codes == set(ErrorCode)


@pytest.mark.parametrize("error", sdk_errors(), ids=lambda error: error.__name__)
def test_an_error_carries_its_code_and_names_it(error: type[SDKError]) -> None:
    raised = error("store 's': put failed")
    assert raised.code is error.default_code
    assert raised.code.name in str(raised)
    assert "store 's': put failed" in str(raised)


def test_sdk_error_takes_an_explicit_code() -> None:
    error = SDKError(ErrorCode.STORE_IO, "store 's': flush failed")
    assert error.code is ErrorCode.STORE_IO
    assert str(error) == "[STORE_IO] store 's': flush failed"


def test_errors_that_are_also_builtin_errors() -> None:
    assert issubclass(fssdk.InvalidStoreNameError, ValueError)
    assert issubclass(fssdk.CorruptStateError, ValueError)
    assert issubclass(fssdk.StoreIOError, OSError)


def test_runner_errors_are_sdk_errors_with_codes_and_exit_codes() -> None:
    runner_errors = exported_exceptions(fssdk.runtime)
    assert fssdk.runtime.RunnerError in runner_errors
    codes = set()
    for error in runner_errors:
        assert issubclass(error, fssdk.runtime.RunnerError)
        assert issubclass(error, SDKError)
        assert isinstance(error.exit_code, int)
        codes.add(error.default_code)
    assert len(codes) == len(runner_errors) - 1  # RunnerError shares UsageError's code
