"""The ``fssdk`` command line (also ``python -m fssdk``).

::

    fssdk run OPERATOR --input FILE|- --output FILE|- (--state-dir DIR | --memory) [options]
    fssdk run OPERATOR --engine flink --key-field NAME [--parallelism N] --input FILE ...
    fssdk state inspect DIR [--verify] [--store NAME [--key-group KG [--keys] --key K
                        --namespace NS | --simple]]
    fssdk build-component -o FILE

Each subcommand is one parser built by its own ``_add_*`` function and one handler function
(``set_defaults(handler=...)``); a new subcommand adds both. Errors are reported as one
``fssdk: error: ...`` message on stderr with the exit code of the error's kind (see
:mod:`fssdk.runtime._run_errors`): 1 the operator raised (followed by the operator's frames), 2
usage, 3 state dir, 4 input/output, 5 a record with a newline, 130 SIGINT, 143 SIGTERM. No
Python traceback, except with ``--traceback``. docs/runtime.md has the details; docs/flink.md
those of ``--engine flink`` (:mod:`fssdk.flink._cli`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypeAlias

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from fssdk._errors import SDKError
from fssdk.flink import _cli as flink_cli
from fssdk.reserved import is_reserved
from fssdk.runtime import _inspect as ins
from fssdk.runtime._checkpoint import StateDir, verify_copy
from fssdk.runtime._config import build_config
from fssdk.runtime._run_errors import (
    OperatorFailedError,
    RunnerError,
    StateDirError,
    UsageError,
)
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
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--traceback", action="store_true", help="on an error, also print the full Python stack"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(commands, common)
    state = commands.add_parser("state", help="look at a state directory")
    state_commands = state.add_subparsers(dest="state_command", required=True, metavar="COMMAND")
    _add_state_inspect(state_commands, common)
    _add_build_component(commands, common)
    return parser


Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add_run(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    run = commands.add_parser(
        "run",
        parents=[common],
        help="run an operator over newline-delimited records",
        description=(
            "Feed each line of --input to the operator's process(); write what it emits on "
            "target 0 to --output, one record per line. With --state-dir, checkpoint and resume "
            "exactly after a crash (rerun the same command); with a changed operator file, the "
            "same command runs the new code on the existing state (an upgrade)."
        ),
        epilog=(
            "exit codes: 0 done, 1 the operator raised, 2 usage (options, --set, config file, "
            "operator not found or without driver, --fresh unconfirmed), 3 state dir (locked, "
            "incompatible, input or output changed, every checkpoint damaged), 4 input/output, "
            "5 a record with a newline, 130 SIGINT, 143 SIGTERM. See docs/runtime.md."
        ),
    )
    run.set_defaults(handler=_run)
    run.add_argument(
        "operator",
        metavar="OPERATOR",
        help="a .py file or a package.module that calls fssdk.run(driver)",
    )
    run.add_argument("--input", required=True, metavar="FILE|-", help="input records ('-': stdin)")
    run.add_argument(
        "--output",
        required=True,
        metavar="FILE|-",
        help="records emitted on target 0 ('-': stdout)",
    )
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--state-dir",
        metavar="DIR",
        help="RocksDB state, checkpoints and the lock (resumed when it exists)",
    )
    where.add_argument(
        "--memory", action="store_true", help="keep state in memory: no state dir, no recovery"
    )
    run.add_argument(
        "--fresh",
        action="store_true",
        help="start over: discard the state dir's checkpoints and state and rewrite "
        "the outputs (asks first; see --yes)",
    )
    run.add_argument(
        "--yes",
        action="store_true",
        help="with --fresh: do not ask (needed when stdin is not a terminal)",
    )
    run.add_argument(
        "--checkpoint-interval",
        type=_positive_int,
        default=DEFAULT_CHECKPOINT_INTERVAL,
        metavar="N",
        help=f"checkpoint every N records (default {DEFAULT_CHECKPOINT_INTERVAL})",
    )
    run.add_argument(
        "--keep-checkpoints",
        type=_positive_int,
        default=DEFAULT_KEEP_CHECKPOINTS,
        metavar="N",
        help=f"checkpoints kept (default {DEFAULT_KEEP_CHECKPOINTS})",
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="settings",
        help="a config entry for Driver.init (repeatable; overrides --config-file)",
    )
    run.add_argument(
        "--config-file",
        metavar="config.yaml",
        help="function config: name, type: processor, init: {key: value}",
    )
    run.add_argument(
        "--watermark-every",
        type=_positive_int,
        metavar="N",
        help="call process_watermark every N records",
    )
    run.add_argument(
        "--watermark-field",
        metavar="NAME",
        help="records are JSON objects; the watermark is the largest integer NAME "
        "seen (minus --watermark-delay) instead of the record count",
    )
    run.add_argument(
        "--watermark-delay",
        type=_non_negative_int,
        default=0,
        metavar="D",
        help="with --watermark-field: how far the watermark trails the largest time",
    )
    run.add_argument(
        "--final-watermark",
        action="store_true",
        help="after the last record, send watermark 2**63-1 (fires every window)",
    )
    run.add_argument(
        "--side-outputs",
        metavar="PREFIX",
        help="records on target N go to PREFIX.N, emitted watermarks to "
        "PREFIX.watermarks (default PREFIX: the --output file)",
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar, no summary (warnings and errors still print)",
    )
    flink_cli.add_arguments(run)


def _add_state_inspect(state_commands: Subcommands, common: argparse.ArgumentParser) -> None:
    inspect = state_commands.add_parser(
        "inspect",
        parents=[common],
        help="stores, entry counts, key groups, and one scope's entries",
        description=(
            "Show a state directory: owner, checkpoints, and per store its entries, bytes and "
            "key groups. Reads the newest checkpoint (a copy of it), so it works during a run. "
            "Byte strings print as text when printable, else as hex:...; arguments accept both."
        ),
        epilog="exit codes: 0 done, 2 usage, 3 state dir unreadable or a checkpoint damaged.",
    )
    inspect.set_defaults(handler=_inspect)
    inspect.add_argument("state_dir", metavar="DIR")
    source = inspect.add_mutually_exclusive_group()
    source.add_argument(
        "--checkpoint",
        type=_positive_int,
        metavar="ID",
        help="read this checkpoint (default: the newest)",
    )
    source.add_argument(
        "--live",
        action="store_true",
        help="read the live database (only when no run holds the directory)",
    )
    inspect.add_argument(
        "--verify",
        action="store_true",
        help="open every kept checkpoint and read all of it with checksums "
        "verified; report each (exit code 3 if one is damaged)",
    )
    inspect.add_argument("--store", metavar="NAME", help="show this store's key groups and entries")
    inspect.add_argument("--simple", action="store_true", help="with --store: dump its simple keys")
    inspect.add_argument("--key-group", metavar="KG", help="with --store: dump this scope")
    inspect.add_argument(
        "--keys",
        action="store_true",
        help="with --key-group: list its primary keys (in --namespace if given)",
    )
    inspect.add_argument(
        "--key", default="", metavar="K", help="the scope's primary key (default '')"
    )
    inspect.add_argument("--namespace", metavar="NS", help="the scope's namespace (default '')")
    inspect.add_argument(
        "--limit",
        type=_positive_int,
        default=100,
        metavar="N",
        help="entries shown in a dump (default 100)",
    )
    inspect.add_argument("--json", action="store_true", help="print JSON instead of tables")


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
        self._task = self._progress.add_task(name, total=None, records=0, rate=0.0, checkpoints=0)
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
    resumed = f", resumed from checkpoint {summary.resumed_from}" if summary.resumed_from else ""
    lines = [
        f"fssdk: {summary.operator}: {summary.records_this_run:,} records in "
        f"{summary.elapsed:.2f} s ({summary.records_per_second:,.0f} records/s){resumed}; "
        f"{summary.records:,} in all"
    ]
    if summary.nothing_new:
        lines.append(
            f"  input already fully processed at checkpoint {summary.resumed_from}; nothing to "
            "do (append lines to the input to go on, or --fresh to start over)"
        )
    if memory:
        lines.append("  checkpoints: none persisted (--memory)")
    else:
        times = summary.checkpoint_seconds
        timing = (
            f", {1000 * sum(times) / len(times):.1f} ms each on average "
            f"(max {1000 * max(times):.1f} ms)"
            if times
            else ""
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


def _confirm_fresh(args: argparse.Namespace) -> None:
    """Ask before ``--fresh`` discards checkpoints; refuse when nobody can be asked."""
    if args.yes and not args.fresh:
        raise UsageError("--yes only confirms --fresh")
    if not args.fresh or args.yes or args.state_dir is None:
        return
    state = StateDir(args.state_dir)
    if state.read_state_file() is None:
        return  # nothing of fssdk's there: nothing to discard
    checkpoints = state.complete_checkpoints()
    kept = (
        f"checkpoint {checkpoints[-1].id} ({checkpoints[-1].metadata.get('records')} records "
        "processed)"
        if checkpoints
        else "its state"
    )
    question = (
        f"--fresh discards {kept} of state dir {args.state_dir!r} and rewrites the outputs "
        f"from the start"
    )
    if args.input == "-" or not sys.stdin.isatty():
        why = "stdin is the input" if args.input == "-" else "stdin is not a terminal to ask"
        raise UsageError(f"{question}: add --yes to confirm ({why})")
    sys.stderr.write(f"fssdk: {question}. Go on? [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise UsageError("--fresh not confirmed: nothing was changed")


def _run(args: argparse.Namespace) -> int:
    config, _function = build_config(args.config_file, args.settings)
    if args.engine == "flink":
        return flink_cli.run(args, dict(config))
    flink_cli.check_local(args)
    _confirm_fresh(args)
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
            fresh=args.fresh,
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


@contextlib.contextmanager
def _reading_state_dir(path: str) -> Iterator[None]:
    """Translate what reading a state dir raises into :class:`StateDirError` (exit code 3).

    RocksDB reports damage and refused reads as a bare ``Exception`` (``Corruption: ...``,
    ``IO error: ...``), Python and rocksdict missing rights as an ``OSError``; nothing else in
    ``state inspect`` raises either.
    """
    try:
        yield
    except RunnerError:
        raise
    except Exception as exc:
        if not isinstance(exc, OSError) and type(exc) is not Exception:
            raise
        found = " ".join(str(exc).split())
        if isinstance(exc, PermissionError) or "Permission denied" in found:
            raise StateDirError(
                f"cannot read state dir {path!r}: {found}: inspecting needs read access to "
                "every file of it (run as its owner)"
            ) from exc
        raise StateDirError(
            f"state dir {path!r}: RocksDB cannot read it: {found}; `fssdk state inspect "
            f"{path} --verify` checks every kept checkpoint, `--checkpoint ID` reads another"
        ) from exc


def _inspect(args: argparse.Namespace) -> int:
    if (args.simple or args.key_group is not None) and args.store is None:
        raise UsageError("--simple and --key-group need --store NAME")
    if args.simple and args.key_group is not None:
        raise UsageError("give either --simple or --key-group, not both")
    if args.keys and args.key_group is None:
        raise UsageError("--keys needs --store NAME --key-group KG")
    with _reading_state_dir(args.state_dir):
        report: dict[str, Any] = ins.describe_state_dir(args.state_dir)
        damaged = _verify_checkpoints(args.state_dir, report) if args.verify else []
        checkpoint_id, live = args.checkpoint, args.live
        if args.verify and checkpoint_id is None and not live:
            sound = [ck["id"] for ck in report["checkpoints"] if ck["verified"] == "ok"]
            checkpoint_id = sound[-1] if sound else None
        has_data = (
            bool(report["checkpoints"])
            or live
            or args.store is not None
            or checkpoint_id is not None
        )
        nothing_sound = bool(damaged) and checkpoint_id is None and not live
        if has_data and not nothing_sound:
            _read_stores(args, report, checkpoint_id)
    if args.json:
        for entry in report.get("dump", {}).get("entries", ()):
            del entry["text"]
        report.get("keys", {}).pop("text", None)
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    else:
        _print_report(report)
    if damaged:
        sound = [ck["id"] for ck in report["checkpoints"] if ck["verified"] == "ok"]
        fallback = (
            f"a run resumes from checkpoint {sound[-1]}, the newest that verifies"
            if sound
            else "no checkpoint verifies: start over with `fssdk run ... --fresh`"
        )
        raise StateDirError(
            f"state dir {args.state_dir!r}: checkpoint {', '.join(map(str, damaged))} "
            f"damaged; {fallback}. Checkpoints share their table files (hard links), so one "
            "damaged file can break several; keep a backup copy of the state dir for such cases"
        )
    return 0


def _verify_checkpoints(state_dir: str, report: dict[str, Any]) -> list[int]:
    """Verify each kept checkpoint through a scratch copy; note each result in ``report``.

    Returns the ids of the damaged ones.
    """
    state = StateDir(state_dir)
    damaged: list[int] = []
    with tempfile.TemporaryDirectory(prefix="fssdk-verify-") as scratch:
        for entry in report["checkpoints"]:
            try:
                problem = verify_copy(state.checkpoint_path(entry["id"]), Path(scratch) / "db")
            except FileNotFoundError:
                problem = "pruned by the run in progress while being verified"
            entry["verified"] = problem or "ok"
            if problem is not None:
                damaged.append(entry["id"])
    return damaged


def _read_stores(
    args: argparse.Namespace, report: dict[str, Any], checkpoint_id: int | None
) -> None:
    """Add the stores (and a dump or key list, if asked) of checkpoint ``checkpoint_id`` (None:
    the newest, or the live database with ``--live``) to ``report``, decoded through the state
    descriptors where the state library wrote them."""
    with ins.open_snapshot(args.state_dir, checkpoint_id=checkpoint_id, live=args.live) as snapshot:
        report["source"] = snapshot.label
        names = [args.store] if args.store is not None else snapshot.stores
        stats = [ins.store_stats(snapshot, name) for name in names]
        views = ins.state_views(snapshot, args.store) if args.store is not None else {}
        report["stores"] = [
            _stats_json(s, views if args.store is not None else None) for s in stats
        ]
        if args.store is not None and args.keys:
            report["keys"] = _keys_json(snapshot, args, views)
        elif args.store is not None and (args.simple or args.key_group is not None):
            report["dump"] = _dump_json(snapshot, args, views)


def _keys_json(
    snapshot: ins.Snapshot, args: argparse.Namespace, views: dict[bytes, Any]
) -> dict[str, Any]:
    kg = ins.parse_bytes(args.key_group, "--key-group")
    ns = None if args.namespace is None else ins.parse_bytes(args.namespace, "--namespace")
    keys, total = ins.list_keys(snapshot, args.store, kg, ns, args.limit)
    view = views.get(kg)
    decoded = [key if view is None else _primary_key(view, key) for key in keys]
    return {
        "store": args.store,
        "key_group": ins.show_bytes(kg),
        "namespace": None if ns is None else ins.show_bytes(ns),
        "kind": None if view is None else view.kind,
        "total": total,
        "keys": [ins.shown_value(key) for key in decoded],
        "text": [ins.value_text(key) for key in decoded],
    }


def _primary_key(view: Any, key: bytes) -> Any:
    """``key`` decoded through ``view``, or as bytes when it does not decode."""
    try:
        return view.primary_key(key)
    except ValueError:
        return key


def _dump_json(
    snapshot: ins.Snapshot, args: argparse.Namespace, views: dict[bytes, Any]
) -> dict[str, Any]:
    view = None
    if args.simple:
        entries, total = ins.dump_simple(snapshot, args.store, args.limit)
        scope: dict[str, Any] = {"store": args.store, "simple": True}
    else:
        kg = ins.parse_bytes(args.key_group, "--key-group")
        key = ins.parse_bytes(args.key, "--key")
        ns = ins.parse_bytes(args.namespace or "", "--namespace")
        entries, total = ins.dump_scope(
            snapshot, args.store, key_group=kg, key=key, namespace=ns, limit=args.limit
        )
        view = views.get(kg)
        scope = {
            "store": args.store,
            "key_group": ins.show_bytes(kg),
            "key": ins.show_bytes(key),
            "namespace": ins.show_bytes(ns),
            "kind": None if view is None else view.kind,
        }
    scope["total"] = total
    scope["entries"] = [_entry_json(view, k, v) for k, v in entries]
    return scope


def _entry_json(view: Any, user_key: bytes, value: bytes) -> dict[str, Any]:
    """One dumped entry: decoded through ``view`` when there is one (``text``: for tables)."""
    entry: dict[str, Any] = {"value_bytes": len(value)}
    decoded_key: Any = user_key
    decoded: Any = value
    if view is not None:
        try:
            shown_key, decoded = view.entry(user_key, value)
        except ValueError as exc:
            entry["error"] = f"does not decode as {view.kind}: {exc}"
        else:
            decoded_key = user_key if shown_key is None else shown_key
    entry["key"], entry["value"] = ins.shown_value(decoded_key), ins.shown_value(decoded)
    entry["text"] = [ins.value_text(decoded_key), ins.value_text(decoded)]
    return entry


def _stats_json(stats: ins.StoreStats, views: dict[bytes, Any] | None) -> dict[str, Any]:
    """A store's counts; with ``views`` (one store asked for), its key groups and their kinds.

    The state library's own key group (its descriptors) is not listed.
    """
    document: dict[str, Any] = {
        "name": stats.name,
        "simple_entries": stats.simple_entries,
        "complex_entries": stats.complex_entries,
        "merge_operands": stats.merge_operands,
        "bytes": stats.size,
        "key_groups": len(stats.key_groups),
    }
    if views is not None:
        document["groups"] = [
            {
                "key_group": ins.show_bytes(group.key_group),
                "kind": views[group.key_group].kind if group.key_group in views else None,
                "entries": group.entries,
                "keys": len(group.keys),
                "namespaces": len(group.namespaces),
                "bytes": group.size,
            }
            for group in stats.key_groups.values()
            if not is_reserved(group.key_group)
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
        markup=False,
        soft_wrap=True,
    )
    if report["live_bytes"] is not None:
        console.print(f"live database: {_size(report['live_bytes'])}", soft_wrap=True)
    if report["checkpoints"]:
        verified = "verified" in report["checkpoints"][0]
        columns = ("id", "records", "input bytes", "size", "created")
        table = _table("checkpoints", (*columns, "verified") if verified else columns)
        for ck in report["checkpoints"]:
            cells = [
                str(ck["id"]),
                f"{ck['records']:,}",
                f"{ck['input_position']:,}",
                _size(ck["bytes"]),
                str(ck["created"]),
            ]
            table.add_row(*cells, *([Text(ck["verified"])] if verified else []))
        console.print(table)
    else:
        console.print("no complete checkpoint yet")
    if "stores" not in report:
        return
    table = _table(
        f"stores ({report['source']})",
        ("store", "simple", "complex", "operands", "groups", "bytes"),
    )
    for store in report["stores"]:
        table.add_row(
            Text(store["name"]),
            f"{store['simple_entries']:,}",
            f"{store['complex_entries']:,}",
            f"{store['merge_operands']:,}",
            str(store["key_groups"]),
            _size(store["bytes"]),
        )
    console.print(table)
    for store in report["stores"]:
        if store.get("groups"):
            table = _table(
                f"key groups of {store['name']}",
                ("key group", "entries", "keys", "namespaces", "bytes"),
            )
            for group in store["groups"]:
                table.add_row(
                    Text(group["key_group"]),
                    f"{group['entries']:,}",
                    f"{group['keys']:,}",
                    f"{group['namespaces']:,}",
                    _size(group["bytes"]),
                )
            console.print(table)
    if "dump" in report:
        _print_dump(console, report["dump"])
    if "keys" in report:
        _print_keys(console, report["keys"])


def _print_dump(console: Console, dump: dict[str, Any]) -> None:
    if dump.get("simple"):
        title = f"simple keys of {dump['store']}"
    else:
        title = (
            f"{dump['store']}: key group {dump['key_group']!r}, key {dump['key']!r}, "
            f"namespace {dump['namespace']!r}"
        )
    console.print(Text(f"{title}: {dump['total']:,} entries"), soft_wrap=True)
    table = Table()
    table.add_column("key", overflow="fold")
    table.add_column("value", overflow="fold")
    for entry in dump["entries"]:
        key, value = entry["text"]
        table.add_row(Text(key or '""'), Text(value or '""'))
    console.print(table)
    if dump["total"] > len(dump["entries"]):
        console.print(f"... {dump['total'] - len(dump['entries']):,} more (--limit)")


def _print_keys(console: Console, keys: dict[str, Any]) -> None:
    where = "" if keys["namespace"] is None else f" in namespace {keys['namespace']!r}"
    kind = "" if keys["kind"] is None else f" ({keys['kind']})"
    console.print(
        Text(
            f"{keys['store']}: key group {keys['key_group']!r}{kind}: {keys['total']:,} "
            f"primary keys{where}"
        ),
        soft_wrap=True,
    )
    for key in keys["text"]:
        console.print(Text(key or '""'), soft_wrap=True)
    if keys["total"] > len(keys["keys"]):
        console.print(f"... {keys['total'] - len(keys['keys']):,} more (--limit)")


# -- fssdk build-component ---------------------------------------------------------------------


def _add_build_component(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    build = commands.add_parser(
        "build-component",
        parents=[common],
        help="write the Function Stream runtime component (needs the wasm extra)",
        description=(
            "Build the WebAssembly component for Function Stream's processor world with the "
            "pinned componentize-py, check that it instantiates (wasmtime), print its size. "
            "docs/functionstream.md explains how to deploy it."
        ),
    )
    build.add_argument("-o", "--output", required=True, metavar="FILE", help="the .wasm to write")
    build.set_defaults(handler=_build_component)


def _build_component(args: argparse.Namespace) -> int:
    """``fssdk build-component -o FILE``: build, instantiate once, report size and time."""
    try:
        from fssdk.functionstream import build_component  # noqa: PLC0415 - the wasm extra
        from fssdk.testing.functionstream import ComponentRuntime, ContractKv  # noqa: PLC0415

        built = build_component(args.output)
        ComponentRuntime(built.path).instantiate(ContractKv())
    except (ImportError, SDKError) as exc:
        detail = exc.message if isinstance(exc, SDKError) else f"{exc} (pip install 'fssdk[wasm]')"
        sys.stderr.write(f"fssdk: error: build-component: {detail}\n")
        return 1
    size = built.size / 1e6
    print(f"wrote {built.path}: {size:.1f} MB, built in {built.seconds:.1f} s; it instantiates")
    return 0


# -- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except RunnerError as exc:
        if args.traceback:
            traceback.print_exception(exc)
        sys.stderr.write(f"fssdk: error: {exc.message}\n")
        if isinstance(exc, OperatorFailedError) and exc.operator_traceback and not args.traceback:
            sys.stderr.write(f"{exc.operator_traceback}\n(--traceback shows the full stack)\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("fssdk: error: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
