"""An operator that serves Store calls over ``fs-custom``: the conformance kit's way in.

It is sent to the component as source (``fs-exec``) by :func:`fssdk.testing.functionstream.
store_service`. A request is a msgpack list: ``["call", store, method, args]``, ``["scan", store,
[key_group, key, namespace, start, end, reverse]]``, ``["next", scan_id]``, ``["end", scan_id]``
or ``["close", store]``. The reply is ``[0, result]``, ``[1, ErrorCode name, message]`` for an
SDKError, or ``[2, exception type, message]`` for a TypeError or ValueError.
"""

from __future__ import annotations

import itertools
from typing import Any

import msgpack

import fssdk


def _arg(value: Any) -> Any:
    if isinstance(value, dict) and "ck" in value:
        return fssdk.ComplexKey(*value["ck"])
    return value


class StoreService(fssdk.BaseDriver):
    """Applies each request to ``ctx.get_or_create_store(name)`` inside the component."""

    def init(self, ctx: fssdk.Context, config: Any) -> None:
        self.scans: dict[int, fssdk.Iterator] = {}
        self.ids = itertools.count(1)

    def custom(self, ctx: fssdk.Context, payload: bytes) -> bytes:
        request = msgpack.unpackb(payload, raw=False)
        try:
            reply = [0, self.serve(ctx, request)]
        except fssdk.SDKError as exc:
            reply = [1, exc.code.name, exc.message]
        except (TypeError, ValueError) as exc:
            reply = [2, type(exc).__name__, str(exc)]
        return msgpack.packb(reply, use_bin_type=True)

    def serve(self, ctx: fssdk.Context, request: list[Any]) -> Any:
        kind = request[0]
        if kind == "call":
            _, name, method, args = request
            store = ctx.get_or_create_store(name)
            result = getattr(store, method)(*[_arg(a) for a in args])
            flush = getattr(store, "flush", None)  # a buffering guest store: its errors reply
            if flush is not None:
                flush()
            return result
        if kind == "scan":
            _, name, (key_group, key, namespace, start, end, reverse) = request
            scan_id = next(self.ids)
            self.scans[scan_id] = ctx.get_or_create_store(name).scan_complex(
                key_group, key, namespace, start=start, end=end, reverse=reverse
            )
            return scan_id
        if kind == "next":
            scan = self.scans[request[1]]
            return list(scan.next()) if scan.has_next() else None
        if kind == "end":
            if request[1] in self.scans:
                self.scans.pop(request[1]).close()
            return None
        if kind == "close":
            ctx.get_or_create_store(request[1]).close()
            return None
        raise ValueError(f"store service: unknown request {kind!r}")


if __name__ != "fssdk.functionstream._store_service":  # loaded by fs-exec, not imported
    fssdk.run(StoreService())
