"""check_store and the hypothesis profiles: the entry points of the conformance kit."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from hypothesis import HealthCheck, Phase, settings
from hypothesis import reproduce_failure as _reproduce_failure
from hypothesis import seed as _seed
from hypothesis.stateful import run_state_machine_as_test

from fssdk._store import Store
from fssdk.testing._contract import check_contract
from fssdk.testing._store_machine import StoreMachine, store_machine

#: Health checks that say nothing about a store: a durable store is slow to open per example, and
#: long values make large examples on purpose.
_SUPPRESSED: Final = (HealthCheck.too_slow, HealthCheck.data_too_large)


def check_store(
    make_store: Callable[[], Store],
    *,
    reopen: Callable[[Store], Store] | None = None,
    max_examples: int = 100,
    teardown: Callable[[Store], None] | None = None,
    seed: int | None = None,
    reproduce_failure: tuple[str, bytes] | None = None,
) -> None:
    """Check the stores ``make_store`` returns against the reference; raise on the first difference.

    ``make_store`` must return a fresh, empty store each call. ``reopen`` (optional) closes the
    store it is handed and returns a store over the same data; the machine then interleaves
    reopens and checks that nothing written before was lost. ``teardown`` disposes of each store
    at the end of an example (default ``store.close()``; pass one that also closes a database or
    removes its directory). ``max_examples`` is the number of random operation sequences; their
    length is the active hypothesis profile's ``stateful_step_count``.

    ``seed`` replays a run from a seed; ``reproduce_failure`` takes the ``(version, blob)`` that a
    failure prints in its ``@reproduce_failure(...)`` line and replays exactly that failure.
    Raises :class:`StoreMismatch` when a result differs, or whatever the store raised.
    """
    dispose = teardown or Store.close
    check_contract(make_store, dispose)
    machine: type[StoreMachine] = store_machine(make_store, reopen=reopen, teardown=dispose)
    if seed is not None:
        machine = _seed(seed)(machine)
    if reproduce_failure is not None:
        machine = _reproduce_failure(*reproduce_failure)(machine)
    active = settings()
    run_settings = settings(
        active,
        max_examples=max_examples,
        deadline=None,
        print_blob=True,
        report_multiple_bugs=False,
        phases=[phase for phase in active.phases if phase is not Phase.explain],
        suppress_health_check=(*active.suppress_health_check, *_SUPPRESSED),
    )
    try:
        run_state_machine_as_test(machine, settings=run_settings)
    except Exception as exc:
        exc.add_note(
            "check_store: to replay this failure, pass the two arguments of the "
            "@reproduce_failure(...) line above as check_store(..., reproduce_failure=(version, "
            "blob)); under pytest, --hypothesis-seed=N replays a whole run."
        )
        raise


def register_profiles() -> None:
    """Register the hypothesis profiles ``ci`` and ``thorough`` that fssdk's own tests use.

    ``ci`` keeps the whole suite within minutes on two cores: 60 examples per property (the
    conformance tests ask for more), 40 steps per state-machine run, no example database
    (nothing to commit, nothing stale) and failures printed with their ``@reproduce_failure``
    blob. ``thorough`` runs 2 000
    examples of 100 steps and keeps hypothesis' local example database (``.hypothesis/``, not
    committed), so that a failure found once is tried first on the next run. Select one with
    ``HYPOTHESIS_PROFILE`` (see :func:`load_profile`).
    """
    settings.register_profile(
        "ci",
        max_examples=60,
        stateful_step_count=40,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        "thorough",
        max_examples=2_000,
        stateful_step_count=100,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )


def load_profile(default: str = "ci") -> str:
    """Load the profile named by ``HYPOTHESIS_PROFILE`` (else ``default``) and return its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", default)
    settings.load_profile(name)
    return name
