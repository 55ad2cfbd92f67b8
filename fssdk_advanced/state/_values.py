"""The one place where a state's values become bytes and back.

Every state type holds a :class:`ScopedCodec` per codec role and calls ``encode`` on write and
``get``/``decode`` on read, never the codec directly. A decode failure becomes a
``CorruptStateError`` naming store, scope and key, here and only here. Options that change how a
stored value is read hook in as subclasses, so the state types stay as they are:
:class:`MigratingCodec` (``migrate=``) reads values the codec no longer reads; ``TtlCodec``
(``ttl=``, in ``_ttl``) stamps on ``encode`` and checks the stamp on every read.

Cost: ``encode`` is the codec's bound method itself; ``decode`` adds one call around the codec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, Final, Generic, TypeVar

from fssdk import CorruptStateError, StoreScope, StoreScopes
from fssdk import Iterator as StoreIterator
from fssdk_advanced.codecs import Codec

T = TypeVar("T")
K = TypeVar("K")


def corrupt(scope: StoreScope, user_key: bytes, what: str, exc: Exception) -> CorruptStateError:
    """The error for stored bytes that fail to decode: names store, scope, key and the cause.

    Callers raise it ``from exc``.
    """
    return CorruptStateError(f"{scope.describe(user_key)}: {what}: {exc}")


class ScopedCodec(Generic[T]):
    """``codec`` bound to what its values are (``what``, for errors): encode, decode, get.

    >>> from fssdk.stores import MemoryStore
    >>> from fssdk_advanced.codecs import IntCodec
    >>> scopes = MemoryStore("demo").scopes(b"g")
    >>> values = ScopedCodec(IntCodec(), "value")
    >>> scopes.put(b"k", b"", b"", values.encode(7)); values.read(scopes, b"k", b"", b"")
    (7, True)
    >>> scopes.put(b"k", b"", b"", b"?"); values.read(scopes, b"k", b"", b"")
    Traceback (most recent call last):
    ...
    fssdk._errors.CorruptStateError: [STATE_CORRUPT] store 'demo' ... value does not decode: ...
    """

    __slots__ = ("_decode", "codec", "encode", "what")

    def __init__(self, codec: Codec[T], what: str) -> None:
        self.codec: Final = codec
        self.what: Final = what
        self.encode: Final[Callable[[T], bytes]] = codec.encode
        self._decode = codec.decode

    def decode(self, scope: StoreScope, user_key: bytes, data: bytes) -> T:
        """The value stored as ``data`` at ``user_key`` of ``scope``.

        Raises ``CorruptStateError`` (naming store, scope and key) when it does not decode.
        """
        try:
            return self._decode(data)
        except ValueError as exc:
            return self._undecodable(scope, user_key, data, exc)

    def read(
        self, scopes: StoreScopes, key: bytes, namespace: bytes, user_key: bytes
    ) -> tuple[T | None, bool]:
        """:meth:`get` at ``user_key`` of scope ``(key, namespace)`` of ``scopes``, without a
        scope object: the per-record read of every state type. One get."""
        data = scopes.get(key, namespace, user_key)
        if data is None:
            return None, False
        try:
            return self._decode(data), True
        except ValueError as exc:
            return self._undecodable(scopes(key, namespace), user_key, data, exc), True

    #: The value to build on when writing (a fold's accumulator): the same as :meth:`read`
    #: here; with TTL, an expired value reads as missing whatever the visibility, as Flink's
    #: TTL'd aggregating and reducing states never fold into an expired accumulator.
    read_live = read

    def items(
        self,
        scopes: StoreScopes,
        key: bytes,
        namespace: bytes,
        keys: ScopedCodec[K],
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> Iterator[tuple[K, T]]:
        """The ``(key, value)`` of the entries of scope ``(key, namespace)`` in ``[start, end)``,
        keys decoded by ``keys`` (a plain helper) and values by this one, streamed by the
        store's :meth:`~fssdk.StoreScopes.items`: per entry the two decodes and one step."""
        return scopes.items(
            key,
            namespace,
            keys._decode,
            self._decode,
            partial(self._undecodable_pair, scopes=scopes, key=key, namespace=namespace, keys=keys),
            start=start,
            end=end,
            reverse=reverse,
        )

    def _undecodable_pair(
        self,
        user_key: bytes,
        data: bytes,
        *,
        scopes: StoreScopes,
        key: bytes,
        namespace: bytes,
        keys: ScopedCodec[K],
    ) -> tuple[K, T]:
        """The ``(key, value)`` of an entry of scope ``(key, namespace)`` that a typed scan
        (:meth:`items`) could not decode: each decoded again by its helper, which raises
        ``CorruptStateError`` naming the entry (or reads it another way). Called only then."""
        scope = scopes(key, namespace)
        return keys.decode(scope, user_key, user_key), self.decode(scope, user_key, data)

    def contains(self, scope: StoreScope, user_key: bytes) -> bool:
        """True when ``user_key`` holds a value. One get, no decode."""
        return scope.get(user_key) is not None

    def is_empty(self, scope: StoreScope) -> bool:
        """True when ``scope`` holds no value. One seek."""
        return scope.first() is None

    def decode_all(
        self, scope: StoreScope, user_key: bytes, parts: Sequence[bytes]
    ) -> tuple[list[T], list[bytes] | None]:
        """The values of ``parts`` (one entry's elements), and the encodings to store back in
        their place (``None``: keep the entry as it is).

        Nothing is written back here: the caller owns the entry's layout.
        """
        decode = self._decode
        try:
            return [decode(part) for part in parts], None
        except ValueError:
            pass
        out: list[T] = []
        for index, part in enumerate(parts):
            try:
                out.append(decode(part))
            except ValueError as exc:
                out.append(self._read_old(scope, user_key, part, exc, f"{self.what} #{index}"))
        return out, [self.encode(value) for value in out]

    def reencode(self, scope: StoreScope, user_key: bytes, data: bytes) -> bytes:
        """``data`` (one stored value) in the declared encoding: decoded (an old value through
        ``migrate=``) and encoded again. Nothing is written: the caller owns the entry."""
        try:
            value = self._decode(data)
        except ValueError as exc:
            value = self._read_old(scope, user_key, data, exc, self.what)
        return self.encode(value)

    def keys_of(self, scope: StoreScope, scan: StoreIterator, keys: ScopedCodec[K]) -> Iterator[K]:
        """The user keys of ``scan`` holding values of this helper, decoded by ``keys``."""
        return keys.decode_keys(scope, scan)

    def decode_keys(self, scope: StoreScope, scan: StoreIterator) -> Iterator[T]:
        """The user keys of ``scan`` decoded by this helper (values are not read); closes it."""
        decode = self._decode
        with scan:
            for user_key, _ in scan:
                try:
                    key = decode(user_key)
                except ValueError:
                    key = self.decode(scope, user_key, user_key)
                yield key

    def _undecodable(self, scope: StoreScope, user_key: bytes, data: bytes, exc: ValueError) -> T:
        """What a value that does not decode reads as (and is rewritten to); here: an error."""
        raise corrupt(scope, user_key, f"{self.what} does not decode", exc) from exc

    def _read_old(
        self, scope: StoreScope, user_key: bytes, data: bytes, exc: ValueError, what: str
    ) -> T:
        raise corrupt(scope, user_key, f"{what} does not decode", exc) from exc


class MigratingCodec(ScopedCodec[T]):
    """A :class:`ScopedCodec` that reads values written under an older, incompatible codec.

    A stored value the codec does not decode is read with ``old_decode`` (untyped: a dataclass
    comes as a dict of its fields), passed to ``migrate`` and written back in the new encoding,
    so each old value is migrated once. A value the new codec decodes is taken as it reads.
    Bytes neither decodes raise ``CorruptStateError`` naming both failures.
    """

    __slots__ = ("_migrate", "_old_decode")

    def __init__(
        self,
        codec: Codec[T],
        what: str,
        migrate: Callable[[Any], T],
        old_decode: Callable[[bytes], Any],
    ) -> None:
        super().__init__(codec, what)
        self._migrate = migrate
        self._old_decode = old_decode

    def _undecodable(self, scope: StoreScope, user_key: bytes, data: bytes, exc: ValueError) -> T:
        value = self._read_old(scope, user_key, data, exc, self.what)
        scope.put(user_key, self.encode(value))
        return value

    def _read_old(
        self, scope: StoreScope, user_key: bytes, data: bytes, exc: ValueError, what: str
    ) -> T:
        try:
            old = self._old_decode(data)
        except ValueError as old_exc:
            raise corrupt(
                scope, user_key, f"{what} decodes neither now ({exc}) nor as before", old_exc
            ) from old_exc
        return self._migrate(old)

    def from_old(self, scope: StoreScope, user_key: bytes, data: bytes, what: str) -> T:
        """The value of ``data``, known to be written under the old codec: read as before, then
        migrated. ``CorruptStateError`` when it does not decode that way."""
        try:
            old = self._old_decode(data)
        except ValueError as exc:
            raise corrupt(scope, user_key, f"{what} does not decode as before", exc) from exc
        return self._migrate(old)


def scoped_codec(
    codec: Codec[T],
    what: str,
    migrate: Callable[[Any], T] | None = None,
    old_decode: Callable[[bytes], Any] | None = None,
) -> ScopedCodec[T]:
    """The helper for ``codec``: a :class:`MigratingCodec` when ``migrate`` is given."""
    if migrate is None:
        return ScopedCodec(codec, what)
    return MigratingCodec(codec, what, migrate, old_decode if old_decode is not None else bytes)
