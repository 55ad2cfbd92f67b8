"""Store backends: the in-memory reference and RocksDB (through rocksdict)."""

from fssdk.stores._memory import MemoryStore
from fssdk.stores._rocksdb import RocksDBStore

__all__ = ["MemoryStore", "RocksDBStore"]
