"""fssdk Stores over a WIT ``kv.store`` resource, for the two kinds of host.

:class:`ContractStore` is for a host that keeps the Store contract: each method is the host call
of the same name. :class:`EncodedStore` is for Function Stream's own host (commit 8c338d8), whose
complex-key calls deviate from the contract (docs/functionstream.md lists them). It keeps the
contract anyway by storing everything under simple keys in fssdk's own key format
(:mod:`fssdk._keyformat`, the layout of the RocksDB store): scopes are escaped, so they never
collide; merges are operand entries folded on read; prefix deletes, lists and scans work on
physical key ranges and are checked in the guest.
"""

from __future__ import annotations

from collections.abc import Generator
from collections.abc import Iterator as PyIterator
from typing import Any, Final

from fssdk import _keyformat as kf
from fssdk._complex_key import ComplexKey
from fssdk._errors import StoreInternalError
from fssdk._store import Iterator, Pair, Store, check_bytes, check_complex_key
from fssdk.functionstream.guest._host import Host
from fssdk.thresholds import threshold

#: Merge sequence numbers reserved per write of the counter (one extra host call per block).
SEQ_BLOCK: Final = threshold(__name__, "SEQ_BLOCK", 1 << 16, smallest=1)


def _in_range(user_key: bytes, start: bytes, end: bytes) -> bool:
    return start <= user_key and (not end or user_key < end)


class _KvStore(Store):
    """A Store holding one ``kv.store`` resource; subclasses map the methods to host calls."""

    def __init__(self, name: str, host: Host) -> None:
        super().__init__(name)
        self._host = host
        self._kv: Any = host.call(f"store {name!r}: open", host.open_store, name)

    def _where(self, operation: str, key: bytes | ComplexKey | None = None) -> str:
        where = f"store {self.name!r}: {operation}"
        return where if key is None else f"{where} key {key!r}"

    def close(self) -> None:
        """Close the store and release its host resource. Idempotent."""
        if self._closed:
            return
        super().close()
        kv, self._kv = self._kv, None
        self._host.drop(kv)

    def _host_pairs(self, where: str, iterator: Any) -> Generator[Pair, None, None]:
        """The pairs of a host ``kv.iterator``: one host call each, released at the end."""
        try:
            while True:
                pair = self._host.call(where, iterator.next)
                if pair is None:
                    return
                yield pair[0], pair[1]
        finally:
            self._host.drop(iterator)

    # -- simple keys: the same host calls in both modes, only the key differs ----------------

    def _simple(self, key: bytes) -> bytes:
        return key

    def put_state(self, key: bytes, value: bytes) -> None:
        check_bytes(key, "key", "put_state")
        check_bytes(value, "value", "put_state")
        self._check_open("put_state")
        self._host.call(self._where("put_state", key), self._kv.put_state, self._simple(key), value)

    def get_state(self, key: bytes) -> bytes | None:
        check_bytes(key, "key", "get_state")
        self._check_open("get_state")
        value: bytes | None = self._host.call(
            self._where("get_state", key), self._kv.get_state, self._simple(key)
        )
        return value

    def delete_state(self, key: bytes) -> None:
        check_bytes(key, "key", "delete_state")
        self._check_open("delete_state")
        self._host.call(self._where("delete_state", key), self._kv.delete_state, self._simple(key))


class ContractStore(_KvStore):
    """A Store for a host that keeps the contract: one host call per method.

    ``scan_complex`` streams the host iterator and applies ``start``/``end`` in the guest;
    ``reverse`` collects the scope first (memory in its size).
    """

    def list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        check_bytes(start_inclusive, "start_inclusive", "list_states")
        check_bytes(end_exclusive, "end_exclusive", "list_states")
        self._check_open("list_states")
        keys: list[bytes] = self._host.call(
            self._where("list_states", start_inclusive),
            self._kv.list_states,
            start_inclusive,
            end_exclusive,
        )
        return keys

    def _ck(self, key: ComplexKey) -> Any:
        return self._host.complex_key(*key)

    def put(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "put")
        check_bytes(value, "value", "put")
        self._check_open("put")
        self._host.call(self._where("put", key), self._kv.put, self._ck(key), value)

    def get(self, key: ComplexKey) -> bytes | None:
        check_complex_key(key, "get")
        self._check_open("get")
        value: bytes | None = self._host.call(self._where("get", key), self._kv.get, self._ck(key))
        return value

    def delete(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete")
        self._check_open("delete")
        self._host.call(self._where("delete", key), self._kv.delete, self._ck(key))

    def merge(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "merge")
        check_bytes(value, "value", "merge")
        self._check_open("merge")
        self._host.call(self._where("merge", key), self._kv.merge, self._ck(key), value)

    def delete_prefix(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete_prefix")
        self._check_open("delete_prefix")
        self._host.call(self._where("delete_prefix", key), self._kv.delete_prefix, self._ck(key))

    def list_complex(
        self,
        key_group: bytes,
        key: bytes,
        namespace: bytes,
        start_inclusive: bytes,
        end_exclusive: bytes,
    ) -> list[bytes]:
        self._check_scope_args(key_group, key, namespace, "list_complex")
        check_bytes(start_inclusive, "start_inclusive", "list_complex")
        check_bytes(end_exclusive, "end_exclusive", "list_complex")
        keys: list[bytes] = self._host.call(
            self._where("list_complex", ComplexKey(key_group, key, namespace, start_inclusive)),
            self._kv.list_complex,
            key_group,
            key,
            namespace,
            start_inclusive,
            end_exclusive,
        )
        return keys

    def scan_complex(
        self,
        key_group: bytes,
        key: bytes,
        namespace: bytes,
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> Iterator:
        self._check_scope_args(key_group, key, namespace, "scan_complex")
        check_bytes(start, "start", "scan_complex")
        check_bytes(end, "end", "scan_complex")
        where = self._where("scan_complex", ComplexKey(key_group, key, namespace, b""))
        iterator = self._host.call(where, self._kv.scan_complex, key_group, key, namespace)
        pairs: PyIterator[Pair] = (
            pair for pair in self._host_pairs(where, iterator) if _in_range(pair[0], start, end)
        )
        if reverse:
            pairs = iter(list(pairs)[::-1])
        return self._track(Iterator(pairs))


class EncodedStore(_KvStore):
    """A Store that keeps the contract on Function Stream's deviating host.

    Everything is stored through the host's simple-key calls under fssdk's physical keys, plus
    two calls that the host implements as plain byte-prefix operations (which is exactly what
    it deviates into): ``scan-complex`` and ``delete-prefix`` with the physical prefix as key
    group. Costs, in host calls: ``put``/``get``/``delete`` 1 (2 once the store has merge
    operands: one list of the key's operands), ``merge`` 1, a read that finds operands folds them
    and writes the result back (3 + 2 per operand, once), ``delete_prefix`` 2 (+1 per entry the
    host missed),
    ``list_complex`` 1, a scan 1 + 1 per entry. Opening a store reads its format version and
    merge counter (2 calls; 3 the first time).
    """

    def __init__(self, name: str, host: Host) -> None:
        super().__init__(name, host)
        version = self._host.call(
            self._where("open", kf.META_FORMAT_VERSION), self._kv.get_state, kf.META_FORMAT_VERSION
        )
        expected = str(kf.FORMAT_VERSION).encode()
        if version is None:
            self._raw_put(kf.META_FORMAT_VERSION, expected, "open")
        elif version != expected:
            raise StoreInternalError(
                f"store {self.name!r}: written with key format {version!r}, this fssdk reads "
                f"{expected!r}"
            )
        seq = self._host.call(
            self._where("open", kf.META_MERGE_SEQ), self._kv.get_state, kf.META_MERGE_SEQ
        )
        self._has_operands = seq is not None
        self._seq = self._seq_limit = int.from_bytes(seq, "big") if seq is not None else 0

    # -- raw host calls on physical keys -----------------------------------------------------

    def _raw_put(self, physical: bytes, value: bytes, operation: str) -> None:
        self._host.call(self._where(operation, physical), self._kv.put_state, physical, value)

    def _raw_get(self, physical: bytes, operation: str) -> bytes | None:
        value: bytes | None = self._host.call(
            self._where(operation, physical), self._kv.get_state, physical
        )
        return value

    def _raw_delete(self, physical: bytes, operation: str) -> None:
        self._host.call(self._where(operation, physical), self._kv.delete_state, physical)

    def _raw_list(self, low: bytes, high: bytes, operation: str) -> list[bytes]:
        """Physical keys in ``[low, high)``; ``high`` is never empty (the host selects nothing)."""
        keys: list[bytes] = self._host.call(
            self._where(operation, low), self._kv.list_states, low, high
        )
        return keys

    def _raw_delete_range(self, low: bytes, operation: str) -> None:
        """Delete every physical key starting with ``low``.

        The host's delete-prefix ignores the user key, so the prefix goes in the key group. It
        then lists up to ``low`` + 256 bytes 0xFF only: a second list finds what it missed.
        """
        where = self._where(operation, low)
        self._host.call(where, self._kv.delete_prefix, self._host.complex_key(low, b"", b"", b""))
        for physical in self._raw_list(low, kf.successor(low), operation):
            self._raw_delete(physical, operation)

    # -- simple keys -------------------------------------------------------------------------

    def _simple(self, key: bytes) -> bytes:
        return kf.simple_key(key)

    def list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        check_bytes(start_inclusive, "start_inclusive", "list_states")
        check_bytes(end_exclusive, "end_exclusive", "list_states")
        self._check_open("list_states")
        low = kf.simple_key(start_inclusive)
        high = kf.simple_key(end_exclusive) if end_exclusive else kf.successor(kf.SIMPLE_TAG)
        if low >= high:
            return []
        tag = len(kf.SIMPLE_TAG)
        return [physical[tag:] for physical in self._raw_list(low, high, "list_states")]

    # -- complex keys ------------------------------------------------------------------------

    def _clear_operands(self, base: bytes, operation: str) -> None:
        """Delete the merge operands of ``base``: one list, then one delete per operand."""
        if self._has_operands:
            for physical in self._raw_list(*kf.operands_of(base), operation):
                self._raw_delete(physical, operation)

    def put(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "put")
        check_bytes(value, "value", "put")
        self._check_open("put")
        base = kf.complex_key(*key)
        self._clear_operands(base, "put")
        self._raw_put(base, value, "put")

    def get(self, key: ComplexKey) -> bytes | None:
        check_complex_key(key, "get")
        self._check_open("get")
        base = kf.complex_key(*key)
        value = self._raw_get(base, "get")
        if not self._has_operands:
            return value
        operands = self._raw_list(*kf.operands_of(base), "get")
        if not operands:
            return value
        parts = [value or b""]
        for physical in operands:
            part = self._raw_get(physical, "get")
            if part is None:
                raise StoreInternalError(
                    f"{self._where('get', key)}: merge operand {physical!r} vanished while read"
                )
            parts.append(part)
        folded = b"".join(parts)
        self._raw_put(base, folded, "get")
        for physical in operands:
            self._raw_delete(physical, "get")
        return folded

    def delete(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete")
        self._check_open("delete")
        base = kf.complex_key(*key)
        self._clear_operands(base, "delete")
        self._raw_delete(base, "delete")

    def _next_seq(self) -> int:
        """A merge sequence number above every one used before, also across restarts."""
        if self._seq >= self._seq_limit:
            limit = self._seq_limit + SEQ_BLOCK
            self._raw_put(kf.META_MERGE_SEQ, limit.to_bytes(8, "big"), "merge")
            self._seq_limit = limit
            self._has_operands = True
        self._seq += 1
        return self._seq

    def merge(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "merge")
        check_bytes(value, "value", "merge")
        self._check_open("merge")
        seq = self._next_seq()
        self._raw_put(kf.operand_after(kf.complex_key(*key), seq), value, "merge")

    def delete_prefix(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete_prefix")
        self._check_open("delete_prefix")
        low = kf.scope_prefix(*key.scope) + kf.escape(key.user_key)
        self._raw_delete_range(low, "delete_prefix")

    def list_complex(
        self,
        key_group: bytes,
        key: bytes,
        namespace: bytes,
        start_inclusive: bytes,
        end_exclusive: bytes,
    ) -> list[bytes]:
        self._check_scope_args(key_group, key, namespace, "list_complex")
        check_bytes(start_inclusive, "start_inclusive", "list_complex")
        check_bytes(end_exclusive, "end_exclusive", "list_complex")
        prefix = kf.scope_prefix(key_group, key, namespace)
        low = prefix + kf.escape(start_inclusive)
        high = prefix + kf.escape(end_exclusive) if end_exclusive else kf.successor(prefix)
        if low >= high:
            return []
        user_keys: list[bytes] = []
        for physical in self._raw_list(low, high, "list_complex"):
            user_key = kf.user_key_of(physical, len(prefix))
            if not user_keys or user_keys[-1] != user_key:
                user_keys.append(user_key)
        return user_keys

    def scan_complex(
        self,
        key_group: bytes,
        key: bytes,
        namespace: bytes,
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> Iterator:
        """Stream one scope: the host's prefix scan of its physical prefix, folded in the guest.

        The host collects the whole scope when the scan starts (so writes during the scan do not
        change it) and hands over one entry per call. ``reverse`` collects it in the guest.
        """
        self._check_scope_args(key_group, key, namespace, "scan_complex")
        check_bytes(start, "start", "scan_complex")
        check_bytes(end, "end", "scan_complex")
        prefix = kf.scope_prefix(key_group, key, namespace)
        where = self._where("scan_complex", ComplexKey(key_group, key, namespace, b""))
        iterator = self._host.call(where, self._kv.scan_complex, prefix, b"", b"")
        pairs = self._folded(where, self._host_pairs(where, iterator), prefix, start, end)
        if reverse:
            pairs = iter(list(pairs)[::-1])
        return self._track(Iterator(pairs))

    def _folded(
        self,
        where: str,
        physical_pairs: Generator[Pair, None, None],
        prefix: bytes,
        start: bytes,
        end: bytes,
    ) -> PyIterator[Pair]:
        """``(user_key, value)`` from the host's ``(physical key, value)``, operands folded.

        The host's order is checked: a key out of order would fold wrongly, so it is an error.
        """
        low = prefix + kf.escape(start)
        high = prefix + kf.escape(end) if end else None
        last = b""
        current: bytes | None = None
        parts: list[bytes] = []
        try:
            for physical, value in physical_pairs:
                if physical <= last or not physical.startswith(prefix):
                    raise StoreInternalError(
                        f"{where}: host scan returned {physical!r} after {last!r} (not ascending "
                        "or outside the scope)"
                    )
                last = physical
                if physical < low:
                    continue
                if high is not None and physical >= high:
                    break
                user_key = kf.user_key_of(physical, len(prefix))
                if user_key != current:
                    if current is not None:
                        yield current, b"".join(parts)
                    current, parts = user_key, []
                parts.append(value)
        finally:
            physical_pairs.close()
        if current is not None:
            yield current, b"".join(parts)
