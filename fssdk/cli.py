"""The ``fssdk`` command line (also ``python -m fssdk``).

::

    fssdk run OPERATOR --input FILE|- --output FILE|- (--state-dir DIR | --memory) [options]
    fssdk run OPERATOR --engine flink --key-field NAME [--parallelism N] [--jobmanager HOST:PORT]
                       --input FILE ...
    fssdk flink-cluster start|stop|status|add-taskmanager DIR
    fssdk state inspect DIR [--verify] [--store NAME [--key-group KG [--keys] --key K
                        --namespace NS | --simple]]
    fssdk state migrate OPERATOR --state-dir DIR --store NAME [--key-group KG]
    fssdk state export-flink STATE_DIR --savepoint DIR [--parallelism N]
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
import difflib
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import TypeAlias

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from fssdk._errors import SDKError
from fssdk.flink import _cli as flink_cli
from fssdk.runtime._checkpoint import STATE_FILE, StateDir
from fssdk.runtime._config import build_config
from fssdk.runtime._inspect import parse_bytes, show_bytes
from fssdk.runtime._inspect_report import (
    INSPECT_OPTIONS,
    InspectRequest,
    format_size,
    inspect_state_dir,
)
from fssdk.runtime._migrate import migrate_state
from fssdk.runtime._run_errors import (
    OperatorFailedError,
    RunnerError,
    UsageError,
)
from fssdk.runtime._runner import (
    DEFAULT_CHECKPOINT_INTERVAL,
    DEFAULT_KEEP_CHECKPOINTS,
    ON_ERROR,
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


class CommandLine(argparse.ArgumentParser):
    """The parser of ``fssdk``: a subcommand's unknown option is reported by the subcommand,
    with its usage and the closest options it has (``--state_dir``: did you mean
    ``--state-dir``?), before anything else is checked."""

    #: The subcommands' parsers, by their words (``("state", "inspect")``; filled by
    #: :func:`build_parser`).
    commands: dict[tuple[str, ...], argparse.ArgumentParser]

    def parse_command_line(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        """``parse_args``, with unknown options reported as above."""
        tokens = list(sys.argv[1:] if argv is None else argv)
        words = next((w for w in self.commands if tuple(tokens[: len(w)]) == w), None)
        command = None if words is None else self.commands[words]
        if command is not None and words is not None:
            unknown = _unknown_options(command, tokens[len(words) :])
            if unknown:
                command.error(f"unrecognized arguments: {', '.join(unknown)}")
        args, extras = self.parse_known_args(tokens)
        if extras:
            (command or self).error(f"unrecognized arguments: {' '.join(extras)}")
        return args


def _unknown_options(parser: argparse.ArgumentParser, tokens: Sequence[str]) -> list[str]:
    """The ``--options`` in ``tokens`` that ``parser`` does not know (nor as an abbreviation),
    each with the closest one it knows."""
    known = [option for option in parser._option_string_actions if option.startswith("--")]
    unknown = []
    for token in tokens:
        if token == "--":
            break
        if not token.startswith("--"):
            continue
        name = token.split("=", 1)[0]
        if name in known or any(option.startswith(name) for option in known):
            continue  # an option, or a prefix of some (argparse says when it is ambiguous)
        close = difflib.get_close_matches(name.replace("_", "-"), known, n=1, cutoff=0.6)
        unknown.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return unknown


def build_parser() -> CommandLine:
    """The argument parser of ``fssdk`` (exposed for the documentation and the tests)."""
    parser = CommandLine(
        prog="fssdk", description="Run fssdk operators locally and inspect their state."
    )
    parser.add_argument("--version", action="version", version=f"fssdk {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--traceback", action="store_true", help="on an error, also print the full Python stack"
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=argparse.ArgumentParser
    )
    _add_run(commands, common)
    state = commands.add_parser(
        "state", help="look at a state directory, finish a migration, move it to Flink"
    )
    state_commands = state.add_subparsers(dest="state_command", required=True, metavar="COMMAND")
    _add_state_inspect(state_commands, common)
    _add_state_migrate(state_commands, common)
    flink_cli.add_export_command(state_commands, common)
    _add_build_component(commands, common)
    flink_cli.add_cluster_command(commands, common)
    parser.commands = {
        ("run",): commands.choices["run"],
        ("state", "inspect"): state_commands.choices["inspect"],
        ("state", "migrate"): state_commands.choices["migrate"],
        ("state", "export-flink"): state_commands.choices["export-flink"],
        ("build-component",): commands.choices["build-component"],
        ("flink-cluster",): commands.choices["flink-cluster"],
    }
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
            "exit codes: 0 done, 1 the operator raised (with --on-error fail), 2 usage (options, "
            "--set, config file, operator not found or without driver, --fresh unconfirmed), 3 "
            "state dir (locked, "
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
        "--on-error",
        choices=ON_ERROR,
        default="fail",
        help="fail (default): stop at a record whose process() raises; skip: write it to "
        "--dead-letter and go on (its state writes and output are rolled back)",
    )
    run.add_argument(
        "--dead-letter",
        metavar="FILE",
        help="with --on-error skip: one JSON line per skipped record (record, input line and "
        "offset, error, operator frames); cut back on resume like the outputs",
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


def _add_state_migrate(state_commands: Subcommands, common: argparse.ArgumentParser) -> None:
    migrate = state_commands.add_parser(
        "migrate",
        parents=[common],
        help="rewrite one state's values in the encoding the operator declares now",
        description=(
            "Finish a migration: restore the newest checkpoint of the state dir, call the "
            "operator's init() (it declares its states, with their codecs and migrate=), rewrite "
            "every value of the state in --store/--key-group in the declared encoding, and write "
            "the next checkpoint, which `fssdk run` resumes. Afterwards the state needs no "
            "migrate= any more. A crash leaves the state dir as it was: run the same command "
            "again."
        ),
        epilog=(
            "exit codes: 0 done, 1 the operator raised (init, its migrate function, "
            "take_checkpoint), 2 usage (no such store, no state declared there), 3 state dir "
            "(missing, locked, no checkpoint, another operator). See docs/runtime.md."
        ),
    )
    migrate.set_defaults(handler=_migrate)
    migrate.add_argument(
        "operator",
        metavar="OPERATOR",
        help="the operator that owns the state dir, in the version that declares the new codec",
    )
    migrate.add_argument("--state-dir", required=True, metavar="DIR", help="the state directory")
    migrate.add_argument("--store", required=True, metavar="NAME", help="the state's store name")
    migrate.add_argument(
        "--key-group",
        default="",
        metavar="KG",
        help="the state's key group (default '': the non-keyed state of the store); text, or "
        "hex:...",
    )


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
    if summary.dead_letter is not None:
        lines.append(
            f"  skipped: {summary.skipped:,} records whose process() raised "
            f"({summary.skipped_total:,} in all), written to {summary.dead_letter}"
        )
    if summary.state_bytes is not None:
        lines.append(f"  state: {format_size(summary.state_bytes)} on disk")
    for path, size in summary.outputs.items():
        lines.append(f"  output: {path}" + (f" ({format_size(size)})" if size is not None else ""))
    return "\n".join(lines)


def _confirm_fresh(args: argparse.Namespace) -> None:
    """Ask before ``--fresh`` discards checkpoints; refuse when nobody can be asked."""
    if args.yes and not args.fresh:
        raise UsageError("--yes only confirms --fresh")
    if not args.fresh or args.yes or args.state_dir is None:
        return
    state = StateDir(args.state_dir)
    if not (state.path / STATE_FILE).exists():
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
        if args.on_error != "fail" or args.dead_letter is not None:
            raise UsageError(
                "--on-error skip and --dead-letter are for the local engine: on Flink a record "
                "that fails fails the job, which restarts from its last checkpoint"
            )
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
            on_error=args.on_error,
            dead_letter=args.dead_letter,
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
    request = InspectRequest(**{name: getattr(args, name) for name in INSPECT_OPTIONS})
    return inspect_state_dir(request)


# -- fssdk state migrate -----------------------------------------------------------------------


def _migrate(args: argparse.Namespace) -> int:
    key_group = parse_bytes(args.key_group, "--key-group")
    done = migrate_state(args.operator, args.state_dir, args.store, key_group)
    print(
        f"fssdk: migrated store {done.store!r} key group {show_bytes(done.key_group)!r} of "
        f"checkpoint {done.from_checkpoint}: {done.rewritten:,} entries rewritten in "
        f"{done.seconds:.2f} s; wrote checkpoint {done.checkpoint}, which `fssdk run` resumes "
        "(the state needs no migrate= any more)"
    )
    return 0


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
    args = parser.parse_command_line(argv)
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
