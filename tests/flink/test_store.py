"""FlinkStore without a Flink cluster: the conformance kit over a fake keyed MapState.

The fake plays Flink's keyed state backend: one map per stream key, the one of the current key
answering. The harness sets the current key to each complex-key operation's key before the
FlinkStore runs it, as Flink does for the record being processed, so the kit checks every Store
method of the real FlinkStore code, isolation between keys included. Simple keys are per-key
state on Flink; the harness gives them one fixed key, so the reference's global simple keys
apply.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from fssdk import ComplexKey, Iterator, Store, WrongKeyError
from fssdk.flink import CurrentKey, FlinkStore
from fssdk.testing import check_store
from fssdk_advanced import IntCodec, KeyedPriorityQueueStateFactory, PriorityQueueState

_SIMPLE_KEYS_OWNER = b"simple-keys"


class FakeKeyedMapState:
    """A ``MapState<bytes, bytes>`` per stream key, answering for the current key."""

    def __init__(self, current: CurrentKey) -> None:
        self._current = current
        self.partitions: dict[bytes, dict[bytes, bytes]] = {}

    def _map(self) -> dict[bytes, bytes]:
        assert self._current.value is not None, "keyed state used without a current key"
        return self.partitions.setdefault(self._current.value, {})

    def get(self, key: bytes) -> bytes | None:
        return self._map().get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self._map()[key] = value

    def remove(self, key: bytes) -> None:
        self._map().pop(key, None)

    def keys(self) -> Iterable[bytes]:
        return iter(list(self._map()))

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        return iter(list(self._map().items()))


class KeySwitchingStore(Store):
    """Runs each operation of a FlinkStore with the operation's stream key as the current key."""

    def __init__(self) -> None:
        super().__init__("flink")
        self.current = CurrentKey()
        self.state = FakeKeyedMapState(self.current)
        self.inner = FlinkStore("flink", self.state, self.current)

    def _at(self, key: bytes) -> FlinkStore:
        self.current.value = key
        return self.inner

    def close(self) -> None:
        super().close()
        self.inner.close()

    def _put_state(self, key: bytes, value: bytes) -> None:
        self._at(_SIMPLE_KEYS_OWNER).put_state(key, value)

    def _get_state(self, key: bytes) -> bytes | None:
        return self._at(_SIMPLE_KEYS_OWNER).get_state(key)

    def _delete_state(self, key: bytes) -> None:
        self._at(_SIMPLE_KEYS_OWNER).delete_state(key)

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        return self._at(_SIMPLE_KEYS_OWNER).list_states(start_inclusive, end_exclusive)

    def _put(self, key: ComplexKey, value: bytes) -> None:
        self._at(key.key).put(key, value)

    def _get(self, key: ComplexKey) -> bytes | None:
        return self._at(key.key).get(key)

    def _delete(self, key: ComplexKey) -> None:
        self._at(key.key).delete(key)

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        self._at(key.key).merge(key, value)

    def _delete_prefix(self, key: ComplexKey) -> None:
        self._at(key.key).delete_prefix(key)

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> Iterator:
        return self._at(low.key).scan_complex(
            *low.scope, start=low.user_key, end=end, reverse=reverse
        )


def test_flink_store_conforms_to_the_reference() -> None:
    check_store(KeySwitchingStore, max_examples=150)


def _store(current: bytes | None = b"alice") -> FlinkStore:
    key = CurrentKey(current)
    return FlinkStore("clicks", FakeKeyedMapState(key), key)


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.get(ComplexKey(b"g", b"bob", b"", b"n")),
        lambda s: s.put(ComplexKey(b"g", b"bob", b"", b"n"), b"1"),
        lambda s: s.merge(ComplexKey(b"g", b"bob", b"", b"n"), b"1"),
        lambda s: s.delete(ComplexKey(b"g", b"bob", b"", b"n")),
        lambda s: s.delete_prefix(ComplexKey(b"g", b"bob", b"", b"")),
        lambda s: s.scan_complex(b"g", b"bob", b""),
        lambda s: s.list_complex(b"g", b"bob", b"", b"", b""),
        lambda s: s.scope(b"g", b"bob", b"").put(b"n", b"1"),
        lambda s: s.scope(b"g", b"bob", b"").get(b"n"),
    ],
)
def test_another_keys_state_raises_naming_both_keys(operation: object) -> None:
    store = _store()
    with pytest.raises(WrongKeyError, match=r"key b'bob' while processing key b'alice'"):
        operation(store)  # type: ignore[operator]


def test_a_scope_kept_across_records_checks_the_key_at_each_access() -> None:
    current = CurrentKey(b"alice")
    store = FlinkStore("clicks", FakeKeyedMapState(current), current)
    scope = store.scope(b"g", b"alice", b"")
    scope.put(b"n", b"1")
    current.value = b"bob"
    with pytest.raises(WrongKeyError, match="b'alice' while processing key b'bob'"):
        scope.put(b"n", b"2")


def test_outside_a_record_reads_see_nothing_and_writes_raise() -> None:
    current = CurrentKey(b"alice")
    store = FlinkStore("clicks", FakeKeyedMapState(current), current)
    store.put_state(b"a", b"1")
    current.value = None
    assert store.get_state(b"a") is None
    assert store.list_states(b"", b"") == []
    with pytest.raises(WrongKeyError, match="outside process"):
        store.put_state(b"a", b"1")
    with pytest.raises(WrongKeyError, match="outside process"):
        store.delete_state(b"a")
    with pytest.raises(WrongKeyError, match="outside process"):
        store.get(ComplexKey(b"g", b"alice", b"", b"n"))


def test_simple_keys_are_per_key_state() -> None:
    current = CurrentKey(b"alice")
    store = FlinkStore("words", FakeKeyedMapState(current), current)
    store.put_state(b"count", b"1")
    current.value = b"bob"
    assert store.get_state(b"count") is None
    store.put_state(b"count", b"7")
    assert store.list_states(b"", b"") == [b"count"]
    current.value = b"alice"
    assert store.get_state(b"count") == b"1"


def test_a_priority_queue_numbers_each_keys_elements_from_the_keys_own_counter() -> None:
    """Equal elements added after a restore (a new instance over the same keyed state, whose
    ``init`` read no counter) keep every element: the counter is read from the key's partition."""
    current = CurrentKey()
    state = FakeKeyedMapState(current)

    def queue(key: bytes) -> PriorityQueueState[int]:
        factory = KeyedPriorityQueueStateFactory(FlinkStore("q", state, current), b"p", IntCodec())
        current.value = key
        return factory.new_keyed_priority_queue(key, b"")

    first = queue(b"alice")
    for page in (3, 1, 3):
        first.add(page)
    queue(b"bob").add(3)
    current.value = None
    restored = queue(b"alice")
    restored.add(3)
    restored.add(3)
    assert list(restored.all()) == [1, 3, 3, 3, 3]
    assert list(queue(b"bob").all()) == [3]
