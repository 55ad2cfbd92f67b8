"""The operator lifecycle behind the eight exports, independent of the bindings.

Function Stream calls ``fs-exec`` (load the operator), ``fs-init``, then ``fs-process`` /
``fs-process-watermark`` / ``fs-take-checkpoint`` / ``fs-check-heartbeat`` / ``fs-custom`` any
number of times, and ``fs-close``. An exception in the operator is not swallowed: it leaves the
export, which traps the instance, and the host sees the failure (with the traceback on stderr).
The stores' buffered writes go to the host when an export returns, and are dropped when it fails.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Sequence
from typing import TypeVar

from fssdk import _driver
from fssdk._driver import Driver
from fssdk._errors import InvalidDriverError, NotInitializedError
from fssdk.functionstream.guest._context import GuestContext
from fssdk.functionstream.guest._host import Host

T = TypeVar("T")


def load_modules(modules: Sequence[tuple[str, bytes]]) -> list[types.ModuleType]:
    """Execute operator modules from source, in order, each registered in ``sys.modules`` first
    (so later modules, and the module itself, can import it by name)."""
    loaded = []
    for name, source in modules:
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidDriverError(f"fs-exec: module {name!r} is not UTF-8: {exc}") from exc
        module = types.ModuleType(name)
        module.__file__ = f"<{name}>"
        sys.modules[name] = module
        with _driver.loading_operator():
            exec(compile(text, f"<{name}>", "exec"), module.__dict__)  # the operator's own code
        loaded.append(module)
    return loaded


def find_driver(class_name: str, modules: Sequence[types.ModuleType]) -> Driver:
    """The operator's driver: the class ``class_name`` of the modules, or the ``fssdk.run`` one.

    A Driver class called ``class_name`` (looked up in the last module first) is used, through
    the driver the modules registered when that is an instance of it, else a new instance.
    Without such a class the registered driver is used: Function Stream passes the function's
    name when its config has no ``class_name``.
    """
    try:
        registered: Driver | None = _driver.take_registered_driver()
    except NotInitializedError:
        registered = None
    for module in reversed(modules):
        cls = getattr(module, class_name, None) if class_name else None
        if cls is None:
            continue
        if not (isinstance(cls, type) and issubclass(cls, Driver)):
            raise InvalidDriverError(
                f"fs-exec: {class_name!r} in module {module.__name__!r} is not a Driver class"
            )
        return registered if isinstance(registered, cls) else cls()
    if registered is not None:
        return registered
    names = [module.__name__ for module in modules]
    wanted = f"no class {class_name!r} and " if class_name else ""
    raise InvalidDriverError(f"fs-exec: {wanted}no fssdk.run(...) call in modules {names}")


class Runtime:
    """One operator inside one component instance."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._driver: Driver | None = None
        self._ctx: GuestContext | None = None

    def exec(self, class_name: str, modules: Sequence[tuple[str, bytes]]) -> None:
        """``fs-exec``: load the operator's modules and take its driver."""
        if self._driver is not None:
            raise InvalidDriverError("fs-exec: an operator is already loaded in this instance")
        self._driver = find_driver(class_name, load_modules(modules))

    def _running(self, export: str) -> tuple[Driver, GuestContext]:
        if self._driver is None or self._ctx is None:
            step = "fs-exec" if self._driver is None else "fs-init"
            raise NotInitializedError(f"{export} before {step}")
        return self._driver, self._ctx

    def _call(self, export: str, call: Callable[[Driver, GuestContext], T]) -> T:
        """``call(driver, ctx)``, then the stores' buffered writes go to the host; when it
        raises they are dropped instead, so a failed record leaves no writes behind."""
        driver, ctx = self._running(export)
        try:
            result = call(driver, ctx)
        except BaseException:
            ctx.discard()
            raise
        ctx.flush()
        return result

    def init(self, config: Sequence[tuple[str, str]]) -> None:
        """``fs-init``: make the context and call ``driver.init``."""
        if self._driver is None:
            raise NotInitializedError("fs-init before fs-exec: no operator loaded")
        if self._ctx is not None:
            raise InvalidDriverError("fs-init called twice")
        self._ctx = GuestContext(self._host, dict(config))
        self._call("fs-init", lambda driver, ctx: driver.init(ctx, ctx.config))

    def process(self, source_id: int, data: bytes) -> None:
        self._call("fs-process", lambda driver, ctx: driver.process(ctx, source_id, data))

    def process_watermark(self, source_id: int, watermark: int) -> None:
        self._call(
            "fs-process-watermark",
            lambda driver, ctx: driver.process_watermark(ctx, source_id, watermark),
        )

    def take_checkpoint(self, checkpoint_id: int) -> None:
        """``fs-take-checkpoint``: the driver's, then every buffered write goes to the host,
        before the host persists its state."""
        self._call(
            "fs-take-checkpoint", lambda driver, ctx: driver.take_checkpoint(ctx, checkpoint_id)
        )

    def check_heartbeat(self) -> bool:
        return self._call(
            "fs-check-heartbeat", lambda driver, ctx: bool(driver.check_heartbeat(ctx))
        )

    def custom(self, payload: bytes) -> bytes:
        return self._call("fs-custom", lambda driver, ctx: bytes(driver.custom(ctx, payload)))

    def close(self) -> None:
        """``fs-close``: ``driver.close``, then close the context and forget the operator."""
        ctx = self._running("fs-close")[1]
        try:
            self._call("fs-close", lambda driver, ctx: driver.close(ctx))
        finally:
            ctx.close()
            self._driver = self._ctx = None
