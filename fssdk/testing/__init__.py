"""fssdk.testing: test operators in-process, and check any Store against the reference.

:class:`OperatorHarness` runs a Driver in this process as ``fssdk run`` does, one call at a time:
records, watermarks, processing time, checkpoints and crashes, with what each target emitted
collected for the test to compare.

>>> from fssdk.stores import MemoryStore
>>> from fssdk.testing import check_store
>>> check_store(MemoryStore, max_examples=5)

:func:`check_store` first checks the calls that must fail (wrong argument types, closed stores),
then runs :class:`StoreMachine`, a hypothesis state machine that applies the same random sequence
of every Store operation to the store under test and to a MemoryStore and raises
:class:`StoreMismatch` (an ``AssertionError``) with hypothesis' shrunk counter-example at the first
difference. The strategies it draws keys and values from are public, for property tests of your
own, and :func:`lowered_thresholds` runs a block with every size threshold at its smallest, so
that small examples cross them. Needs the ``test`` extra (hypothesis, pytest). See
docs/testing.md.
"""

from fssdk.testing._check import check_store, load_profile, register_profiles
from fssdk.testing._harness import OperatorHarness
from fssdk.testing._store_machine import StoreMachine, StoreMismatch, store_machine
from fssdk.testing._strategies import (
    HARD_BYTES,
    Scope,
    colliding_scopes,
    complex_keys,
    components,
    long_values,
    scopes,
    simple_keys,
    user_keys,
    values,
)
from fssdk.testing._thresholds import lowered_thresholds

__all__ = [
    "HARD_BYTES",
    "OperatorHarness",
    "Scope",
    "StoreMachine",
    "StoreMismatch",
    "check_store",
    "colliding_scopes",
    "complex_keys",
    "components",
    "load_profile",
    "long_values",
    "lowered_thresholds",
    "register_profiles",
    "scopes",
    "simple_keys",
    "store_machine",
    "user_keys",
    "values",
]
