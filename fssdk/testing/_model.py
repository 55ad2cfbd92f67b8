"""NaiveStore: the Store contract written as plainly as Python allows, to check the reference.

MemoryStore is the reference every backend is compared with, so it is itself compared with this
model: two dicts, ``sorted()`` on every read, scans that copy the scope up front. Nothing here is
fast and nothing needs to be; every method is one or two lines that can be checked by reading.
"""

from __future__ import annotations

from fssdk._complex_key import ComplexKey
from fssdk._store import Iterator, Store


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

    def put_state(self, key: bytes, value: bytes) -> None:
        self.simple[key] = value

    def get_state(self, key: bytes) -> bytes | None:
        return self.simple.get(key)

    def delete_state(self, key: bytes) -> None:
        self.simple.pop(key, None)

    def list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        return [
            key
            for key in sorted(self.simple)
            if start_inclusive <= key and (not end_exclusive or key < end_exclusive)
        ]

    def put(self, key: ComplexKey, value: bytes) -> None:
        self.complex[key] = value

    def get(self, key: ComplexKey) -> bytes | None:
        return self.complex.get(key)

    def delete(self, key: ComplexKey) -> None:
        self.complex.pop(key, None)

    def merge(self, key: ComplexKey, value: bytes) -> None:
        self.complex[key] = self.complex.get(key, b"") + value

    def delete_prefix(self, key: ComplexKey) -> None:
        for entry in list(self.complex):
            if entry[:3] == key.scope and entry[3].startswith(key.user_key):
                del self.complex[entry]

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
        pairs = sorted(
            (entry[3], value)
            for entry, value in self.complex.items()
            if entry[:3] == (key_group, key, namespace)
            and start <= entry[3]
            and (not end or entry[3] < end)
        )
        return Iterator(iter(pairs[::-1] if reverse else pairs))
