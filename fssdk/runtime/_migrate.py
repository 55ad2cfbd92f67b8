"""``fssdk state migrate``: finish one state's migration offline, as a checkpoint a run resumes.

A state whose codec changed incompatibly reads its old values through ``migrate=`` as they are
read, so every later run must keep ``migrate=``. This command rewrites all of them at once,
with the operator's own code:

1. load the operator and take the state directory's lock (as a run does: the operator that
   owns the directory, so a run cannot write it meanwhile);
2. restore the newest sound checkpoint into the live database (:mod:`._recovery`);
3. call the driver's ``init`` with the checkpoint's configuration: it declares its states,
   with the codecs and ``migrate=`` of this operator file;
4. hand the store and key group to the state library's pass (an entry point of the
   :data:`STATE_MIGRATIONS` group; fssdk_advanced's rewrites every value in the declared
   encoding, streamed, then drops ``migrating_from`` from the descriptor);
5. call ``take_checkpoint`` and write the next checkpoint with the progress of the restored one
   (records, input position and digest, output lengths, watermarks, configuration) and this
   operator's hash; then ``close``. What the operator emits meanwhile is dropped: a run's
   ``init`` emits it again when it resumes.

Nothing counts until the checkpoint's metadata is written (last, atomically), so a crash at any
moment leaves the restored checkpoint the newest: the same command runs the pass again, and
``fssdk run`` resumes from whichever checkpoint is newest.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Final

from fssdk._errors import NotInitializedError
from fssdk._store import Store
from fssdk.runtime._checkpoint import StateDir, check_compatible
from fssdk.runtime._context import LocalContext
from fssdk.runtime._loader import LoadedOperator, load_operator
from fssdk.runtime._recovery import Warn, newest_sound
from fssdk.runtime._run_errors import OperatorFailedError, RunnerError, StateDirError, UsageError
from fssdk.runtime._runner import operator_traceback, stderr_warning
from fssdk.stores._rocksdb import RocksDBBackend

#: The entry-point group through which a state library offers its pass: a callable
#: ``(store, key_group) -> entries rewritten`` that raises ``NotInitializedError`` when no
#: state of its own is declared there (fssdk_advanced registers ``migrate_all``).
STATE_MIGRATIONS: Final = "fssdk.state_migrations"

#: Metadata keys that ``StateDir.write_checkpoint`` writes itself.
_WRITTEN_BY_STATE_DIR: Final = ("id", "layout_version", "key_format_version")


@dataclass(frozen=True)
class MigrationSummary:
    """What ``fssdk state migrate`` did: the state, the entries it rewrote, the checkpoint it
    started from and the one it wrote."""

    store: str
    key_group: bytes
    rewritten: int
    from_checkpoint: int
    checkpoint: int
    seconds: float


def migrate_state(
    operator: str,
    state_dir: str | Path,
    store: str,
    key_group: bytes,
    *,
    warn: Warn | None = None,
) -> MigrationSummary:
    """Rewrite every value of the state at ``store``/``key_group`` of ``state_dir`` in the
    encoding ``operator`` declares, as a new checkpoint (module doc).

    Raises ``StateDirError`` (no such state dir, no checkpoint, locked, another operator),
    ``UsageError`` (no such store, or no state declared there by ``init``) and
    ``OperatorFailedError`` (``init``, the migrate function or ``take_checkpoint`` raised); the
    state dir then keeps what it had. ``warn`` receives warnings (default: stderr).
    """
    began = time.monotonic()
    where = str(state_dir)
    if StateDir(state_dir).read_state_file() is None:
        raise StateDirError(f"{where!r} is not an fssdk state directory (nothing to migrate)")
    loaded = load_operator(operator)
    state = StateDir.open(state_dir, loaded.identity, loaded.spec)
    try:
        state.remove_incomplete()
        checkpoints = state.complete_checkpoints()
        if not checkpoints:
            raise StateDirError(f"state dir {where!r} has no complete checkpoint to migrate")
        checkpoint, damaged = newest_sound(state, checkpoints, warn or stderr_warning)
        check_compatible(checkpoint.metadata, where)
        state.restore(checkpoint)
        state.discard(damaged)
        new_id = checkpoint.id + 1
        with _opened(state) as backend:
            if store not in backend.store_names():
                shown = ", ".join(backend.store_names()) or "none"
                raise UsageError(f"no store {store!r} in checkpoint {checkpoint.id} ({shown})")
            ctx = LocalContext(
                backend, checkpoint.metadata["config"], sink=_drop, watermark_sink=_drop
            )
            calls = _OperatorCalls(loaded, checkpoint.id)
            calls.run("init()", lambda: loaded.driver.init(ctx, ctx.config))
            rewritten = calls.migrate(ctx.get_or_create_store(store), key_group)
            calls.run("take_checkpoint()", lambda: loaded.driver.take_checkpoint(ctx, new_id))
            backend.flush()
            metadata = {
                **{k: v for k, v in checkpoint.metadata.items() if k not in _WRITTEN_BY_STATE_DIR},
                "operator": loaded.identity,
                "operator_sha256": loaded.source_sha256,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "migrated": {
                    "store": store,
                    "key_group": key_group.hex(),
                    "entries": rewritten,
                    "from_checkpoint": checkpoint.id,
                },
            }
            state.write_checkpoint(backend, new_id, metadata)
            calls.run("close()", lambda: loaded.driver.close(ctx))
            ctx.close()
    finally:
        state.release()
    return MigrationSummary(
        store, key_group, rewritten, checkpoint.id, new_id, time.monotonic() - began
    )


@contextlib.contextmanager
def _opened(state: StateDir) -> Iterator[RocksDBBackend]:
    try:
        backend = RocksDBBackend(state.db_path)
    except Exception as exc:
        raise StateDirError(f"cannot open the state database: {exc}") from exc
    try:
        yield backend
    finally:
        backend.close()


def _drop(target_id: int, data: Any) -> None:
    """Where what the operator emits during a migration goes: nowhere (see the module doc)."""


class _OperatorCalls:
    """Calls into the operator, their failures reported as a run reports them."""

    def __init__(self, operator: LoadedOperator, checkpoint_id: int) -> None:
        self.operator = operator
        self.checkpoint_id = checkpoint_id

    def failed(self, exc: BaseException, where: str) -> OperatorFailedError:
        return OperatorFailedError(
            f"the operator raised {type(exc).__name__} {where}: {exc}; the state dir keeps "
            f"checkpoint {self.checkpoint_id} as it was: fix the operator and run the same "
            "command again",
            operator_traceback=operator_traceback(exc, self.operator),
        )

    def run(self, method: str, call: Callable[[], None]) -> None:
        try:
            call()
        except RunnerError:
            raise
        except Exception as exc:
            raise self.failed(exc, f"in {method}") from exc

    def migrate(self, store: Store, key_group: bytes) -> int:
        """The first installed state library's pass over ``key_group`` of ``store``."""
        migrations: list[Callable[[Store, bytes], int]] = [
            entry.load() for entry in entry_points(group=STATE_MIGRATIONS)
        ]
        if not migrations:
            raise UsageError("no installed state library can migrate state (pip install fssdk)")
        refused: list[str] = []
        for migrate in migrations:
            try:
                return migrate(store, key_group)
            except NotInitializedError as exc:
                refused.append(exc.message)
            except RunnerError:
                raise
            except Exception as exc:
                raise self.failed(
                    exc, f"while migrating store {store.name!r} key group {key_group!r}"
                ) from exc
        raise UsageError("; ".join(refused))
