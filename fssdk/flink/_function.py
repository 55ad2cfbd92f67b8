"""DriverFunction: a PyFlink KeyedProcessFunction that runs an fssdk Driver.

``open`` builds a :class:`FlinkContext` and calls ``Driver.init``; each record of key ``K`` calls
``Driver.process`` with ``K`` current, so that every store the driver opened reads and writes
``K``'s partition of Flink keyed state. Outputs are bytes: target 0 is the function's main
output, target ``n > 0`` the side output whose ``OutputTag`` was given for ``n``.

Watermarks: with ``process_watermarks=True`` each key that has processed a record asks Flink for
an event-time timer just after the current watermark; when Flink's watermark passes it, the
timer fires with that key current and the function calls ``Driver.process_watermark(ctx, 0, W)``
(``W``: Flink's current watermark), then asks for the next one. So a driver's watermark code
runs once per key and watermark advance, reaching that key's state; Flink checkpoints the
timers with the state. Every Flink timer, including those of ``fssdk_advanced``'s
``TimerService`` (:meth:`FlinkContext.engine_timers`), calls ``process_watermark`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

from pyflink.common import Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor

from fssdk._context import Context
from fssdk._driver import Driver
from fssdk._errors import ClosedError, UnexpectedResultError
from fssdk._store import Store
from fssdk.flink._store import FlinkStore
from fssdk.flink._timers import CurrentCall, FlinkTimers
from fssdk.reserved import MAX_TIME
from fssdk.runtime._run_errors import OutputRecordError
from fssdk.stores._backend import check_store_name

#: The type of every record, output and side output: Python bytes, pickled by Flink.
BYTES: Final = Types.PICKLED_BYTE_ARRAY()
#: The side output of tagged mode with ``progress``: one ``True`` per record processed.
PROGRESS: Final = OutputTag("fssdk-progress", Types.BOOLEAN())


def tagged_line(target: int, data: bytes) -> str:
    """What tagged mode emits for ``data`` on ``target``: a text line for Flink's FileSink.

    ``"<target> <data>"`` with ``data`` decoded as Latin-1, so that any bytes survive the
    sink's UTF-8 (:func:`read_tagged_line` undoes it). A newline in ``data`` would split the
    record and raises ``OutputRecordError``.
    """
    if b"\n" in data:
        raise OutputRecordError(
            f"the operator emitted a record with a newline on target {target}: {data[:80]!r}"
        )
    return f"{target} {data.decode('latin-1')}"


def read_tagged_line(line: bytes) -> tuple[int, bytes]:
    """``(target, data)`` of a line the FileSink wrote (UTF-8, without its newline)."""
    target, _, data = line.decode("utf-8").partition(" ")
    return int(target), data.encode("latin-1")


class FlinkContext(Context):
    """The Context of a Driver on Flink: emits into the current call's outputs, stores are keyed.

    ``emit`` works only inside ``process`` and ``process_watermark`` (Flink takes outputs from
    those calls); ``emit_watermark`` checks its arguments and does nothing else, because Flink
    forwards watermarks downstream itself.
    """

    def __init__(
        self,
        runtime_context: RuntimeContext,
        config: Mapping[str, str],
        current: CurrentCall,
        targets: frozenset[int] | None,
    ) -> None:
        self._runtime_context = runtime_context
        self._config = MappingProxyType(dict(config))
        self._current = current
        self._targets = targets
        self._stores: dict[str, FlinkStore] = {}
        self._timers: dict[str, FlinkTimers] = {}
        self._outputs: list[tuple[int, bytes]] | None = None
        self._closed = False

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise ClosedError(f"context: {operation} on a closed context")

    def emit(self, data: bytes, target_id: int = 0) -> None:
        if type(data) is not bytes:
            raise TypeError(f"emit: data must be bytes, not {type(data).__name__}")
        if type(target_id) is not int or target_id < 0:
            raise TypeError(f"emit: target_id must be a non-negative int, not {target_id!r}")
        self._check_open("emit")
        if self._outputs is None:
            raise UnexpectedResultError(
                "emit outside process/process_watermark: on Flink a function emits only while "
                "it processes a record or a timer"
            )
        if target_id and self._targets is not None and target_id not in self._targets:
            raise UnexpectedResultError(
                f"emit to target {target_id}, which has no side output: give DriverFunction "
                f"an OutputTag for it (side outputs: {sorted(self._targets) or 'none'})"
            )
        self._outputs.append((target_id, data))

    def emit_watermark(self, watermark: int, target_id: int = 0) -> None:
        if type(watermark) is not int:
            raise TypeError(f"emit_watermark: watermark must be an int, not {watermark!r}")
        if type(target_id) is not int or target_id < 0:
            raise TypeError(
                f"emit_watermark: target_id must be a non-negative int, not {target_id!r}"
            )
        self._check_open("emit_watermark")

    def get_or_create_store(self, name: str) -> Store:
        check_store_name(name)
        self._check_open("get_or_create_store")
        store = self._stores.get(name)
        if store is None:
            descriptor = MapStateDescriptor(name, BYTES, BYTES)
            state = self._runtime_context.get_map_state(descriptor)
            store = self._stores[name] = FlinkStore(name, state, self._current)
        return store

    def engine_timers(self, store_name: str) -> FlinkTimers:
        """Flink's timer service for ``fssdk_advanced``'s ``TimerService.from_context(ctx,
        store_name)``: timers are Flink timers of the current key (see :class:`FlinkTimers`).
        """
        timers = self._timers.get(store_name)
        if timers is None:
            store = self.get_or_create_store(store_name)
            assert isinstance(store, FlinkStore)
            timers = self._timers[store_name] = FlinkTimers(store, self._current)
        return timers

    @property
    def config(self) -> Mapping[str, str]:
        return self._config

    @property
    def current_key(self) -> bytes | None:
        """The key of the record or timer being processed (``None`` in ``init`` and ``close``).

        Flink-only: a driver's ``process_watermark`` runs once per key here, and this says
        which key's state it can reach.
        """
        return self._current.value

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for store in self._stores.values():
            store.close()

    def _collecting(self) -> list[tuple[int, bytes]]:
        outputs: list[tuple[int, bytes]] = []
        self._outputs = outputs
        return outputs

    def _done(self) -> None:
        self._outputs = None


class DriverFunction(KeyedProcessFunction):  # type: ignore[misc]
    """A keyed PyFlink function running ``driver`` (or the driver ``driver()`` returns).

    Put it after ``key_by(key_of, key_type=Types.PICKLED_BYTE_ARRAY())`` on a stream of
    ``bytes`` records (``str`` records are encoded as UTF-8); its output type is
    :data:`BYTES`. ``side_outputs`` maps target ids ``> 0`` to the ``OutputTag`` their records
    go to; emitting to another target fails the record. ``config`` is ``ctx.config``.

    Flink pickles the function into each parallel instance, so every instance gets its own
    driver. A factory (a module-level function or class, pickled by reference) avoids pickling
    a driver object at all. ``tagged=True`` is the command line's mode: everything emitted, on
    any target, goes to the main output as a :func:`tagged_line` (``str``), and with
    ``progress=True`` each record processed also puts ``True`` on the side output
    :data:`PROGRESS`. ``final_watermark=False`` leaves out the calls that the end of a bounded
    input makes (watermark ``2**63 - 1``), as ``fssdk run`` without ``--final-watermark`` does.
    """

    def __init__(
        self,
        driver: Driver | Callable[[], Driver],
        *,
        config: Mapping[str, str] | None = None,
        side_outputs: Mapping[int, OutputTag] | None = None,
        process_watermarks: bool = False,
        tagged: bool = False,
        progress: bool = False,
        final_watermark: bool = True,
    ) -> None:
        if not isinstance(driver, Driver) and not callable(driver):
            raise TypeError(
                f"DriverFunction: driver must be a Driver or a callable returning one, not "
                f"{type(driver).__name__}"
            )
        tags = dict(side_outputs or {})
        for target, tag in tags.items():
            if type(target) is not int or target < 1 or not isinstance(tag, OutputTag):
                raise TypeError(
                    "DriverFunction: side_outputs maps target ids > 0 to OutputTags, got "
                    f"{target!r}: {tag!r}"
                )
        entries = dict(config or {})
        for key, value in entries.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"config entries must be str to str, got {key!r}: {value!r}")
        self._driver_source = driver
        self._config = entries
        self._tags = tags
        self._process_watermarks = process_watermarks
        self._tagged = tagged
        self._progress = progress
        self._final_watermark = final_watermark
        self._driver: Driver | None = None
        self._ctx: FlinkContext | None = None
        self._current = CurrentCall()

    def open(self, runtime_context: RuntimeContext) -> None:
        source = self._driver_source
        driver = source if isinstance(source, Driver) else source()
        if not isinstance(driver, Driver):
            raise TypeError(
                f"DriverFunction: the driver factory returned {type(driver).__name__}, not a Driver"
            )
        targets = None if self._tagged else frozenset(self._tags)
        self._ctx = FlinkContext(runtime_context, self._config, self._current, targets)
        self._driver = driver
        driver.init(self._ctx, self._ctx.config)

    def close(self) -> None:
        ctx, driver = self._ctx, self._driver
        if ctx is None or driver is None:
            return
        try:
            driver.close(ctx)
        finally:
            ctx.close()

    def process_element(self, value: Any, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        data = value.encode() if isinstance(value, str) else value
        if type(data) is not bytes:
            raise TypeError(f"DriverFunction: records must be bytes, not {type(value).__name__}")
        context, driver = self._ctx, self._driver
        assert context is not None, "process_element before open"
        assert driver is not None, "process_element before open"
        timers = ctx.timer_service()
        self._current.value = ctx.get_current_key()
        self._current.timer_service = timers
        outputs = context._collecting()
        try:
            driver.process(context, 0, data)
        finally:
            context._done()
            self._current.value = None
            self._current.timer_service = None
        if self._process_watermarks:
            watermark = timers.current_watermark()
            if watermark < MAX_TIME:
                timers.register_event_time_timer(watermark + 1)
        return self._route(True, outputs)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        context, driver = self._ctx, self._driver
        assert context is not None, "on_timer before open"
        assert driver is not None, "on_timer before open"
        timers = ctx.timer_service()
        watermark = timers.current_watermark()
        if watermark == MAX_TIME and not self._final_watermark:
            return iter(())
        self._current.value = ctx.get_current_key()
        self._current.timer_service = timers
        outputs = context._collecting()
        try:
            driver.process_watermark(context, 0, watermark)
        finally:
            context._done()
            self._current.value = None
            self._current.timer_service = None
        if self._process_watermarks and watermark < MAX_TIME:
            timers.register_event_time_timer(watermark + 1)
        return self._route(False, outputs)

    def _route(self, is_record: bool, outputs: list[tuple[int, bytes]]) -> Iterator[Any]:
        if self._tagged:
            for target, data in outputs:
                yield tagged_line(target, data)
            if is_record and self._progress:
                yield PROGRESS, True
            return
        tags = self._tags
        for target, data in outputs:
            yield data if target == 0 else (tags[target], data)
