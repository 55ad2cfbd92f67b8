"""Bad records: ``fssdk run --on-error skip --dead-letter FILE``.

Each record's ``process`` runs under a savepoint of the backend, with what it emits held back.
When it returns, the savepoint is released and the held-back records are written. When it
raises an error of the record (not of the runtime or the state: see :data:`FATAL`):

1. the backend rolls back every write the record made (``Backend.rollback``);
2. what it emitted is dropped;
3. one JSON line goes to the dead-letter file: the record, its place in the input, the error
   and the operator's frames (:func:`dead_letter`);
4. the operator is restarted in-process: the stores' handles are closed (new store objects over
   the same data, so the libraries' caches start afresh) and ``init`` is called again on the
   same driver, as after a crash and a resume from a checkpoint taken just before the record.

So a skipped record leaves no trace but its dead letter. The dead-letter file is an output of
the run like the others: checkpoints record its length, a resume cuts it back, and the replay
skips the same records again and writes their dead letters once. A record whose event time
cannot be read (``--watermark-field``) is a dead letter too, without a ``process`` call.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Final

from fssdk._context import Context
from fssdk._driver import Driver
from fssdk._errors import CorruptStateError, StoreInternalError, StoreIOError
from fssdk.runtime._outputs import Outputs
from fssdk.runtime._run_errors import RunnerError
from fssdk.stores._backend import Backend

#: Errors that stop the run even with ``--on-error skip``: the runtime's own, the state
#: backend's (a disk error is not the record's fault) and corrupt state (skipping would hide
#: it).
FATAL: Final = (RunnerError, StoreIOError, StoreInternalError, CorruptStateError)


def dead_letter(
    record: bytes, *, source: str, line: int, offset: int, error: str, message: str, frames: str
) -> bytes:
    """One dead letter: a JSON object on one line, keys sorted.

    ``record`` is the record as text when it is UTF-8, else ``record_base64``; ``line`` is its
    number in the input (from 1) and ``offset`` the byte where it starts; ``error`` the
    exception's class name, ``message`` its text, ``frames`` the operator's frames.
    """
    entry: dict[str, Any] = {
        "input": source,
        "line": line,
        "offset": offset,
        "error": error,
        "message": message,
        "traceback": frames,
    }
    try:
        entry["record"] = record.decode("utf-8")
    except UnicodeDecodeError:
        entry["record_base64"] = base64.b64encode(record).decode("ascii")
    return json.dumps(entry, sort_keys=True).encode()


class BadRecords:
    """Runs records in isolation and writes the dead letters of those that fail.

    ``sink`` and ``watermark_sink`` are the context's sinks: they hold a record's emits back
    until it has been processed. ``frames(exc)`` formats the operator's part of a stack.
    """

    def __init__(
        self, outputs: Outputs, source: str, frames: Callable[[BaseException], str]
    ) -> None:
        self._outputs = outputs
        self._source = source
        self._frames = frames
        self._held: list[tuple[bool, int, Any]] | None = None
        #: Records skipped by this run, and by the whole state dir (restored on resume).
        self.skipped = 0
        self.total = 0

    def sink(self, target_id: int, data: bytes) -> None:
        if self._held is None:
            self._outputs.emit(target_id, data)
        else:
            self._held.append((True, target_id, data))

    def watermark_sink(self, target_id: int, watermark: int) -> None:
        if self._held is None:
            self._outputs.emit_watermark(target_id, watermark)
        else:
            self._held.append((False, target_id, watermark))

    def process(
        self,
        driver: Driver,
        ctx: Context,
        backend: Backend,
        record: bytes,
        *,
        where: tuple[int, int],
        restart: Callable[[], None],
    ) -> None:
        """``driver.process(ctx, 0, record)`` in isolation; on a record's error, its dead letter
        (``where``: its line and byte offset) and a restart of the operator (``restart``)."""
        backend.savepoint()
        self._held = []
        try:
            driver.process(ctx, 0, record)
        except FATAL:
            self._drop(backend)
            raise
        except Exception as exc:
            self._drop(backend)
            self.reject(record, where, type(exc).__name__, str(exc), frames=self._frames(exc))
            restart()
            return
        except BaseException:
            self._drop(backend)
            raise
        held, self._held = self._held, None
        backend.release()
        for is_record, target_id, value in held:
            if is_record:
                self._outputs.emit(target_id, value)
            else:
                self._outputs.emit_watermark(target_id, value)

    def reject(
        self, record: bytes, where: tuple[int, int], error: str, message: str, *, frames: str = ""
    ) -> None:
        """Write the dead letter of ``record`` and count it."""
        line, offset = where
        entry = dead_letter(
            record,
            source=self._source,
            line=line,
            offset=offset,
            error=error,
            message=message,
            frames=frames,
        )
        self._outputs.emit_dead_letter(entry)
        self.skipped += 1
        self.total += 1

    def _drop(self, backend: Backend) -> None:
        self._held = None
        backend.rollback()
