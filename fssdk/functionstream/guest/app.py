"""The componentize-py entry module: Function Stream's exports over :class:`Runtime`.

Only this module touches the generated bindings (``wit_world``). They exist only inside the
component (componentize-py bundles the ones imported when it pre-initialises this module), so
outside it the module still imports, without a usable host.
"""

from __future__ import annotations

from typing import Any

from fssdk.functionstream.guest._host import Host
from fssdk.functionstream.guest._preload import preload
from fssdk.functionstream.guest._runtime import Runtime

try:
    from componentize_py_types import Err
    from wit_world.imports import collector, kv
except ImportError:  # outside the component: documentation, type checking, doctests
    Err = collector = kv = None

preload()


class _WitHost(Host):
    """:class:`Host` over the componentize-py bindings of ``functionstream:core``."""

    def __init__(self) -> None:
        if kv is None:
            raise RuntimeError("the WIT bindings exist only inside the component")
        self._kv: Any = kv
        self._collector: Any = collector
        self._err: type[BaseException] = Err
        self._cases: dict[type, str] = {
            kv.Error_NotFound: "not-found",
            kv.Error_IoError: "io-error",
            kv.Error_Other: "other",
        }

    def open_store(self, name: str) -> Any:
        return self._kv.Store(name)

    def complex_key(self, key_group: bytes, key: bytes, namespace: bytes, user_key: bytes) -> Any:
        return self._kv.ComplexKey(key_group, key, namespace, user_key)

    def emit(self, target_id: int, data: bytes) -> None:
        self._collector.emit(target_id, data)

    def emit_watermark(self, target_id: int, watermark: int) -> None:
        self._collector.emit_watermark(target_id, watermark)

    def drop(self, resource: Any) -> None:
        resource.__exit__(None, None, None)

    def kv_error(self, exc: BaseException) -> tuple[str, str] | None:
        if not isinstance(exc, self._err):
            return None
        value = getattr(exc, "value", None)
        case = self._cases.get(type(value))
        if case is None:
            return None
        return case, getattr(value, "value", "")


_runtime: Runtime | None = None


def _the_runtime() -> Runtime:
    global _runtime  # noqa: PLW0603 - one operator per component instance
    if _runtime is None:
        _runtime = Runtime(_WitHost())
    return _runtime


class WitWorld:
    """The ``processor`` world's exports."""

    def fs_exec(self, class_name: str, modules: list[tuple[str, bytes]]) -> None:
        _the_runtime().exec(class_name, modules)

    def fs_init(self, config: list[tuple[str, str]]) -> None:
        _the_runtime().init(config)

    def fs_process(self, source_id: int, data: bytes) -> None:
        _the_runtime().process(source_id, data)

    def fs_process_watermark(self, source_id: int, watermark: int) -> None:
        _the_runtime().process_watermark(source_id, watermark)

    def fs_take_checkpoint(self, checkpoint_id: int) -> None:
        _the_runtime().take_checkpoint(checkpoint_id)

    def fs_check_heartbeat(self) -> bool:
        return _the_runtime().check_heartbeat()

    def fs_close(self) -> None:
        _the_runtime().close()

    def fs_custom(self, payload: bytes) -> bytes:
        return _the_runtime().custom(payload)
