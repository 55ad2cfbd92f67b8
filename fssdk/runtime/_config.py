"""The operator's configuration: ``--set key=value`` entries and the function config file.

The config file is the reference system's function config (YAML)::

    name: word-count            # required, a non-empty string
    type: processor             # required: processor (or python, as the Python examples write it)
    init:                       # optional map of configuration strings, handed to Driver.init
      key_prefix: "wc:"

``init_config`` is accepted for ``init`` (the reference's Python examples spell it so). The
deployment keys of the reference system (``input-groups``, ``outputs``, ...) are accepted and
have no effect on a local run; any other key is an error, so that a typo does not go unnoticed.
Values in ``init`` must be strings; integers and floats are taken as their decimal text, while
booleans, nulls, lists and maps are refused (write ``"true"`` if the operator expects text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

from fssdk.runtime._run_errors import UsageError

#: Deployment keys of the reference system's function config; a local run ignores them.
DEPLOYMENT_KEYS: Final = frozenset(
    {"input-selector", "input-groups", "outputs", "processor-runtime", "description"}
)
FUNCTION_TYPES: Final = ("processor", "python")
_INIT_KEYS: Final = ("init", "init_config")


@dataclass(frozen=True)
class FunctionConfig:
    """A validated config file: the function's name and type, and its ``init`` strings."""

    name: str
    type: str
    init: Mapping[str, str] = field(default_factory=dict)


def parse_set(entries: Iterable[str]) -> dict[str, str]:
    """``["k=v", ...]`` as a dict; a later entry for the same key wins.

    >>> parse_set(["key_prefix=wc:", "expr=a=b"])
    {'key_prefix': 'wc:', 'expr': 'a=b'}
    >>> parse_set(["oops"])
    Traceback (most recent call last):
    ...
    fssdk.runtime._run_errors.UsageError: [RUNTIME_USAGE] --set 'oops': expected KEY=VALUE
    """
    config: dict[str, str] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep:
            raise UsageError(f"--set {entry!r}: expected KEY=VALUE")
        key = key.strip()
        if not key:
            raise UsageError(f"--set {entry!r}: the key before '=' is empty")
        config[key] = value
    return config


def _init_value(path: str, key: object, value: object) -> str:
    if not isinstance(key, str):
        hint = " (YAML reads on/off/yes/no as booleans: quote it)" if isinstance(key, bool) else ""
        raise UsageError(f"{path}: init key {key!r} must be a string{hint}")
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    kind = "null" if value is None else type(value).__name__
    raise UsageError(
        f'{path}: init.{key} must be a string, got {kind} {value!r} (quote it: {key}: "...")'
    )


def parse_function_config(document: object, path: str) -> FunctionConfig:
    """Validate a loaded config document; ``path`` names it in error messages."""
    if not isinstance(document, dict):
        kind = "an empty file" if document is None else f"a {type(document).__name__}"
        raise UsageError(f"{path}: expected a mapping with name, type and init, got {kind}")
    allowed = {"name", "type", *_INIT_KEYS, *DEPLOYMENT_KEYS}
    unknown = sorted(str(key) for key in document if key not in allowed)
    if unknown:
        raise UsageError(
            f"{path}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(allowed))}"
        )
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{path}: 'name' must be a non-empty string, got {name!r}")
    function_type = document.get("type")
    if function_type not in FUNCTION_TYPES:
        raise UsageError(
            f"{path}: 'type' must be one of {', '.join(FUNCTION_TYPES)}, got {function_type!r}"
        )
    present = [key for key in _INIT_KEYS if key in document]
    if len(present) > 1:
        raise UsageError(f"{path}: give either 'init' or 'init_config', not both")
    init: dict[str, str] = {}
    if present:
        raw = document[present[0]]
        if raw is not None and not isinstance(raw, dict):
            raise UsageError(
                f"{path}: '{present[0]}' must be a map of strings, got {type(raw).__name__}"
            )
        for key, value in (raw or {}).items():
            init[str(key)] = _init_value(path, key, value)
    return FunctionConfig(name=name, type=str(function_type), init=init)


def load_function_config(path: str | Path) -> FunctionConfig:
    """Read and validate the YAML function config at ``path``."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"config file {where!r} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {where!r} cannot be read: {exc}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"config file {where!r} is not valid YAML: {exc}") from exc
    return parse_function_config(document, where)


def build_config(
    config_file: str | Path | None, entries: Iterable[str]
) -> tuple[dict[str, str], FunctionConfig | None]:
    """The config handed to ``Driver.init``: the file's ``init``, then ``--set`` entries over it."""
    function = load_function_config(config_file) if config_file is not None else None
    config = dict(function.init) if function is not None else {}
    config.update(parse_set(entries))
    return config, function
