"""Modules imported while componentize-py builds the component, so that operators can import them.

componentize-py snapshots the interpreter after importing the app module: only modules imported
by then are in the component. An operator loaded by ``fs-exec`` can therefore import fssdk,
fssdk_advanced, msgpack, sortedcontainers and the standard-library modules listed here, and no
others (docs/functionstream.md says so).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Final

#: Standard-library modules an operator may import inside the component.
STDLIB: Final = (
    "abc", "base64", "bisect", "calendar", "collections", "collections.abc", "copy", "csv",
    "dataclasses", "datetime", "decimal", "enum", "fractions", "functools", "hashlib", "heapq",
    "io", "itertools", "json", "math", "operator", "pickle", "random", "re", "statistics",
    "string", "struct", "textwrap", "time", "types", "typing", "uuid", "weakref", "zlib",
)  # fmt: skip

#: Packages imported with every submodule.
PACKAGES: Final = ("fssdk_advanced", "msgpack", "sortedcontainers")


def preload() -> list[str]:
    """Import :data:`STDLIB` and every submodule of :data:`PACKAGES`; the names imported."""
    names = list(STDLIB)
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        names += [
            info.name
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}.")
            if not info.name.startswith("msgpack._cmsgpack")
        ]
    for name in names:
        importlib.import_module(name)
    return names
