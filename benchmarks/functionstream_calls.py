"""Per-call overhead through the test host: ``python -m benchmarks.functionstream_calls``.

Measures, on both kv behaviours of :mod:`fssdk.testing.functionstream`: an export call
(``fs-process`` of an operator that does nothing), and a Store call made inside the guest (a
``put_state`` / ``get_state`` / ``put`` / ``get`` loop inside one ``fs-process``), in µs per call.
The component is built (or taken from ``--cache``) first. docs/functionstream.md has the results.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fssdk.functionstream import build_component, source_digest
from fssdk.testing.functionstream import ComponentRuntime, ContractKv, FunctionStreamKv, Kv

OPERATOR = b"""
import fssdk

class Loop(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("bench")

    def process(self, ctx, source_id, data):
        op, _, count = data.partition(b" ")
        store, n = self.store, int(count or 0)
        if op == b"put_state":
            for i in range(n):
                store.put_state(b"k%d" % (i % 1000), b"v")
        elif op == b"get_state":
            for i in range(n):
                store.get_state(b"k%d" % (i % 1000))
        elif op == b"put":
            for i in range(n):
                store.put(fssdk.ComplexKey(b"g", b"user", b"", b"k%d" % (i % 1000)), b"v")
        elif op == b"get":
            for i in range(n):
                store.get(fssdk.ComplexKey(b"g", b"user", b"", b"k%d" % (i % 1000)))

fssdk.run(Loop())
"""


def _component(cache: Path) -> Path:
    component = cache / f"fssdk-{source_digest()}.wasm"
    if not component.exists():
        build_component(component)
    return component


def measure(runtime: ComponentRuntime, kv: Kv, mode: str, calls: int) -> dict[str, float]:
    """µs per export call and per guest Store call on ``kv``."""
    instance = runtime.instantiate(kv)
    instance.exec("", [("loop", OPERATOR)])
    instance.init({"fssdk.kv": mode})
    results = {}
    began = time.perf_counter()
    for _ in range(calls):
        instance.process(0, b"noop")
    results["export call (fs-process)"] = (time.perf_counter() - began) / calls * 1e6
    for op in ("put_state", "get_state", "put", "get"):
        began = time.perf_counter()
        instance.process(0, b"%s %d" % (op.encode(), calls))
        results[f"guest Store.{op}"] = (time.perf_counter() - began) / calls * 1e6
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/fssdk-component")
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    runtime = ComponentRuntime(_component(args.cache), cache_dir=args.cache)
    for name, kv, mode in (
        ("contract kv, contract mode", ContractKv(), "contract"),
        ("Function Stream kv, functionstream mode", FunctionStreamKv(), "functionstream"),
    ):
        print(name)
        for what, micros in measure(runtime, kv, mode, args.calls).items():
            print(f"  {what:<28} {micros:8.1f} µs")


if __name__ == "__main__":
    main()
