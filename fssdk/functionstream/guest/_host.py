"""What the guest needs from the WIT imports, as one small interface.

``app`` implements it over the componentize-py bindings; the stores and the context only see this,
so they import (and type-check) without the bindings, which exist only inside the component.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, Final, TypeVar

from fssdk._errors import SDKError, StoreInternalError, StoreIOError, StoreNotFoundError

T = TypeVar("T")

#: The SDK error for each case of the WIT ``kv.error`` variant.
ERROR_OF_CASE: Final[dict[str, type[SDKError]]] = {
    "not-found": StoreNotFoundError,
    "io-error": StoreIOError,
    "other": StoreInternalError,
}


class Host(abc.ABC):
    """The WIT imports: ``kv.store`` resources and the ``collector`` functions."""

    @abc.abstractmethod
    def open_store(self, name: str) -> Any:
        """A new ``kv.store`` resource for ``name`` (the host's constructor)."""

    @abc.abstractmethod
    def complex_key(self, key_group: bytes, key: bytes, namespace: bytes, user_key: bytes) -> Any:
        """The WIT ``complex-key`` record."""

    @abc.abstractmethod
    def emit(self, target_id: int, data: bytes) -> None:
        """``collector.emit``."""

    @abc.abstractmethod
    def emit_watermark(self, target_id: int, watermark: int) -> None:
        """``collector.emit-watermark``."""

    @abc.abstractmethod
    def drop(self, resource: Any) -> None:
        """Release a ``kv.store`` or ``kv.iterator`` resource."""

    @abc.abstractmethod
    def kv_error(self, exc: BaseException) -> tuple[str, str] | None:
        """``(case, message)`` when ``exc`` carries a WIT ``kv.error``, else None."""

    def call(self, where: str, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)``, a WIT ``kv.error`` becoming the SDKError of its case.

        ``where`` names the store, operation and key for the message.
        """
        try:
            return function(*args)
        except Exception as exc:  # the bindings raise their own Err type; others pass through
            error = self.kv_error(exc)
            if error is None:
                raise
            case, message = error
            detail = f": {message}" if message else ""
            raise ERROR_OF_CASE[case](f"{where}: host kv error {case}{detail}") from exc
