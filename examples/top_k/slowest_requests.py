"""Top-k: the k slowest requests per endpoint of a web server's access log.

Each input record is an access-log line with the request time in seconds at the end (nginx's
``$request_time``)::

    198.51.100.5 - - [12/Mar/2024:10:00:01 +0000] "GET /api/products/17 HTTP/1.1" 200 2802 0.042

Endpoints are normalised (query string dropped, numeric path segments become ``:id``). Per
endpoint, a :class:`KeyedPriorityQueueStateFactory` queue of ``(milliseconds, request)`` keeps
the ``k`` slowest requests seen (config ``k``, default 3): it is a min-queue, so adding a request
and polling the smallest once the queue holds ``k + 1`` leaves the ``k`` largest. A
:class:`KeyedValueStateFactory` value counts the queue's elements. Whenever a request enters an
endpoint's top k, the operator emits the new top k, slowest first, as one JSON line; the last
line of an endpoint is its answer.

Run it (from the repository root)::

    fssdk run examples/top_k/slowest_requests.py --input examples/top_k/access.log \\
        --output slowest.jsonl --state-dir state/top_k --set k=3
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Final

import fssdk
from fssdk_advanced import (
    IntCodec,
    KeyedPriorityQueueStateFactory,
    KeyedValueStateFactory,
    StringCodec,
    TupleCodec,
)

LINE: Final = re.compile(
    r'^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<target>\S+) [^"]*" '
    r"(?P<status>\d{3}) (?P<bytes>\d+|-) (?P<seconds>\d+(?:\.\d+)?)$"
)
NUMERIC_SEGMENT: Final = re.compile(r"/\d+(?=/|$)")


def endpoint_of(method: str, target: str) -> str:
    """``"GET /api/products/:id"`` for ``GET /api/products/17?x=1``.

    >>> endpoint_of("GET", "/api/orders/42/items?page=2")
    'GET /api/orders/:id/items'
    """
    path = target.split("?", 1)[0]
    return f"{method} {NUMERIC_SEGMENT.sub('/:id', path)}"


def parse_request(data: bytes) -> tuple[str, int, str]:
    """``(endpoint, milliseconds, request)`` of one log line; ValueError names a bad line."""
    match = LINE.match(data.decode("utf-8"))
    if match is None:
        raise ValueError(f"not an access-log line with a request time: {data[:120]!r}")
    millis = round(float(match["seconds"]) * 1000)
    request = f"{match['time']} {match['client']} {match['method']} {match['target']}"
    return endpoint_of(match["method"], match["target"]), millis, request


class SlowestRequests(fssdk.BaseDriver):
    """Keeps and emits the k slowest requests of each endpoint."""

    def init(self, ctx: fssdk.Context, config: Mapping[str, str]) -> None:
        self.k = int(config.get("k", "3"))
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        self.queues = KeyedPriorityQueueStateFactory.from_context(
            ctx, "slowest", b"requests", TupleCodec(IntCodec(), StringCodec())
        )
        self.sizes = KeyedValueStateFactory.from_context(ctx, "slowest", b"sizes", IntCodec())

    def process(self, ctx: fssdk.Context, source_id: int, data: bytes) -> None:
        endpoint, millis, request = parse_request(data)
        key = endpoint.encode()
        queue = self.queues.new_keyed_priority_queue(key, b"")
        size_state = self.sizes.new_keyed_value(key, b"")
        size, _ = size_state.value()
        queue.add((millis, request))
        size = (size or 0) + 1
        if size > self.k:
            dropped, _ = queue.poll()
            size = self.k
            if dropped == (millis, request):
                return
        size_state.update(size)
        slowest = [{"ms": ms, "request": req} for ms, req in reversed(list(queue.all()))]
        ctx.emit(json.dumps({"endpoint": endpoint, "slowest": slowest}).encode())


fssdk.run(SlowestRequests())
