"""Every workload, in the order the tables list them."""

from __future__ import annotations

from benchmarks import (
    aggregate,
    e2e,
    factory,
    lists,
    maps,
    memory,
    queues,
    scaling,
    store,
    ttl,
    value,
)
from benchmarks._harness import Workload

WORKLOADS: tuple[Workload, ...] = (
    *store.WORKLOADS,
    *value.WORKLOADS,
    *lists.WORKLOADS,
    *maps.WORKLOADS,
    *queues.WORKLOADS,
    *aggregate.WORKLOADS,
    *factory.WORKLOADS,
    *scaling.WORKLOADS,
    *memory.WORKLOADS,
    *e2e.WORKLOADS,
    *ttl.WORKLOADS,
)
