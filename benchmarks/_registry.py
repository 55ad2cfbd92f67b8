"""Every workload, in the order the tables list them."""

from __future__ import annotations

from benchmarks import memory, store
from benchmarks._harness import Workload

WORKLOADS: tuple[Workload, ...] = (
    *store.WORKLOADS,
    *memory.WORKLOADS,
)
