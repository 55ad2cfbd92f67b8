"""The guest side without WebAssembly: imports without the engine's packages, and the guest
Stores over the test host's kv behaviours called in-process (fast, so the kit runs long here;
tests/functionstream/test_component.py runs it through the component)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from fssdk import ComplexKey, Store
from fssdk.functionstream.guest._host import Host
from fssdk.functionstream.guest._stores import ContractStore, EncodedStore
from fssdk.testing import check_store
from tests.support import machine_examples

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
    def __init__(self, pairs: Any) -> None:
        self._pairs = iter(pairs)

    def next(self) -> tuple[bytes, bytes] | None:
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
        return _Scan(self._store.scan_complex(key_group, key, namespace))


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


def test_encoded_store_host_calls_match_its_documented_costs() -> None:
    kv = host_module.FunctionStreamKv()
    store = EncodedStore("costs", _InProcessHost(kv))
    ck = ComplexKey(b"g", b"user1", b"", b"a")

    def calls(action: Callable[[], object]) -> dict[str, int]:
        kv.calls.clear()
        action()
        return dict(kv.calls)

    assert calls(lambda: store.put(ck, b"1")) == {"put-state": 1}
    assert calls(lambda: store.get(ck)) == {"get-state": 1}
    assert calls(lambda: store.merge(ck, b"2")) == {"put-state": 2}  # + the sequence block
    assert calls(lambda: store.merge(ck, b"3")) == {"put-state": 1}
    folded = {"get-state": 3, "list-states": 1, "put-state": 1, "delete-state": 2}
    assert calls(lambda: store.get(ck)) == folded
    assert store.get(ck) == b"123"
    assert calls(lambda: store.get(ck)) == {"get-state": 1, "list-states": 1}
    assert store.get(ComplexKey(b"g", b"user12", b"", b"a")) is None
    assert calls(lambda: store.delete_prefix(ComplexKey(b"g", b"user1", b"", b""))) == {
        "delete-prefix": 1, "list-states": 1,
    }  # fmt: skip
    assert store.get(ck) is None
    assert calls(lambda: list(store.scan_complex(b"g", b"user1", b""))) == {"scan-complex": 1}


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
