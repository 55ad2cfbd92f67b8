"""fssdk operators inside the Function Stream component, on both kv behaviours of the test host.

The component is built once per source change (cached under ``FSSDK_COMPONENT_CACHE``, default
``~/.cache/fssdk-component``) together with its compiled form; the first run builds it (tens of
seconds), later runs load it.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("wasmtime", reason="needs the wasm extra")

from fssdk import ErrorCode, SDKError, Store
from fssdk.functionstream import CONTRACT_MODE, build_component, source_digest
from fssdk.runtime import OperatorFailedError, run_operator
from fssdk.testing import check_store
from fssdk.testing.functionstream import (
    ComponentDriver,
    ComponentInstance,
    ComponentRuntime,
    ContractKv,
    FunctionStreamKv,
    Kv,
    RemoteStore,
    operator_modules,
    store_service,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
KVS: dict[str, Callable[[], Kv]] = {"contract": ContractKv, "functionstream": FunctionStreamKv}


@pytest.fixture(scope="session")
def runtime() -> ComponentRuntime:
    cache = Path(os.environ.get("FSSDK_COMPONENT_CACHE", Path.home() / ".cache/fssdk-component"))
    component = cache / f"fssdk-{source_digest()}.wasm"
    if not component.exists():
        partial = component.with_suffix(".partial.wasm")
        build_component(partial)
        partial.replace(component)
    return ComponentRuntime(component, cache_dir=cache)


@pytest.fixture(params=sorted(KVS))
def kv(request: pytest.FixtureRequest) -> Kv:
    return KVS[request.param]()


# -- the Store contract through guest Store -> WIT -> host ---------------------------------------


def _remote_stores(
    runtime: ComponentRuntime, kv: Kv, mode: str | None = None
) -> tuple[Callable[[], Store], Callable[[Store], Store]]:
    instance = [store_service(runtime, kv, mode)]
    names = itertools.count()

    def make_store() -> Store:
        return RemoteStore(instance[0], f"store-{next(names)}")

    def reopen(store: Store) -> Store:
        store.close()
        instance[0] = store_service(runtime, kv, mode)  # a restart: new instance, same host state
        return RemoteStore(instance[0], store.name)

    return make_store, reopen


def test_guest_store_keeps_the_contract(runtime: ComponentRuntime, kv: Kv) -> None:
    make_store, reopen = _remote_stores(runtime, kv)
    check_store(make_store, reopen=reopen, max_examples=10)


def test_contract_mode_on_the_functionstream_host_breaks_the_contract(
    runtime: ComponentRuntime,
) -> None:
    """The host's calls used directly fail the kit: what the encoded mode is there for."""
    make_store, _ = _remote_stores(runtime, FunctionStreamKv(), CONTRACT_MODE)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the kit's first mismatch, whichever
        check_store(make_store, max_examples=10)


def test_functionstream_kv_reproduces_the_host_deviations() -> None:
    from fssdk import ComplexKey as CK

    store = FunctionStreamKv().store("s")
    store.put(CK(b"ab", b"c", b"", b"k"), b"1")
    assert store.get(CK(b"a", b"bc", b"", b"k")) == b"1"  # concatenated keys collide
    assert store.get_state(b"abck") == b"1"  # simple and complex keys share one space
    store.put(CK(b"g", b"user12", b"", b"x"), b"2")
    assert [k for k, _ in store.scan_complex(b"g", b"user1", b"")] == [b"guser12x"]  # physical
    store.merge(CK(b"g", b"u", b"", b"m"), b"a")
    store.merge(CK(b"g", b"u", b"", b"m"), b"b")
    assert store.get(CK(b"g", b"u", b"", b"m")) == b"b"  # merge is a put
    assert store.list_complex(b"g", b"u", b"", b"", b"") == []  # empty end selects nothing
    store.put(CK(b"g", b"u", b"", b"keep"), b"3")
    store.delete_prefix(CK(b"g", b"u", b"", b"m"))
    assert store.get(CK(b"g", b"u", b"", b"keep")) is None  # the user-key prefix is ignored


# -- operators ---------------------------------------------------------------------------------

RUNS: dict[str, tuple[str, str, list[str], dict[str, Any]]] = {
    "word_count": ("word_count.py", "gettysburg.txt", [], {"config_file": "config.yaml"}),
    "windowed_fares": (
        "windowed_fares.py",
        "trips.jsonl",
        ["--watermark-field", "ts", "--watermark-delay", "30", "--final-watermark",
         "--set", "window_seconds=300"],
        {"watermark_field": "ts", "watermark_delay": 30, "final_watermark": True,
         "config": {"window_seconds": "300"}},
    ),
    "top_k": ("slowest_requests.py", "access.log", ["--set", "k=3"], {"config": {"k": "3"}}),
    "sessions": (
        "sessions.py",
        "clicks.jsonl",
        ["--watermark-field", "ts", "--watermark-delay", "5000", "--final-watermark"],
        {"watermark_field": "ts", "watermark_delay": 5000, "final_watermark": True},
    ),
}  # fmt: skip


def _outputs(output: Path) -> dict[str, bytes]:
    files = output.parent.glob(output.name + "*")
    return {path.name[len(output.name) :]: path.read_bytes() for path in files}


@pytest.mark.parametrize("example", sorted(RUNS))
def test_example_output_is_byte_identical_to_fssdk_run_memory(
    runtime: ComponentRuntime, kv: Kv, example: str, tmp_path: Path
) -> None:
    script, data, flags, options = RUNS[example]
    folder = EXAMPLES / example
    expected = tmp_path / "expected" / "out.jsonl"
    expected.parent.mkdir()
    extra = []
    if "config_file" in options:
        extra = ["--config-file", str(folder / options["config_file"])]
    subprocess.run(
        [sys.executable, "-m", "fssdk", "run", str(folder / script), "--input", str(folder / data),
         "--output", str(expected), "--memory", *flags, *extra],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    kwargs = {k: v for k, v in options.items() if k != "config_file"}
    if "config_file" in options:
        kwargs["config"] = yaml.safe_load((folder / options["config_file"]).read_text())["init"]
    actual = tmp_path / "actual" / "out.jsonl"
    actual.parent.mkdir()
    driver = ComponentDriver(runtime, kv, operator_modules(folder / script))
    run_operator(driver, input=str(folder / data), output=str(actual), memory=True, **kwargs)
    assert _outputs(actual) == _outputs(expected)
    assert expected.stat().st_size > 0


def _feed(instance: ComponentInstance, lines: list[bytes]) -> None:
    for line in lines:
        instance.process(0, line)


def test_a_restart_over_the_same_host_state_continues_exactly(
    runtime: ComponentRuntime, kv: Kv
) -> None:
    folder = EXAMPLES / "top_k"
    modules = operator_modules(folder / "slowest_requests.py")
    lines = (folder / "access.log").read_bytes().splitlines()[:240]

    whole = runtime.instantiate(type(kv)())
    whole.exec("", modules)
    whole.init({"k": "3", "fssdk.kv": kv_mode(kv)})
    _feed(whole, lines)

    first = runtime.instantiate(kv)
    first.exec("", modules)
    first.init({"k": "3", "fssdk.kv": kv_mode(kv)})
    _feed(first, lines[:100])  # then the instance is dropped without fs-close: a crash
    second = runtime.instantiate(kv)
    second.exec("", modules)
    second.init({"k": "3", "fssdk.kv": kv_mode(kv)})
    _feed(second, lines[100:])
    assert first.emitted + second.emitted == whole.emitted
    assert len(whole.emitted) > 10


def kv_mode(kv: Kv) -> str:
    return "contract" if isinstance(kv, ContractKv) else "functionstream"


PROBE = b"""
import fssdk

class Probe(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("probe")
        ctx.emit(b"init " + ",".join(sorted(config)).encode())

    def process(self, ctx, source_id, data):
        if data == b"fail":
            raise ValueError("operator failed on purpose")
        self.store.put_state(data, b"seen")
        ctx.emit(data.upper(), source_id)

    def process_watermark(self, ctx, source_id, watermark):
        ctx.emit_watermark(watermark + 1, source_id)

    def take_checkpoint(self, ctx, checkpoint_id):
        self.store.put_state(b"checkpoint", str(checkpoint_id).encode())
        ctx.emit(b"checkpoint %d" % checkpoint_id)

    def check_heartbeat(self, ctx):
        return self.store.get_state(b"checkpoint") is not None

    def custom(self, ctx, payload):
        return payload[::-1]

    def close(self, ctx):
        ctx.emit(b"closed")
"""


REMINDERS = b"""
import fssdk
from fssdk_advanced import KeyedProcessDriver, MsgpackCodec

class Reminders(KeyedProcessDriver):
    timer_payload = MsgpackCodec()

    def key_of(self, record):
        return record.split(b",")[0]

    def process_element(self, ctx, key, record):
        _, kind, when, note = record.decode().split(",")
        if kind == "cancel":
            self.timers.delete_timer(key, b"t")
            return
        timers = self.timers
        if kind == "event":
            timers.register_event_time_timer(key, int(when), name=b"t", payload={"note": note})
        else:
            timers.register_processing_time_timer(key, int(when), name=b"t", payload={"note": note})

    def on_timer(self, ctx, timer):
        note = timer.payload["note"]
        ctx.emit(f"{timer.key.decode()} {timer.domain.value} {timer.timestamp} {note}".encode())

fssdk.run(Reminders())
"""


def test_a_keyed_process_driver_fires_its_timers_inside_the_component(
    runtime: ComponentRuntime, kv: Kv
) -> None:
    instance = runtime.instantiate(kv)
    instance.exec("", [("reminders", REMINDERS)])
    instance.init({"fssdk.kv": kv_mode(kv)})
    for record in (b"a,event,10,tea", b"b,event,10,x", b"b,cancel,0,-", b"c,proc,0,now"):
        instance.process(0, record)
    instance.process_watermark(0, 10)  # event time 10; processing time 0 is long past
    instance.process(0, b"d,proc,0,beat")
    assert instance.check_heartbeat() is True
    assert instance.emitted == [
        (0, b"a event-time 10 tea"),
        (0, b"c processing-time 0 now"),
        (0, b"d processing-time 0 beat"),
    ]
    assert instance.watermarks == [(0, 10)]


def _probe(runtime: ComponentRuntime, kv: Kv, class_name: str = "") -> ComponentInstance:
    instance = runtime.instantiate(kv)
    instance.exec(class_name, [("probe", PROBE)])
    instance.init({"a": "1", "fssdk.kv": kv_mode(kv)})
    return instance


def test_every_export_reaches_the_driver(runtime: ComponentRuntime, kv: Kv) -> None:
    instance = _probe(runtime, kv, class_name="Probe")  # no fssdk.run: found by class name
    assert instance.check_heartbeat() is False
    instance.process(2, b"abc")
    instance.process_watermark(1, 41)
    instance.take_checkpoint(7)
    assert instance.check_heartbeat() is True
    assert instance.custom(b"xyz") == b"zyx"
    instance.close()
    assert instance.emitted == [
        (0, b"init a"), (2, b"ABC"), (0, b"checkpoint 7"), (0, b"closed"),
    ]  # fmt: skip
    assert instance.watermarks == [(1, 42)]


def test_fs_exec_without_a_driver_fails(runtime: ComponentRuntime) -> None:
    instance = runtime.instantiate(ContractKv())
    with pytest.raises(OperatorFailedError, match="trapped"):
        instance.exec("Missing", [("empty", b"x = 1\n")])


def test_fs_exec_takes_the_registered_driver_when_no_class_has_the_name(
    runtime: ComponentRuntime,
) -> None:
    """Function Stream passes the function's name when its config names no class."""
    folder = EXAMPLES / "word_count"
    instance = runtime.instantiate(ContractKv())
    instance.exec("word-count", operator_modules(folder / "word_count.py"))
    instance.init({"key_prefix": "wc:", "fssdk.kv": "contract"})
    instance.process(0, b"four")
    assert b'"total_processed":1' in instance.emitted[-1][1]


def test_an_operator_error_fails_the_call(runtime: ComponentRuntime, kv: Kv) -> None:
    instance = _probe(runtime, kv, class_name="Probe")
    with pytest.raises(OperatorFailedError):
        instance.process(0, b"fail")


@pytest.mark.parametrize(
    ("function", "case", "code"),
    [
        ("put-state", "not-found", ErrorCode.STORE_NOT_FOUND),
        ("scan-complex", "io-error", ErrorCode.STORE_IO),
        ("delete-state", "other", ErrorCode.STORE_INTERNAL),
    ],
)
def test_host_errors_reach_the_operator_as_sdk_errors(
    runtime: ComponentRuntime, kv: Kv, function: str, case: str, code: ErrorCode
) -> None:
    store = RemoteStore(store_service(runtime, kv), "errors")
    store.put_state(b"k", b"v")
    kv.fail_next(function, case, "disk on fire")
    operation: Callable[[], object] = {
        "put-state": lambda: store.put_state(b"k", b"w"),
        "scan-complex": lambda: list(store.scan_complex(b"g", b"k", b"")),
        "delete-state": lambda: store.delete_state(b"k"),
    }[function]
    with pytest.raises(SDKError, match=case) as raised:
        operation()
    assert raised.value.code is code
    assert "store 'errors'" in str(raised.value)
    assert store.get_state(b"k") == b"v"  # the failed call changed nothing; the store goes on
