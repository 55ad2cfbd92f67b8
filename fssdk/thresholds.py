"""Size and count thresholds, declared where they are used, lowerable by tests.

A branch taken only past a size (a write buffer that flushes itself after 32 768 writes, a
scope kept sorted past 64 buffered entries, a cache refilled 64 keys at a time) is never reached
by the small examples a property test draws. So every such number is declared with
:func:`threshold`, which records its production value and its *smallest meaningful* value (the
smallest at which both sides of it still exist), and :func:`fssdk.testing.lowered_thresholds`
sets every declared one to its smallest at once: a test with a dozen writes then crosses them
all.

>>> import fssdk.stores
>>> from fssdk.thresholds import registered
>>> [t.name for t in registered() if t.module == "fssdk.stores._buffer"]
['AUTO_FLUSH_WRITES', 'FOLD_RATIO', 'ORDERED_AT', 'RECENT_RANGES', 'SMALL_RANGE']

A module declares one as a module global and reads that global where it is used, at call time
(a plain global load, nothing more on the hot path)::

    ORDERED_AT: Final = threshold(__name__, "ORDERED_AT", 64, smallest=1)

A value copied elsewhere at import (a default argument, a derived constant, ``from m import X``)
would not follow a lowering; a value read into an object when it is made follows it for the
objects made while thresholds are lowered. Other packages (``fssdk_advanced``, a third-party
store) declare theirs the same way, so the one helper reaches them too.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Final

__all__ = ["Threshold", "registered", "set_lowered", "threshold"]


@dataclass(frozen=True)
class Threshold:
    """One declared threshold: the global ``name`` of module ``module``."""

    module: str
    name: str
    production: int
    smallest: int


_REGISTRY: Final[dict[tuple[str, str], Threshold]] = {}


class _Setting:
    lowered = False


def threshold(module: str, name: str, production: int, *, smallest: int) -> int:
    """Declare the global ``name`` of ``module`` as a threshold and return its current value.

    The value is ``production``, or ``smallest`` while thresholds are lowered (a module first
    imported inside :func:`fssdk.testing.lowered_thresholds`). ``smallest`` must be an int in
    ``[0, production]``; declaring the same threshold again replaces it (a reloaded module).
    """
    for argument, value in (("production", production), ("smallest", smallest)):
        if type(value) is not int:
            raise TypeError(f"threshold {module}.{name}: {argument} must be an int, not {value!r}")
    if not 0 <= smallest <= production:
        raise ValueError(
            f"threshold {module}.{name}: smallest must be in [0, production={production}], "
            f"got {smallest}"
        )
    _REGISTRY[module, name] = Threshold(module, name, production, smallest)
    return smallest if _Setting.lowered else production


def registered() -> list[Threshold]:
    """Every declared threshold, by module and name (of the modules imported so far)."""
    return sorted(_REGISTRY.values(), key=lambda found: (found.module, found.name))


def set_lowered(lowered: bool) -> bool:
    """Set every declared threshold to its smallest value (``lowered``) or its production one,
    and return the previous setting. :func:`fssdk.testing.lowered_thresholds` is the way to
    call it; ``AttributeError`` when a declared name is not a global of its module."""
    present = [
        (module, found)
        for found in _REGISTRY.values()
        # a module removed from sys.modules since it declared one is skipped
        if (module := sys.modules.get(found.module)) is not None
    ]
    for module, found in present:  # all checked before any is set: an error changes nothing
        if not hasattr(module, found.name):
            raise AttributeError(
                f"threshold {found.module}.{found.name} is declared but the module has no "
                f"global {found.name!r}"
            )
    for module, found in present:
        setattr(module, found.name, found.smallest if lowered else found.production)
    previous, _Setting.lowered = _Setting.lowered, lowered
    return previous
