"""The deterministic part of the Store contract: argument types and closed stores.

The state machine compares results of valid calls; these checks cover the calls that must fail:
a wrong argument type raises ``TypeError`` naming the argument, and every operation on a closed
store raises ``SDKError`` with code ``RUNTIME_CLOSED`` (writes included, so that nothing is
accepted and then lost).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from fssdk._complex_key import ComplexKey
from fssdk._errors import ErrorCode, SDKError
from fssdk._store import Store
from fssdk.testing._store_machine import StoreMismatch

_CK: Final = ComplexKey(b"g", b"k", b"", b"u")

Call = Callable[[Any], object]


def _appended(value: bytes | None, tail: bytes) -> bytes:
    """A ``compute`` change: ``tail`` appended to the value."""
    return (value or b"") + tail


#: (operation, call with one argument of a wrong type, the argument's name).
WRONG_TYPES: Final[tuple[tuple[str, Call, str], ...]] = (
    ("put_state", lambda s: s.put_state("k", b"v"), "key"),
    ("put_state", lambda s: s.put_state(b"k", "v"), "value"),
    ("get_state", lambda s: s.get_state(1), "key"),
    ("delete_state", lambda s: s.delete_state(None), "key"),
    ("list_states", lambda s: s.list_states("a", b""), "start_inclusive"),
    ("list_states", lambda s: s.list_states(b"", None), "end_exclusive"),
    ("put", lambda s: s.put((b"g", b"k", b"", b"u"), b"v"), "key"),
    ("put", lambda s: s.put(_CK, "v"), "value"),
    ("get", lambda s: s.get(b"u"), "key"),
    ("delete", lambda s: s.delete("u"), "key"),
    ("merge", lambda s: s.merge(None, b"v"), "key"),
    ("merge", lambda s: s.merge(_CK, 1), "value"),
    ("delete_prefix", lambda s: s.delete_prefix(b"u"), "key"),
    ("list_complex", lambda s: s.list_complex("g", b"k", b"", b"", b""), "key_group"),
    ("list_complex", lambda s: s.list_complex(b"g", 1, b"", b"", b""), "key"),
    ("list_complex", lambda s: s.list_complex(b"g", b"k", None, b"", b""), "namespace"),
    ("list_complex", lambda s: s.list_complex(b"g", b"k", b"", "a", b""), "start_inclusive"),
    ("list_complex", lambda s: s.list_complex(b"g", b"k", b"", b"", "z"), "end_exclusive"),
    ("scan_complex", lambda s: s.scan_complex("g", b"k", b""), "key_group"),
    ("scan_complex", lambda s: s.scan_complex(b"g", b"k", b"", start="a"), "start"),
    ("scan_complex", lambda s: s.scan_complex(b"g", b"k", b"", end=1), "end"),
    ("scope", lambda s: s.scope(b"g", b"k", "n"), "namespace"),
    ("scopes", lambda s: s.scopes("g"), "key_group"),
    ("compute", lambda s: s.scopes(b"g").compute(b"k", "n", b"u", _appended, b"v"), "namespace"),
    ("compute", lambda s: s.scopes(b"g").compute(b"k", b"", b"u", lambda *_: "v", 0), "value"),
)

#: Every Store operation, as a call on a store that holds ``_CK`` and simple key ``b"k"``.
OPERATIONS: Final[dict[str, Call]] = {
    "put_state": lambda s: s.put_state(b"k", b"v"),
    "get_state": lambda s: s.get_state(b"k"),
    "delete_state": lambda s: s.delete_state(b"k"),
    "list_states": lambda s: s.list_states(b"", b""),
    "put": lambda s: s.put(_CK, b"v"),
    "get": lambda s: s.get(_CK),
    "delete": lambda s: s.delete(_CK),
    "merge": lambda s: s.merge(_CK, b"v"),
    "delete_prefix": lambda s: s.delete_prefix(_CK),
    "list_complex": lambda s: s.list_complex(b"g", b"k", b"", b"", b""),
    "scan_complex": lambda s: s.scan_complex(b"g", b"k", b"").has_next(),
    "scope().put": lambda s: s.scope(b"g", b"k", b"").put(b"u", b"v"),
    "scope().get": lambda s: s.scope(b"g", b"k", b"").get(b"u"),
    "scopes()().put": lambda s: s.scopes(b"g")(b"k", b"").put(b"u", b"v"),
    "scopes().compute": lambda s: s.scopes(b"g").compute(b"k", b"", b"u", _appended, b"v"),
}


def check_argument_types(store: Store) -> None:
    """Raise :class:`StoreMismatch` unless each wrong-type call raises a TypeError naming it."""
    for operation, call, argument in WRONG_TYPES:
        try:
            call(store)
        except TypeError as exc:
            if not re.search(rf"\b{argument}\b", str(exc)):
                raise StoreMismatch(
                    f"{operation} with a wrong {argument}: TypeError {str(exc)!r} does not name "
                    f"the argument {argument!r}"
                ) from exc
        else:
            raise StoreMismatch(
                f"{operation} with a wrong type of {argument} did not raise TypeError"
            )


def check_closed_store(store: Store) -> None:
    """Write to ``store``, close it, and check that every operation then raises RUNTIME_CLOSED."""
    store.put_state(b"k", b"v")
    store.put(_CK, b"v")
    store.close()
    for operation, call in OPERATIONS.items():
        try:
            call(store)
        except SDKError as exc:
            if exc.code is not ErrorCode.RUNTIME_CLOSED:
                raise StoreMismatch(
                    f"{operation} on a closed store raised code {exc.code.name}, not RUNTIME_CLOSED"
                ) from exc
        else:
            raise StoreMismatch(f"{operation} on a closed store did not raise SDKError")
    store.close()


def check_contract(make_store: Callable[[], Store], teardown: Callable[[Store], None]) -> None:
    """Run the argument-type and closed-store checks, each on a fresh store."""
    store = make_store()
    try:
        check_argument_types(store)
    finally:
        teardown(store)
    store = make_store()
    try:
        check_closed_store(store)
    finally:
        teardown(store)
