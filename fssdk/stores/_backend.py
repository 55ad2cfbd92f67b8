"""Backends: where a LocalContext's named stores live."""

from __future__ import annotations

import abc
from types import TracebackType

from fssdk._errors import ClosedError, InvalidStoreNameError
from fssdk._store import Store
from fssdk.stores._memory import MemoryStore


def check_store_name(name: object) -> str:
    """Return ``name`` if it is a valid store name, else raise ``InvalidStoreNameError``."""
    if not isinstance(name, str):
        raise InvalidStoreNameError(f"store name must be a str, not {type(name).__name__}")
    if not name:
        raise InvalidStoreNameError("store name must not be empty")
    return name


class Backend(abc.ABC):
    """A set of named stores with one lifecycle: ``flush`` makes writes durable, ``close`` ends.

    Backends are context managers; ``close`` flushes first and is idempotent.
    """

    def __init__(self) -> None:
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once ``close`` has been called."""
        return self._closed

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise ClosedError(f"{self!r}: {operation} on a closed backend")

    def store(self, name: str) -> Store:
        """The store called ``name``, created on first use (the same object afterwards).

        A store that was closed on its own is opened again over the same data.
        """
        check_store_name(name)
        self._check_open("store")
        return self._store(name)

    @abc.abstractmethod
    def _store(self, name: str) -> Store: ...

    @abc.abstractmethod
    def store_names(self) -> list[str]:
        """Names of the stores this backend holds, sorted."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Make every write so far durable (a no-op where nothing is durable)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush, then close every store; later use raises ``ClosedError``. Idempotent."""

    @abc.abstractmethod
    def savepoint(self) -> None:
        """Make the writes from now on, to every store (those opened later too), undoable.

        Between :meth:`savepoint` and :meth:`rollback` or :meth:`release` nothing is flushed:
        a store's own ``flush`` waits for the release, and the backend's refuses.
        """

    @abc.abstractmethod
    def rollback(self) -> None:
        """Undo every write since the savepoint and end it (no savepoint: nothing happens)."""

    @abc.abstractmethod
    def release(self) -> None:
        """Keep the writes since the savepoint and end it (no savepoint: nothing happens)."""

    @abc.abstractmethod
    def close_stores(self) -> None:
        """Flush, then close every store handle; later ``store(name)`` calls return new store
        objects over the same data. What is cached per store object starts afresh, as in a
        new process."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class MemoryBackend(Backend):
    """Stores kept in memory (the reference MemoryStore); nothing survives the process.

    >>> with MemoryBackend() as backend:
    ...     backend.store("counts").put_state(b"a", b"1")
    ...     backend.store("counts").get_state(b"a")
    b'1'
    """

    def __init__(self) -> None:
        super().__init__()
        self._stores: dict[str, MemoryStore] = {}
        self._savepoint = False

    def __repr__(self) -> str:
        return "<MemoryBackend>"

    def _store(self, name: str) -> Store:
        store = self._stores.get(name)
        if store is None:
            store = self._stores[name] = MemoryStore(name)
        elif store.closed:
            store = self._stores[name] = store._reopened()
        else:
            return store
        if self._savepoint:
            store.savepoint()
        return store

    def store_names(self) -> list[str]:
        self._check_open("store_names")
        return sorted(self._stores)

    def copy(self) -> MemoryBackend:
        """A new backend with a copy of every store's entries: a snapshot, which later writes
        to either backend do not reach. Costs a copy of all the data."""
        self._check_open("copy")
        copied = MemoryBackend()
        copied._stores = {name: store._copy() for name, store in self._stores.items()}
        return copied

    def flush(self) -> None:
        self._check_open("flush")

    def savepoint(self) -> None:
        self._check_open("savepoint")
        self._savepoint = True
        for store in self._stores.values():
            store.savepoint()

    def rollback(self) -> None:
        self._savepoint = False
        for store in self._stores.values():
            store.rollback()

    def release(self) -> None:
        self._savepoint = False
        for store in self._stores.values():
            store.release()

    def close_stores(self) -> None:
        self._check_open("close_stores")
        for store in self._stores.values():
            store.close()

    def close(self) -> None:
        if self._closed:
            return
        self.rollback()  # writes under a savepoint that was never released are not kept
        self._closed = True
        for store in self._stores.values():
            store.close()
