"""Build the runtime component with componentize-py.

The component holds the guest (``fssdk.functionstream.guest``), fssdk, fssdk_advanced and the
pure-Python dependencies they import inside it (msgpack, which falls back to its pure-Python
implementation, and sortedcontainers). rocksdict and the command line's dependencies stay out.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fssdk._errors import SDKError

#: The componentize-py release the component is built and tested with (the ``wasm`` extra).
COMPONENTIZE_PY_VERSION: Final = "0.25.1"
#: The wasmtime-py release of the test host (the ``wasm`` extra).
WASMTIME_VERSION: Final = "50.0.1"

WIT_DIR: Final = Path(__file__).parent / "wit"
#: ``processor`` plus the WASI 0.2.0 CLI imports, which a componentize-py component needs.
WORLD: Final = "processor-runtime"
APP_MODULE: Final = "fssdk.functionstream.guest.app"
#: Top-level packages copied into the component.
PACKAGES: Final = ("fssdk", "fssdk_advanced", "msgpack", "sortedcontainers")


class BuildError(SDKError):
    """The component could not be built (tool missing, wrong version, componentize-py failed)."""


@dataclass(frozen=True)
class BuildResult:
    """What ``build_component`` wrote."""

    path: Path
    size: int
    seconds: float


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(f"package {name!r} is not installed; it goes into the component")
    return Path(next(iter(spec.submodule_search_locations)))


def _sources(name: str) -> list[Path]:
    root = _package_dir(name)
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".wit")
    )


def source_digest() -> str:
    """A hash of everything that goes into the component: sources, WIT and tool version.

    Tests use it to build once per change and cache the result.
    """
    digest = hashlib.sha256(f"{COMPONENTIZE_PY_VERSION} {WORLD} {APP_MODULE}".encode())
    for name in PACKAGES:
        root = _package_dir(name)
        for path in _sources(name):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _componentize_py() -> str:
    try:
        version = importlib.metadata.version("componentize-py")
    except importlib.metadata.PackageNotFoundError as exc:
        raise BuildError("componentize-py is not installed: pip install 'fssdk[wasm]'") from exc
    if version != COMPONENTIZE_PY_VERSION:
        raise BuildError(
            f"componentize-py {version} is installed; the component is built with "
            f"{COMPONENTIZE_PY_VERSION}: pip install 'fssdk[wasm]'"
        )
    local = Path(sys.executable).parent / "componentize-py"
    tool = str(local) if local.exists() else shutil.which("componentize-py")
    if tool is None:
        raise BuildError("the componentize-py command is not on PATH")
    return tool


def _ignore(_folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name == "__pycache__" or name.endswith((".so", ".pyd"))}


def build_component(output: str | os.PathLike[str]) -> BuildResult:
    """Write the runtime component to ``output``; returns its size and the build time.

    Raises :class:`BuildError` naming what failed (with componentize-py's own message).
    """
    tool = _componentize_py()
    began = time.perf_counter()
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fssdk-component-") as staging:
        for name in PACKAGES:
            shutil.copytree(_package_dir(name), Path(staging) / name, ignore=_ignore)
        command = [
            tool, "-d", str(WIT_DIR), "-w", WORLD, "componentize",
            "-p", staging, APP_MODULE, "-o", str(path),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(
            f"componentize-py failed (exit {done.returncode}) building {str(path)!r}:\n"
            f"{done.stderr.strip() or done.stdout.strip()}"
        )
    return BuildResult(path, path.stat().st_size, time.perf_counter() - began)
