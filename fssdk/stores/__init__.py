"""Store backends: the in-memory reference and RocksDB (through rocksdict).

Where rocksdict is not installed (inside the Function Stream component) the package still imports,
for the buffered store and the write buffer; ``RocksDBStore`` then raises ``ImportError`` saying
why.
"""

from fssdk.stores._memory import MemoryStore

try:
    from fssdk.stores._rocksdb import RocksDBStore
except ImportError as missing:  # rocksdict, or a broken install: said when it is used
    _MISSING = missing

    def __getattr__(name: str) -> object:
        if name == "RocksDBStore":
            raise ImportError(f"fssdk.stores.RocksDBStore needs rocksdict: {_MISSING}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MemoryStore", "RocksDBStore"]
