"""LocalContext: the Context of the local runtime, over a Backend."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from fssdk._context import Context
from fssdk._errors import ClosedError
from fssdk._store import Store
from fssdk.stores._backend import Backend, check_store_name

Sink = Callable[[int, bytes], None]
WatermarkSink = Callable[[int, int], None]
Clock = Callable[[], int]


class LocalContext(Context):
    """A Context over ``backend``, with ``config`` as its read-only configuration.

    By default what the operator emits is collected in ``emitted`` (``(target_id, data)``) and
    ``emitted_watermarks`` (``(target_id, watermark)``); pass ``sink`` / ``watermark_sink`` to
    send them elsewhere (the command-line runner writes them to files). ``clock`` is what
    :meth:`processing_time` returns (milliseconds; default the wall clock): the test harness
    passes its own.

    >>> from fssdk.runtime import MemoryBackend
    >>> with LocalContext(MemoryBackend(), {"k": "v"}) as ctx:
    ...     ctx.emit(b"hello")
    ...     ctx.emitted, ctx.config["k"]
    ([(0, b'hello')], 'v')
    """

    def __init__(
        self,
        backend: Backend,
        config: Mapping[str, str] | None = None,
        *,
        sink: Sink | None = None,
        watermark_sink: WatermarkSink | None = None,
        clock: Clock | None = None,
    ) -> None:
        config = dict(config or {})
        for key, value in config.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"config entries must be str to str, got {key!r}: {value!r}")
        self.backend = backend
        self._config = MappingProxyType(config)
        self.emitted: list[tuple[int, bytes]] = []
        self.emitted_watermarks: list[tuple[int, int]] = []
        self._sink: Sink = sink or self._collect
        self._watermark_sink: WatermarkSink = watermark_sink or self._collect_watermark
        self._clock = clock
        self._closed = False

    def _collect(self, target_id: int, data: bytes) -> None:
        self.emitted.append((target_id, data))

    def _collect_watermark(self, target_id: int, watermark: int) -> None:
        self.emitted_watermarks.append((target_id, watermark))

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise ClosedError(f"context: {operation} on a closed context")

    def emit(self, data: bytes, target_id: int = 0) -> None:
        if type(data) is not bytes:
            raise TypeError(f"emit: data must be bytes, not {type(data).__name__}")
        if type(target_id) is not int or target_id < 0:
            raise TypeError(f"emit: target_id must be a non-negative int, not {target_id!r}")
        self._check_open("emit")
        self._sink(target_id, data)

    def emit_watermark(self, watermark: int, target_id: int = 0) -> None:
        if type(watermark) is not int:
            raise TypeError(f"emit_watermark: watermark must be an int, not {watermark!r}")
        if type(target_id) is not int or target_id < 0:
            raise TypeError(
                f"emit_watermark: target_id must be a non-negative int, not {target_id!r}"
            )
        self._check_open("emit_watermark")
        self._watermark_sink(target_id, watermark)

    def get_or_create_store(self, name: str) -> Store:
        check_store_name(name)
        self._check_open("get_or_create_store")
        return self.backend.store(name)

    @property
    def config(self) -> Mapping[str, str]:
        return self._config

    def processing_time(self) -> int:
        if self._clock is None:
            return super().processing_time()
        now = self._clock()
        if type(now) is not int:
            raise TypeError(f"processing_time: the clock returned {now!r}, not an int")
        return now

    def close(self) -> None:
        """Flush the backend's stores and close this context (the backend stays open)."""
        if self._closed:
            return
        self._closed = True
        if not self.backend.closed:
            self.backend.flush()
