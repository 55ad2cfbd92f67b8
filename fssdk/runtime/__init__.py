"""The local runtime: backends, a Context over them, and the runner behind ``fssdk run``."""

from fssdk.runtime._backend import Backend, MemoryBackend
from fssdk.runtime._context import LocalContext
from fssdk.runtime._rocksdb_backend import RocksDBBackend

__all__ = ["Backend", "LocalContext", "MemoryBackend", "RocksDBBackend"]
