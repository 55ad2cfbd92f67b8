"""The conformance kit has teeth: ``check_store`` catches each of these deliberately broken stores.

Each store below is MemoryStore with one realistic defect. A test passes when ``check_store``
raises :class:`StoreMismatch` (the kit saw a different result) carrying hypothesis' shrunk
counter-example.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator as PyIterator
from typing import Any

import pytest
from sortedcontainers import SortedDict

from fssdk import ComplexKey, Store, StoreScopes
from fssdk._store import Pair
from fssdk.stores import MemoryStore
from fssdk.testing import StoreMismatch, check_store

#: Examples per run: far more than needed. Measured over seeds 0-149, each defect below was found
#: after a median of 4 to 10 examples and at most 117; a run stops at the first failure and shrinks.
EXAMPLES = 300


class MergeOverwrites(MemoryStore):
    """``merge`` replaces the value instead of appending to it."""

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        self._put(key, value)


class ConcatenatedKeys(MemoryStore):
    """Complex keys stored under ``key_group + key + namespace + user_key``, unescaped.

    The reference system's key format: ``(b"ab", b"c")`` and ``(b"a", b"bc")`` share entries, and
    the scan of primary key ``b"user1"`` sees the entries of ``b"user12"``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._flat: SortedDict[bytes, bytes] = SortedDict()

    def _put(self, key: ComplexKey, value: bytes) -> None:
        self._flat[b"".join(key)] = value

    def _get(self, key: ComplexKey) -> bytes | None:
        return self._flat.get(b"".join(key))

    def _delete(self, key: ComplexKey) -> None:
        self._flat.pop(b"".join(key), None)

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        self._flat[b"".join(key)] = self._flat.get(b"".join(key), b"") + value

    def _delete_prefix(self, key: ComplexKey) -> None:
        prefix = b"".join(key)
        for physical in [k for k in self._flat if k.startswith(prefix)]:
            del self._flat[physical]

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        prefix = b"".join(low.scope)
        pairs = [
            (physical[len(prefix) :], value)
            for physical, value in self._flat.items()
            if physical.startswith(prefix)
            and low.user_key <= physical[len(prefix) :]
            and (not end or physical[len(prefix) :] < end)
        ]
        return iter(pairs[::-1] if reverse else pairs)


class DeletePrefixIgnoresUserKey(MemoryStore):
    """``delete_prefix`` empties the whole scope whatever user_key prefix it is given."""

    def _delete_prefix(self, key: ComplexKey) -> None:
        super()._delete_prefix(ComplexKey(*key.scope, b""))


class EmptyValueIsMissing(MemoryStore):
    """``get`` reports a present empty value as missing (``None``)."""

    def _get(self, key: ComplexKey) -> bytes | None:
        return super()._get(key) or None


class LiveScan(MemoryStore):
    """Scans are not snapshots: they list the keys up front but read each value when reached."""

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        user_keys = [user_key for user_key, _ in super()._scan_complex(low, end, reverse)]
        pairs = ((user_key, self._get(ComplexKey(*low.scope, user_key))) for user_key in user_keys)
        return ((user_key, value) for user_key, value in pairs if value is not None)


class EndInclusiveLists(MemoryStore):
    """``list_complex`` includes its ``end_exclusive`` bound."""

    def _list_complex(self, low: ComplexKey, end: bytes) -> list[bytes]:
        return super()._list_complex(low, end + b"\x00" if end else b"")


class MutableValues(MemoryStore):
    """``get`` hands out the stored ``bytearray`` of a merged value instead of ``bytes``."""

    def _get(self, key: ComplexKey) -> bytes | None:
        physical = (key.key_group, key.key, key.namespace, key.user_key)
        return self._complex.get(physical)  # type: ignore[return-value]


class UnsyncedSimpleKeys(MemoryStore):
    """Simple-key writes wait in a buffer until ``flush()``, and a reopen loses the buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.unsynced: dict[bytes, bytes | None] = {}

    def _put_state(self, key: bytes, value: bytes) -> None:
        self.unsynced[key] = value

    def _delete_state(self, key: bytes) -> None:
        self.unsynced[key] = None

    def _get_state(self, key: bytes) -> bytes | None:
        if key in self.unsynced:
            return self.unsynced[key]
        return super()._get_state(key)

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        self.flush()
        return super()._list_states(start_inclusive, end_exclusive)

    def flush(self) -> None:
        self._check_open("flush")
        for key, value in self.unsynced.items():
            if value is None:
                super()._delete_state(key)
            else:
                super()._put_state(key, value)
        self.unsynced.clear()


class _KeepingScopes(StoreScopes):
    def compute(
        self,
        key: bytes,
        namespace: bytes,
        user_key: bytes,
        change: Callable[[bytes | None, Any], bytes | None],
        arg: Any,
    ) -> None:
        value = change(self.get(key, namespace, user_key), arg)
        self.put(key, namespace, user_key, b"" if value is None else value)


class ComputeNeverDeletes(MemoryStore):
    """``scopes().compute`` stores an empty value where its change returned ``None``."""

    def _scopes(self, key_group: bytes) -> StoreScopes:
        return _KeepingScopes(self, key_group)


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
    "compute-never-deletes": ComputeNeverDeletes,
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
