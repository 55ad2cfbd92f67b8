"""A Function Stream host in Python (wasmtime-py), for tests and measurements.

:class:`ComponentRuntime` compiles the component once; :meth:`ComponentRuntime.instantiate`
gives a :class:`ComponentInstance` whose eight methods are the eight exports. The instance's
``kv`` imports are served by a :class:`Kv` behaviour that outlives instances (a restart is a new
instance over the same ``Kv``):

- :class:`ContractKv` keeps the Store contract (one fssdk :class:`~fssdk.stores.MemoryStore` per
  store name);
- :class:`FunctionStreamKv` reproduces Function Stream's host at commit 8c338d8
  (``wasm_host.rs`` over its RocksDB state store), deviations included.

Either can be told to fail the next call of one WIT function with a ``kv.error`` case
(:meth:`Kv.fail_next`). :class:`ComponentDriver` runs a component as an fssdk Driver (so
``fssdk run``'s runner can drive it), and :class:`RemoteStore` is an fssdk Store whose every
call runs inside the component (for the conformance kit).
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Iterator as PyIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgpack
from sortedcontainers import SortedDict
from wasmtime import Config, Engine, Store, Trap, WasiConfig, WasmtimeError
from wasmtime.component import (
    Component,
    Linker,
    ResourceAny,
    ResourceHost,
    ResourceType,
    Variant,
)

from fssdk._complex_key import ComplexKey
from fssdk._context import Context
from fssdk._driver import BaseDriver
from fssdk._errors import ErrorCode, SDKError
from fssdk._store import Iterator, Pair
from fssdk._store import Store as FsStore
from fssdk.functionstream.guest._context import CONTRACT_MODE, FUNCTIONSTREAM_MODE, MODE_KEY
from fssdk.runtime import OperatorFailedError
from fssdk.stores import MemoryStore

KV_INSTANCE: Final = "functionstream:core/kv@0.1.0"
COLLECTOR_INSTANCE: Final = "functionstream:core/collector@0.1.0"
_STORE_TYPE: Final = 1
_ITERATOR_TYPE: Final = 2
#: WIT functions whose ``result<option<...>, error>`` wasmtime-py 50 cannot lower as an error.
_OPTION_RESULTS: Final = frozenset({"get-state", "get", "next"})
_CASES: Final = ("not-found", "io-error", "other")


class _KvFault(Exception):
    """Raised inside a Kv method to answer the guest with a WIT ``kv.error``."""

    def __init__(self, case: str, message: str) -> None:
        super().__init__(case, message)
        self.variant = Variant(case, None if case == "not-found" else message)


# -- kv behaviours -----------------------------------------------------------------------------


class KvStore(abc.ABC):
    """One named store as the host sees it: the WIT ``kv.store`` methods, in Python."""

    @abc.abstractmethod
    def put_state(self, key: bytes, value: bytes) -> None: ...
    @abc.abstractmethod
    def get_state(self, key: bytes) -> bytes | None: ...
    @abc.abstractmethod
    def delete_state(self, key: bytes) -> None: ...
    @abc.abstractmethod
    def list_states(self, start: bytes, end: bytes) -> list[bytes]: ...
    @abc.abstractmethod
    def put(self, key: ComplexKey, value: bytes) -> None: ...
    @abc.abstractmethod
    def get(self, key: ComplexKey) -> bytes | None: ...
    @abc.abstractmethod
    def delete(self, key: ComplexKey) -> None: ...
    @abc.abstractmethod
    def merge(self, key: ComplexKey, value: bytes) -> None: ...
    @abc.abstractmethod
    def delete_prefix(self, key: ComplexKey) -> None: ...
    @abc.abstractmethod
    def list_complex(
        self, key_group: bytes, key: bytes, namespace: bytes, start: bytes, end: bytes
    ) -> list[bytes]: ...
    @abc.abstractmethod
    def scan_complex(self, key_group: bytes, key: bytes, namespace: bytes) -> PyIterator[Pair]: ...


class Kv(abc.ABC):
    """A host's state: named stores that outlive component instances, and injected faults."""

    def __init__(self) -> None:
        self._stores: dict[str, KvStore] = {}
        self._faults: dict[str, tuple[str, str]] = {}
        #: Host calls served, per WIT function name (for cost measurements).
        self.calls: dict[str, int] = {}

    @abc.abstractmethod
    def _new_store(self, name: str) -> KvStore:
        """A new, empty store called ``name``."""

    def store(self, name: str) -> KvStore:
        """The store called ``name`` (created empty on first use, as the hosts do)."""
        store = self._stores.get(name)
        if store is None:
            store = self._stores[name] = self._new_store(name)
        return store

    def fail_next(self, function: str, case: str, message: str = "injected") -> None:
        """Answer the next call of WIT function ``function`` (e.g. ``put-state``) with an error.

        ``case`` is ``not-found``, ``io-error`` or ``other``. Functions returning
        ``result<option<...>>`` (get-state, get, next) are refused: wasmtime-py 50 lowers any
        value there as the ok case.
        """
        if case not in _CASES:
            raise ValueError(f"fail_next: case must be one of {_CASES}, got {case!r}")
        if function in _OPTION_RESULTS:
            raise ValueError(f"fail_next: wasmtime-py cannot return an error from {function!r}")
        self._faults[function] = (case, message)

    def _enter(self, function: str) -> None:
        self.calls[function] = self.calls.get(function, 0) + 1
        fault = self._faults.pop(function, None)
        if fault is not None:
            raise _KvFault(*fault)


class _ContractStore(KvStore):
    def __init__(self, name: str) -> None:
        self._store = MemoryStore(name)

    def put_state(self, key: bytes, value: bytes) -> None:
        self._store.put_state(key, value)

    def get_state(self, key: bytes) -> bytes | None:
        return self._store.get_state(key)

    def delete_state(self, key: bytes) -> None:
        self._store.delete_state(key)

    def list_states(self, start: bytes, end: bytes) -> list[bytes]:
        return self._store.list_states(start, end)

    def put(self, key: ComplexKey, value: bytes) -> None:
        self._store.put(key, value)

    def get(self, key: ComplexKey) -> bytes | None:
        return self._store.get(key)

    def delete(self, key: ComplexKey) -> None:
        self._store.delete(key)

    def merge(self, key: ComplexKey, value: bytes) -> None:
        self._store.merge(key, value)

    def delete_prefix(self, key: ComplexKey) -> None:
        self._store.delete_prefix(key)

    def list_complex(
        self, key_group: bytes, key: bytes, namespace: bytes, start: bytes, end: bytes
    ) -> list[bytes]:
        return self._store.list_complex(key_group, key, namespace, start, end)

    def scan_complex(self, key_group: bytes, key: bytes, namespace: bytes) -> PyIterator[Pair]:
        return iter(self._store.scan_complex(key_group, key, namespace))


class ContractKv(Kv):
    """A host that keeps the Store contract: each store is an fssdk MemoryStore."""

    def _new_store(self, name: str) -> KvStore:
        return _ContractStore(name)


def _build_key(key_group: bytes, key: bytes, namespace: bytes, user_key: bytes) -> bytes:
    """Function Stream's ``key_builder::build_key``: the four parts concatenated."""
    return key_group + key + namespace + user_key


class _FunctionStreamStore(KvStore):
    """One column family of Function Stream's RocksDB state store, as ``wasm_host.rs`` uses it."""

    def __init__(self) -> None:
        self._data: SortedDict[bytes, bytes] = SortedDict()

    def put_state(self, key: bytes, value: bytes) -> None:
        self._data[key] = value

    def get_state(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def delete_state(self, key: bytes) -> None:
        self._data.pop(key, None)

    def list_states(self, start: bytes, end: bytes) -> list[bytes]:
        # RocksDB iteration from `start` with `end` as upper bound, stopping at keys >= end:
        # an empty end stops at once.
        if not end:
            return []
        return list(self._data.irange(start, end, inclusive=(True, False)))

    def put(self, key: ComplexKey, value: bytes) -> None:
        self.put_state(_build_key(*key), value)

    def get(self, key: ComplexKey) -> bytes | None:
        return self.get_state(_build_key(*key))

    def delete(self, key: ComplexKey) -> None:
        self.delete_state(_build_key(*key))

    def merge(self, key: ComplexKey, value: bytes) -> None:
        self.put(key, value)  # wasm_host.rs: merge calls put

    def delete_prefix(self, key: ComplexKey) -> None:
        prefix = _build_key(key.key_group, key.key, key.namespace, b"")
        for physical in self.list_states(prefix, prefix + b"\xff" * 256):
            self.delete_state(physical)

    def list_complex(
        self, key_group: bytes, key: bytes, namespace: bytes, start: bytes, end: bytes
    ) -> list[bytes]:
        return self.list_states(
            _build_key(key_group, key, namespace, start), _build_key(key_group, key, namespace, end)
        )

    def scan_complex(self, key_group: bytes, key: bytes, namespace: bytes) -> PyIterator[Pair]:
        prefix = _build_key(key_group, key, namespace, b"")
        pairs = []
        for physical in self._data.irange(minimum=prefix):
            if not physical.startswith(prefix):
                break
            pairs.append((physical, self._data[physical]))
        return iter(pairs)  # collected when created, like RocksDBStateIterator


class FunctionStreamKv(Kv):
    """Function Stream's host (commit 8c338d8) with its RocksDB state store, deviations included.

    Keys are ``key_group + key + namespace + user_key`` in one flat space shared with simple keys;
    ``merge`` is a put; ``delete-prefix`` deletes the scope's keys below prefix + 256 x 0xFF,
    whatever the user key; ``list-complex`` lists physical keys between the concatenations of the
    bounds (an empty end selects nothing, like ``list-states``); ``scan-complex`` returns the
    physical keys and values starting with the concatenated scope, collected when it starts.
    """

    def _new_store(self, name: str) -> KvStore:
        return _FunctionStreamStore()


# -- the wasmtime host -------------------------------------------------------------------------


class _Table:
    """Host resources by rep: stores and iterators of one instance."""

    def __init__(self) -> None:
        self._items: dict[int, Any] = {}
        self._reps = itertools.count(1)

    def add(self, item: Any) -> int:
        rep = next(self._reps)
        self._items[rep] = item
        return rep

    def get(self, rep: int) -> Any:
        return self._items[rep]

    def drop(self, rep: int) -> None:
        self._items.pop(rep, None)


@dataclass
class _Session:
    """What the host functions of one instance reach: its kv, resource table and outputs."""

    kv: Kv | None = None
    table: _Table = field(default_factory=_Table)
    on_emit: Callable[[int, bytes], None] = lambda target, data: None
    on_watermark: Callable[[int, int], None] = lambda target, watermark: None


def _ck(record: Any) -> ComplexKey:
    fields = (getattr(record, name) for name in ("key-group", "key", "namespace", "user-key"))
    return ComplexKey(*(bytes(value) for value in fields))


class ComponentRuntime:
    """An engine with the component compiled once and a linker providing kv and collector.

    ``cache_dir`` keeps the compiled form (``*.cwasm``) between processes.
    """

    def __init__(self, component: Path, cache_dir: Path | None = None) -> None:
        self.engine = Engine(Config())
        self.component = self._load(Path(component), cache_dir)
        self._sessions: dict[int, _Session] = {}
        self._current: _Session = _Session()
        self.linker = Linker(self.engine)
        self.linker.add_wasip2()
        self._define()

    def _load(self, path: Path, cache_dir: Path | None) -> Component:
        if cache_dir is None:
            return Component.from_file(self.engine, str(path))
        import hashlib  # noqa: PLC0415

        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        compiled = Path(cache_dir) / f"{path.stem}-{digest}.cwasm"
        if compiled.exists():
            return Component.deserialize_file(self.engine, str(compiled))
        component = Component.from_file(self.engine, str(path))
        compiled.parent.mkdir(parents=True, exist_ok=True)
        partial = compiled.with_suffix(".partial")
        partial.write_bytes(bytes(component.serialize()))
        partial.replace(compiled)
        return component

    def _kv_function(self, function: str, method: Callable[..., Any]) -> Callable[..., Any]:
        """A host function: the session's kv counts the call, then ``method`` answers it."""

        def call(store: Any, *args: Any) -> Any:
            session = self._current
            assert session.kv is not None
            # A borrowed handle must be taken in every call, the failing ones included.
            args = tuple(a.to_host(store) if isinstance(a, ResourceAny) else a for a in args)
            try:
                session.kv._enter(function)
                return method(session, *args)
            except _KvFault as fault:
                return fault.variant

        return call

    def _define(self) -> None:
        def kv_store(session: _Session, handle: Any) -> KvStore:
            store: KvStore = session.table.get(handle.rep)
            return store

        def methods() -> dict[str, Callable[..., Any]]:
            def new(session: _Session, name: str) -> ResourceHost:
                assert session.kv is not None
                rep = session.table.add(session.kv.store(name))
                return ResourceHost.own(rep, _STORE_TYPE)

            def scan(session: _Session, handle: Any, kg: bytes, k: bytes, ns: bytes) -> Any:
                pairs = Iterator(kv_store(session, handle).scan_complex(kg, k, ns))
                return ResourceHost.own(session.table.add(pairs), _ITERATOR_TYPE)

            def iterator(session: _Session, handle: Any) -> Iterator:
                items: Iterator = session.table.get(handle.rep)
                return items

            def has_next(session: _Session, handle: Any) -> bool:
                return iterator(session, handle).has_next()

            def next_pair(session: _Session, handle: Any) -> tuple[bytes, bytes] | None:
                items = iterator(session, handle)
                return items.next() if items.has_next() else None

            def s(name: str) -> Callable[..., Any]:
                return lambda session, handle, *args: getattr(kv_store(session, handle), name)(
                    *[bytes(a) if isinstance(a, bytes | bytearray | list) else a for a in args]
                )

            def c(name: str) -> Callable[..., Any]:
                return lambda session, handle, key, *args: getattr(kv_store(session, handle), name)(
                    _ck(key), *[bytes(a) for a in args]
                )

            return {
                "[constructor]store": new,
                "[method]store.put-state": s("put_state"),
                "[method]store.get-state": s("get_state"),
                "[method]store.delete-state": s("delete_state"),
                "[method]store.list-states": s("list_states"),
                "[method]store.put": c("put"),
                "[method]store.get": c("get"),
                "[method]store.delete": c("delete"),
                "[method]store.merge": c("merge"),
                "[method]store.delete-prefix": c("delete_prefix"),
                "[method]store.list-complex": s("list_complex"),
                "[method]store.scan-complex": scan,
                "[method]iterator.has-next": has_next,
                "[method]iterator.next": next_pair,
            }

        def drop(_store: Any, rep: int) -> None:
            self._current.table.drop(rep)

        with self.linker.root() as root:
            with root.add_instance(KV_INSTANCE) as kv:
                kv.add_resource("store", ResourceType.host(_STORE_TYPE), drop)
                kv.add_resource("iterator", ResourceType.host(_ITERATOR_TYPE), drop)
                for name, method in methods().items():
                    function = name.rpartition(".")[2] if "." in name else "store"
                    kv.add_func(name, self._kv_function(function, method))
            with root.add_instance(COLLECTOR_INSTANCE) as collector:
                collector.add_func(
                    "emit", lambda _s, target, data: self._current.on_emit(target, bytes(data))
                )
                collector.add_func(
                    "emit-watermark",
                    lambda _s, target, watermark: self._current.on_watermark(target, watermark),
                )

    def instantiate(
        self,
        kv: Kv,
        on_emit: Callable[[int, bytes], None] | None = None,
        on_watermark: Callable[[int, int], None] | None = None,
    ) -> ComponentInstance:
        """A fresh instance over ``kv``; emitted records go to ``on_emit(target_id, data)``."""
        return ComponentInstance(self, kv, on_emit, on_watermark)


class ComponentInstance:
    """One instance of the component: its exports as methods.

    A trap (the operator raised, or the guest failed) becomes :class:`OperatorFailedError`; the
    instance is unusable afterwards, as in Function Stream.
    """

    def __init__(
        self,
        runtime: ComponentRuntime,
        kv: Kv,
        on_emit: Callable[[int, bytes], None] | None,
        on_watermark: Callable[[int, int], None] | None,
    ) -> None:
        self.emitted: list[tuple[int, bytes]] = []
        self.watermarks: list[tuple[int, int]] = []
        self._runtime = runtime
        self._session = _Session(
            kv=kv,
            on_emit=on_emit or (lambda target, data: self.emitted.append((target, data))),
            on_watermark=on_watermark
            or (lambda target, mark: self.watermarks.append((target, mark))),
        )
        self._store = Store(runtime.engine)
        wasi = WasiConfig()
        wasi.inherit_stdout()
        wasi.inherit_stderr()
        self._store.set_wasi(wasi)
        self._funcs: dict[str, Any] = {}
        self._instance = self._enter(
            lambda: runtime.linker.instantiate(self._store, runtime.component)
        )

    def _enter(self, call: Callable[[], Any]) -> Any:
        runtime = self._runtime
        outer, runtime._current = runtime._current, self._session
        try:
            return call()
        except (Trap, WasmtimeError) as exc:
            raise OperatorFailedError(f"component trapped: {exc}") from exc
        finally:
            runtime._current = outer

    def _call(self, export: str, *args: Any) -> Any:
        func = self._funcs.get(export)
        if func is None:
            func = self._funcs[export] = self._instance.get_func(self._store, export)
            if func is None:
                raise OperatorFailedError(f"the component has no export {export!r}")

        def run() -> Any:
            result = func(self._store, *args)
            func.post_return(self._store)
            return result

        return self._enter(run)

    def exec(self, class_name: str, modules: Sequence[tuple[str, bytes]]) -> None:
        self._call("fs-exec", class_name, [(name, bytes(source)) for name, source in modules])

    def init(self, config: Mapping[str, str]) -> None:
        self._call("fs-init", list(config.items()))

    def process(self, source_id: int, data: bytes) -> None:
        self._call("fs-process", source_id, data)

    def process_watermark(self, source_id: int, watermark: int) -> None:
        self._call("fs-process-watermark", source_id, watermark)

    def take_checkpoint(self, checkpoint_id: int) -> None:
        self._call("fs-take-checkpoint", checkpoint_id)

    def check_heartbeat(self) -> bool:
        return bool(self._call("fs-check-heartbeat"))

    def custom(self, payload: bytes) -> bytes:
        return bytes(self._call("fs-custom", payload))

    def close(self) -> None:
        self._call("fs-close")


# -- adapters: the component as an fssdk Driver, and a guest Store as an fssdk Store ------------


def operator_modules(path: Path) -> list[tuple[str, bytes]]:
    """The ``fs-exec`` modules of a one-file operator: ``[(module name, source)]``."""
    path = Path(path)
    return [(path.stem, path.read_bytes())]


class ComponentDriver(BaseDriver):
    """An fssdk Driver that runs an operator inside the component, over ``kv``.

    ``init`` instantiates the component, loads ``modules`` (``fs-exec``) and initialises it with
    the runner's configuration plus the store mode; every later call is the matching export.
    What the operator emits goes to the runner's context.
    """

    def __init__(
        self,
        runtime: ComponentRuntime,
        kv: Kv,
        modules: Sequence[tuple[str, bytes]],
        class_name: str = "",
    ) -> None:
        self._runtime = runtime
        self._kv = kv
        self._modules = list(modules)
        self._class_name = class_name
        self.instance: ComponentInstance | None = None

    def _live(self) -> ComponentInstance:
        if self.instance is None:
            raise OperatorFailedError("the component is not initialised")
        return self.instance

    def init(self, ctx: Context, config: Mapping[str, str]) -> None:
        mode = CONTRACT_MODE if isinstance(self._kv, ContractKv) else FUNCTIONSTREAM_MODE
        self.instance = self._runtime.instantiate(
            self._kv,
            on_emit=lambda target, data: ctx.emit(data, target),
            on_watermark=lambda target, mark: ctx.emit_watermark(mark, target),
        )
        self.instance.exec(self._class_name, self._modules)
        self.instance.init({**config, MODE_KEY: mode})

    def process(self, ctx: Context, source_id: int, data: bytes) -> None:
        self._live().process(source_id, data)

    def process_watermark(self, ctx: Context, source_id: int, watermark: int) -> None:
        self._live().process_watermark(source_id, watermark)

    def take_checkpoint(self, ctx: Context, checkpoint_id: int) -> None:
        self._live().take_checkpoint(checkpoint_id)

    def check_heartbeat(self, ctx: Context) -> bool:
        return self._live().check_heartbeat()

    def custom(self, ctx: Context, payload: bytes) -> bytes:
        return self._live().custom(payload)

    def close(self, ctx: Context) -> None:
        instance, self.instance = self._live(), None
        instance.close()


STORE_SERVICE: Final = Path(__file__).parents[1] / "functionstream" / "_store_service.py"


def store_service(runtime: ComponentRuntime, kv: Kv, mode: str | None = None) -> ComponentInstance:
    """An instance running the store service operator (``fs-custom`` store calls) over ``kv``."""
    if mode is None:
        mode = CONTRACT_MODE if isinstance(kv, ContractKv) else FUNCTIONSTREAM_MODE
    instance = runtime.instantiate(kv)
    instance.exec("", operator_modules(STORE_SERVICE))
    instance.init({MODE_KEY: mode})
    return instance


def _raise_remote(reply: list[Any]) -> Any:
    status = reply[0]
    if status == 0:
        return reply[1]
    if status == 1:
        raise SDKError(ErrorCode[reply[1]], reply[2])
    error_type = {"TypeError": TypeError, "ValueError": ValueError}.get(reply[1], RuntimeError)
    raise error_type(reply[2])


_CHECKED_HERE: Final = frozenset({"scope", "scopes", "scan_complex", "list_complex"})


class RemoteStore(FsStore):
    """An fssdk Store whose every call runs on the guest Store inside a store-service instance.

    Guest SDK errors come back as :class:`SDKError` with their code, and wrong argument types as
    the guest's ``TypeError``; scans pull one entry per ``fs-custom`` call from a guest iterator.
    """

    def __init__(self, instance: ComponentInstance, name: str) -> None:
        super().__init__(name)
        self._instance = instance

    def _request(self, *request: Any) -> Any:
        payload = msgpack.packb(request, use_bin_type=True)
        reply = msgpack.unpackb(self._instance.custom(payload), raw=False)
        return _raise_remote(reply)

    def _call(self, method: str, *args: Any) -> Any:
        return self._request("call", self.name, method, [_wire(a) for a in args])

    def _reject(self, operation: str, /, *key: object, **arguments: object) -> None:
        """Only a closed proxy refuses here: the guest store checks the arguments of the calls
        it serves (what the conformance kit is to see). Scopes are made here, and scans pack
        their arguments into a ComplexKey here, so those are checked here (by the same code)."""
        if operation in _CHECKED_HERE:
            super()._reject(operation, *key, **arguments)
        else:
            self._check_open(operation)

    def _put_state(self, key: bytes, value: bytes) -> None:
        self._call("put_state", key, value)

    def _get_state(self, key: bytes) -> bytes | None:
        value: bytes | None = self._call("get_state", key)
        return value

    def _delete_state(self, key: bytes) -> None:
        self._call("delete_state", key)

    def _list_states(self, start_inclusive: bytes, end_exclusive: bytes) -> list[bytes]:
        keys: list[bytes] = self._call("list_states", start_inclusive, end_exclusive)
        return keys

    def _put(self, key: ComplexKey, value: bytes) -> None:
        self._call("put", key, value)

    def _get(self, key: ComplexKey) -> bytes | None:
        value: bytes | None = self._call("get", key)
        return value

    def _delete(self, key: ComplexKey) -> None:
        self._call("delete", key)

    def _merge(self, key: ComplexKey, value: bytes) -> None:
        self._call("merge", key, value)

    def _delete_prefix(self, key: ComplexKey) -> None:
        self._call("delete_prefix", key)

    def list_complex(
        self,
        key_group: bytes,
        key: bytes,
        namespace: bytes,
        start_inclusive: bytes,
        end_exclusive: bytes,
    ) -> list[bytes]:
        keys: list[bytes] = self._call(
            "list_complex", key_group, key, namespace, start_inclusive, end_exclusive
        )
        return keys

    def _scan_complex(self, low: ComplexKey, end: bytes, reverse: bool) -> PyIterator[Pair]:
        scan_id = self._request("scan", self.name, [_wire(a) for a in (*low, end, reverse)])
        return self._pull(scan_id)

    def _pull(self, scan_id: int) -> PyIterator[Pair]:
        try:
            while True:
                pair = self._request("next", scan_id)
                if pair is None:
                    return
                yield bytes(pair[0]), bytes(pair[1])
        finally:
            if not self._closed:
                self._request("end", scan_id)

    def close(self) -> None:
        if not self._closed:
            self._request("close", self.name)
        super().close()


def _wire(value: Any) -> Any:
    """A Store argument as msgpack carries it (a ComplexKey as a tagged list)."""
    if isinstance(value, ComplexKey):
        return {"ck": list(value)}
    return value
