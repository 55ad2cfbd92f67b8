"""The guest side without WebAssembly: imports without the engine's packages, and the guest
Stores over the test host's kv behaviours called in-process (fast, so the kit runs long here;
tests/functionstream/test_component.py runs it through the component)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fssdk import ComplexKey, Store, StoreInternalError
from fssdk.functionstream.guest._host import Host
from fssdk.functionstream.guest._runtime import Runtime
from fssdk.functionstream.guest._stores import ContractStore, EncodedStore
from fssdk.stores import MemoryStore
from fssdk.testing import check_store
from fssdk_advanced import IntCodec, KeyedValueStateFactory, StringCodec
from tests.support import machine_examples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

host_module = pytest.importorskip("fssdk.testing.functionstream", reason="needs the wasm extra")

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("rocksdict", "rich", "yaml", "wasmtime"):
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
import fssdk, fssdk_advanced, fssdk.functionstream, fssdk.functionstream.guest.app
print("ok")
"""


def test_the_guest_imports_without_rocksdict_rich_yaml_or_wasmtime() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


class _Scan:
    def __init__(self, kv: Any, pairs: Any) -> None:
        self._kv = kv
        self._pairs = iter(pairs)

    def next(self) -> tuple[bytes, bytes] | None:
        self._kv._enter("next")
        return next(self._pairs, None)


class _Resource:
    """A kv store as the bindings present it (an iterator resource), counting calls as the
    wasmtime host does."""

    def __init__(self, kv: Any, store: Any) -> None:
        self._kv = kv
        self._store = store

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def call(*args: Any) -> Any:
            self._kv._enter(name.replace("_", "-"))
            return method(*args)

        return call

    def scan_complex(self, key_group: bytes, key: bytes, namespace: bytes) -> _Scan:
        self._kv._enter("scan-complex")
        return _Scan(self._kv, self._store.scan_complex(key_group, key, namespace))


class _InProcessHost(Host):
    def __init__(self, kv: Any) -> None:
        self.kv = kv

    def open_store(self, name: str) -> Any:
        return _Resource(self.kv, self.kv.store(name))

    def complex_key(self, key_group: bytes, key: bytes, namespace: bytes, user_key: bytes) -> Any:
        return ComplexKey(key_group, key, namespace, user_key)

    def emit(self, target_id: int, data: bytes) -> None:
        raise AssertionError("stores do not emit")

    def emit_watermark(self, target_id: int, watermark: int) -> None:
        raise AssertionError("stores do not emit")

    def drop(self, resource: Any) -> None:
        return None

    def kv_error(self, exc: BaseException) -> tuple[str, str] | None:
        return None


def _stores(
    store_type: Callable[[str, Host], Store], host: Host
) -> tuple[Callable[[], Store], Callable[[Store], Store]]:
    names = itertools.count()

    def make_store() -> Store:
        return store_type(f"store-{next(names)}", host)

    def reopen(store: Store) -> Store:
        store.close()
        return store_type(store.name, host)

    return make_store, reopen


def test_encoded_store_keeps_the_contract_on_the_functionstream_kv(thresholds: str) -> None:
    make_store, reopen = _stores(EncodedStore, _InProcessHost(host_module.FunctionStreamKv()))
    check_store(make_store, reopen=reopen, max_examples=machine_examples(60, thresholds))


def test_contract_store_keeps_the_contract_on_the_contract_kv() -> None:
    make_store, reopen = _stores(ContractStore, _InProcessHost(host_module.ContractKv()))
    check_store(make_store, reopen=reopen, max_examples=60)


def _calls(kv: Any, action: Callable[[], object]) -> dict[str, int]:
    """The host calls ``action()`` makes, per WIT function."""
    kv.calls.clear()
    action()
    return dict(kv.calls)


def test_encoded_store_host_calls_match_its_documented_costs() -> None:
    kv = host_module.FunctionStreamKv()
    host = _InProcessHost(kv)
    opened = {"scan-complex": 3, "next": 3, "get-state": 3, "put-state": 1}
    assert _calls(kv, lambda: EncodedStore("costs", host).close()) == opened  # version written
    stores: list[EncodedStore] = []
    opened = {"scan-complex": 2, "next": 2, "get-state": 2}
    assert _calls(kv, lambda: stores.append(EncodedStore("costs", host))) == opened
    store = stores[0]
    ck = ComplexKey(b"g", b"user1", b"", b"a")

    def flushed(action: Callable[[], object]) -> dict[str, int]:
        """The calls of ``action`` and of the flush after it (the end of an export)."""

        def export() -> None:
            action()
            store.flush()

        return _calls(kv, export)

    assert flushed(lambda: store.put(ck, b"1")) == {"put-state": 1}
    assert _calls(kv, lambda: store.get(ck)) == {"get-state": 1}
    # The first operand of the store also writes the counter block, the mark that operands are
    # tracked per key group, and the mark of key group b"g".
    assert flushed(lambda: store.merge(ck, b"2")) == {"put-state": 4}
    assert flushed(lambda: store.merge(ck, b"3")) == {"put-state": 1}
    assert _calls(kv, lambda: store.get(ck)) == {"list-states": 1, "get-state": 3}
    # The operands outgrew the base: the flush writes the folded value and erases them.
    assert flushed(lambda: None) == {"put-state": 1, "delete-prefix": 1, "list-states": 1}
    assert _calls(kv, lambda: store.get(ck)) == {"list-states": 1, "get-state": 1}
    assert store.get(ck) == b"123"
    assert store.get(ComplexKey(b"g", b"user12", b"", b"a")) is None
    assert _calls(kv, lambda: store.get(ComplexKey(b"h", b"k", b"", b"a"))) == {"get-state": 1}
    clear = lambda: store.delete_prefix(ComplexKey(b"g", b"user1", b"", b""))  # noqa: E731
    assert flushed(clear) == {"delete-prefix": 1, "list-states": 1}
    assert store.get(ck) is None
    store.put(ComplexKey(b"h", b"k", b"", b"x"), b"1")
    store.flush()
    assert _calls(kv, lambda: list(store.scan_complex(b"h", b"k", b""))) == {
        "scan-complex": 1, "next": 2,
    }  # fmt: skip
    assert _calls(kv, lambda: list(store.scan_keys(b"h"))) == {"scan-complex": 1, "next": 2}


def test_encoded_store_writes_reach_the_host_only_when_flushed() -> None:
    kv = host_module.FunctionStreamKv()
    store = EncodedStore("s", _InProcessHost(kv))
    store.put(ComplexKey(b"g", b"k", b"", b"a"), b"1")
    store.put_state(b"x", b"2")
    assert store.get(ComplexKey(b"g", b"k", b"", b"a")) == b"1"  # reads see the buffer
    assert EncodedStore("s", _InProcessHost(kv)).get_state(b"x") is None
    store.flush()
    again = EncodedStore("s", _InProcessHost(kv))
    assert again.get(ComplexKey(b"g", b"k", b"", b"a")) == b"1"
    assert again.get_state(b"x") == b"2"


def test_a_failed_flush_drops_the_writes_it_could_not_make() -> None:
    """The writes of a failed export are not applied later: the host keeps the old value."""
    kv = host_module.FunctionStreamKv()
    store = EncodedStore("s", _InProcessHost(kv))
    store.put_state(b"k", b"v")
    store.flush()
    store.put_state(b"k", b"w")
    kv.fail_next("put-state", "io-error", "disk on fire")
    with pytest.raises(Exception, match="disk on fire"):
        store.flush()
    assert store.get_state(b"k") == b"v"
    store.flush()
    assert EncodedStore("s", _InProcessHost(kv)).get_state(b"k") == b"v"


def test_factory_keys_lists_the_primary_keys_on_the_functionstream_kv() -> None:
    """The factories' keys() works on Function Stream's host: the guest lists its own keys."""
    store = EncodedStore("keys", _InProcessHost(host_module.FunctionStreamKv()))
    counts = KeyedValueStateFactory(store, b"counts", IntCodec(), key_codec=StringCodec())
    for name in ("carol", "alice", "bob", "alice\x00"):
        counts.new_keyed_value(name).update(1)
    counts.new_keyed_value("dave", b"w1").update(2)
    assert list(counts.keys()) == ["alice", "alice\x00", "bob", "carol", "dave"]
    store.flush()
    counts.new_keyed_value("bob").clear()
    counts.new_keyed_value("eve").update(3)
    assert list(counts.keys()) == ["alice", "alice\x00", "carol", "dave", "eve"]
    assert list(counts.keys(b"w1")) == ["dave"]
    store.flush()
    assert list(counts.keys()) == ["alice", "alice\x00", "carol", "dave", "eve"]


@given(
    writes=st.lists(
        st.tuples(
            st.sampled_from(["put", "delete", "clear", "flush"]),
            st.sampled_from([b"", b"a", b"a\x00", b"ab", b"b", b"\xff"]),
            st.sampled_from([b"", b"n", b"n\x00"]),
            st.sampled_from([b"", b"u", b"v"]),
        ),
        max_size=30,
    )
)
@settings(max_examples=150, deadline=None)
def test_encoded_store_lists_the_keys_and_scopes_the_reference_lists(
    writes: list[tuple[str, bytes, bytes, bytes]],
) -> None:
    """Key and scope listings over buffered and flushed writes, with and without a namespace,
    agree with MemoryStore's (the host's forward-only seeker under the buffer's skip-scans)."""
    store = EncodedStore("s", _InProcessHost(host_module.FunctionStreamKv()))
    reference = MemoryStore("s")
    for operation, key, namespace, user_key in writes:
        ck = ComplexKey(b"g", key, namespace, user_key)
        for target in (store, reference):
            if operation == "put":
                target.put(ck, b"v")
            elif operation == "delete":
                target.delete(ck)
            elif operation == "clear":
                target.delete_prefix(ComplexKey(b"g", key, namespace, b""))
        if operation == "flush":
            store.flush()
    for listed in (None, b"", b"n", b"n\x00"):
        assert list(store.scan_keys(b"g", listed)) == list(reference.scan_keys(b"g", listed))
    assert list(store.scan_scopes(b"g")) == list(reference.scan_scopes(b"g"))


def test_functionstream_mode_refuses_a_host_that_keeps_the_contract() -> None:
    """On a contract host the encoded store's scans would find nothing, silently: it refuses."""
    kv = host_module.ContractKv()
    with pytest.raises(StoreInternalError, match=r"does not answer as Function Stream's.*contract"):
        EncodedStore("s", _InProcessHost(kv))
    assert kv.store("s").list_states(b"", b"") == []  # the probe's version record is gone
    with pytest.raises(StoreInternalError, match=r"does not answer as Function Stream's"):
        EncodedStore("s", _InProcessHost(kv))


def test_top_k_in_functionstream_mode_on_a_contract_host_fails_instead_of_dropping_records() -> (
    None
):
    """examples/top_k emitted 32 of its 166 records here, with no error; now fs-init fails."""
    runtime = Runtime(_InProcessHost(host_module.ContractKv()))
    source = (EXAMPLES / "top_k" / "slowest_requests.py").read_bytes()
    runtime.exec("", [("slowest_requests", source)])
    with pytest.raises(StoreInternalError, match=r"set fssdk\.kv=contract"):
        runtime.init([("k", "3"), ("fssdk.kv", "functionstream")])


RECORDER = b"""
import fssdk

class Recorder(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.store = ctx.get_or_create_store("records")

    def process(self, ctx, source_id, data):
        self.store.put_state(data, b"seen")
        if data == b"fail":
            raise ValueError("failed after writing")

    def take_checkpoint(self, ctx, checkpoint_id):
        self.store.put_state(b"checkpoint", str(checkpoint_id).encode())
"""


def test_each_export_hands_its_writes_to_the_host_and_a_failed_one_none() -> None:
    kv = host_module.FunctionStreamKv()
    runtime = Runtime(_InProcessHost(kv))
    runtime.exec("Recorder", [("recorder", RECORDER)])
    runtime.init([])

    def on_host(key: bytes) -> bytes | None:
        return EncodedStore("records", _InProcessHost(kv)).get_state(key)

    runtime.process(0, b"a")
    assert on_host(b"a") == b"seen"
    runtime.take_checkpoint(7)  # the host persists its state after this export returns
    assert on_host(b"checkpoint") == b"7"
    with pytest.raises(ValueError, match="failed after writing"):
        runtime.process(0, b"fail")
    assert on_host(b"fail") is None
    runtime.process(0, b"b")
    assert on_host(b"b") == b"seen"
    assert on_host(b"fail") is None  # the failed record's write was dropped, not delayed


def test_build_component_refuses_another_componentize_py(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.metadata

    from fssdk import cli

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0.1")
    output = tmp_path / "runtime.wasm"
    assert cli.main(["build-component", "-o", str(output)]) == 1
    error = capsys.readouterr().err
    assert "componentize-py 0.0.1 is installed" in error
    assert "0.25.1" in error
    assert not output.exists()
