"""The Store contract: a byte key-value store with simple keys and scoped complex keys.

A backend implements the abstract ``_``-named primitives of :class:`Store`; the public methods
check their arguments and the store's state once, here, then call them. Everything else here
(:class:`Iterator`, scan tracking, the generic :class:`StoreScope`) is written once over them
too. The conformance kit (:mod:`fssdk.testing`) checks a backend against the reference
MemoryStore.
"""

from __future__ import annotations

import abc
import itertools
import weakref
from collections.abc import Callable, Generator
from collections.abc import Iterator as PyIterator
from types import TracebackType
from typing import ClassVar, Final, Protocol, TypeVar

from fssdk._complex_key import ComplexKey
from fssdk._errors import ClosedError, ErrorCode, SDKError

Pair = tuple[bytes, bytes]
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
A = TypeVar("A")

_NO_KEY: Final = object()


def check_bytes(value: object, argument: str, operation: str) -> None:
    """Raise ``TypeError`` naming ``argument`` of ``operation`` unless ``value`` is ``bytes``."""
    if type(value) is not bytes:
        raise TypeError(f"{operation}: {argument} must be bytes, not {type(value).__name__}")


def check_complex_key(value: object, operation: str) -> None:
    """Raise ``TypeError`` unless ``value`` is a :class:`ComplexKey`."""
    if not isinstance(value, ComplexKey):
        raise TypeError(f"{operation}: key must be a ComplexKey, not {type(value).__name__}")


#: ``_checked_key(ComplexKey, (key_group, key, namespace, user_key))``: a ComplexKey of parts
#: already checked, built without checking them again (one C call).
_checked_key: Final[Callable[..., ComplexKey]] = tuple.__new__


class _Scan(Protocol):
    """What a store's ``close`` ends: an open scan."""

    def _invalidate(self, error: SDKError) -> None: ...


S = TypeVar("S", bound=_Scan)


class Iterator:
    """A forward iterator over ``(user_key, value)`` pairs, as returned by ``scan_complex``.

    Go-style (``has_next``/``next``/``close``) and Pythonic at once: it is a Python iterator and a
    context manager. Closing it early releases the engine's resources; a closed iterator is
    exhausted. Closing the store ends its open scans and releases what they hold:
    ``has_next``/``next`` and a ``for`` loop over the iterator then raise ``ClosedError``.

    >>> it = Iterator(iter([(b"a", b"1"), (b"b", b"2")]))
    >>> it.has_next(), it.next()
    (True, (b'a', b'1'))
    >>> [pair for pair in it]
    [(b'b', b'2')]
    >>> it.has_next()
    False
    """

    __slots__ = ("__weakref__", "_ahead", "_error", "_pairs")

    _EMPTY: Final = object()

    def __init__(self, pairs: PyIterator[Pair]) -> None:
        self._pairs: PyIterator[Pair] | None = pairs
        self._ahead: object = Iterator._EMPTY
        self._error: SDKError | None = None

    def has_next(self) -> bool:
        """True when ``next()`` would return a pair. Costs at most one step of the scan."""
        if self._ahead is not Iterator._EMPTY:
            return True
        if self._pairs is None:
            if self._error is not None:
                raise self._error
            return False
        try:
            self._ahead = next(self._pairs)
        except StopIteration:
            self.close()
            return False
        return True

    def next(self) -> Pair:
        """The next ``(user_key, value)``; raises ``StopIteration`` when the scan is done."""
        ahead = self._ahead
        if ahead is not Iterator._EMPTY:
            self._ahead = Iterator._EMPTY
            return ahead  # type: ignore[return-value]
        if self._pairs is None:
            if self._error is not None:
                raise self._error
            raise StopIteration
        try:
            return next(self._pairs)
        except StopIteration:
            self.close()
            raise

    __next__ = next

    def __iter__(self) -> PyIterator[Pair]:
        # A for-loop gets a generator delegating to the stream when nothing was peeked with
        # has_next(): no Python-level call per pair, and still ClosedError once the store closes.
        if self._ahead is Iterator._EMPTY and self._pairs is not None:
            return self._stream(self._pairs)
        return self

    def _stream(self, pairs: PyIterator[Pair]) -> PyIterator[Pair]:
        # Not ``yield from``: a loop left early drops this generator, and that must not close
        # the scan, which the iterator may go on reading.
        for pair in pairs:  # noqa: UP028 - see above
            yield pair
        if self._error is not None:
            raise self._error
        if self._pairs is pairs:
            self.close()

    def close(self) -> None:
        """Release the scan; idempotent."""
        pairs, self._pairs = self._pairs, None
        self._ahead = Iterator._EMPTY
        close = getattr(pairs, "close", None)
        if close is not None:
            close()

    def _invalidate(self, error: SDKError) -> None:
        """End the scan because its store closed; later calls raise ``error``."""
        self.close()
        self._error = error

    def __enter__(self) -> Iterator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Store(abc.ABC):
    """A named byte key-value store: the contract every backend and engine adapter keeps.

    Two key spaces that never see each other: *simple* keys (``put_state`` ...) and *complex*
    keys (``put(ComplexKey, ...)`` ...). A missing entry reads as ``None``; ``b""`` is a present,
    empty value. Complex keys are grouped in scopes ``(key_group, key, namespace)`` that are
    isolated exactly, whatever bytes they hold, and ordered by user_key inside a scope.

    Every method raises ``TypeError`` for an argument of the wrong type and
    ``ClosedError`` (code ``RUNTIME_CLOSED``) once the store is closed. A backend implements the
    ``_``-named primitives (``_put_state`` ... ``_scan_complex``), which see checked arguments and
    an open store; it may override ``_list_complex``, ``_scan_keys``, ``_scan_scopes``
    and ``_scopes`` (its faster :class:`StoreScopes`, the per-record path of keyed state).
    """

    #: True for an engine's keyed store (FlinkStore) that holds only the entries of the
    #: current stream key: a scan sees one key's partition at a time, never the whole store.
    partitioned_by_key: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        self.name: Final = name
        self._closed = False
        self._scans: weakref.WeakSet[_Scan] = weakref.WeakSet()
        self._streams: weakref.WeakSet[Generator[object, None, None]] = weakref.WeakSet()
        self._forgetters: list[Callable[[], None]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the store (or the backend holding it) has been closed."""
        return self._closed

    def close(self) -> None:
        """Make the store unusable and end its open scans; later calls raise ``ClosedError``.

        Idempotent. A backend flushes its stores before closing them.
        """
        if self._closed:
            return
        self._closed = True
        error = ClosedError(f"store {self.name!r}: scan used after the store was closed")
        for scan in list(self._scans):
            scan._invalidate(error)
        self._scans.clear()
        for stream in list(self._streams):
            stream.close()
        self._streams.clear()

    # -- writes held by a caller until a flush ----------------------------------------------

    def on_flush(self, write_pending: Callable[[], None]) -> bool:
        """Have the store call ``write_pending()`` once, before its next flush, so that a caller
        may hold writes in memory and make them only then (the TTL index does, with its
        entries).

        A store that buffers its writes (RocksDB) calls it before the next write of its buffer:
        ``flush``, ``close``, a backend's flush and checkpoint, an automatic flush. It is never
        called under a savepoint (the flush waits for the release), and what it writes to this
        store goes into the same atomic batch as the writes before it, so a restored store
        never holds a write without those its caller held back for it. Returns ``True`` then.
        The store then forgets the callback (and its object): a caller that holds writes again
        registers again, once per flush, so that nothing registered outlives its use. A
        callback registered while the store's callbacks run waits for the next flush.

        Returns ``False`` (and never calls it) for a store without a flush, whose writes are
        final as they are made (MemoryStore, an engine's keyed store): the caller writes as it
        goes. ``TypeError`` if ``write_pending`` is not callable.
        """
        if not callable(write_pending):
            shown = type(write_pending).__name__
            raise TypeError(f"store {self.name!r}: on_flush needs a callable, not {shown}")
        self._check_open("on_flush")
        return self._on_flush(write_pending)

    def _on_flush(self, write_pending: Callable[[], None]) -> bool:
        """Register ``write_pending`` (checked) if this store flushes; a store without a flush
        keeps this default."""
        return False

    def on_rollback(self, forget: Callable[[], None]) -> None:
        """Have the store call ``forget()`` after each rollback of its writes
        (``Backend.rollback``), so that what a caller remembers of the store's contents (a
        queue's cursors) drops what the rollback undid. Registered for the store object's life:
        once per cache, not per record. ``TypeError`` if ``forget`` is not callable."""
        if not callable(forget):
            shown = type(forget).__name__
            raise TypeError(f"store {self.name!r}: on_rollback needs a callable, not {shown}")
        self._check_open("on_rollback")
        self._forgetters.append(forget)

    def _rolled_back(self) -> None:
        """Call the :meth:`on_rollback` callbacks: a rollback undid writes of this store."""
        for forget in self._forgetters:
            forget()

    @property
    def in_savepoint(self) -> bool:
        """True while a savepoint is held (``fssdk run --on-error skip`` holds one per
        record): the writes made now may still be rolled back, so a caller holding writes for
        :meth:`on_flush` must not make them now."""
        return False

    def _track(self, scan: S) -> S:
        """Register ``scan`` (an :class:`Iterator`, or a backend's own cursor with
        ``_invalidate``) so that ``close`` ends it and releases what it holds."""
        self._scans.add(scan)
        return scan

    def _guard(self, items: Generator[T, None, None], operation: str) -> PyIterator[T]:
        """``items`` as a generator that raises ``ClosedError`` once the store closes.

        ``close`` closes ``items`` (releasing what it holds) even while the caller still holds
        the returned generator.
        """
        self._streams.add(items)
        yield from items
        if self._closed:
            raise ClosedError(f"store {self.name!r}: {operation} used after the store was closed")

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise ClosedError(f"store {self.name!r}: {operation} on a closed store")

    def _reject(self, operation: str, key: object = _NO_KEY, /, **arguments: object) -> None:
        """Raise for the first argument of ``operation`` of a wrong type, then for a closed store.

        The public methods call it only when a cheap inline test failed, so that a valid call
        costs no extra call; ``key`` is a complex key, ``arguments`` must be ``bytes``.
        """
        if key is not _NO_KEY:
            check_complex_key(key, operation)
        for argument, value in arguments.items():
            check_bytes(value, argument, operation)
        self._check_open(operation)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.name!r} {state}>"

    # -- simple keys: checked here, then the backend's primitive -----------------------------

    def put_state(self, key: bytes, value: bytes) -> None:
        """Set simple key ``key`` to ``value``."""
        if type(key) is not bytes or type(value) is not bytes or self._closed:
            self._reject("put_state", key=key, value=value)
        self._put_state(key, value)

    def get_state(self, key: bytes) -> bytes | None:
        """The value of simple key ``key``, or ``None`` when it is missing."""
        if type(key) is not bytes or self._closed:
            self._reject("get_state", key=key)
        return self._get_state(key)

    def delete_state(self, key: bytes) -> None:
        """Remove simple key ``key``; removing a missing key does nothing."""
        if type(key) is not bytes or self._closed:
            self._reject("delete_state", key=key)
        self._delete_state(key)

    def list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        """Simple keys in ``[start_inclusive, end_exclusive)`` ascending; ``b""`` end: unbounded."""
        if type(start_inclusive) is not bytes or type(end_exclusive) is not bytes or self._closed:
            self._reject(
                "list_states", start_inclusive=start_inclusive, end_exclusive=end_exclusive
            )
        return self._list_states(start_inclusive, end_exclusive)

    # -- complex keys: checked here, then the backend's primitive ----------------------------

    def put(self, key: ComplexKey, value: bytes) -> None:
        """Set ``key`` to ``value``, replacing the value and any merges before it."""
        if type(key) is not ComplexKey or type(value) is not bytes or self._closed:
            self._reject("put", key, value=value)
        self._put(key, value)

    def get(self, key: ComplexKey) -> bytes | None:
        """The value at ``key`` (merges applied), or ``None`` when it is missing."""
        if type(key) is not ComplexKey or self._closed:
            self._reject("get", key)
        return self._get(key)

    def delete(self, key: ComplexKey) -> None:
        """Remove ``key``; removing a missing key does nothing."""
        if type(key) is not ComplexKey or self._closed:
            self._reject("delete", key)
        self._delete(key)

    def merge(self, key: ComplexKey, value: bytes) -> None:
        """Append ``value``: afterwards ``get(key)`` is the old value (or ``b""``) + ``value``."""
        if type(key) is not ComplexKey or type(value) is not bytes or self._closed:
            self._reject("merge", key, value=value)
        self._merge(key, value)

    def delete_prefix(self, key: ComplexKey) -> None:
        """Remove every entry of ``key``'s scope whose user_key starts with ``key.user_key``."""
        if type(key) is not ComplexKey or self._closed:
            self._reject("delete_prefix", key)
        self._delete_prefix(key)

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
        """Stream ``(user_key, value)`` of one scope, user_key in ``[start, end)``.

        Ascending (descending with ``reverse``); ``end == b""`` is unbounded. The iterator sees
        the scope as it was when it was created and uses memory independent of the scope's size.
        """
        if (
            type(key_group) is not bytes
            or type(key) is not bytes
            or type(namespace) is not bytes
            or type(start) is not bytes
            or type(end) is not bytes
            or self._closed
        ):
            self._reject(
                "scan_complex",
                key_group=key_group,
                key=key,
                namespace=namespace,
                start=start,
                end=end,
            )
        low = _checked_key(ComplexKey, (key_group, key, namespace, start))
        return self._track(Iterator(self._scan_complex(low, end, reverse)))

    def list_complex(
        self,
        key_group: bytes,
        key: bytes,
        namespace: bytes,
        start_inclusive: bytes,
        end_exclusive: bytes,
    ) -> list[bytes]:
        """User keys of one scope in ``[start_inclusive, end_exclusive)``, ascending."""
        self._reject(
            "list_complex",
            key_group=key_group,
            key=key,
            namespace=namespace,
            start_inclusive=start_inclusive,
            end_exclusive=end_exclusive,
        )
        return self._list_complex(
            _checked_key(ComplexKey, (key_group, key, namespace, start_inclusive)), end_exclusive
        )

    def scan_keys(self, key_group: bytes, namespace: bytes | None = None) -> PyIterator[bytes]:
        """Stream the distinct primary keys that hold state in ``key_group``, ascending.

        With ``namespace``, only the keys holding state in that namespace. Memory stays constant
        in the number of keys; the stream sees the store as of its creation and raises
        ``ClosedError`` once the store closes. A backend that cannot list keys raises
        ``SDKError`` (code ``STORE_INTERNAL``) naming the store and its type.
        """
        if namespace is None:
            self._reject("scan_keys", key_group=key_group)
        else:
            self._reject("scan_keys", key_group=key_group, namespace=namespace)
        return self._guard(self._scan_keys(key_group, namespace), "scan_keys")

    def scan_scopes(self, key_group: bytes) -> PyIterator[tuple[bytes, bytes]]:
        """Stream the ``(key, namespace)`` of every scope holding state in ``key_group``,
        ascending by key, then namespace.

        As :meth:`scan_keys`: constant memory, the store as of the stream's creation,
        ``ClosedError`` once the store closes; a backend that cannot list scopes raises
        ``SDKError`` (code ``STORE_INTERNAL``).
        """
        self._reject("scan_scopes", key_group=key_group)
        return self._guard(self._scan_scopes(key_group), "scan_scopes")

    def scope(self, key_group: bytes, key: bytes, namespace: bytes) -> StoreScope:
        """A handle on one scope that addresses entries by user_key alone:
        ``scopes(key_group)(key, namespace)``."""
        if type(key_group) is not bytes or self._closed:
            self._reject("scope", key_group=key_group, key=key, namespace=namespace)
        return self._scopes(key_group)(key, namespace)

    def scopes(self, key_group: bytes) -> StoreScopes:
        """The :class:`StoreScopes` of ``key_group``: every scope operation, naming the scope by
        ``(key, namespace)``; ``scopes(key_group)(key, namespace)`` is ``scope(...)``.

        Keyed-state factories hold one and use it for every record, so a backend checks and
        encodes the key group here, once.
        """
        if type(key_group) is not bytes or self._closed:
            self._reject("scopes", key_group=key_group)
        return self._scopes(key_group)

    # -- the primitives a backend implements (arguments checked, store open) -----------------

    @abc.abstractmethod
    def _put_state(self, key: bytes, value: bytes) -> None: ...

    @abc.abstractmethod
    def _get_state(self, key: bytes) -> bytes | None: ...

    @abc.abstractmethod
    def _delete_state(self, key: bytes) -> None: ...

    @abc.abstractmethod
    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]: ...

    @abc.abstractmethod
    def _put(self, key: ComplexKey, value: bytes) -> None: ...

    @abc.abstractmethod
    def _get(self, key: ComplexKey) -> bytes | None: ...

    @abc.abstractmethod
    def _delete(self, key: ComplexKey) -> None: ...

    @abc.abstractmethod
    def _merge(self, key: ComplexKey, value: bytes) -> None: ...

    @abc.abstractmethod
    def _delete_prefix(self, key: ComplexKey) -> None: ...

    @abc.abstractmethod
    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        """The pairs of ``low``'s scope from ``low.user_key`` to ``end``; :meth:`scan_complex`
        wraps them in a tracked Iterator."""

    def _list_complex(self, low: ComplexKey, end: bytes) -> list[bytes]:
        with self.scan_complex(*low.scope, start=low.user_key, end=end) as it:
            return [user_key for user_key, _ in it]

    def _scan_keys(self, key_group: bytes, namespace: bytes | None) -> Generator[bytes, None, None]:
        """A closable stream of the keys; :meth:`scan_keys` guards it. This default is for a
        backend that cannot list keys."""
        raise self._cannot_list("keys", key_group)

    def _scan_scopes(self, key_group: bytes) -> Generator[tuple[bytes, bytes], None, None]:
        """A closable stream of the scopes; :meth:`scan_scopes` guards it. This default is for
        a backend that cannot list scopes."""
        raise self._cannot_list("scopes", key_group)

    def _cannot_list(self, what: str, key_group: bytes) -> SDKError:
        """The error of a backend that cannot list the ``what`` (keys, scopes) of a key group."""
        return SDKError(
            ErrorCode.STORE_INTERNAL,
            f"store {self.name!r}: {type(self).__name__} cannot list the {what} of key group "
            f"{key_group!r} (scan_{what} is not implemented by this backend)",
        )

    def _scopes(self, key_group: bytes) -> StoreScopes:
        """The scopes of a checked ``key_group``: the generic :class:`StoreScopes`, through the
        ComplexKey methods; a backend returns its faster subclass."""
        return StoreScopes(self, key_group)


class StoreScopes:
    """The scopes of one key group of a store, every operation naming its scope by ``(key,
    namespace)``: ``store.scopes(key_group)``, made once per factory.

    It is the per-record path of keyed state: a state handle keeps its key and namespace and
    calls these, so no scope object is made per record. ``scopes(key, namespace)`` is the
    :class:`StoreScope` of one scope, for code that holds a scope. Arguments are checked as the
    store's ComplexKey methods check them, and so are closed stores. This generic form goes
    through those methods; a backend's subclass takes a faster path with the same behaviour.
    """

    __slots__ = ("key_group", "store")

    def __init__(self, store: Store, key_group: bytes) -> None:
        self.store: Final = store
        self.key_group: Final = key_group

    def __call__(self, key: bytes, namespace: bytes) -> StoreScope:
        """The :class:`StoreScope` of ``(key, namespace)``."""
        store = self.store
        if type(key) is not bytes or type(namespace) is not bytes or store._closed:
            store._reject("scope", key_group=self.key_group, key=key, namespace=namespace)
        scope: StoreScope = _new(StoreScope)
        scope._scopes = self
        scope.store = store
        scope.key_group = self.key_group
        scope.key = key
        scope.namespace = namespace
        return scope

    def __repr__(self) -> str:
        return f"<scopes of {self.key_group!r} in {self.store!r}>"

    def describe(self, key: bytes, namespace: bytes, user_key: bytes | None = None) -> str:
        """Store name, scope and (optionally) user key, for error messages."""
        scope = f"({self.key_group!r}, {key!r}, {namespace!r})"
        where = f"store {self.store.name!r} scope {scope}"
        return where if user_key is None else f"{where} user_key {user_key!r}"

    def get(self, key: bytes, namespace: bytes, user_key: bytes) -> bytes | None:
        """The value at ``user_key`` of scope ``(key, namespace)``, or ``None``."""
        return self.store.get(ComplexKey(self.key_group, key, namespace, user_key))

    def put(self, key: bytes, namespace: bytes, user_key: bytes, value: bytes) -> None:
        """Set ``user_key`` of scope ``(key, namespace)`` to ``value``."""
        self.store.put(ComplexKey(self.key_group, key, namespace, user_key), value)

    def delete(self, key: bytes, namespace: bytes, user_key: bytes) -> None:
        """Remove ``user_key`` of scope ``(key, namespace)``."""
        self.store.delete(ComplexKey(self.key_group, key, namespace, user_key))

    def merge(self, key: bytes, namespace: bytes, user_key: bytes, value: bytes) -> None:
        """Append ``value`` to the value at ``user_key`` of scope ``(key, namespace)``."""
        self.store.merge(ComplexKey(self.key_group, key, namespace, user_key), value)

    def compute(
        self,
        key: bytes,
        namespace: bytes,
        user_key: bytes,
        change: Callable[[bytes | None, A], bytes | None],
        arg: A,
    ) -> None:
        """Set ``user_key`` of scope ``(key, namespace)`` to ``change(value, arg)``, ``value``
        being its value or ``None``; a ``None`` result deletes it. The read-modify-write of one
        entry (a fold's accumulator): one get and one write, which a backend may locate once.

        ``change`` runs between the two and may raise, which leaves the entry as it was.
        """
        value = change(self.get(key, namespace, user_key), arg)
        if value is None:
            self.delete(key, namespace, user_key)
        else:
            self.put(key, namespace, user_key, value)

    def delete_prefix(self, key: bytes, namespace: bytes, prefix: bytes = b"") -> None:
        """Remove the entries of scope ``(key, namespace)`` whose user_key starts with
        ``prefix`` (all of them by default)."""
        self.store.delete_prefix(ComplexKey(self.key_group, key, namespace, prefix))

    def scan(
        self,
        key: bytes,
        namespace: bytes,
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> Iterator:
        """Stream ``(user_key, value)`` of scope ``(key, namespace)`` with user_key in
        ``[start, end)``; closing the store ends it."""
        return self.store.scan_complex(
            self.key_group, key, namespace, start=start, end=end, reverse=reverse
        )

    def first(self, key: bytes, namespace: bytes, start: bytes = b"") -> Pair | None:
        """The entry of scope ``(key, namespace)`` with the smallest user_key ``>= start``, or
        ``None``. One seek."""
        with self.scan(key, namespace, start=start) as it:
            return it.next() if it.has_next() else None

    def pop_first(
        self, key: bytes, namespace: bytes, read: Callable[[bytes], T], start: bytes = b""
    ) -> tuple[bytes, T] | None:
        """Remove the entry of scope ``(key, namespace)`` with the smallest user_key ``>= start``
        and return ``(user_key, read(user_key))``, or ``None`` when there is none: a queue's
        poll. ``read`` runs before the delete and may raise, which leaves the entry. One seek
        and one delete, which a backend may locate once."""
        found = self.first(key, namespace, start)
        if found is None:
            return None
        user_key = found[0]
        result = read(user_key)
        self.delete(key, namespace, user_key)
        return user_key, result

    def take(self, key: bytes, namespace: bytes, limit: int, start: bytes = b"") -> list[Pair]:
        """The first ``limit`` entries of scope ``(key, namespace)`` with user_key ``>= start``,
        in order: one bounded read (a queue refilling its head). ``ValueError`` for a negative
        ``limit``."""
        if limit <= 0:
            return _no_pairs(limit)
        with self.scan(key, namespace, start=start) as scan:
            return list(itertools.islice(scan, limit))

    def items(
        self,
        key: bytes,
        namespace: bytes,
        decode_key: Callable[[bytes], K],
        decode_value: Callable[[bytes], V],
        undecodable: Callable[[bytes, bytes], tuple[K, V]],
        *,
        start: bytes = b"",
        end: bytes = b"",
        reverse: bool = False,
    ) -> PyIterator[tuple[K, V]]:
        """``(decode_key(user_key), decode_value(value))`` of each entry :meth:`scan` streams,
        lazily: the iteration of typed state (a map's ``all()``). Where either decode raises
        ``ValueError``, the pair is ``undecodable(user_key, value)`` (which may raise).

        A backend may stream straight from its engine when it holds nothing pending for the
        scope; closing the store ends the iteration (``ClosedError``) as it ends scans.
        """
        scan = self.scan(key, namespace, start=start, end=end, reverse=reverse)
        return _decoded(scan, decode_key, decode_value, undecodable)


_new: Final = object.__new__


def _decoded(
    scan: Iterator,
    decode_key: Callable[[bytes], K],
    decode_value: Callable[[bytes], V],
    undecodable: Callable[[bytes, bytes], tuple[K, V]],
) -> Generator[tuple[K, V], None, None]:
    """The generic :meth:`StoreScopes.items` over an open ``scan``, which it closes."""
    with scan:
        for user_key, value in scan:
            try:
                pair = (decode_key(user_key), decode_value(value))
            except ValueError:
                pair = undecodable(user_key, value)
            yield pair


def _no_pairs(limit: int) -> list[Pair]:
    """What ``take`` returns for a ``limit`` below 1: nothing, or ``ValueError`` if negative."""
    if limit < 0:
        raise ValueError(f"take: limit must be >= 0, got {limit}")
    return []


class StoreScope:
    """Entries of one scope ``(key_group, key, namespace)`` of a store, addressed by user_key:
    ``store.scope(...)`` or ``store.scopes(key_group)(key, namespace)``.

    Every operation is its key group's :class:`StoreScopes` operation with this scope's key and
    namespace, so a backend's fast path is written once, there.

    >>> from fssdk.stores import MemoryStore
    >>> scope = MemoryStore("demo").scope(b"counts", b"user1", b"")
    >>> scope.put(b"a", b"1"); scope.merge(b"a", b"2")
    >>> scope.get(b"a"), scope.get(b"b")
    (b'12', None)
    """

    __slots__ = ("_scopes", "key", "key_group", "namespace", "store")

    def __init__(self, store: Store, key_group: bytes, key: bytes, namespace: bytes) -> None:
        if (
            type(key_group) is not bytes
            or type(key) is not bytes
            or type(namespace) is not bytes
            or store._closed
        ):
            store._reject("scope", key_group=key_group, key=key, namespace=namespace)
        self._scopes: StoreScopes = store.scopes(key_group)
        self.store = store
        self.key_group = key_group
        self.key = key
        self.namespace = namespace

    def __repr__(self) -> str:
        return f"<scope {self.key_group!r}/{self.key!r}/{self.namespace!r} of {self.store!r}>"

    def describe(self, user_key: bytes | None = None) -> str:
        """Store name, scope and (optionally) user key, for error messages."""
        return self._scopes.describe(self.key, self.namespace, user_key)

    def get(self, user_key: bytes) -> bytes | None:
        """The value at ``user_key``, or ``None``."""
        return self._scopes.get(self.key, self.namespace, user_key)

    def put(self, user_key: bytes, value: bytes) -> None:
        """Set ``user_key`` to ``value``."""
        self._scopes.put(self.key, self.namespace, user_key, value)

    def delete(self, user_key: bytes) -> None:
        """Remove ``user_key``."""
        self._scopes.delete(self.key, self.namespace, user_key)

    def merge(self, user_key: bytes, value: bytes) -> None:
        """Append ``value`` to the value at ``user_key``."""
        self._scopes.merge(self.key, self.namespace, user_key, value)

    def compute(
        self, user_key: bytes, change: Callable[[bytes | None, A], bytes | None], arg: A
    ) -> None:
        """Set ``user_key`` to ``change(its value or None, arg)``; ``None`` deletes it."""
        self._scopes.compute(self.key, self.namespace, user_key, change, arg)

    def delete_prefix(self, prefix: bytes = b"") -> None:
        """Remove the entries whose user_key starts with ``prefix`` (all of them by default)."""
        self._scopes.delete_prefix(self.key, self.namespace, prefix)

    def scan(self, *, start: bytes = b"", end: bytes = b"", reverse: bool = False) -> Iterator:
        """Stream ``(user_key, value)`` pairs with user_key in ``[start, end)``."""
        return self._scopes.scan(self.key, self.namespace, start=start, end=end, reverse=reverse)

    def first(self, start: bytes = b"") -> Pair | None:
        """The entry with the smallest user_key ``>= start``, or ``None``. One seek."""
        return self._scopes.first(self.key, self.namespace, start)
