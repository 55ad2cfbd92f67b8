"""ComplexKey: the four-part address of an entry in a Store."""

from __future__ import annotations

from typing import NamedTuple


class _Fields(NamedTuple):
    key_group: bytes
    key: bytes
    namespace: bytes
    user_key: bytes


class ComplexKey(_Fields):
    """An immutable, hashable address: ``(key_group, key, namespace, user_key)``, all ``bytes``.

    key_group names the logical state, key is the stream (primary) key, namespace the window id
    (``b""`` without windows) and user_key the entry inside that scope. The first three form the
    *scope*; scopes are isolated whatever bytes they hold.

    >>> ck = ComplexKey(b"counts", b"user1", b"", b"total")
    >>> ck.scope
    (b'counts', b'user1', b'')
    >>> ComplexKey(b"g", "k", b"", b"")
    Traceback (most recent call last):
    ...
    TypeError: ComplexKey.key must be bytes, not str
    """

    __slots__ = ()

    def __new__(cls, key_group: bytes, key: bytes, namespace: bytes, user_key: bytes) -> ComplexKey:
        for name, value in (
            ("key_group", key_group),
            ("key", key),
            ("namespace", namespace),
            ("user_key", user_key),
        ):
            if type(value) is not bytes:
                raise TypeError(f"ComplexKey.{name} must be bytes, not {type(value).__name__}")
        return super().__new__(cls, key_group, key, namespace, user_key)

    @property
    def scope(self) -> tuple[bytes, bytes, bytes]:
        """``(key_group, key, namespace)``: everything but the user key."""
        return (self.key_group, self.key, self.namespace)
