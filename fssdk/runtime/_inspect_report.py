"""``fssdk state inspect``: the report it builds from a state directory and how it prints it.

:func:`inspect_state_dir` gathers a JSON-ready report (owner, checkpoints verified on request,
per store its counts and key groups, a scope's entries or a key group's primary keys, decoded
through the state views of :mod:`fssdk.runtime._inspect`) and prints it as tables or as JSON.
Reading errors become :class:`StateDirError` (exit code 3).
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fssdk.reserved import is_reserved
from fssdk.runtime._checkpoint import StateDir, verify_copy
from fssdk.runtime._inspect import (
    Snapshot,
    StateView,
    StoreStats,
    describe_state_dir,
    dump_scope,
    dump_simple,
    list_keys,
    open_snapshot,
    parse_bytes,
    show_bytes,
    shown_value,
    state_views,
    store_stats,
    value_text,
)
from fssdk.runtime._run_errors import RunnerError, StateDirError, UsageError


@dataclass(frozen=True)
class InspectRequest:
    """What ``fssdk state inspect`` was asked (its options, by name)."""

    state_dir: str
    verify: bool = False
    checkpoint: int | None = None
    live: bool = False
    store: str | None = None
    simple: bool = False
    key_group: str | None = None
    keys: bool = False
    key: str = ""
    namespace: str | None = None
    limit: int = 100
    json: bool = False


#: The option names of :class:`InspectRequest`.
INSPECT_OPTIONS: Final = tuple(field.name for field in fields(InspectRequest))


def format_size(n: int) -> str:
    """A byte count for people: ``512 B``, ``1.5 KiB``, ...

    >>> format_size(512), format_size(1536), format_size(5 * 1024**3)
    ('512 B', '1.5 KiB', '5.0 GiB')
    """
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


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


def inspect_state_dir(args: InspectRequest) -> int:
    """``fssdk state inspect``: print the report (tables, or JSON) and return the exit code."""
    if (args.simple or args.key_group is not None) and args.store is None:
        raise UsageError("--simple and --key-group need --store NAME")
    if args.simple and args.key_group is not None:
        raise UsageError("give either --simple or --key-group, not both")
    if args.keys and args.key_group is None:
        raise UsageError("--keys needs --store NAME --key-group KG")
    with _reading_state_dir(args.state_dir):
        report: dict[str, Any] = describe_state_dir(args.state_dir)
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


def _read_stores(args: InspectRequest, report: dict[str, Any], checkpoint_id: int | None) -> None:
    """Add the stores (and a dump or key list, if asked) of checkpoint ``checkpoint_id`` (None:
    the newest, or the live database with ``--live``) to ``report``, decoded through the state
    descriptors where the state library wrote them."""
    with open_snapshot(args.state_dir, checkpoint_id=checkpoint_id, live=args.live) as snapshot:
        report["source"] = snapshot.label
        names = [args.store] if args.store is not None else snapshot.stores
        stats = [store_stats(snapshot, name) for name in names]
        views = state_views(snapshot, args.store) if args.store is not None else {}
        report["stores"] = [
            _stats_json(s, views if args.store is not None else None) for s in stats
        ]
        if args.store is None:
            return
        if args.keys and args.key_group is not None:
            report["keys"] = _keys_json(snapshot, args.store, args.key_group, args, views)
        elif args.simple:
            entries, total = dump_simple(snapshot, args.store, args.limit)
            report["dump"] = _dump_json({"store": args.store, "simple": True}, entries, total)
        elif args.key_group is not None:
            report["dump"] = _scope_json(snapshot, args.store, args.key_group, args, views)


def _keys_json(
    snapshot: Snapshot,
    store: str,
    key_group: str,
    args: InspectRequest,
    views: dict[bytes, StateView],
) -> dict[str, Any]:
    kg = parse_bytes(key_group, "--key-group")
    ns = None if args.namespace is None else parse_bytes(args.namespace, "--namespace")
    keys, total = list_keys(snapshot, store, kg, ns, args.limit)
    view = views.get(kg)
    decoded = [key if view is None else _primary_key(view, key) for key in keys]
    return {
        "store": store,
        "key_group": show_bytes(kg),
        "namespace": None if ns is None else show_bytes(ns),
        "kind": None if view is None else view.kind,
        "total": total,
        "keys": [shown_value(key) for key in decoded],
        "text": [value_text(key) for key in decoded],
    }


def _primary_key(view: StateView, key: bytes) -> Any:
    """``key`` decoded through ``view``, or as bytes when it does not decode."""
    try:
        return view.primary_key(key)
    except ValueError:
        return key


def _scope_json(
    snapshot: Snapshot,
    store: str,
    key_group: str,
    args: InspectRequest,
    views: dict[bytes, StateView],
) -> dict[str, Any]:
    kg = parse_bytes(key_group, "--key-group")
    key = parse_bytes(args.key, "--key")
    ns = parse_bytes(args.namespace or "", "--namespace")
    entries, total = dump_scope(
        snapshot, store, key_group=kg, key=key, namespace=ns, limit=args.limit
    )
    view = views.get(kg)
    scope = {
        "store": store,
        "key_group": show_bytes(kg),
        "key": show_bytes(key),
        "namespace": show_bytes(ns),
        "kind": None if view is None else view.kind,
    }
    return _dump_json(scope, entries, total, view)


def _dump_json(
    scope: dict[str, Any],
    entries: list[tuple[bytes, bytes]],
    total: int,
    view: StateView | None = None,
) -> dict[str, Any]:
    scope["total"] = total
    scope["entries"] = [_entry_json(view, k, v) for k, v in entries]
    return scope


def _entry_json(view: StateView | None, user_key: bytes, value: bytes) -> dict[str, Any]:
    """One dumped entry: decoded through ``view`` when there is one, with its expiry when the
    state has a TTL (``text``: for tables)."""
    entry: dict[str, Any] = {"value_bytes": len(value)}
    decoded_key: Any = user_key
    decoded: Any = value
    expires: Any = None
    if view is not None:
        try:
            shown_key, decoded = view.entry(user_key, value)
            expires = view.expiry(user_key, value)
        except ValueError as exc:
            entry["error"] = f"does not decode as {view.kind}: {exc}"
            decoded = value
        else:
            decoded_key = user_key if shown_key is None else shown_key
    entry["key"], entry["value"] = shown_value(decoded_key), shown_value(decoded)
    entry["text"] = [value_text(decoded_key), value_text(decoded)]
    if expires is not None:
        entry["expires_at"] = expires
        entry["text"].append(value_text(expires))
    return entry


def _stats_json(stats: StoreStats, views: dict[bytes, StateView] | None) -> dict[str, Any]:
    """A store's counts; with ``views`` (one store asked for), its key groups and their kinds.

    The libraries' own key groups (:mod:`fssdk.reserved`: descriptors, TTL index, timers, ...)
    are neither listed nor counted with the user's state: ``library`` counts them.
    """
    library = [group for group in stats.key_groups.values() if is_reserved(group.key_group)]
    document: dict[str, Any] = {
        "name": stats.name,
        "simple_entries": stats.simple_entries,
        "complex_entries": stats.complex_entries - sum(group.entries for group in library),
        "merge_operands": stats.merge_operands - sum(group.operands for group in library),
        "bytes": stats.size - sum(group.size for group in library),
        "key_groups": len(stats.key_groups) - len(library),
        "library": {
            "key_groups": len(library),
            "entries": sum(group.entries for group in library),
            "bytes": sum(group.size for group in library),
        },
    }
    if views is not None:
        document["groups"] = [
            {
                "key_group": show_bytes(group.key_group),
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
        console.print(f"live database: {format_size(report['live_bytes'])}", soft_wrap=True)
    if report["checkpoints"]:
        verified = "verified" in report["checkpoints"][0]
        columns = ("id", "records", "input bytes", "size", "created")
        table = _table("checkpoints", (*columns, "verified") if verified else columns)
        for ck in report["checkpoints"]:
            cells = [
                str(ck["id"]),
                f"{ck['records']:,}",
                f"{ck['input_position']:,}",
                format_size(ck["bytes"]),
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
        ("store", "simple", "complex", "operands", "groups", "bytes", "library"),
    )
    for store in report["stores"]:
        library = store["library"]
        table.add_row(
            Text(store["name"]),
            f"{store['simple_entries']:,}",
            f"{store['complex_entries']:,}",
            f"{store['merge_operands']:,}",
            str(store["key_groups"]),
            format_size(store["bytes"]),
            f"{library['entries']:,} ({format_size(library['bytes'])})",
        )
    console.print(table)
    if any(store["library"]["entries"] for store in report["stores"]):
        console.print(
            "library: the libraries' own entries (state descriptors, TTL index, timers), not "
            "counted in the other columns",
            soft_wrap=True,
        )
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
                    format_size(group["bytes"]),
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
    expiring = any("expires_at" in entry for entry in dump["entries"])
    table = Table()
    table.add_column("key", overflow="fold")
    table.add_column("value", overflow="fold")
    if expiring:
        table.add_column("expires at", overflow="fold")
    for entry in dump["entries"]:
        cells = [Text(text or '""') for text in entry["text"]]
        table.add_row(*cells, *([Text("")] * (2 + expiring - len(cells))))
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
