"""fssdk Stores over a WIT ``kv.store`` resource, for the two kinds of host.

:class:`ContractStore` is for a host that keeps the Store contract: each primitive is the host
call of the same name. :class:`EncodedStore` is for Function Stream's own host (commit 8c338d8),
whose complex-key calls deviate from the contract (docs/functionstream.md lists them). It keeps
the contract anyway the way the RocksDB store does: it is a
:class:`~fssdk.stores._buffered.BufferedStore` whose write buffer sits on :class:`HostTable`, an
ordered byte table made of the host's simple-key calls and its prefix scans. Every key is built by
:data:`fssdk._keyformat.LAYOUT`, so the guest's data is the RocksDB store's key format, scopes
never collide, and merge operands are folded by the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from collections.abc import Iterator as PyIterator
from typing import Any, Final

from fssdk._complex_key import ComplexKey
from fssdk._errors import StoreInternalError
from fssdk._keyformat import FORMAT_VERSION, LAYOUT, META_FORMAT_VERSION
from fssdk._store import Pair, Store
from fssdk.functionstream.guest._host import Host
from fssdk.stores._buffer import WriteBuffer
from fssdk.stores._buffered import BufferedStore
from fssdk.stores._table import Seek, Table, TableWriter
from fssdk.thresholds import threshold

#: The format version an EncodedStore records under ``META_FORMAT_VERSION`` and expects there.
FORMAT_RECORD: Final = str(FORMAT_VERSION).encode()
#: Merge sequence numbers reserved per write of the counter (one extra host call per block).
SEQ_BLOCK: Final = threshold(__name__, "SEQ_BLOCK", 1 << 16, smallest=1)


def _in_range(user_key: bytes, start: bytes, end: bytes) -> bool:
    return start <= user_key and (not end or user_key < end)


class _Resource:
    """One ``kv.store`` resource: host calls named for error messages, released once."""

    def __init__(self, name: str, host: Host) -> None:
        self.name = name
        self.host = host
        self.kv: Any = host.call(f"store {name!r}: open", host.open_store, name)

    def call(self, function: str, key: object, method: Callable[..., Any], *args: Any) -> Any:
        """``method(*args)``, a host error naming the store, ``function`` and ``key``."""
        return self.host.call(f"store {self.name!r}: {function} key {key!r}", method, *args)

    def pairs(self, where: str, iterator: Any) -> Generator[Pair, None, None]:
        """The pairs of a host ``kv.iterator``: one host call each, released at the end."""
        try:
            while True:
                pair = self.host.call(where, iterator.next)
                if pair is None:
                    return
                yield pair[0], pair[1]
        finally:
            self.host.drop(iterator)

    def drop(self) -> None:
        kv, self.kv = self.kv, None
        if kv is not None:
            self.host.drop(kv)


class ContractStore(Store):
    """A Store for a host that keeps the contract: one host call per method.

    ``scan_complex`` streams the host iterator and applies ``start``/``end`` in the guest;
    ``reverse`` collects the scope first (memory in its size).
    """

    def __init__(self, name: str, host: Host) -> None:
        super().__init__(name)
        self._kv = _Resource(name, host)

    def close(self) -> None:
        """Close the store and release its host resource. Idempotent."""
        if self._closed:
            return
        super().close()
        self._kv.drop()

    def _call(self, function: str, key: object, *args: Any) -> Any:
        kv = self._kv
        return kv.call(function, key, getattr(kv.kv, function), *args)

    def _ck(self, key: ComplexKey) -> Any:
        return self._kv.host.complex_key(*key)

    def _put_state(self, key: bytes, value: bytes) -> None:
        self._call("put_state", key, key, value)

    def _get_state(self, key: bytes) -> bytes | None:
        value: bytes | None = self._call("get_state", key, key)
        return value

    def _delete_state(self, key: bytes) -> None:
        self._call("delete_state", key, key)

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        keys: list[bytes] = self._call(
            "list_states", start_inclusive, start_inclusive, end_exclusive
        )
        return keys

    def _put(self, key: ComplexKey, value: bytes) -> None:
        self._call("put", key, self._ck(key), value)

    def _get(self, key: ComplexKey) -> bytes | None:
        value: bytes | None = self._call("get", key, self._ck(key))
        return value

    def _delete(self, key: ComplexKey) -> None:
        self._call("delete", key, self._ck(key))

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        self._call("merge", key, self._ck(key), value)

    def _delete_prefix(self, key: ComplexKey) -> None:
        self._call("delete_prefix", key, self._ck(key))

    def _list_complex(self, low: ComplexKey, end: bytes) -> list[bytes]:
        keys: list[bytes] = self._call("list_complex", low, *low, end)
        return keys

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        where = f"store {self.name!r}: scan_complex key {low!r}"
        iterator = self._call("scan_complex", low, *low.scope)
        pairs: PyIterator[Pair] = (
            pair
            for pair in self._kv.pairs(where, iterator)
            if _in_range(pair[0], low.user_key, end)
        )
        return iter(list(pairs)[::-1]) if reverse else pairs


class HostTable(Table):
    """Function Stream's host store as a :class:`~fssdk.stores._table.Table`.

    The host's simple-key calls keep the contract (but for an empty end, never sent here), and
    its ``scan-complex`` and ``delete-prefix`` are byte-prefix operations over the same keys when
    given the prefix as key group (deviations 4 and 5 of docs/functionstream.md). So: ``get``
    is ``get-state``; a write is ``put-state`` / ``delete-state``; a range delete (always a
    prefix's range here) is ``delete-prefix`` plus a ``list-states`` for what it missed;
    ``run`` without a limit lists the range and reads each key, anything else scans the
    shortest prefix covering the range, one host call per entry from its start. A scan is a
    snapshot (the host collects it when it starts); ``reverse`` collects it in the guest. Keys
    must arrive ascending and inside the prefix (a hash-ordered host would fold values wrongly),
    else ``StoreInternalError``.

    The seeker reads one scan forward: a seek below an earlier one answers from the earlier one
    on, which the write buffer's skip-scan allows (it seeks back only over entries it has
    found dead).
    """

    def __init__(self, name: str, host: Host) -> None:
        self._kv = _Resource(name, host)
        self.name = name

    def _call(self, function: str, key: bytes, *args: Any) -> Any:
        kv = self._kv
        return kv.call(function.replace("_", "-"), key, getattr(kv.kv, function), *args)

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._call("get_state", key, key)
        return value

    def first(self, low: bytes, high: bytes) -> Pair | None:
        found = self.run(low, high, 1)
        return found[0] if found else None

    def run(self, low: bytes, high: bytes, limit: int | None = None) -> list[Pair]:
        if limit is not None:
            found = []
            for pair in self.scan(low, high):
                found.append(pair)
                if len(found) >= limit:
                    break
            return found
        pairs = []
        for key in self.list(low, high):
            value = self.get(key)
            if value is None:
                raise StoreInternalError(
                    f"store {self.name!r}: key {key!r} vanished between list-states and get-state"
                )
            pairs.append((key, value))
        return pairs

    def list(self, low: bytes, high: bytes) -> list[bytes]:
        """The keys in ``[low, high)``: one ``list-states`` (``high`` is never empty here)."""
        keys: list[bytes] = self._call("list_states", low, low, high)
        return keys

    def scan(self, low: bytes, high: bytes, reverse: bool = False) -> PyIterator[Pair]:
        pairs = self._checked(low, high)
        return iter(list(pairs)[::-1]) if reverse else pairs

    def prefix_scan(self, prefix: bytes) -> Generator[Pair, None, None]:
        """The host's own answer to ``scan-complex(prefix, "", "")``, unchecked."""
        where = f"store {self.name!r}: scan-complex prefix {prefix!r}"
        iterator = self._call("scan_complex", prefix, prefix, b"", b"")
        return self._kv.pairs(where, iterator)

    def _checked(self, low: bytes, high: bytes) -> PyIterator[Pair]:
        """The entries of ``[low, high)`` from a scan of their covering prefix, checked.

        The host call is made here, so the snapshot is taken by this call.
        """
        prefix = _covering_prefix(low, high)
        return self._check(prefix, self.prefix_scan(prefix), low, high)

    def _check(
        self, prefix: bytes, pairs: Generator[Pair, None, None], low: bytes, high: bytes
    ) -> Generator[Pair, None, None]:
        last = b""
        try:
            for key, value in pairs:
                if key <= last or not key.startswith(prefix):
                    raise StoreInternalError(
                        f"store {self.name!r}: host scan of prefix {prefix!r} returned {key!r} "
                        f"after {last!r} (not ascending or outside the prefix)"
                    )
                last = key
                if key >= high:
                    return
                if key >= low:
                    yield key, value
        finally:
            pairs.close()

    def seeker(self, high: bytes) -> Seek:
        return _ForwardSeeker(self, high)

    def write(self, fill: Callable[[TableWriter], None]) -> None:
        fill(_HostWriter(self))

    def delete_prefix(self, low: bytes, high: bytes) -> None:
        """Delete ``[low, high)``: a prefix's range by ``delete-prefix`` and one list of what it
        missed, any other range by listing it."""
        if high == LAYOUT.successor(low):
            key = self._kv.host.complex_key(low, b"", b"", b"")
            self._call("delete_prefix", low, key)
        for key in self.list(low, high):
            self._call("delete_state", key, key)

    def close(self) -> None:
        self._kv.drop()


def _covering_prefix(low: bytes, high: bytes) -> bytes:
    """The longest prefix of ``low`` that every key in ``[low, high)`` starts with."""
    for length in range(len(low), 0, -1):
        prefix = low[:length]
        if prefix.rstrip(b"\xff") and LAYOUT.successor(prefix) >= high:
            return prefix
    return b""


class _HostWriter:
    """A :class:`~fssdk.stores._table.TableWriter` making each write a host call at once."""

    __slots__ = ("_table",)

    def __init__(self, table: HostTable) -> None:
        self._table = table

    def put(self, key: bytes, value: bytes) -> None:
        self._table._call("put_state", key, key, value)

    def delete(self, key: bytes) -> None:
        self._table._call("delete_state", key, key)

    def delete_range(self, low: bytes, high: bytes) -> None:
        self._table.delete_prefix(low, high)


class _ForwardSeeker:
    """``seek(low)`` over one forward scan, taken when the seeker is made, of the prefix whose
    successor is ``high`` (see :class:`HostTable`); a seek below that prefix answers from it."""

    __slots__ = ("_ahead", "_pairs", "_started")

    def __init__(self, table: HostTable, high: bytes) -> None:
        low = high[:-1] + bytes((high[-1] - 1,)) if high and high[-1] else b""
        self._pairs = table._checked(low, high)
        self._ahead: Pair | None = None
        self._started = False

    def __call__(self, low: bytes) -> Pair | None:
        ahead = self._ahead
        if not self._started:
            self._started = True
            ahead = self._ahead = next(self._pairs, None)
        while ahead is not None and ahead[0] < low:
            ahead = self._ahead = next(self._pairs, None)
        return ahead


class EncodedStore(BufferedStore):
    """A Store that keeps the contract on Function Stream's deviating host.

    Writes wait in the write buffer until :meth:`flush`, which the guest runtime calls when an
    export returns (so the host holds every write of the records processed so far, and a
    checkpoint the host takes after ``fs-take-checkpoint`` sees them); a failed flush drops the
    writes it could not make. Opening a store checks that the host's scans answer as Function
    Stream's do, and its key-format version. Host calls: ``get`` 1 (in a key group with merge
    operands, 1 list + 1 per entry of the key), a write 1 at flush (in a key group with merge
    operands a put or delete also erases the key's operands: +2), a prefix delete 2, a scan 1 +
    1 per entry from the scope's start; opening 6 (10 the first time).
    """

    def __init__(self, name: str, host: Host) -> None:
        table = HostTable(name, host)
        try:
            _check_host(name, table)
            buffer = WriteBuffer(table, SEQ_BLOCK)
        except BaseException:
            table.close()
            raise
        super().__init__(name, buffer)

    def flush(self) -> None:
        """Write the buffered writes to the host, one call each; on failure drop them (the host
        may hold some: the export fails, and Function Stream restarts the operator)."""
        try:
            super().flush()
        finally:
            self._buffer.discard()

    def discard(self) -> None:
        """Drop the buffered writes: those of an export that failed."""
        self._buffer.discard()


def _check_host(name: str, table: HostTable) -> None:
    """Refuse a host whose scans do not answer as Function Stream's, or another key format.

    One prefix scan of the format-version key (which must find it, as a physical key) reads the
    version too; a store without one is new: the version is written and scanned for again.
    """
    found = _first(table.prefix_scan(META_FORMAT_VERSION))
    written = found is None and table.get(META_FORMAT_VERSION) is None
    if written:
        table.write(lambda writer: writer.put(META_FORMAT_VERSION, FORMAT_RECORD))
        found = _first(table.prefix_scan(META_FORMAT_VERSION))
    if found is None or found[0] != META_FORMAT_VERSION:
        if written:
            table.write(lambda writer: writer.delete(META_FORMAT_VERSION))
        raise StoreInternalError(
            f"store {name!r}: the host's scan-complex does not answer as Function Stream's: a "
            f"scan with key group {META_FORMAT_VERSION!r} returned {found!r}, not that key as "
            "written with put-state; on a host that keeps the Store contract set fssdk.kv="
            "contract"
        )
    if found[1] != FORMAT_RECORD:
        raise StoreInternalError(
            f"store {name!r}: written with key format {found[1]!r}, this fssdk reads "
            f"{FORMAT_RECORD!r}"
        )


def _first(pairs: Generator[Pair, None, None]) -> Pair | None:
    try:
        return next(pairs, None)
    finally:
        pairs.close()
