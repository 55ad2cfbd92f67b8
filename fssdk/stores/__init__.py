"""Store backends: the in-memory reference and RocksDB (through rocksdict).

``RocksDBStore`` is imported on first use, so that the buffered store and the write buffer import
where rocksdict is not installed (inside the Function Stream component).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fssdk.stores._memory import MemoryStore

if TYPE_CHECKING:
    from fssdk.stores._rocksdb import RocksDBStore

__all__ = ["MemoryStore", "RocksDBStore"]


def __getattr__(name: str) -> object:
    if name == "RocksDBStore":
        from fssdk.stores._rocksdb import RocksDBStore  # noqa: PLC0415 - rocksdict on first use

        return RocksDBStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
