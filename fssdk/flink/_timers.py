"""FlinkTimers: the timers of ``fssdk_advanced``'s TimerService on Flink's own timer service.

``TimerService.from_context(ctx, name)`` on a :class:`~fssdk.flink.FlinkContext` calls
``ctx.engine_timers(name)`` and delegates to the FlinkTimers it returns. A timer
``(key, namespace, timestamp)`` is one Flink timer of the current key at ``timestamp`` (event or
processing time), so Flink fires it with the key set and checkpoints and rescales it with the
keyed state. Flink's timers carry no namespace, so the namespaces of each timestamp are kept in
the :class:`FlinkStore` ``name`` (a ``MapState`` of the current key)::

    scope (b"fssdk_advanced/timers/event" | b"fssdk_advanced/timers/processing", key, b"")
    user_key: the timestamp, 8 bytes in signed order    value: the namespaces, sorted,
                                                        each a 4-byte length and its bytes

Firing: Flink calls ``on_timer`` per key with the key current, and ``DriverFunction`` calls the
driver's ``process_watermark``, where ``advance_watermark`` / ``advance_processing_time`` yield
the current key's due timers. A timer of another key than the current one raises
:class:`fssdk.WrongKeyError` (the store's check).

Costs (n = timestamps with timers of the current key in this store): register and delete read
and write one entry (plus one Flink timer call when a timestamp gains its first or loses its
last namespace); each fired timer reads the key's n entries once (MapState has no order).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final, Protocol

from fssdk._context import TimeDomain
from fssdk._errors import CorruptStateError
from fssdk._keyformat import LAYOUT
from fssdk._store import StoreScope
from fssdk.flink._store import CurrentKey, FlinkStore, partition_prefix
from fssdk.reserved import EVENT_TIMERS_KEY_GROUP, MAX_TIME, MIN_TIME, PROCESSING_TIMERS_KEY_GROUP

_KEY_GROUPS: Final = {
    TimeDomain.EVENT: EVENT_TIMERS_KEY_GROUP,
    TimeDomain.PROCESSING: PROCESSING_TIMERS_KEY_GROUP,
}
_TIME: Final = struct.Struct(">Q")
_LENGTH: Final = struct.Struct(">I")


class FlinkTimerServiceLike(Protocol):
    """The part of PyFlink's ``TimerService`` FlinkTimers uses (a fake one serves in tests)."""

    def register_event_time_timer(self, timestamp: int) -> None: ...

    def delete_event_time_timer(self, timestamp: int) -> None: ...

    def register_processing_time_timer(self, timestamp: int) -> None: ...

    def delete_processing_time_timer(self, timestamp: int) -> None: ...

    def current_watermark(self) -> int: ...

    def current_processing_time(self) -> int: ...


class CurrentCall(CurrentKey):
    """The current key and the Flink timer service of the record or timer being processed.

    ``timer_service`` is ``None`` outside ``process`` and ``process_watermark``.
    """

    __slots__ = ("timer_service",)

    def __init__(
        self, value: bytes | None = None, timer_service: FlinkTimerServiceLike | None = None
    ) -> None:
        super().__init__(value)
        self.timer_service = timer_service


def _encode_time(timestamp: int) -> bytes:
    return _TIME.pack(timestamp - MIN_TIME)


def _encode_namespaces(namespaces: list[bytes]) -> bytes:
    return b"".join(_LENGTH.pack(len(namespace)) + namespace for namespace in namespaces)


def timer_entry(
    domain: TimeDomain, key: bytes, timestamp: int, namespaces: list[bytes]
) -> tuple[bytes, bytes]:
    """The map key (in ``key``'s partition of the timer store) and the value of the entry
    that keeps the namespaces of ``key``'s Flink timer at ``timestamp``; ``namespaces`` sorted.

    ``fssdk state export-flink`` writes local timers with it, beside a Flink timer each.
    """
    prefix = partition_prefix(_KEY_GROUPS[domain], key, b"")
    return LAYOUT.base_key(prefix, _encode_time(timestamp)), _encode_namespaces(namespaces)


def _decode_entry(scope: StoreScope, user_key: bytes, value: bytes) -> tuple[int, list[bytes]]:
    """The timestamp and the namespaces of one entry; CorruptStateError names a bad one."""
    try:
        if len(user_key) != _TIME.size:
            raise ValueError(f"a timestamp is {_TIME.size} bytes, got {len(user_key)}")
        namespaces: list[bytes] = []
        at = 0
        while at < len(value):
            if at + _LENGTH.size > len(value):
                raise ValueError(f"truncated namespace length at byte {at}")
            (length,) = _LENGTH.unpack_from(value, at)
            at += _LENGTH.size
            if at + length > len(value):
                raise ValueError(f"namespace of {length} bytes at byte {at} is truncated")
            namespaces.append(value[at : at + length])
            at += length
    except ValueError as exc:
        raise CorruptStateError(
            f"{scope.describe(user_key)}: timer entry does not decode: {exc}"
        ) from exc
    return _TIME.unpack(user_key)[0] + MIN_TIME, namespaces


class FlinkTimers:
    """The timers of one timer store on Flink's timer service; see the module docstring.

    Implements ``fssdk_advanced.time``'s engine-timer protocol: :class:`TimerService`
    checks the arguments and calls :meth:`register`, :meth:`delete`, :meth:`fire` and
    :meth:`current_time`. ``domain`` is a :class:`fssdk.TimeDomain`.
    """

    __slots__ = ("_call", "store")

    def __init__(self, store: FlinkStore, call: CurrentCall) -> None:
        self.store: Final = store
        self._call = call

    def __repr__(self) -> str:
        return f"<FlinkTimers in {self.store!r}>"

    def _scope(self, domain: TimeDomain, key: bytes) -> StoreScope:
        try:
            key_group = _KEY_GROUPS[domain]
        except KeyError:
            raise ValueError(
                f"FlinkTimers: domain must be a TimeDomain ({TimeDomain.EVENT.value!r} or "
                f"{TimeDomain.PROCESSING.value!r}), not {domain!r}"
            ) from None
        return self.store.scope(key_group, key, b"")

    def _flink(self) -> FlinkTimerServiceLike:
        service = self._call.timer_service
        assert service is not None, "a keyed state access outside a call passed the key check"
        return service

    def register(self, domain: TimeDomain, key: bytes, namespace: bytes, timestamp: int) -> None:
        """Add ``namespace`` at ``timestamp``; a new timestamp registers a Flink timer."""
        scope = self._scope(domain, key)
        user_key = _encode_time(timestamp)
        value = scope.get(user_key)
        namespaces = [] if value is None else _decode_entry(scope, user_key, value)[1]
        if namespace in namespaces:
            return
        namespaces.append(namespace)
        namespaces.sort()
        scope.put(user_key, _encode_namespaces(namespaces))
        if len(namespaces) == 1:
            service = self._flink()
            if domain == TimeDomain.EVENT:
                service.register_event_time_timer(timestamp)
            else:
                service.register_processing_time_timer(timestamp)

    def delete(self, domain: TimeDomain, key: bytes, namespace: bytes, timestamp: int) -> None:
        """Remove ``namespace`` at ``timestamp``; its last one deletes the Flink timer."""
        scope = self._scope(domain, key)
        user_key = _encode_time(timestamp)
        value = scope.get(user_key)
        if value is None:
            return
        namespaces = _decode_entry(scope, user_key, value)[1]
        if namespace not in namespaces:
            return
        namespaces.remove(namespace)
        self._store_rest(domain, scope, user_key, timestamp, namespaces)

    def _store_rest(
        self,
        domain: TimeDomain,
        scope: StoreScope,
        user_key: bytes,
        timestamp: int,
        namespaces: list[bytes],
    ) -> None:
        if namespaces:
            scope.put(user_key, _encode_namespaces(namespaces))
            return
        scope.delete(user_key)
        service = self._flink()
        if domain == TimeDomain.EVENT:
            service.delete_event_time_timer(timestamp)
        else:
            service.delete_processing_time_timer(timestamp)

    def fire(self, domain: TimeDomain, bound: int) -> Iterator[tuple[int, bytes, bytes]]:
        """Yield and remove the current key's timers with timestamp ``<= bound``, smallest
        first (ties by namespace); each is removed as it is yielded, and a timer registered
        or deleted meanwhile is seen, because every step reads the key's timers afresh.
        """
        key = self.store._key_of_now("fire timers")
        scope = self._scope(domain, key)
        end = b"" if bound == MAX_TIME else _encode_time(bound + 1)
        while True:
            with scope.scan(end=end) as scan:
                first = next(iter(scan), None)
            if first is None:
                return
            user_key, value = first
            timestamp, namespaces = _decode_entry(scope, user_key, value)
            if not namespaces:
                raise CorruptStateError(
                    f"{scope.describe(user_key)}: timer entry holds no namespace"
                )
            namespace = namespaces.pop(0)
            self._store_rest(domain, scope, user_key, timestamp, namespaces)
            yield timestamp, key, namespace

    def current_time(self, domain: TimeDomain) -> int | None:
        """Flink's watermark (``None`` before the first) or processing time of the current
        call; ``None`` outside a record or timer (``init``, ``close``)."""
        service = self._call.timer_service
        if service is None:
            return None
        if domain == TimeDomain.PROCESSING:
            return service.current_processing_time()
        watermark = service.current_watermark()
        return None if watermark == MIN_TIME else watermark
