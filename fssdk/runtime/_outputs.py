"""Where a run's emits go: line-oriented files, one per output target, plus a watermark file.

Records emitted on target 0 go to the main output (a file or stdout), one per line. Records on
target ``N > 0`` go to ``PREFIX.N`` and emitted watermarks to ``PREFIX.watermarks`` (one
``TARGET WATERMARK`` line each), where ``PREFIX`` is ``--side-outputs`` or, by default, the main
output's path. Side files are created on their first emit. With ``--on-error skip``, the
dead letters go to their own file (``--dead-letter``), opened with the others.

A record is one line, so a record that contains a newline byte cannot be written without being
misread later; it is refused with :class:`OutputRecordError` rather than split or escaped.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO, Final

from fssdk.runtime._run_errors import OutputRecordError, RunnerIOError, UsageError

WATERMARKS: Final = "watermarks"
#: The key of the dead-letter file in checkpoint metadata.
DEAD_LETTERS: Final = "dead-letters"
STDIO: Final = "-"


def output_key(target_id: int) -> str:
    """The key of target ``target_id`` in checkpoint metadata (``"0"``, ``"1"``, ...)."""
    return str(target_id)


class _Output:
    """One output file (or stdout) opened for appending."""

    __slots__ = ("handle", "path")

    def __init__(self, path: Path | None, handle: BinaryIO) -> None:
        self.path = path
        self.handle = handle


class Outputs:
    """The output files of one run; ``emit``/``emit_watermark`` are the context's sinks.

    ``main`` is the ``--output`` argument (``-`` for stdout), ``side_prefix`` the prefix of
    the side files (None: derived from ``main``, impossible when it is stdout) and
    ``dead_letters`` the ``--dead-letter`` file, if any.
    """

    def __init__(self, main: str, side_prefix: str | None, dead_letters: str | None = None) -> None:
        self.main = main
        if side_prefix is None and main != STDIO:
            side_prefix = main
        self.side_prefix = side_prefix
        self.dead_letters = dead_letters
        self._open: dict[str, _Output] = {}

    # -- paths -------------------------------------------------------------------------------

    def path_of(self, key: str) -> Path | None:
        """The file an output key is written to; None for stdout or an unknown side prefix."""
        if key == "0":
            return None if self.main == STDIO else Path(self.main).resolve()
        if key == DEAD_LETTERS:
            return None if self.dead_letters is None else Path(self.dead_letters).resolve()
        if self.side_prefix is None:
            return None
        return Path(f"{self.side_prefix}.{key}").resolve()

    def stale_side_files(self, keep: set[str]) -> list[Path]:
        """Existing side files of this prefix whose keys are not in ``keep``."""
        if self.side_prefix is None:
            return []
        prefix = Path(self.side_prefix).resolve()
        if not prefix.parent.is_dir():
            return []
        found = []
        for entry in prefix.parent.iterdir():
            head, dot, key = entry.name.rpartition(".")
            ours = dot and head == prefix.name and (key.isdigit() or key == WATERMARKS)
            if ours and key not in keep and entry.is_file():
                found.append(entry)
        return sorted(found)

    # -- opening -----------------------------------------------------------------------------

    def open_main(self, *, truncate_to: int | None) -> None:
        """Open the main output: emptied (``truncate_to`` None or 0) or cut to that length."""
        self._open_key("0", truncate_to)

    def reopen(self, key: str, length: int) -> None:
        """Reopen a side output a checkpoint recorded, cut to ``length`` bytes."""
        self._open_key(key, length)

    def open_dead_letters(self, *, truncate_to: int | None) -> None:
        """Open the dead-letter file: emptied (``truncate_to`` None or 0) or cut to that length."""
        self._open_key(DEAD_LETTERS, truncate_to)

    def _open_key(self, key: str, length: int | None) -> None:
        path = self.path_of(key)
        if path is None:
            if key != "0":
                raise UsageError(f"output {key!r} has no file: pass --side-outputs PREFIX")
            self._open[key] = _Output(None, sys.stdout.buffer)
            return
        try:
            if length:
                os.truncate(path, length)
                handle = open(path, "ab")  # noqa: SIM115 - closed in close()
            else:
                handle = open(path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise RunnerIOError(f"cannot write output {str(path)!r}: {reason}") from exc
        self._open[key] = _Output(path, handle)

    def _side(self, key: str, what: str) -> _Output:
        if self.side_prefix is None:
            raise UsageError(
                f"the operator emitted {what} but --output is '-': pass --side-outputs PREFIX to "
                f"write it to PREFIX.{key}"
            )
        self._open_key(key, None)
        return self._open[key]

    # -- the sinks ---------------------------------------------------------------------------

    def emit(self, target_id: int, data: bytes) -> None:
        """Write ``data`` as one line of target ``target_id``'s output."""
        if b"\n" in data:
            shown = repr(data[:60]) + ("..." if len(data) > 60 else "")
            raise OutputRecordError(
                f"the operator emitted a record with a newline byte on target {target_id} "
                f"({shown}): outputs hold one record per line; escape or encode it (JSON, "
                "base64) in the operator"
            )
        key = output_key(target_id)
        out = self._open.get(key)
        if out is None:
            out = self._side(key, f"a record on target {target_id}")
        handle = out.handle
        handle.write(data)
        handle.write(b"\n")

    def emit_dead_letter(self, line: bytes) -> None:
        """Append one dead letter (a JSON line) to the dead-letter file."""
        handle = self._open[DEAD_LETTERS].handle
        handle.write(line)
        handle.write(b"\n")

    def emit_watermark(self, target_id: int, watermark: int) -> None:
        """Append ``TARGET WATERMARK`` to the watermark file."""
        out = self._open.get(WATERMARKS)
        if out is None:
            out = self._side(WATERMARKS, f"watermark {watermark} on target {target_id}")
        out.handle.write(f"{target_id} {watermark}\n".encode())

    # -- checkpoints -------------------------------------------------------------------------

    def sync(self) -> dict[str, dict[str, object]]:
        """Flush and fsync every output; return ``{key: {"path", "length"}}`` as now written.

        stdout is flushed but has neither path nor length (it cannot be cut back on recovery).
        """
        state: dict[str, dict[str, object]] = {}
        for key, out in sorted(self._open.items()):
            try:
                out.handle.flush()
                if out.path is None:
                    state[key] = {"path": None, "length": None}
                    continue
                fd = out.handle.fileno()
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    os.fsync(fd)
                state[key] = {"path": str(out.path), "length": out.handle.tell()}
            except OSError as exc:
                raise RunnerIOError(f"cannot write output {str(out.path or '-')!r}: {exc}") from exc
        return state

    def close(self) -> None:
        """Flush and close the files (stdout is flushed, not closed). Idempotent."""
        opened, self._open = self._open, {}
        errors: list[OSError] = []
        for out in opened.values():
            try:
                if out.path is None:
                    out.handle.flush()
                else:
                    out.handle.close()
            except OSError as exc:
                errors.append(exc)
        if errors:
            raise RunnerIOError(f"cannot write output: {errors[0]}") from errors[0]
