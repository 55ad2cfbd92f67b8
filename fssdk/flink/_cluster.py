"""A standalone Flink session cluster on this machine, from the installed apache-flink package.

``fssdk flink-cluster start DIR --taskmanagers N`` (and :class:`LocalCluster` in Python) starts
one JobManager and ``N`` TaskManagers, each a JVM of its own, with Flink's scripts in the
package (``pyflink/bin/jobmanager.sh start-foreground``, ``taskmanager.sh start-foreground``).
Everything the cluster writes lives in ``DIR``:

- ``conf/``: the package's configuration with this cluster's ports, slots, heartbeats and
  Python (this interpreter, so that the TaskManagers' embedded Python imports what it imports);
- ``lib/``: links to the package's jars plus ``opt/flink-python*.jar``, which Flink needs on the
  cluster's classpath for a second Python job on one TaskManager;
- ``log/``, ``pids/`` (Flink's own pid files: never shared with another cluster);
- ``cluster.json``: the REST address and, per process, its id and start time.

Stopping signals exactly the processes in ``cluster.json`` whose start time (from ``/proc``)
still matches, so a process id reused by the system is never signalled. Each process runs in a
session of its own, so the cluster outlives the command that started it.

Memory: about 1.6 GB for the JobManager and 1.7 GB per TaskManager (Flink's defaults).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from fssdk.runtime._run_errors import RunnerError, UsageError

#: How long start() waits for the REST endpoint and every TaskManager.
START_TIMEOUT_S: Final = 120.0
#: Heartbeats: a killed TaskManager is noticed within seconds, not Flink's default 50 s.
HEARTBEAT_INTERVAL_MS: Final = 1_000
HEARTBEAT_TIMEOUT_MS: Final = 15_000
STATE_FILE: Final = "cluster.json"


class ClusterError(RunnerError):
    """A local cluster did not start, or its folder does not describe one."""


def _pyflink_home() -> Path:
    try:
        import pyflink  # noqa: PLC0415 - the flink extra, loaded for a cluster only
    except ImportError as exc:
        raise UsageError(
            f"a Flink cluster needs PyFlink: pip install 'fssdk[flink]' ({exc})"
        ) from exc
    return Path(pyflink.__file__).parent


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot), ``None`` if it is gone or
    has exited and waits to be collected by its parent (a zombie runs nothing any more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after it are plain.
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[19])


@dataclass(frozen=True)
class Process:
    """One JVM of the cluster: its role, id and start time (to recognise it later)."""

    role: str
    pid: int
    started: int

    def alive(self) -> bool:
        """True while this very process runs (not another one that got its id)."""
        return _start_time(self.pid) == self.started

    def signal(self, number: int) -> bool:
        """Send ``number`` if the process is still this one; whether it was sent."""
        if not self.alive():
            return False
        try:
            os.kill(self.pid, number)
        except ProcessLookupError:
            return False
        return True


def worker_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a TaskManager: this interpreter's folder first on the ``PATH`` (the
    embedded Python then is this virtual environment's) and ``sys.path`` in ``PYTHONPATH``."""
    env = dict(os.environ if base is None else base)
    folder = os.path.dirname(sys.executable)
    path = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry and entry != folder]
    env["PATH"] = os.pathsep.join([folder, *path])
    entries = [entry for entry in sys.path if entry and os.path.isdir(entry)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entries))
    return env


def _set(tree: dict[str, Any], dotted: str, value: object) -> None:
    """Set ``a.b.c`` in a nested YAML mapping (Flink's config.yaml nests keys by their dots)."""
    *parents, leaf = dotted.split(".")
    node = tree
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


class LocalCluster:
    """A standalone session cluster of one JobManager and TaskManagers, kept in ``directory``.

    >>> cluster = LocalCluster("/tmp/flink-cluster", taskmanagers=2)  # doctest: +SKIP
    >>> cluster.start(); cluster.address  # doctest: +SKIP
    'localhost:8081'
    >>> cluster.stop()  # doctest: +SKIP

    Also a context manager that stops the cluster on exit, whatever happened.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        taskmanagers: int = 2,
        slots: int = 1,
        port: int = 8081,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        if type(taskmanagers) is not int or taskmanagers < 1:
            raise UsageError(f"--taskmanagers must be a positive integer, got {taskmanagers!r}")
        if type(slots) is not int or slots < 1:
            raise UsageError(f"--slots must be a positive integer, got {slots!r}")
        self.directory: Final = Path(directory).resolve()
        self.taskmanagers: Final = taskmanagers
        self.slots: Final = slots
        self.port = port
        self.settings: Final = dict(settings or {})
        self.processes: list[Process] = []

    # -- state -----------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``host:port`` of the REST endpoint, for ``fssdk run --jobmanager``."""
        return f"localhost:{self.port}"

    @classmethod
    def attach(cls, directory: str | os.PathLike[str]) -> LocalCluster:
        """The cluster that ``start`` recorded in ``directory``."""
        folder = Path(directory).resolve()
        try:
            state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ClusterError(
                f"{folder} holds no local Flink cluster ({STATE_FILE}: {exc})"
            ) from exc
        cluster = cls(
            folder,
            taskmanagers=state["taskmanagers"],
            slots=state["slots"],
            port=state["port"],
        )
        cluster.processes = [Process(**entry) for entry in state["processes"]]
        return cluster

    def _save(self) -> None:
        state = {
            "port": self.port,
            "taskmanagers": self.taskmanagers,
            "slots": self.slots,
            "processes": [vars(process) for process in self.processes],
        }
        partial = self.directory / (STATE_FILE + ".partial")
        partial.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, self.directory / STATE_FILE)

    def alive(self, role: str | None = None) -> list[Process]:
        """The processes of the cluster that still run (of ``role``, if given)."""
        return [p for p in self.processes if (role is None or p.role == role) and p.alive()]

    # -- start and stop --------------------------------------------------------------------

    def _configure(self) -> None:
        home = _pyflink_home()
        conf = self.directory / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        for name in os.listdir(home / "conf"):
            if name != "config.yaml":
                shutil.copy(home / "conf" / name, conf / name)
        tree = yaml.safe_load((home / "conf" / "config.yaml").read_text(encoding="utf-8")) or {}
        python = sys.executable
        settings = {
            "rest.port": self.port,
            "rest.address": "localhost",
            "rest.bind-address": "localhost",
            "jobmanager.rpc.address": "localhost",
            "jobmanager.rpc.port": free_port(),
            "taskmanager.numberOfTaskSlots": self.slots,
            "heartbeat.interval": HEARTBEAT_INTERVAL_MS,
            "heartbeat.timeout": HEARTBEAT_TIMEOUT_MS,
            "python.executable": python,
            "python.client.executable": python,
            "python.pythonpath": os.pathsep.join(
                entry for entry in sys.path if entry and os.path.isdir(entry)
            ),
            "io.tmp.dirs": str(self.directory / "tmp"),
            **self.settings,
        }
        for key, value in settings.items():
            _set(tree, key, value)
        (conf / "config.yaml").write_text(yaml.safe_dump(tree, sort_keys=True), encoding="utf-8")
        lib = self.directory / "lib"
        lib.mkdir(exist_ok=True)
        for jar in [*(home / "lib").glob("*.jar"), *(home / "opt").glob("flink-python*.jar")]:
            link = lib / jar.name
            if not link.exists():
                link.symlink_to(jar)
        for folder in ("log", "pids", "tmp"):
            (self.directory / folder).mkdir(exist_ok=True)

    def _launch(self, role: str) -> Process:
        home = _pyflink_home()
        script = "jobmanager.sh" if role == "jobmanager" else "taskmanager.sh"
        env = worker_environment()
        env.update(
            FLINK_CONF_DIR=str(self.directory / "conf"),
            FLINK_LIB_DIR=str(self.directory / "lib"),
            FLINK_LOG_DIR=str(self.directory / "log"),
            FLINK_PID_DIR=str(self.directory / "pids"),
            FLINK_IDENT_STRING=f"fssdk-{self.port}",
        )
        index = sum(1 for process in self.processes if process.role == role)
        out = open(self.directory / "log" / f"{role}-{index}.out", "ab")  # noqa: SIM115
        with out:
            child = subprocess.Popen(
                ["bash", str(home / "bin" / script), "start-foreground"],
                cwd=self.directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # flink-console.sh execs the JVM: the child's id is the JVM's.
        started = _start_time(child.pid)
        if started is None:
            raise ClusterError(f"the {role} exited at once; see {out.name}")
        process = Process(role, child.pid, started)
        self.processes.append(process)
        self._save()
        return process

    def start(self) -> None:
        """Start the JobManager and the TaskManagers; return once all are registered.

        ``ClusterError`` (and everything started stopped again) if that takes longer than
        :data:`START_TIMEOUT_S` or a process exits.
        """
        if (self.directory / STATE_FILE).exists() and LocalCluster.attach(self.directory).alive():
            raise ClusterError(f"a cluster is already running in {self.directory}")
        if self.port == 0:
            self.port = free_port()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.processes = []
        try:
            self._configure()
            self._launch("jobmanager")
            for _ in range(self.taskmanagers):
                self._launch("taskmanager")
            self.wait_for_taskmanagers(self.taskmanagers)
        except BaseException:
            self.stop()
            raise

    def add_taskmanager(self) -> Process:
        """Start one more TaskManager (to replace a lost one); does not wait for it."""
        return self._launch("taskmanager")

    def overview(self) -> dict[str, Any]:
        """The JobManager's ``/overview`` (TaskManagers, slots, jobs)."""
        with urllib.request.urlopen(f"http://{self.address}/overview", timeout=5) as answer:
            found: dict[str, Any] = json.load(answer)
            return found

    def wait_for_taskmanagers(self, count: int, timeout: float = START_TIMEOUT_S) -> None:
        """Wait until ``count`` TaskManagers are registered; ``ClusterError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        seen: object = "no answer"
        while time.monotonic() < deadline:
            if not self.alive("jobmanager"):
                raise ClusterError(f"the JobManager exited; see {self.directory / 'log'}")
            try:
                seen = self.overview().get("taskmanagers")
            except (OSError, ValueError) as exc:
                seen = exc
            if seen == count:
                return
            time.sleep(0.5)
        raise ClusterError(
            f"the cluster in {self.directory} did not get {count} TaskManagers within "
            f"{timeout:.0f} s (last seen: {seen}); see {self.directory / 'log'}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every process this cluster started (SIGTERM, then SIGKILL after ``timeout``)."""
        for process in reversed(self.processes):
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in self.alive():
            process.signal(signal.SIGKILL)
        for process in self.processes:
            _reap(process.pid)
        if (self.directory / STATE_FILE).exists():
            self.processes = []
            self._save()

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is a child of this process that has exited (no zombie left)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_for_job(address: str, job_id: str, timeout: float) -> dict[str, Any]:
    """The REST view of job ``job_id`` once it is RUNNING with all tasks running, or finished."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{address}/jobs/{job_id}", timeout=5) as answer:
                job: dict[str, Any] = json.load(answer)
        except (urllib.error.URLError, OSError, ValueError):
            job = {}
        if job.get("state") in {"FINISHED", "FAILED", "CANCELED"}:
            return job
        if job.get("state") == "RUNNING" and job.get("status-counts", {}).get("RUNNING"):
            return job
        if time.monotonic() > deadline:
            raise ClusterError(f"job {job_id} is not running after {timeout:.0f} s: {job}")
        time.sleep(0.3)
