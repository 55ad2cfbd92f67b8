"""Context: what an operator sees of the runtime (emit, stores, configuration)."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from types import TracebackType

from fssdk._store import Store


class Context(abc.ABC):
    """The runtime as seen from a Driver: output channels, named stores and configuration.

    A Context is also a context manager that closes itself.
    """

    @abc.abstractmethod
    def emit(self, data: bytes, target_id: int = 0) -> None:
        """Send ``data`` to output channel ``target_id``."""

    @abc.abstractmethod
    def emit_watermark(self, watermark: int, target_id: int = 0) -> None:
        """Forward ``watermark`` to output channel ``target_id``."""

    @abc.abstractmethod
    def get_or_create_store(self, name: str) -> Store:
        """The store called ``name`` (the same object for the same name).

        Raises ``InvalidStoreNameError`` (``STORE_INVALID_NAME``) for an empty or non-str name.
        """

    @property
    @abc.abstractmethod
    def config(self) -> Mapping[str, str]:
        """The read-only startup configuration."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything; later calls raise ``ClosedError`` (``RUNTIME_CLOSED``)."""

    def __enter__(self) -> Context:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
