"""The ``fssdk`` command line (also ``python -m fssdk``).

::

    fssdk run OPERATOR --input FILE|- --output FILE|- (--state-dir DIR | --memory) [options]
    fssdk run OPERATOR --engine flink --key-field NAME [--parallelism N] --input FILE ...
    fssdk state inspect DIR [--store NAME [--key-group KG --key K --namespace NS | --simple]]

Errors are reported as one ``fssdk: error: ...`` message on stderr (no traceback, except the
operator's own when importing it failed) with the exit code of the error's kind (see
:mod:`fssdk.runtime._run_errors`): 1 the operator raised, 2 usage, 3 state dir, 4 input/output,
5 a record with a newline, 130 interrupted. docs/runtime.md has the details; docs/flink.md
those of ``--engine flink`` (:mod:`fssdk.flink._cli`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from fssdk.flink import _cli as flink_cli
from fssdk.runtime import _inspect as ins
from fssdk.runtime._config import build_config
from fssdk.runtime._run_errors import RunnerError, UsageError
from fssdk.runtime._runner import (
    DEFAULT_CHECKPOINT_INTERVAL,
    DEFAULT_KEEP_CHECKPOINTS,
    RunProgress,
    RunSummary,
    run_operator,
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fssdk`` (exposed for the documentation and the tests)."""
    parser = argparse.ArgumentParser(
        prog="fssdk", description="Run fssdk operators locally and inspect their state."
    )
    parser.add_argument("--version", action="version", version=f"fssdk {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run an operator over newline-delimited records",
        description=(
            "Feed each line of --input to the operator's process(); write what it emits on "
            "target 0 to --output, one record per line. With --state-dir, checkpoint and resume "
            "exactly after a crash (rerun the same command)."
        ),
        epilog=(
            "exit codes: 0 done, 1 the operator raised, 2 usage (options, --set, config file, "
            "operator not found or without driver), 3 state dir (locked, incompatible, input or "
            "output changed), 4 input/output, 5 a record with a newline, 130 interrupted. "
            "See docs/runtime.md."
        ),
    )
    run.add_argument("operator", metavar="OPERATOR",
                     help="a .py file or a package.module that calls fssdk.run(driver)")
    run.add_argument("--input", required=True, metavar="FILE|-", help="input records ('-': stdin)")
    run.add_argument("--output", required=True, metavar="FILE|-",
                     help="records emitted on target 0 ('-': stdout)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--state-dir", metavar="DIR",
                       help="RocksDB state, checkpoints and the lock (resumed when it exists)")
    where.add_argument("--memory", action="store_true",
                       help="keep state in memory: no state dir, no recovery")
    run.add_argument("--checkpoint-interval", type=_positive_int,
                     default=DEFAULT_CHECKPOINT_INTERVAL, metavar="N",
                     help=f"checkpoint every N records (default {DEFAULT_CHECKPOINT_INTERVAL})")
    run.add_argument("--keep-checkpoints", type=_positive_int, default=DEFAULT_KEEP_CHECKPOINTS,
                     metavar="N", help=f"checkpoints kept (default {DEFAULT_KEEP_CHECKPOINTS})")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                     help="a config entry for Driver.init (repeatable; overrides --config-file)")
    run.add_argument("--config-file", metavar="config.yaml",
                     help="function config: name, type: processor, init: {key: value}")
    run.add_argument("--watermark-every", type=_positive_int, metavar="N",
                     help="call process_watermark every N records")
    run.add_argument("--watermark-field", metavar="NAME",
                     help="records are JSON objects; the watermark is the largest integer NAME "
                          "seen (minus --watermark-delay) instead of the record count")
    run.add_argument("--watermark-delay", type=_non_negative_int, default=0, metavar="D",
                     help="with --watermark-field: how far the watermark trails the largest time")
    run.add_argument("--final-watermark", action="store_true",
                     help="after the last record, send watermark 2**63-1 (fires every window)")
    run.add_argument("--side-outputs", metavar="PREFIX",
                     help="records on target N go to PREFIX.N, emitted watermarks to "
                          "PREFIX.watermarks (default PREFIX: the --output file)")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no progress bar, no summary (warnings and errors still print)")
    flink_cli.add_arguments(run)

    state = commands.add_parser("state", help="look at a state directory")
    state_commands = state.add_subparsers(dest="state_command", required=True, metavar="COMMAND")
    inspect = state_commands.add_parser(
        "inspect",
        help="stores, entry counts, key groups, and one scope's entries",
        description=(
            "Show a state directory: owner, checkpoints, and per store its entries, bytes and "
            "key groups. Reads the newest checkpoint (a copy of it), so it works during a run. "
            "Byte strings print as text when printable, else as hex:...; arguments accept both."
        ),
    )
    inspect.add_argument("state_dir", metavar="DIR")
    source = inspect.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", type=_positive_int, metavar="ID",
                        help="read this checkpoint (default: the newest)")
    source.add_argument("--live", action="store_true",
                        help="read the live database (only when no run holds the directory)")
    inspect.add_argument("--store", metavar="NAME", help="show this store's key groups and entries")
    inspect.add_argument("--simple", action="store_true", help="with --store: dump its simple keys")
    inspect.add_argument("--key-group", metavar="KG", help="with --store: dump this scope")
    inspect.add_argument("--key", default="", metavar="K",
                         help="the scope's primary key (default '')")
    inspect.add_argument("--namespace", default="", metavar="NS",
                         help="the scope's namespace (default '')")
    inspect.add_argument("--limit", type=_positive_int, default=100, metavar="N",
                         help="entries shown in a dump (default 100)")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser


def _version() -> str:
    try:
        return metadata.version("fssdk")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- fssdk run ---------------------------------------------------------------------------------


class _ProgressBar:
    """A rich progress bar on stderr: input bytes (when known), records, records/s, checkpoints."""

    def __init__(self, operator: str) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            TextColumn("{task.fields[records]:,} records"),
            TextColumn("{task.fields[rate]:,.0f}/s"),
            TextColumn("{task.fields[checkpoints]} checkpoints"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        name = operator.rsplit("/", 1)[-1]
        self._task = self._progress.add_task(
            name, total=None, records=0, rate=0.0, checkpoints=0
        )
        self._progress.start()

    def print(self, message: str) -> None:
        """Print a line above the bar."""
        self._progress.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def update(self, progress: RunProgress) -> None:
        rate = progress.records_this_run / progress.elapsed if progress.elapsed > 0 else 0.0
        self._progress.update(
            self._task,
            total=progress.input_size,
            completed=progress.input_position,
            records=progress.records,
            rate=rate,
            checkpoints=progress.checkpoints,
        )

    def stop(self) -> None:
        self._progress.stop()


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_summary(summary: RunSummary, memory: bool) -> str:
    """The end-of-run summary printed on stderr."""
    resumed = (
        f", resumed from checkpoint {summary.resumed_from}" if summary.resumed_from else ""
    )
    lines = [
        f"fssdk: {summary.operator}: {summary.records_this_run:,} records in "
        f"{summary.elapsed:.2f} s ({summary.records_per_second:,.0f} records/s){resumed}; "
        f"{summary.records:,} in all"
    ]
    if memory:
        lines.append("  checkpoints: none persisted (--memory)")
    else:
        times = summary.checkpoint_seconds
        timing = (
            f", {1000 * sum(times) / len(times):.1f} ms each on average "
            f"(max {1000 * max(times):.1f} ms)"
            if times else ""
        )
        lines.append(
            f"  checkpoints: {summary.checkpoints} taken, last #{summary.last_checkpoint_id}"
            f"{timing}"
        )
    if summary.state_bytes is not None:
        lines.append(f"  state: {_size(summary.state_bytes)} on disk")
    for path, size in summary.outputs.items():
        lines.append(f"  output: {path}" + (f" ({_size(size)})" if size is not None else ""))
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    config, _function = build_config(args.config_file, args.settings)
    if args.engine == "flink":
        return flink_cli.run(args, dict(config))
    flink_cli.check_local(args)
    bar: _ProgressBar | None = None
    if not args.quiet and sys.stderr.isatty():
        bar = _ProgressBar(args.operator)

    def warn(message: str) -> None:
        if bar is not None:
            bar.print(f"fssdk: warning: {message}")
        else:
            sys.stderr.write(f"fssdk: warning: {message}\n")

    try:
        summary = run_operator(
            args.operator,
            input=args.input,
            output=args.output,
            state_dir=args.state_dir,
            memory=args.memory,
            config=config,
            checkpoint_interval=args.checkpoint_interval,
            keep_checkpoints=args.keep_checkpoints,
            watermark_every=args.watermark_every,
            watermark_field=args.watermark_field,
            watermark_delay=args.watermark_delay,
            final_watermark=args.final_watermark,
            side_outputs=args.side_outputs,
            progress=bar.update if bar is not None else None,
            warn=warn,
        )
    finally:
        if bar is not None:
            bar.stop()
    if not args.quiet:
        sys.stderr.write(format_summary(summary, args.memory) + "\n")
    return 0


# -- fssdk state inspect -----------------------------------------------------------------------


def _inspect(args: argparse.Namespace) -> int:
    if (args.simple or args.key_group is not None) and args.store is None:
        raise UsageError("--simple and --key-group need --store NAME")
    if args.simple and args.key_group is not None:
        raise UsageError("give either --simple or --key-group, not both")
    report: dict[str, Any] = ins.describe_state_dir(args.state_dir)
    has_data = (
        bool(report["checkpoints"]) or args.live or args.store is not None
        or args.checkpoint is not None
    )
    if has_data:
        with ins.open_snapshot(
            args.state_dir, checkpoint_id=args.checkpoint, live=args.live
        ) as snapshot:
            report["source"] = snapshot.label
            names = [args.store] if args.store is not None else snapshot.stores
            stats = [ins.store_stats(snapshot, name) for name in names]
            report["stores"] = [_stats_json(s, with_groups=args.store is not None) for s in stats]
            if args.store is not None and (args.simple or args.key_group is not None):
                if args.simple:
                    entries, total = ins.dump_simple(snapshot, args.store, args.limit)
                    scope: dict[str, Any] = {"store": args.store, "simple": True}
                else:
                    kg = ins.parse_bytes(args.key_group, "--key-group")
                    key = ins.parse_bytes(args.key, "--key")
                    ns = ins.parse_bytes(args.namespace, "--namespace")
                    entries, total = ins.dump_scope(
                        snapshot, args.store, key_group=kg, key=key, namespace=ns, limit=args.limit
                    )
                    scope = {"store": args.store, "key_group": ins.show_bytes(kg),
                             "key": ins.show_bytes(key), "namespace": ins.show_bytes(ns)}
                scope["total"] = total
                scope["entries"] = [
                    {"key": ins.show_bytes(k), "value": ins.show_bytes(v), "value_bytes": len(v)}
                    for k, v in entries
                ]
                report["dump"] = scope
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    else:
        _print_report(report)
    return 0


def _stats_json(stats: ins.StoreStats, *, with_groups: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": stats.name,
        "simple_entries": stats.simple_entries,
        "complex_entries": stats.complex_entries,
        "merge_operands": stats.merge_operands,
        "bytes": stats.size,
        "key_groups": len(stats.key_groups),
    }
    if with_groups:
        document["groups"] = [
            {
                "key_group": ins.show_bytes(group.key_group),
                "entries": group.entries,
                "keys": len(group.keys),
                "namespaces": len(group.namespaces),
                "bytes": group.size,
            }
            for group in stats.key_groups.values()
        ]
    return document


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", overflow="fold")
    return table


def _print_report(report: dict[str, Any]) -> None:
    console = Console(highlight=False, soft_wrap=False)
    owner = report["owner"]
    locked = f"in use by pid {report['lock_holder']}" if report["locked"] else "not in use"
    console.print(
        f"state dir {report['path']}: operator {owner.get('operator')} (from "
        f"{owner.get('operator_spec')}), key format v{owner.get('key_format_version')}, {locked}",
        markup=False, soft_wrap=True,
    )
    if report["live_bytes"] is not None:
        console.print(f"live database: {_size(report['live_bytes'])}", soft_wrap=True)
    if report["checkpoints"]:
        table = _table("checkpoints", ("id", "records", "input bytes", "size", "created"))
        for ck in report["checkpoints"]:
            table.add_row(str(ck["id"]), f"{ck['records']:,}", f"{ck['input_position']:,}",
                          _size(ck["bytes"]), str(ck["created"]))
        console.print(table)
    else:
        console.print("no complete checkpoint yet")
    if "stores" not in report:
        return
    table = _table(f"stores ({report['source']})",
                   ("store", "simple", "complex", "operands", "groups", "bytes"))
    for store in report["stores"]:
        table.add_row(Text(store["name"]), f"{store['simple_entries']:,}",
                      f"{store['complex_entries']:,}", f"{store['merge_operands']:,}",
                      str(store["key_groups"]), _size(store["bytes"]))
    console.print(table)
    for store in report["stores"]:
        if store.get("groups"):
            table = _table(f"key groups of {store['name']}",
                           ("key group", "entries", "keys", "namespaces", "bytes"))
            for group in store["groups"]:
                table.add_row(Text(group["key_group"]), f"{group['entries']:,}",
                              f"{group['keys']:,}", f"{group['namespaces']:,}",
                              _size(group["bytes"]))
            console.print(table)
    if "dump" in report:
        _print_dump(console, report["dump"])


def _print_dump(console: Console, dump: dict[str, Any]) -> None:
    if dump.get("simple"):
        title = f"simple keys of {dump['store']}"
    else:
        title = (f"{dump['store']}: key group {dump['key_group']!r}, key {dump['key']!r}, "
                 f"namespace {dump['namespace']!r}")
    console.print(Text(f"{title}: {dump['total']:,} entries"), soft_wrap=True)
    table = Table()
    table.add_column("key", overflow="fold")
    table.add_column("value", overflow="fold")
    for entry in dump["entries"]:
        table.add_row(Text(entry["key"] or '""'), Text(entry["value"] or '""'))
    console.print(table)
    if dump["total"] > len(dump["entries"]):
        console.print(f"... {dump['total'] - len(dump['entries']):,} more (--limit)")


# -- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        return _inspect(args)
    except RunnerError as exc:
        sys.stderr.write(f"fssdk: error: {exc.message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("fssdk: error: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
