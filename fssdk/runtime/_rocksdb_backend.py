"""RocksDBBackend lives next to its store, in :mod:`fssdk.stores._rocksdb`; this is its old path."""

from fssdk.stores._rocksdb import RocksDBBackend

__all__ = ["RocksDBBackend"]
