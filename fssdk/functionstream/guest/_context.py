"""The Context an operator sees inside the component: collector + named kv stores."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from fssdk._context import Context
from fssdk._errors import ClosedError, InvalidStoreNameError
from fssdk._store import Store, check_bytes
from fssdk.functionstream.guest._host import Host
from fssdk.functionstream.guest._stores import ContractStore, EncodedStore

#: The ``fs-init`` configuration key that picks the store mode; it is not passed to the operator.
MODE_KEY: Final = "fssdk.kv"
#: Mode for Function Stream's own host (the default): :class:`EncodedStore`.
FUNCTIONSTREAM_MODE: Final = "functionstream"
#: Mode for a host that keeps the Store contract: :class:`ContractStore`.
CONTRACT_MODE: Final = "contract"

_STORES: Final[dict[str, type[ContractStore] | type[EncodedStore]]] = {
    FUNCTIONSTREAM_MODE: EncodedStore,
    CONTRACT_MODE: ContractStore,
}

_U32: Final = 1 << 32
_U64: Final = 1 << 64


class GuestContext(Context):
    """A Context over the WIT imports: ``emit`` is ``collector.emit``, stores are ``kv.store``s.

    ``config`` is the ``fs-init`` configuration without the ``fssdk.kv`` key, which selects the
    store mode (``functionstream``, the default, or ``contract``).
    """

    def __init__(self, host: Host, config: Mapping[str, str]) -> None:
        mode = config.get(MODE_KEY, FUNCTIONSTREAM_MODE)
        if mode not in _STORES:
            raise ValueError(
                f"configuration {MODE_KEY}={mode!r}: expected one of {sorted(_STORES)}"
            )
        self._host = host
        self._store_type = _STORES[mode]
        self._config = MappingProxyType({k: v for k, v in config.items() if k != MODE_KEY})
        self._stores: dict[str, Store] = {}
        self._closed = False

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise ClosedError(f"context: {operation} after close")

    def emit(self, data: bytes, target_id: int = 0) -> None:
        check_bytes(data, "data", "emit")
        _check_int(target_id, "target_id", "emit", _U32)
        self._check_open("emit")
        self._host.emit(target_id, data)

    def emit_watermark(self, watermark: int, target_id: int = 0) -> None:
        _check_int(watermark, "watermark", "emit_watermark", _U64)
        _check_int(target_id, "target_id", "emit_watermark", _U32)
        self._check_open("emit_watermark")
        self._host.emit_watermark(target_id, watermark)

    def get_or_create_store(self, name: str) -> Store:
        if not isinstance(name, str) or not name:
            raise InvalidStoreNameError(f"store name must be a non-empty str, got {name!r}")
        self._check_open("get_or_create_store")
        store = self._stores.get(name)
        if store is None:
            store = self._stores[name] = self._store_type(name, self._host)
        return store

    @property
    def config(self) -> Mapping[str, str]:
        return self._config

    def flush(self) -> None:
        """Write the buffered writes of every store to the host (at the end of each export)."""
        for store in self._stores.values():
            if isinstance(store, EncodedStore) and not store.closed:
                store.flush()

    def discard(self) -> None:
        """Drop the buffered writes of every store: those of an export that failed."""
        for store in self._stores.values():
            if isinstance(store, EncodedStore):
                store.discard()

    def close(self) -> None:
        """Close every store (releasing its host resource); idempotent."""
        if self._closed:
            return
        self._closed = True
        for store in self._stores.values():
            store.close()
        self._stores.clear()


def _check_int(value: object, argument: str, operation: str, bound: int) -> None:
    if type(value) is not int:
        raise TypeError(f"{operation}: {argument} must be int, not {type(value).__name__}")
    if not 0 <= value < bound:
        raise ValueError(f"{operation}: {argument} {value} is outside [0, {bound})")
