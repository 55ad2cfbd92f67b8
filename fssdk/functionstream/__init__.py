"""Run fssdk operators inside Function Stream, as a WebAssembly component.

:func:`build_component` (``fssdk build-component -o FILE``) writes a component for Function
Stream's ``functionstream:core@0.1.0`` ``processor-runtime`` world: its ``fs-exec`` loads operator
sources and runs their Driver over the host's ``kv`` stores and ``collector``. The guest side
lives in :mod:`fssdk.functionstream.guest`; :mod:`fssdk.testing.functionstream` is a wasmtime-py
host for tests, with a contract-keeping kv and one that reproduces Function Stream's. Building needs
the ``wasm`` extra. docs/functionstream.md explains deployment and the host's deviations.
"""

from fssdk.functionstream._build import (
    COMPONENTIZE_PY_VERSION,
    WASMTIME_VERSION,
    WIT_DIR,
    WORLD,
    BuildError,
    BuildResult,
    build_component,
    source_digest,
)
from fssdk.functionstream.guest._context import CONTRACT_MODE, FUNCTIONSTREAM_MODE, MODE_KEY

__all__ = [
    "COMPONENTIZE_PY_VERSION",
    "CONTRACT_MODE",
    "FUNCTIONSTREAM_MODE",
    "MODE_KEY",
    "WASMTIME_VERSION",
    "WIT_DIR",
    "WORLD",
    "BuildError",
    "BuildResult",
    "build_component",
    "source_digest",
]
