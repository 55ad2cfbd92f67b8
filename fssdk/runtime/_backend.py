"""Backends: where a LocalContext's named stores live (defined next to the stores)."""

from fssdk.stores._backend import Backend, MemoryBackend, check_store_name

__all__ = ["Backend", "MemoryBackend", "check_store_name"]
