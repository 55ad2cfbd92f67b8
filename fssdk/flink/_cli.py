"""``fssdk run OPERATOR --engine flink``: the command line's Flink options and their run.

Imports PyFlink only when a Flink run starts, so that ``fssdk`` works without the extra.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys

from fssdk.runtime._run_errors import UsageError

#: Options of the local engine that mean nothing on Flink, with why.
_LOCAL_ONLY = {
    "state_dir": ("--state-dir", "state lives in Flink (use --savepoint / --from-savepoint)"),
    "memory": ("--memory", "state lives in Flink's RocksDB backend"),
    "watermark_every": (
        "--watermark-every",
        "give --watermark-field: Flink watermarks come from record timestamps",
    ),
    "final_watermark": (
        "--final-watermark",
        "the end of the input sends it on Flink, unless --savepoint keeps the job's time open",
    ),
}


def add_arguments(run: argparse.ArgumentParser) -> None:
    """Add ``--engine`` and the Flink options to the ``run`` subcommand."""
    flink = run.add_argument_group(
        "Flink (--engine flink; needs the flink extra and Java 17; see docs/flink.md)"
    )
    flink.add_argument(
        "--engine",
        choices=("local", "flink"),
        default="local",
        help="local: this process (default); flink: a local Flink mini-cluster",
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


def check_local(args: argparse.Namespace) -> None:
    """Raise UsageError when Flink options are given without ``--engine flink``."""
    for name, option in (
        ("key_field", "--key-field"),
        ("savepoint", "--savepoint"),
        ("from_savepoint", "--from-savepoint"),
    ):
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
    if shutil.which("java") is None:
        raise UsageError("--engine flink needs Java (17 or later) on the PATH")
    try:
        # PyFlink loads only for a Flink run: the command line works without the extra.
        from fssdk.flink._job import json_field_key, run_file_job  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(
            f"--engine flink needs PyFlink: pip install 'fssdk[flink]' ({exc})"
        ) from exc
    result = run_file_job(
        args.operator,
        input=args.input,
        output=args.output,
        key_of=functools.partial(json_field_key, args.key_field),
        parallelism=args.parallelism,
        config=config,
        savepoint_dir=args.savepoint,
        from_savepoint=args.from_savepoint,
        timestamp_field=args.watermark_field,
        watermark_delay=args.watermark_delay,
        side_output_prefix=args.side_outputs,
    )
    if not args.quiet:
        lines = ", ".join(f"target {t}: {n:,} lines" for t, n in sorted(result.outputs.items()))
        sys.stderr.write(
            f"fssdk: {args.operator} on Flink (parallelism {args.parallelism}): "
            f"{result.records:,} records in {result.elapsed:.1f} s; {lines or 'no output'}\n"
        )
        if result.savepoint is not None:
            sys.stderr.write(f"  savepoint: {result.savepoint}\n")
    return 0
