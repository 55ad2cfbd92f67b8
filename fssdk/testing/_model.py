"""NaiveStore: the Store contract written as plainly as Python allows, to check the reference.

MemoryStore is the reference every backend is compared with, so it is itself compared with this
model: two dicts, ``sorted()`` on every read, scans that copy the scope up front. Nothing here is
fast and nothing needs to be; every method is one or two lines that can be checked by reading.
"""

from __future__ import annotations

from collections.abc import Iterator as PyIterator

from fssdk._complex_key import ComplexKey
from fssdk._store import Pair, Store


class NaiveStore(Store):
    """A dict of simple keys and a dict of complex keys (which compare as plain tuples).

    >>> store = NaiveStore()
    >>> store.merge(ComplexKey(b"g", b"k", b"", b"u"), b"x")
    >>> store.get(ComplexKey(b"g", b"k", b"", b"u")), store.list_states(b"", b"")
    (b'x', [])
    """

    def __init__(self, name: str = "naive") -> None:
        super().__init__(name)
        self.simple: dict[bytes, bytes] = {}
        self.complex: dict[ComplexKey, bytes] = {}

    def _put_state(self, key: bytes, value: bytes) -> None:
        self.simple[key] = value

    def _get_state(self, key: bytes) -> bytes | None:
        return self.simple.get(key)

    def _delete_state(self, key: bytes) -> None:
        self.simple.pop(key, None)

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        return [
            key
            for key in sorted(self.simple)
            if start_inclusive <= key and (not end_exclusive or key < end_exclusive)
        ]

    def _put(self, key: ComplexKey, value: bytes) -> None:
        self.complex[key] = value

    def _get(self, key: ComplexKey) -> bytes | None:
        return self.complex.get(key)

    def _delete(self, key: ComplexKey) -> None:
        self.complex.pop(key, None)

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        self.complex[key] = self.complex.get(key, b"") + value

    def _delete_prefix(self, key: ComplexKey) -> None:
        for entry in list(self.complex):
            if entry[:3] == key.scope and entry[3].startswith(key.user_key):
                del self.complex[entry]

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        pairs = sorted(
            (entry[3], value)
            for entry, value in self.complex.items()
            if entry[:3] == low.scope and low.user_key <= entry[3] and (not end or entry[3] < end)
        )
        return iter(pairs[::-1] if reverse else pairs)
