"""The state directory of ``fssdk run``: its layout, its lock, and its checkpoints.

::

    STATE_DIR/
      fssdk-state.json            the owner: layout version, key-format version, operator
      run.lock                    flock()ed by the run in progress; holds its pid
      db/                         the live database (scratch: replaced from a checkpoint on start)
      checkpoints/
        checkpoint-00000007/      a RocksDB checkpoint (table files hard-linked, the rest copied)
        checkpoint-00000007.json  its metadata: records, input position, output lengths, ...

A checkpoint is *complete* when its metadata file exists, parses and names its own id, and its
database directory exists. The metadata is written last (to a temporary file, fsync'd, renamed
atomically, then the directory fsync'd), so a crash at any moment leaves either a complete
checkpoint or debris that :meth:`StateDir.remove_incomplete` deletes on the next start. Pruning
deletes a checkpoint's metadata before its database, so a half-pruned checkpoint is debris too
(a database without metadata, or metadata without a database, whichever order a power loss
leaves the two deletions in). A complete checkpoint is *sound* when RocksDB also opens it and
reads every entry with checksums verified (:meth:`StateDir.verify`); a resume uses the newest
sound one.

The first start adopts the directory by writing ``fssdk-state.json`` the same way; a
``fssdk-state.json.tmp`` without it is debris of an adoption that never completed, and the next
start adopts the directory afresh.

``FSSDK_TEST_PAUSE_AT=STAGE[@ID]`` is a test hook: at that stage of checkpoint ``ID`` (any id if
omitted) the runner writes ``fssdk-test-pause STAGE ID`` to stderr and sleeps, so that a test can
kill it there. Stages, in order: ``adopt-before-rename`` (id 0: the first start, before
``fssdk-state.json.tmp`` is renamed), ``before-snapshot``, ``after-snapshot``, ``before-rename``,
``after-metadata``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import stat
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from rocksdict import AccessType, Options, Rdict, ReadOptions

from fssdk import _keyformat as kf
from fssdk.runtime._run_errors import StateDirError
from fssdk.stores._rocksdb import RocksDBBackend

STATE_FILE: Final = "fssdk-state.json"
LOCK_FILE: Final = "run.lock"
DB_DIR: Final = "db"
CHECKPOINTS_DIR: Final = "checkpoints"
RESTORING_DIR: Final = "db.restoring"
VERIFYING_DIR: Final = "db.verifying"
#: Debris of a first start killed before it renamed the state file into place.
STATE_FILE_TMP: Final = STATE_FILE + ".tmp"
#: Version of this directory layout and of the metadata files; another one is refused.
LAYOUT_VERSION: Final = 1
_CHECKPOINT_PREFIX: Final = "checkpoint-"
_LINKED_SUFFIXES: Final = (".sst", ".blob")
#: Files of a checkpoint that RocksDB does not sync itself (it syncs the files it copies or
#: creates and the checkpoint directory; rocksdict adds its own configuration file).
_UNSYNCED_FILES: Final = ("rocksdict-config.json",)
_PAUSE_ENV: Final = "FSSDK_TEST_PAUSE_AT"
_PAUSE_SECONDS: Final = 120.0


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (directories: so that renames and creations in it persist)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(
    path: Path, document: Mapping[str, Any], *, pause_stage: str = "", checkpoint_id: int = 0
) -> None:
    """Write ``document`` to ``path`` so that readers see the old file or the whole new one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    if pause_stage:
        pause_point(pause_stage, checkpoint_id)
    os.replace(tmp, path)
    fsync_path(path.parent)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None if it is missing, unreadable or not an object."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def pause_point(stage: str, checkpoint_id: int) -> None:
    """The ``FSSDK_TEST_PAUSE_AT`` hook (see the module docstring); does nothing when unset."""
    wanted = os.environ.get(_PAUSE_ENV)
    if not wanted:
        return
    name, _, ident = wanted.partition("@")
    if name != stage or (ident and int(ident) != checkpoint_id):
        return
    sys.stderr.write(f"fssdk-test-pause {stage} {checkpoint_id}\n")
    sys.stderr.flush()
    time.sleep(_PAUSE_SECONDS)


def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (hard links counted in each tree they are in)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


def copy_database(source: Path, target: Path) -> None:
    """Copy a RocksDB directory: hard-link immutable table files, copy the rest.

    Table files are never modified once written, so a link is as good as a copy and costs
    nothing; the manifest, WAL and small files are copied because RocksDB appends to them. The
    copies are writable by their owner even when the source is read-only (RocksDB and rocksdict
    open them for writing, even to read a database).
    """
    target.mkdir(parents=True)
    for entry in source.iterdir():
        destination = target / entry.name
        if entry.suffix in _LINKED_SUFFIXES:
            try:
                os.link(entry, destination)
                continue
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
        shutil.copy2(entry, destination)
        mode = destination.stat().st_mode
        if not mode & stat.S_IWUSR:
            destination.chmod(mode | stat.S_IWUSR)


def verify_database(path: Path) -> None:
    """Open the RocksDB database at ``path`` read-only and read every entry of every column
    family with checksums verified; raise what RocksDB raises on the first damage.

    Opening checks that every table file has the size the manifest records; reading checks
    every block's checksum. Cost: one pass over the whole database (1-2 µs per entry measured).
    """
    families = Rdict.list_cf(str(path))
    db = Rdict(
        str(path),
        Options(raw_mode=True),
        column_families={name: Options(raw_mode=True) for name in families if name != "default"},
        access_type=AccessType.read_only(),
    )
    try:
        for name in families:
            options = ReadOptions()
            options.set_verify_checksums(True)
            table = db if name == "default" else db.get_column_family(name)
            cursor = table.iter(options)
            cursor.seek_to_first()
            while cursor.valid():
                cursor.next()
            cursor.status()  # an iteration that met damage just ends: the status says why
            del cursor, table
    finally:
        db.close()


def verify_copy(source: Path, scratch: Path) -> str | None:
    """Copy the database ``source`` to ``scratch`` (replaced, then deleted) and verify the copy.

    None if it verifies, else RocksDB's complaint with ``scratch`` named as ``source``.
    """
    _remove(scratch)
    copy_database(source, scratch)
    try:
        verify_database(scratch)
    except Exception as exc:  # RocksDB reports damage as a bare Exception or an OSError
        found = " ".join(str(exc).split()) or type(exc).__name__
        return found.replace(str(scratch), str(source))
    finally:
        _remove(scratch)
    return None


@dataclass(frozen=True)
class CheckpointInfo:
    """A complete checkpoint: its id, database directory and metadata."""

    id: int
    path: Path
    metadata: dict[str, Any]


class StateDir:
    """A state directory; :meth:`open` locks it for a run, the constructor only reads it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.db_path = self.path / DB_DIR
        self.checkpoints_path = self.path / CHECKPOINTS_DIR
        self._lock_fd: int | None = None

    def __repr__(self) -> str:
        return f"<StateDir {str(self.path)!r}>"

    # -- ownership and locking ---------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        operator_identity: str,
        operator_spec: str,
        *,
        fresh: bool = False,
    ) -> StateDir:
        """Create or adopt ``path`` for a run of ``operator_identity`` and lock it.

        Refuses (``StateDirError``) a path that is a file, a non-empty directory that is not a
        state directory, one of another layout or key-format version or another operator, and
        one locked by another run. With ``fresh``, a state directory's checkpoints, database
        and ownership are discarded first (under the lock), whatever operator owned it.
        """
        state = cls(path)
        state._prepare_directory()
        state.lock()
        try:
            if fresh:
                state.discard_everything()
            state._adopt(operator_identity, operator_spec)
        except BaseException:
            state.release()
            raise
        return state

    def _prepare_directory(self) -> None:
        where = str(self.path)
        if self.path.exists() and not self.path.is_dir():
            raise StateDirError(f"state dir {where!r} exists and is not a directory")
        if self.path.is_dir() and not (self.path / STATE_FILE).exists():
            debris = (LOCK_FILE, STATE_FILE_TMP)
            leftovers = sorted(p.name for p in self.path.iterdir() if p.name not in debris)
            if leftovers:
                shown = ", ".join(leftovers[:5]) + (", ..." if len(leftovers) > 5 else "")
                raise StateDirError(
                    f"state dir {where!r} is not empty and has no {STATE_FILE} ({shown}): it is "
                    "not an fssdk state directory; pass a new or empty directory"
                )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateDirError(f"cannot create state dir {where!r}: {exc}") from exc

    def lock(self) -> None:
        """Take the run lock (``flock`` on ``run.lock``), or raise naming the pid that holds it."""
        lock_path = self.path / LOCK_FILE
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateDirError(f"cannot open lock file {str(lock_path)!r}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self.lock_holder()
            who = f"process {holder}" if holder else "another process"
            raise StateDirError(
                f"state dir {str(self.path)!r} is locked: {who} is running on it; wait for it to "
                "finish or stop it (or use another --state-dir)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def lock_holder(self) -> int | None:
        """The pid written in the lock file by the last run, if any (it may have exited)."""
        try:
            text = (self.path / LOCK_FILE).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None

    def is_locked(self) -> bool:
        """True while a run holds the lock."""
        try:
            fd = os.open(self.path / LOCK_FILE, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def release(self) -> None:
        """Release the run lock (closing the descriptor drops the flock). Idempotent."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def read_state_file(self) -> dict[str, Any] | None:
        """The ownership record, or None for a directory no run has adopted yet."""
        return read_json(self.path / STATE_FILE)

    def _adopt(self, operator_identity: str, operator_spec: str) -> None:
        where = str(self.path)
        state_file = self.path / STATE_FILE
        if not state_file.exists():
            write_json_atomic(
                state_file,
                {
                    "layout_version": LAYOUT_VERSION,
                    "key_format_version": kf.FORMAT_VERSION,
                    "operator": operator_identity,
                    "operator_spec": operator_spec,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
                pause_stage="adopt-before-rename",
            )
            return
        owner = self.read_state_file()
        if owner is None:
            raise StateDirError(self._damaged_owner(state_file))
        check_compatible(owner, where)
        if owner.get("operator") != operator_identity:
            raise StateDirError(
                f"state dir {where!r} belongs to operator {owner.get('operator')!r} "
                f"(from {owner.get('operator_spec')!r}), not {operator_identity!r}: pass that "
                "operator, or another --state-dir"
            )

    def _damaged_owner(self, state_file: Path) -> str:
        """What is wrong with an unreadable ownership record, and what the user can do."""
        try:
            json.loads(state_file.read_text(encoding="utf-8"))
            problem = "not a JSON object"
        except (OSError, ValueError) as exc:
            problem = str(exc)
        checkpoints = self.complete_checkpoints()
        where = str(self.path)
        message = (
            f"state dir {where!r}: {STATE_FILE} is unreadable or corrupt ({problem}). It records "
            "which operator owns the directory, and no run uses the directory without it. Put "
            f"back a copy of the state dir (or of {STATE_FILE}) from a backup, or start over with "
            "--fresh, which discards the checkpoints and the database and rewrites the outputs"
        )
        if not checkpoints:
            return message + " (there is no checkpoint to lose)"
        newest = checkpoints[-1].metadata
        owner = {
            "layout_version": newest.get("layout_version"),
            "key_format_version": newest.get("key_format_version"),
            "operator": newest.get("operator"),
        }
        return (
            f"{message}. To keep the checkpoints ({len(checkpoints)}, the newest #"
            f"{checkpoints[-1].id} naming the operator), write {STATE_FILE} as "
            f"{json.dumps(owner)} and check them with `fssdk state inspect {where} --verify`"
        )

    # -- checkpoints -------------------------------------------------------------------------

    def _entries(self) -> Iterator[tuple[int, Path]]:
        if not self.checkpoints_path.is_dir():
            return
        for entry in self.checkpoints_path.iterdir():
            if entry.name.startswith(_CHECKPOINT_PREFIX):
                digits = entry.name[len(_CHECKPOINT_PREFIX) :].split(".", 1)[0]
                if digits.isdigit():
                    yield int(digits), entry

    def checkpoint_path(self, checkpoint_id: int) -> Path:
        """The database directory of checkpoint ``checkpoint_id``."""
        return self.checkpoints_path / f"{_CHECKPOINT_PREFIX}{checkpoint_id:08d}"

    def metadata_path(self, checkpoint_id: int) -> Path:
        """The metadata file of checkpoint ``checkpoint_id``."""
        return self.checkpoints_path / f"{_CHECKPOINT_PREFIX}{checkpoint_id:08d}.json"

    def complete_checkpoints(self) -> list[CheckpointInfo]:
        """The complete checkpoints, oldest first."""
        found: list[CheckpointInfo] = []
        for checkpoint_id in sorted({ident for ident, _ in self._entries()}):
            metadata = read_json(self.metadata_path(checkpoint_id))
            database = self.checkpoint_path(checkpoint_id)
            if (
                metadata is not None
                and metadata.get("id") == checkpoint_id
                and (database / "CURRENT").is_file()
            ):
                found.append(CheckpointInfo(checkpoint_id, database, metadata))
        return found

    def remove_incomplete(self) -> list[str]:
        """Delete everything under checkpoints/ that is not part of a complete checkpoint."""
        keep: set[Path] = set()
        for info in self.complete_checkpoints():
            keep.update((info.path, self.metadata_path(info.id)))
        removed = []
        for _, entry in list(self._entries()):
            if entry not in keep:
                _remove(entry)
                removed.append(entry.name)
        return removed

    def write_checkpoint(
        self, backend: RocksDBBackend, checkpoint_id: int, metadata: Mapping[str, Any]
    ) -> CheckpointInfo:
        """Snapshot ``backend`` as checkpoint ``checkpoint_id``, then write its metadata last."""
        self.checkpoints_path.mkdir(exist_ok=True)
        database = self.checkpoint_path(checkpoint_id)
        meta_path = self.metadata_path(checkpoint_id)
        for leftover in (meta_path, database, database.with_name(database.name + ".tmp")):
            _remove(leftover)
        pause_point("before-snapshot", checkpoint_id)
        backend.checkpoint(database)
        for name in _UNSYNCED_FILES:
            if (database / name).exists():
                fsync_path(database / name)
        fsync_path(self.checkpoints_path)
        pause_point("after-snapshot", checkpoint_id)
        document = {
            **metadata,
            "id": checkpoint_id,
            "layout_version": LAYOUT_VERSION,
            "key_format_version": kf.FORMAT_VERSION,
        }
        write_json_atomic(
            meta_path, document, pause_stage="before-rename", checkpoint_id=checkpoint_id
        )
        pause_point("after-metadata", checkpoint_id)
        return CheckpointInfo(checkpoint_id, database, document)

    def prune(self, keep: int) -> None:
        """Delete all but the newest ``keep`` complete checkpoints (metadata first)."""
        self.discard(self.complete_checkpoints()[:-keep])

    def discard(self, checkpoints: Sequence[CheckpointInfo]) -> None:
        """Delete these checkpoints, each one's metadata before its database."""
        for info in checkpoints:
            self.metadata_path(info.id).unlink()
            _remove(info.path)

    def discard_everything(self) -> None:
        """Delete the checkpoints, the live database and the ownership record (``--fresh``)."""
        for name in (CHECKPOINTS_DIR, DB_DIR, RESTORING_DIR, VERIFYING_DIR, STATE_FILE):
            _remove(self.path / name)
        fsync_path(self.path)

    def verify(self, info: CheckpointInfo) -> str | None:
        """None if checkpoint ``info`` is sound, else what RocksDB found wrong with it.

        It is opened through a copy (hard links) in the state dir, so that opening it leaves the
        checkpoint as it is. Cost: see :func:`verify_database`.
        """
        return verify_copy(info.path, self.path / VERIFYING_DIR)

    def restore(self, info: CheckpointInfo) -> None:
        """Replace the live database with a copy of checkpoint ``info``."""
        staging = self.path / RESTORING_DIR
        _remove(staging)
        copy_database(info.path, staging)
        _remove(self.db_path)
        os.rename(staging, self.db_path)
        fsync_path(self.path)

    def wipe_database(self) -> None:
        """Delete the live database (a fresh start)."""
        _remove(self.path / RESTORING_DIR)
        _remove(self.db_path)


def check_compatible(owner: Mapping[str, Any], where: str) -> None:
    """Raise unless an ownership or metadata record has this fssdk's layout and key format."""
    layout = owner.get("layout_version")
    if layout != LAYOUT_VERSION:
        raise StateDirError(
            f"state dir {where!r} has layout version {layout!r}; this fssdk reads version "
            f"{LAYOUT_VERSION}"
        )
    version = owner.get("key_format_version")
    if version != kf.FORMAT_VERSION:
        raise StateDirError(
            f"state dir {where!r} was written with key-format version {version!r}; this fssdk "
            f"reads version {kf.FORMAT_VERSION}: use the fssdk that wrote it, or another "
            "--state-dir"
        )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
