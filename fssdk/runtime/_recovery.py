"""Resume policy: which checkpoint a run resumes from, and whether this run may resume it.

A resume takes the newest *sound* checkpoint (:func:`newest_sound`): complete ones are verified
newest first, and the damaged ones before the first that verifies are reported and discarded;
when none verifies the run is refused, since checkpoints share their table files (hard links) and
one damaged file can break them all. Then :func:`plan_resume` checks that this run may continue
that checkpoint: the same layout and key format, configuration, watermark settings and outputs,
an input whose consumed bytes are unchanged, and outputs at least as long as the checkpoint
recorded. It returns a :class:`Resume`, which the runner applies (restore the database, skip the
input, cut the outputs back). Everything that can refuse a resume lives here, and nothing here
writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fssdk.runtime._checkpoint import CheckpointInfo, StateDir, check_compatible
from fssdk.runtime._outputs import DEAD_LETTERS
from fssdk.runtime._run_errors import RunnerError, StateDirError

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Resume:
    """What a run continues from: the checkpoint and the progress it recorded.

    ``input_position`` is where the input resumes (0 for a checkpoint fed from a stream), with
    ``input_sha256`` the digest of the bytes before it (``None``: nothing to check).
    ``outputs`` maps each output key (``"0"`` for the main output) to its recorded
    ``{"path", "length"}``; ``dead_letters`` counts the records skipped before the checkpoint.
    """

    checkpoint: CheckpointInfo
    records: int
    input_position: int
    input_sha256: str | None
    outputs: dict[str, dict[str, Any]]
    max_event: int | None
    last_watermark: int | None
    final_sent: bool
    dead_letters: int = 0


def newest_sound(
    state: StateDir, checkpoints: Sequence[CheckpointInfo], warn: Warn
) -> tuple[CheckpointInfo, list[CheckpointInfo]]:
    """The newest checkpoint that verifies, and the newer ones that do not (to discard).

    Damage is reported through ``warn``; ``StateDirError`` when no checkpoint verifies.
    Cost: one verification per damaged checkpoint, plus one (see ``StateDir.verify``).
    """
    damaged: list[CheckpointInfo] = []
    problems: list[str] = []
    for checkpoint in reversed(checkpoints):
        problem = state.verify(checkpoint)
        if problem is None:
            break
        damaged.append(checkpoint)
        problems.append(f"checkpoint {checkpoint.id}: {problem}")
    else:
        raise StateDirError(
            f"state dir {str(state.path)!r}: every kept checkpoint is damaged "
            f"({'; '.join(problems)}). Checkpoints share their table files (hard links), so "
            "one damaged file can break them all: start over with --fresh (or another "
            "--state-dir), or put back a copy of the state dir from a backup"
        )
    if damaged:
        ids = ", ".join(str(info.id) for info in damaged)
        warn(
            f"{'; '.join(problems)}; falling back to checkpoint {checkpoint.id}, the newest "
            f"that verifies (checkpoint {ids} is discarded; the run redoes its records exactly)"
        )
    return checkpoint, damaged


@dataclass(frozen=True)
class RunIdentity:
    """What a run must share with the checkpoint it resumes: the settings that shape its
    output, its outputs' files, and what its input can do."""

    operator_sha256: str | None
    config: Mapping[str, str]
    watermark_settings: dict[str, Any]
    input_replayable: bool
    output_path: Callable[[str], Path | None]


def plan_resume(
    state: StateDir, checkpoint: CheckpointInfo, run: RunIdentity, warn: Warn
) -> Resume:
    """Check that ``run`` may continue ``checkpoint`` and say from where.

    ``StateDirError`` names what differs and what to do; metadata that does not parse is
    reported as written by something else.
    """
    try:
        return _plan(state, checkpoint, run, warn)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RunnerError):
            raise
        raise StateDirError(
            f"state dir {str(state.path)!r}: the metadata of checkpoint {checkpoint.id} is "
            f"malformed ({type(exc).__name__}: {exc}); it was not written by this fssdk"
        ) from exc


def _plan(state: StateDir, checkpoint: CheckpointInfo, run: RunIdentity, warn: Warn) -> Resume:
    meta = checkpoint.metadata
    where = str(state.path)
    check_compatible(meta, where)
    recorded_source = meta.get("operator_sha256")
    if recorded_source and run.operator_sha256 and recorded_source != run.operator_sha256:
        warn(
            f"operator changed since checkpoint {checkpoint.id}: running the new code on the "
            "existing state (upgrade)"
        )
    _check_same(where, "configuration", meta.get("config"), run.config, "--set/--config-file")
    _check_same(
        where,
        "watermark settings",
        meta.get("watermark_settings"),
        run.watermark_settings,
        "the --watermark-* options",
    )
    recorded_input = meta["input"]
    position = int(recorded_input["position"])
    digest: str | None = None
    if recorded_input["kind"] == "file":
        if not run.input_replayable:
            raise StateDirError(
                f"state dir {where!r} has consumed {position} bytes of "
                f"{recorded_input['path']!r}; resume with that file as --input (not a stream)"
            )
        digest = recorded_input["sha256"]
    else:
        warn(
            f"checkpoint {checkpoint.id} was fed from a stream ({recorded_input['path']!r}): "
            "its state is resumed and this input is read from its start"
        )
        position = 0
    outputs: dict[str, dict[str, Any]] = meta["outputs"]
    for key, recorded in outputs.items():
        current = run.output_path(key)
        _check_output(key, recorded, checkpoint.id, current, warn=warn, state_dir=state.path)
    watermark = meta["watermark"]
    return Resume(
        checkpoint=checkpoint,
        records=int(meta["records"]),
        input_position=position,
        input_sha256=digest,
        outputs=outputs,
        max_event=watermark["max_event"],
        last_watermark=watermark["last"],
        final_sent=bool(watermark.get("final_sent", False)),
        dead_letters=int(meta.get("dead_letters", 0)),
    )


def _check_same(where: str, what: str, recorded: object, current: object, option: str) -> None:
    if recorded == current:
        return
    raise StateDirError(
        f"state dir {where!r} was run with other {what}: "
        f"{json.dumps(recorded, sort_keys=True)}, now {json.dumps(current, sort_keys=True)}; "
        f"pass the same {option}, or use another --state-dir"
    )


def _check_output(
    key: str,
    recorded: Mapping[str, Any],
    checkpoint_id: int,
    current: Path | None,
    *,
    warn: Warn,
    state_dir: Path,
) -> None:
    """Check that output ``key`` is the file the checkpoint recorded (``current`` is where this
    run writes it), at least as long as recorded. A file at the place the checkpoint recorded
    relative to the state dir is the same output, moved along with it."""
    path, length = recorded["path"], recorded["length"]
    name = {"0": "--output", DEAD_LETTERS: "dead letters"}.get(key, f"output {key!r}")
    if key == DEAD_LETTERS and current is None:
        raise StateDirError(
            f"this state dir was run with --on-error skip and writes its dead letters to "
            f"{path!r}: pass --on-error skip --dead-letter {path} to resume, or use another "
            "--state-dir"
        )
    if path is None:
        warn(
            f"checkpoint {checkpoint_id} wrote {name} to stdout: records emitted after it by "
            "the interrupted run cannot be taken back"
        )
        return
    relative: str | None = recorded.get("relative")
    if (
        relative is not None
        and current not in (None, Path(path))
        and ((state_dir / relative).resolve() == current)
    ):
        warn(
            f"{name} is {str(current)!r}, which checkpoint {checkpoint_id} recorded as "
            f"{path!r}: the state dir and its outputs were moved together"
        )
        path = str(current)
    if current is None or str(current) != path:
        shown = "stdout" if current is None else repr(str(current))
        flag = {"0": "--output", DEAD_LETTERS: "--dead-letter"}.get(key, "--side-outputs")
        place = f" ({relative!r} from the state dir)" if relative is not None else ""
        raise StateDirError(
            f"this state dir writes {name} to {path!r}{place}, not {shown}: pass the same "
            f"{flag} to resume, or use another --state-dir. A state dir copied or moved "
            "elsewhere resumes with its outputs moved along, at the same place relative to it"
        )
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        size = -1
    if size < length:
        state = "is missing" if size < 0 else f"has {size} bytes"
        raise StateDirError(
            f"output {path!r} {state} but checkpoint {checkpoint_id} recorded {length}: it was "
            "changed outside fssdk, so the run cannot resume exactly. Put the file back as it was "
            "(from a backup), start over with --fresh (discards the state dir's checkpoints and "
            "rewrites the outputs from the first record), or use another --state-dir"
        )
