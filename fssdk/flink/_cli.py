"""``fssdk run OPERATOR --engine flink``: the command line's Flink options and their run.

Imports PyFlink only when a Flink run starts, so that ``fssdk`` works without the extra.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
from typing import Any

from fssdk.flink._settings import Restarts, Watermarks, split_address
from fssdk.runtime._run_errors import UsageError

#: Options of the local engine that mean nothing on Flink, with why.
_LOCAL_ONLY = {
    "state_dir": ("--state-dir", "state lives in Flink (use --savepoint / --from-savepoint)"),
    "memory": ("--memory", "state lives in Flink's RocksDB backend"),
    "watermark_every": (
        "--watermark-every",
        "give --watermark-field: Flink watermarks come from record timestamps",
    ),
}
#: Options of --engine flink, checked to be absent without it.
_FLINK_ONLY = (
    ("key_field", "--key-field"),
    ("savepoint", "--savepoint"),
    ("from_savepoint", "--from-savepoint"),
    ("jobmanager", "--jobmanager"),
    ("restart_attempts", "--restart-attempts"),
    ("restart_delay", "--restart-delay"),
    ("job_dir", "--job-dir"),
)


def add_arguments(run: argparse.ArgumentParser) -> None:
    """Add ``--engine`` and the Flink options to the ``run`` subcommand."""
    flink = run.add_argument_group(
        "Flink (--engine flink; needs the flink extra and Java 17; see docs/flink.md)"
    )
    flink.add_argument(
        "--engine",
        choices=("local", "flink"),
        default="local",
        help="local: this process (default); flink: a Flink mini-cluster, or the session "
        "cluster of --jobmanager",
    )
    flink.add_argument(
        "--key-field",
        metavar="NAME",
        help="records are JSON objects keyed by field NAME (required with flink)",
    )
    flink.add_argument(
        "--parallelism",
        type=int,
        default=1,
        metavar="N",
        help="parallel instances of the operator (default 1)",
    )
    flink.add_argument(
        "--savepoint",
        metavar="DIR",
        help="once every input line is processed, stop with a savepoint in DIR",
    )
    flink.add_argument(
        "--from-savepoint",
        metavar="DIR",
        help="start from this savepoint (or the newest one in DIR), at any --parallelism",
    )
    flink.add_argument(
        "--jobmanager",
        metavar="HOST:PORT",
        help="submit the job to this running Flink session cluster (its REST address, as "
        "flink run -m) instead of starting a mini-cluster",
    )
    flink.add_argument(
        "--restart-attempts",
        type=int,
        metavar="N",
        help="restart a failed job up to N times from its newest checkpoint (default 0: a "
        "failure fails the run)",
    )
    flink.add_argument(
        "--restart-delay",
        type=int,
        metavar="MS",
        help="milliseconds between restarts (default 1000)",
    )
    flink.add_argument(
        "--job-dir",
        metavar="DIR",
        help="checkpoints and uncommitted output of the job go under DIR (kept); a folder the "
        "TaskManagers reach (default: a temporary folder, removed at the end)",
    )


def check_local(args: argparse.Namespace) -> None:
    """Raise UsageError when Flink options are given without ``--engine flink``."""
    for name, option in _FLINK_ONLY:
        if getattr(args, name) is not None:
            raise UsageError(f"{option} needs --engine flink")
    if args.state_dir is None and not args.memory:
        raise UsageError("give --state-dir DIR or --memory (or --engine flink)")


def run(args: argparse.Namespace, config: dict[str, str]) -> int:
    """Run ``args.operator`` on Flink as the parsed command line says; the exit code."""
    if args.key_field is None:
        raise UsageError("--engine flink needs --key-field NAME: Flink partitions state by key")
    for name, (option, why) in _LOCAL_ONLY.items():
        if getattr(args, name):
            raise UsageError(f"{option} does not apply to --engine flink: {why}")
    if args.input == "-":
        raise UsageError("--engine flink reads a file: --input - (stdin) is not supported")
    if args.jobmanager is not None:
        split_address(args.jobmanager)
    if args.final_watermark and args.savepoint is not None:
        raise UsageError(
            "--final-watermark does not go with --savepoint: the job stops with its event time "
            "open, to go on from the savepoint"
        )
    _require_flink("--engine flink")
    from fssdk.flink._job import json_field_key, run_file_job  # noqa: PLC0415

    result = run_file_job(
        args.operator,
        input=args.input,
        output=args.output,
        key_of=functools.partial(json_field_key, args.key_field),
        parallelism=args.parallelism,
        config=config,
        savepoint_dir=args.savepoint,
        from_savepoint=args.from_savepoint,
        watermarks=Watermarks(args.watermark_field, args.watermark_delay, args.final_watermark),
        side_output_prefix=args.side_outputs,
        jobmanager=args.jobmanager,
        restarts=_restarts(args),
        job_dir=args.job_dir,
    )
    if not args.quiet:
        lines = ", ".join(f"target {t}: {n:,} lines" for t, n in sorted(result.outputs.items()))
        where = f"cluster {args.jobmanager}" if args.jobmanager else "a mini-cluster"
        sys.stderr.write(
            f"fssdk: {args.operator} on Flink ({where}, parallelism {args.parallelism}): "
            f"{result.records:,} records in {result.elapsed:.1f} s; {lines or 'no output'}\n"
        )
        if result.savepoint is not None:
            sys.stderr.write(f"  savepoint: {result.savepoint}\n")
    return 0


def _require_flink(what: str) -> None:
    """UsageError unless Java is on the PATH and PyFlink imports. PyFlink loads only for a
    command that runs Flink: the command line works without the extra."""
    if shutil.which("java") is None:
        raise UsageError(f"{what} needs Java (17 or later) on the PATH")
    try:
        import pyflink.datastream  # noqa: F401, PLC0415
    except ImportError as exc:
        raise UsageError(f"{what} needs PyFlink: pip install 'fssdk[flink]' ({exc})") from exc


def _restarts(args: argparse.Namespace) -> Restarts:
    """The restart strategy of ``--restart-attempts`` and ``--restart-delay``."""
    attempts = 0 if args.restart_attempts is None else args.restart_attempts
    delay = 1_000 if args.restart_delay is None else args.restart_delay
    if attempts < 0:
        raise UsageError(f"--restart-attempts must be >= 0, got {attempts}")
    if delay < 0:
        raise UsageError(f"--restart-delay must be >= 0, got {delay}")
    if args.restart_delay is not None and attempts == 0:
        raise UsageError("--restart-delay needs --restart-attempts N (N > 0)")
    return Restarts(attempts, delay)


# -- fssdk flink-cluster -----------------------------------------------------------------------


def add_cluster_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``fssdk flink-cluster start|stop|status DIR``."""
    cluster = commands.add_parser(
        "flink-cluster",
        parents=[common],
        help="start or stop a local Flink session cluster (needs the flink extra and Java 17)",
        description=(
            "A standalone Flink session cluster on this machine from the installed apache-flink "
            "package: one JobManager and N TaskManagers, each a JVM of its own, kept in DIR "
            "(configuration, logs, process ids). Submit jobs with fssdk run --engine flink "
            "--jobmanager ADDRESS. See docs/flink.md."
        ),
    )
    actions = cluster.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    start = actions.add_parser("start", parents=[common], help="start a cluster in DIR")
    start.add_argument("dir", metavar="DIR", help="the cluster's folder (created)")
    start.add_argument(
        "--taskmanagers", type=int, default=2, metavar="N", help="TaskManagers (default 2)"
    )
    start.add_argument(
        "--slots", type=int, default=1, metavar="N", help="task slots per TaskManager (default 1)"
    )
    start.add_argument(
        "--port", type=int, default=8081, metavar="PORT", help="REST port (default 8081; 0: any)"
    )
    for name, what in (
        ("stop", "stop every process of the cluster in DIR, by its own process ids"),
        ("status", "the cluster's address and which of its processes run"),
        ("add-taskmanager", "start one more TaskManager (to replace a lost one)"),
    ):
        action = actions.add_parser(name, parents=[common], help=what)
        action.add_argument("dir", metavar="DIR", help="the cluster's folder")
    cluster.set_defaults(handler=run_cluster)


def run_cluster(args: argparse.Namespace) -> int:
    """Carry out ``fssdk flink-cluster ACTION DIR``; the exit code."""
    if shutil.which("java") is None:
        raise UsageError("a Flink cluster needs Java (17 or later) on the PATH")
    from fssdk.flink._cluster import LocalCluster  # noqa: PLC0415 - loads PyFlink's paths

    if args.cluster_command == "start":
        cluster = LocalCluster(
            args.dir, taskmanagers=args.taskmanagers, slots=args.slots, port=args.port
        )
        cluster.start()
        print(
            f"Flink session cluster running at {cluster.address}: {args.taskmanagers} "
            f"TaskManagers x {args.slots} slots; logs in {cluster.directory / 'log'}\n"
            f"  fssdk run OPERATOR --engine flink --jobmanager {cluster.address} ...\n"
            f"  fssdk flink-cluster stop {args.dir}"
        )
        return 0
    cluster = LocalCluster.attach(args.dir)
    if args.cluster_command == "stop":
        running = cluster.alive()
        cluster.stop()
        print(f"stopped {len(running)} processes of the cluster in {cluster.directory}")
    elif args.cluster_command == "add-taskmanager":
        process = cluster.add_taskmanager()
        print(f"started TaskManager {process.pid}")
    else:
        print(f"address: {cluster.address}")
        for process in cluster.processes:
            print(f"{process.role} {process.pid}: {'running' if process.alive() else 'gone'}")
    return 0


# -- fssdk state export-flink -------------------------------------------------------------------


def add_export_command(state_commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``fssdk state export-flink STATE_DIR --savepoint DIR [--parallelism N]``."""
    export = state_commands.add_parser(
        "export-flink",
        parents=[common],
        help="turn a state dir into a Flink savepoint (needs the flink extra and Java 17)",
        description=(
            "Write the newest sound checkpoint of STATE_DIR as a Flink savepoint in DIR, which "
            "fssdk run OPERATOR --engine flink --from-savepoint DIR resumes at any parallelism: "
            "keyed state goes to its key's partition, TimerService timers become Flink timers. "
            "Runs a bootstrap job on a Flink mini-cluster. See docs/flink.md."
        ),
        epilog=(
            "exit codes: 0 done, 1 the bootstrap job failed, 2 usage, 3 state dir (not one, "
            "no checkpoint, every checkpoint damaged, state that cannot go to Flink)."
        ),
    )
    export.add_argument("state_dir", metavar="STATE_DIR")
    export.add_argument(
        "--savepoint", required=True, metavar="DIR", help="write the savepoint in DIR/savepoint-*"
    )
    export.add_argument(
        "--parallelism",
        type=int,
        default=1,
        metavar="N",
        help="parallelism of the savepoint's job (default 1); a resumed job may use another",
    )
    export.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Carry out ``fssdk state export-flink``; the exit code."""
    _require_flink("export-flink")
    from fssdk.flink._bootstrap import export_to_savepoint  # noqa: PLC0415
    from fssdk.runtime._runner import stderr_warning  # noqa: PLC0415

    result = export_to_savepoint(
        args.state_dir, args.savepoint, parallelism=args.parallelism, warn=stderr_warning
    )
    summary = result.summary
    records = summary.checkpoint.metadata.get("records")
    print(
        f"exported checkpoint {summary.checkpoint.id} of {args.state_dir} ({records} records): "
        f"{summary.entries} entries and {summary.timers} timers of {len(summary.stores)} "
        f"stores, {summary.left_out} descriptor and clock entries left to Flink\n"
        f"wrote savepoint {result.savepoint} (parallelism {result.parallelism}) in "
        f"{result.elapsed:.1f} s\n"
        f"  fssdk run OPERATOR --engine flink --key-field NAME --from-savepoint "
        f"{args.savepoint} --input FILE --output FILE"
    )
    return 0
