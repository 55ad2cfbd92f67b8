"""The table primitives a buffered store needs from its database: one ordered byte table.

A table is one sorted map of physical keys (a RocksDB column family). It knows nothing of scopes,
merges or the key format; :class:`~fssdk.stores._buffer.WriteBuffer` and
:mod:`fssdk._keyformat` give the bytes their meaning. Adding a backend means implementing
:class:`Table` (and a :class:`TableWriter` for its batches).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from collections.abc import Iterator as PyIterator
from typing import Protocol

Pair = tuple[bytes, bytes]
Seek = Callable[[bytes], "Pair | None"]


class TableWriter(Protocol):
    """The writes of one atomic batch, applied in the order they are made."""

    def put(self, key: bytes, value: bytes) -> None:
        """Set ``key`` to ``value``."""

    def delete(self, key: bytes) -> None:
        """Remove ``key``."""

    def delete_range(self, low: bytes, high: bytes) -> None:
        """Remove every key in ``[low, high)``."""


class Table(abc.ABC):
    """One ordered table of byte keys and values.

    Reads never see a batch half-written. ``scan`` and ``seeker`` read a snapshot taken when they
    are called, so writes made while they are consumed do not change what they return. ``get``,
    ``run`` and ``write`` may raise the engine's own exceptions (the store names them
    as ``StoreIOError``); the streams of ``scan`` and ``seeker`` raise ``StoreIOError`` themselves.
    """

    #: ``get(key)``: the value at ``key``, or ``None``. One point lookup. An attribute, so that a
    #: table can bind its engine's own method and a read costs no Python frame.
    get: Callable[[bytes], bytes | None]

    @abc.abstractmethod
    def run(self, low: bytes, high: bytes, limit: int | None = None) -> list[Pair]:
        """The entries of the short range ``[low, high)`` (a base and its operands), at most
        ``limit`` of them."""

    @abc.abstractmethod
    def scan(self, low: bytes, high: bytes, reverse: bool = False) -> PyIterator[Pair]:
        """Stream the entries of ``[low, high)`` in key order (descending with ``reverse``).

        The snapshot is taken by this call, not at the first step; memory stays constant in the
        size of the range.
        """

    def stream(self, low: bytes, high: bytes) -> tuple[PyIterator[Pair], object]:
        """The entries of ``[low, high)`` in key order, as the engine's own iterator when it has
        one (no Python frame per entry), and what must stay alive while it is read.

        Unlike :meth:`scan`, its steps raise the engine's own exceptions. This default is
        :meth:`scan`.
        """
        return self.scan(low, high), None

    @abc.abstractmethod
    def seeker(self, high: bytes) -> Seek:
        """A function ``seek(low)``: the first entry in ``[low, high)`` of one snapshot.

        A table that can only read forward may answer a seek below an earlier one from the
        earlier one on: the write buffer's skip-scan seeks back only over entries it found dead.
        """

    @abc.abstractmethod
    def write(self, fill: Callable[[TableWriter], None]) -> None:
        """Apply the writes ``fill`` makes on a writer as one atomic batch."""

    def close(self) -> None:  # noqa: B027 - a table with nothing to release needs no override
        """Release what the table holds; it is not used afterwards."""
