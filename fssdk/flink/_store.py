"""FlinkStore: an fssdk Store over one Flink ``MapState<bytes, bytes>`` of the current key.

Flink keyed state is partitioned by the stream key: while a record (or a timer) of key ``K`` is
processed, a state handle reads and writes ``K``'s partition only. A FlinkStore is one map per
store name; its map keys are the key format's physical keys without the stream key
(:meth:`fssdk._keyformat.Layout.partitioned_scope_prefix`), because the partition already is the
key.

- Complex keys: ``ComplexKey(kg, key, ns, uk)`` is reachable only when ``key`` is the current key;
  any other key raises :class:`fssdk.WrongKeyError` naming both keys.
- Simple keys (``put_state``) are per-key state: they live in the current key's partition, so
  two stream keys never see each other's simple keys and ``list_states`` lists the current
  key's only. Outside a record (``init``, ``close``) there is no partition: simple-key reads
  see nothing (``None``, ``[]``) and every write raises, so that nothing is written and lost.

- State descriptors: ``fssdk_advanced`` records each declared state's identity under
  ``ComplexKey(IDENTITY_KEY_GROUP, key_group, b"", b"")`` when ``init`` declares it,
  where no stream key is current. They describe the store, not a key, so a FlinkStore keeps them
  in the memory of its parallel instance: every instance runs the same ``init`` and records the
  same ones. Conflicting declarations within a job are caught; a job restored from a savepoint
  is not checked against the declarations of the job that wrote it (Flink keeps no non-keyed
  state for a keyed Python function).
- The expiry index of a TTL'd state: ``fssdk_advanced`` keeps it in scope
  ``(TTL_INDEX_KEY_GROUP, state_key_group, b"")``, whose scope key is the state's key
  group, not a stream key. On Flink the index goes into the current key's partition (the scope
  key written as it is), so each key's partition holds the index of its own entries and the
  index is checkpointed and rescaled with them; see docs/flink.md.

Costs (``n`` = entries of the current key in this store, all scopes together): ``get``, ``put``
and ``delete`` are one map access; ``merge`` is a read and a write of the whole value (MapState
has no merge operator); ``delete_prefix``, ``list_states``, ``list_complex`` and
``scan_complex`` read every key of the partition (MapState is unordered) and sort the matches,
``O(n + m log m)`` for ``m`` matches, holding the matching entries in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator as PyIterator
from typing import ClassVar, Protocol

from fssdk._complex_key import ComplexKey
from fssdk._errors import WrongKeyError
from fssdk._keyformat import BASE_SUFFIX, LAYOUT, SIMPLE_TAG
from fssdk._store import Pair, Store
from fssdk.reserved import IDENTITY_KEY_GROUP, TTL_INDEX_KEY_GROUP

_BASE_TAIL = len(BASE_SUFFIX)


def partition_prefix(key_group: bytes, key: bytes, namespace: bytes) -> bytes:
    """The map-key prefix of scope ``(key_group, key, namespace)`` in the partition that holds it.

    A scope of key ``K`` lives in ``K``'s partition without ``K``
    (``LAYOUT.partitioned_scope_prefix``); a TTL index scope, whose scope key is a state's key
    group, keeps its scope key and lives in the partition of the key whose entry it indexes.
    ``fssdk state export-flink`` places local entries with the same rule.
    """
    if key_group == TTL_INDEX_KEY_GROUP:
        return LAYOUT.scope_prefix(key_group, key, namespace)
    return LAYOUT.partitioned_scope_prefix(key_group, namespace)


class MapStateLike(Protocol):
    """The part of PyFlink's ``MapState`` a FlinkStore uses (a fake one serves in tests)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...

    def remove(self, key: bytes) -> None: ...

    def keys(self) -> Iterable[bytes]: ...

    def items(self) -> Iterable[tuple[bytes, bytes]]: ...


class CurrentKey:
    """The stream key whose record or timer is being processed, shared by a function's stores.

    ``value`` is ``None`` outside ``process`` and ``process_watermark`` (in ``init`` and
    ``close``), where Flink has no current key and keyed state cannot be reached.
    """

    __slots__ = ("value",)

    def __init__(self, value: bytes | None = None) -> None:
        self.value = value


class FlinkStore(Store):
    """A Store over the current key's partition of one Flink ``MapState<bytes, bytes>``.

    >>> class FakeMapState(dict):
    ...     def put(self, key, value): self[key] = value
    ...     def remove(self, key): self.pop(key, None)
    >>> current = CurrentKey(b"alice")
    >>> store = FlinkStore("clicks", FakeMapState(), current)
    >>> store.put(ComplexKey(b"per-user", b"alice", b"", b"n"), b"1")
    >>> store.get(ComplexKey(b"per-user", b"alice", b"", b"n"))
    b'1'
    >>> store.get(ComplexKey(b"per-user", b"bob", b"", b"n"))
    Traceback (most recent call last):
    ...
    fssdk._errors.WrongKeyError: [STATE_WRONG_KEY] store 'clicks': get of key b'bob' while \
processing key b'alice'; on Flink an operator reaches only the state of the current record's key
    """

    partitioned_by_key: ClassVar[bool] = True

    def __init__(self, name: str, state: MapStateLike, current: CurrentKey) -> None:
        super().__init__(name)
        self._state = state
        self._current = current
        self._descriptors: dict[ComplexKey, bytes] = {}

    # -- keys -----------------------------------------------------------------------------

    def _key_of_now(self, operation: str) -> bytes:
        current = self._current.value
        if current is None:
            raise WrongKeyError(
                f"store {self.name!r}: {operation} outside process/process_watermark; on Flink "
                "keyed state is reachable only while a record or timer of a key is processed"
            )
        return current

    def _check_key(self, key: bytes, operation: str) -> None:
        if key != self._current.value:
            current = self._key_of_now(operation)
            raise WrongKeyError(
                f"store {self.name!r}: {operation} of key {key!r} while processing key "
                f"{current!r}; on Flink an operator reaches only the state of the current "
                "record's key"
            )

    def _prefix(self, key_group: bytes, key: bytes, namespace: bytes, operation: str) -> bytes:
        """The physical prefix of a scope in the current key's partition, once the key is
        checked: the current key's own scopes, or a TTL index scope (any scope key)."""
        if key_group == TTL_INDEX_KEY_GROUP:
            self._key_of_now(operation)
        else:
            self._check_key(key, operation)
        return partition_prefix(key_group, key, namespace)

    def _physical(self, key: ComplexKey, operation: str) -> bytes:
        prefix = self._prefix(key.key_group, key.key, key.namespace, operation)
        return LAYOUT.base_key(prefix, key.user_key)

    def _matching(self, low: bytes) -> list[bytes]:
        keys = self._state.keys()
        return [physical for physical in keys if physical.startswith(low)]

    # -- simple keys (per-key state) --------------------------------------------------------

    def _put_state(self, key: bytes, value: bytes) -> None:
        self._key_of_now("put_state")
        self._state.put(LAYOUT.simple_key(key), value)

    def _get_state(self, key: bytes) -> bytes | None:
        if self._current.value is None:
            return None
        return self._state.get(LAYOUT.simple_key(key))

    def _delete_state(self, key: bytes) -> None:
        self._key_of_now("delete_state")
        self._state.remove(LAYOUT.simple_key(key))

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        if self._current.value is None:
            return []
        skip = len(SIMPLE_TAG)
        keys = [physical[skip:] for physical in self._matching(SIMPLE_TAG)]
        return sorted(
            key
            for key in keys
            if key >= start_inclusive and (not end_exclusive or key < end_exclusive)
        )

    # -- complex keys -----------------------------------------------------------------------

    def _put(self, key: ComplexKey, value: bytes) -> None:
        if key.key_group == IDENTITY_KEY_GROUP:
            self._descriptors[key] = value
            return
        self._state.put(self._physical(key, "put"), value)

    def _get(self, key: ComplexKey) -> bytes | None:
        if key.key_group == IDENTITY_KEY_GROUP:
            return self._descriptors.get(key)
        return self._state.get(self._physical(key, "get"))

    def _delete(self, key: ComplexKey) -> None:
        if key.key_group == IDENTITY_KEY_GROUP:
            self._descriptors.pop(key, None)
            return
        self._state.remove(self._physical(key, "delete"))

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        """Append ``value``: one read and one write of the whole value (no merge operator)."""
        physical = self._physical(key, "merge")
        old = self._state.get(physical)
        self._state.put(physical, value if old is None else old + value)

    def _delete_prefix(self, key: ComplexKey) -> None:
        """Remove the matching entries: reads every key of the partition (MapState is unordered)."""
        prefix = self._prefix(key.key_group, key.key, key.namespace, "delete_prefix")
        low = prefix + LAYOUT.escape(key.user_key)
        for physical in self._matching(low):
            self._state.remove(physical)

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        """The scope's entries, sorted: reads the whole partition and holds the scope's matches.

        MapState has no order, so this cannot stream in constant memory as RocksDBStore does;
        the iterator is a snapshot taken when it is created.
        """
        key_group, key, namespace, start = low
        prefix = self._prefix(key_group, key, namespace, "scan_complex")
        width = len(prefix)
        pairs: list[Pair] = []
        for physical, value in self._state.items():
            if physical.startswith(prefix):
                user_key = LAYOUT.unescape(physical[width:-_BASE_TAIL])
                if user_key >= start and (not end or user_key < end):
                    pairs.append((user_key, value))
        pairs.sort(reverse=reverse)
        return iter(pairs)
