"""The conformance kit has teeth: ``check_store`` catches each of these deliberately broken stores.

Each store below is MemoryStore with one realistic defect. A test passes when ``check_store``
raises :class:`StoreMismatch` (the kit saw a different result) carrying hypothesis' shrunk
counter-example.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sortedcontainers import SortedDict

from fssdk import ComplexKey, Iterator, Store
from fssdk._store import check_bytes, check_complex_key
from fssdk.stores import MemoryStore
from fssdk.testing import StoreMismatch, check_store

#: Examples per run: far more than needed. Measured over seeds 0-149, each defect below was found
#: after a median of 4 to 10 examples and at most 117; a run stops at the first failure and shrinks.
EXAMPLES = 300


class MergeOverwrites(MemoryStore):
    """``merge`` replaces the value instead of appending to it."""

    def merge(self, key: ComplexKey, value: bytes) -> None:
        self.put(key, value)


class ConcatenatedKeys(MemoryStore):
    """Complex keys stored under ``key_group + key + namespace + user_key``, unescaped.

    The reference system's key format: ``(b"ab", b"c")`` and ``(b"a", b"bc")`` share entries, and
    the scan of primary key ``b"user1"`` sees the entries of ``b"user12"``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._flat: SortedDict[bytes, bytes] = SortedDict()

    def put(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "put")
        check_bytes(value, "value", "put")
        self._check_open("put")
        self._flat[b"".join(key)] = value

    def get(self, key: ComplexKey) -> bytes | None:
        check_complex_key(key, "get")
        self._check_open("get")
        return self._flat.get(b"".join(key))

    def delete(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete")
        self._check_open("delete")
        self._flat.pop(b"".join(key), None)

    def merge(self, key: ComplexKey, value: bytes) -> None:
        check_complex_key(key, "merge")
        check_bytes(value, "value", "merge")
        self._check_open("merge")
        self._flat[b"".join(key)] = self._flat.get(b"".join(key), b"") + value

    def delete_prefix(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete_prefix")
        self._check_open("delete_prefix")
        prefix = b"".join(key)
        for physical in [k for k in self._flat if k.startswith(prefix)]:
            del self._flat[physical]

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
        prefix = key_group + key + namespace
        pairs = [
            (physical[len(prefix) :], value)
            for physical, value in self._flat.items()
            if physical.startswith(prefix)
            and start <= physical[len(prefix) :]
            and (not end or physical[len(prefix) :] < end)
        ]
        return Iterator(iter(pairs[::-1] if reverse else pairs))


class DeletePrefixIgnoresUserKey(MemoryStore):
    """``delete_prefix`` empties the whole scope whatever user_key prefix it is given."""

    def delete_prefix(self, key: ComplexKey) -> None:
        check_complex_key(key, "delete_prefix")
        super().delete_prefix(ComplexKey(*key.scope, b""))


class EmptyValueIsMissing(MemoryStore):
    """``get`` reports a present empty value as missing (``None``)."""

    def get(self, key: ComplexKey) -> bytes | None:
        return super().get(key) or None


class LiveScan(MemoryStore):
    """Scans are not snapshots: they list the keys up front but read each value when reached."""

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
        with super().scan_complex(
            key_group, key, namespace, start=start, end=end, reverse=reverse
        ) as snapshot:
            user_keys = [user_key for user_key, _ in snapshot]

        def live() -> Iterator:
            pairs = (
                (user_key, self.get(ComplexKey(key_group, key, namespace, user_key)))
                for user_key in user_keys
            )
            return Iterator((user_key, value) for user_key, value in pairs if value is not None)

        return live()


class EndInclusiveLists(MemoryStore):
    """``list_complex`` includes its ``end_exclusive`` bound."""

    def list_complex(
        self,
        key_group: bytes,
        key: bytes,
        namespace: bytes,
        start_inclusive: bytes,
        end_exclusive: bytes,
    ) -> list[bytes]:
        check_bytes(end_exclusive, "end_exclusive", "list_complex")
        end = end_exclusive + b"\x00" if end_exclusive else b""
        return super().list_complex(key_group, key, namespace, start_inclusive, end)


class MutableValues(MemoryStore):
    """``get`` hands out the stored ``bytearray`` of a merged value instead of ``bytes``."""

    def get(self, key: ComplexKey) -> bytes | None:
        check_complex_key(key, "get")
        self._check_open("get")
        physical = (key.key_group, key.key, key.namespace, key.user_key)
        return self._complex.get(physical)  # type: ignore[return-value]


class UnsyncedSimpleKeys(MemoryStore):
    """Simple-key writes wait in a buffer until ``flush()``, and a reopen loses the buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.unsynced: dict[bytes, bytes | None] = {}

    def put_state(self, key: bytes, value: bytes) -> None:
        check_bytes(key, "key", "put_state")
        check_bytes(value, "value", "put_state")
        self._check_open("put_state")
        self.unsynced[key] = value

    def delete_state(self, key: bytes) -> None:
        check_bytes(key, "key", "delete_state")
        self._check_open("delete_state")
        self.unsynced[key] = None

    def get_state(self, key: bytes) -> bytes | None:
        self._check_open("get_state")
        if key in self.unsynced:
            return self.unsynced[key]
        return super().get_state(key)

    def list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        self.flush()
        return super().list_states(start_inclusive, end_exclusive)

    def flush(self) -> None:
        self._check_open("flush")
        for key, value in self.unsynced.items():
            if value is None:
                super().delete_state(key)
            else:
                super().put_state(key, value)
        self.unsynced.clear()


def reopen_unsynced(store: Store) -> Store:
    """Close ``store`` and return a new one over what it had flushed (the buffer is lost)."""
    assert isinstance(store, UnsyncedSimpleKeys)
    reopened = UnsyncedSimpleKeys()
    reopened._simple.update(store._simple)
    reopened._complex.update(store._complex)
    store.close()
    return reopened


BROKEN: dict[str, Callable[[], Store]] = {
    "merge-overwrites": MergeOverwrites,
    "concatenated-keys": ConcatenatedKeys,
    "delete-prefix-ignores-user-key": DeletePrefixIgnoresUserKey,
    "empty-value-is-missing": EmptyValueIsMissing,
    "live-scan": LiveScan,
    "end-inclusive-lists": EndInclusiveLists,
    "mutable-values": MutableValues,
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_check_store_catches_broken_store(name: str) -> None:
    with pytest.raises(StoreMismatch) as caught:
        check_store(BROKEN[name], max_examples=EXAMPLES)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "state = StoreMachine()" in notes, notes


def test_check_store_catches_writes_lost_on_reopen() -> None:
    with pytest.raises(StoreMismatch, match=r"get_state|list_states"):
        check_store(UnsyncedSimpleKeys, reopen=reopen_unsynced, max_examples=EXAMPLES)


def test_lost_writes_go_unnoticed_without_reopen() -> None:
    """The defect above only shows across a reopen: the same store passes without one."""
    check_store(UnsyncedSimpleKeys, max_examples=20)
