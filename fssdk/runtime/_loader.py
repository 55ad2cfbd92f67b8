"""Load an operator: import a .py file or a module and take the Driver it registered.

An operator module calls ``fssdk.run(MyDriver())`` at import time; the loader imports it and
takes that registration (inside :func:`fssdk._driver.loading_operator`, so that ``fssdk.run``
knows a runtime is loading it). Its *identity* (``module:Class``, the last component of the
module name and the driver's class) is what a state directory records, so that a state directory
written by one operator is not resumed by another, while moving the file or importing it under a
package path keeps the identity. Its *source* (the operator's file and that file's SHA-256) is
recorded too, so that a resume can say when the code changed (an upgrade).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from fssdk import _driver
from fssdk._driver import Driver
from fssdk._errors import NotInitializedError
from fssdk.runtime._run_errors import OperatorLoadError


@dataclass(frozen=True)
class LoadedOperator:
    """A driver ready to run, with where it came from and the identity a state dir records.

    ``source`` is the operator's file (the .py given, or the module that defines the driver's
    class), ``source_sha256`` the hash of its bytes; both None when there is no such file.
    """

    driver: Driver
    spec: str
    identity: str
    source: Path | None = None
    source_sha256: str | None = None


def _source_of(driver: Driver, module: ModuleType | None) -> tuple[Path | None, str | None]:
    """The operator's file (``module``'s, else the driver class's module's) and its SHA-256."""
    if module is None:
        module = sys.modules.get(type(driver).__module__)
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return None, None
    path = Path(file).resolve()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return path, None
    return path, digest


def identity_of(driver: Driver) -> str:
    """``module:Class`` of ``driver``, keeping only the last component of the module name.

    >>> from fssdk import BaseDriver
    >>> class Counter(BaseDriver): ...
    >>> identity_of(Counter())
    '_loader:Counter'
    """
    cls = type(driver)
    return f"{cls.__module__.rpartition('.')[2]}:{cls.__qualname__}"


def looks_like_path(spec: str) -> bool:
    """True when ``spec`` names a file (ends in .py or has a path separator), not a module."""
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def _clear_registration() -> None:
    with contextlib.suppress(NotInitializedError):
        _driver.take_registered_driver()


#: Set on the modules the loader imports from operator files, so that another operator file of
#: the same name (a test loading a copy, two operators in one process) may take the name over.
_OPERATOR_MARK = "__fssdk_operator__"


def _import_file(path: Path) -> ModuleType:
    module_name = path.stem
    loaded = sys.modules.get(module_name)
    ours = getattr(loaded, _OPERATOR_MARK, False)
    if loaded is not None and getattr(loaded, "__file__", None) != str(path) and not ours:
        raise OperatorLoadError(
            f"operator file {str(path)!r} has the name of the module {module_name!r} that is "
            "already imported (a standard or installed module): rename the file"
        )
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise OperatorLoadError(f"operator file {str(path)!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    setattr(module, _OPERATOR_MARK, True)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _import_module(name: str) -> ModuleType:
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    if name in sys.modules:
        return importlib.reload(sys.modules[name])
    return importlib.import_module(name)


def _short_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` without the loader's own frames: the user's code is what matters."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if "importlib" not in frame.filename and not frame.filename.endswith("_loader.py")
    ]
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(exc)
    return "".join(lines).rstrip()


def load_operator(spec: str) -> LoadedOperator:
    """Import the operator named by ``spec`` (a .py path or ``package.module``) and take its driver.

    Raises :class:`OperatorLoadError` when the file or module does not exist, when importing it
    raises (the message carries the operator's traceback), or when it registered no driver.
    """
    if not isinstance(spec, str) or not spec:
        raise OperatorLoadError("the operator must be a .py file path or a module name")
    _clear_registration()
    path = Path(spec) if looks_like_path(spec) else None
    if path is not None:
        if not path.is_file():
            what = "is a directory, not a .py file" if path.is_dir() else "does not exist"
            raise OperatorLoadError(f"operator file {spec!r} {what}")
        where = f"operator file {spec!r}"
    else:
        where = f"operator module {spec!r}"
    try:
        with _driver.loading_operator():
            module = _import_file(path.resolve()) if path is not None else _import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (spec == exc.name or spec.startswith(exc.name + ".")):
            raise OperatorLoadError(
                f"operator module {spec!r} not found (no module named {exc.name!r}); pass a .py "
                "path, or run from the directory that holds the package"
            ) from exc
        raise OperatorLoadError(f"importing {where} failed:\n{_short_traceback(exc)}") from exc
    except SyntaxError as exc:
        raise OperatorLoadError(f"{where} has a syntax error:\n{_short_traceback(exc)}") from exc
    except Exception as exc:  # the operator's own import-time code can raise anything
        raise OperatorLoadError(f"importing {where} failed:\n{_short_traceback(exc)}") from exc
    try:
        driver = _driver.take_registered_driver()
    except NotInitializedError as exc:
        raise OperatorLoadError(
            f"{where} registered no driver: call fssdk.run(YourDriver()) at module level"
        ) from exc
    source, digest = _source_of(driver, module)
    return LoadedOperator(
        driver=driver,
        spec=spec,
        identity=identity_of(driver),
        source=source,
        source_sha256=digest,
    )


def operator_from_driver(driver: Driver) -> LoadedOperator:
    """Wrap a driver object given directly (the Python API) the way a loaded one is."""
    if not isinstance(driver, Driver):
        raise OperatorLoadError(
            "the operator must be a Driver, a .py path or a module name, not "
            f"{type(driver).__name__}"
        )
    cls = type(driver)
    source, digest = _source_of(driver, None)
    return LoadedOperator(
        driver=driver,
        spec=f"{cls.__module__}.{cls.__qualname__}",
        identity=identity_of(driver),
        source=source,
        source_sha256=digest,
    )
