"""Keyed stages for DataStream programs, and the file-to-file job of ``fssdk run --engine flink``.

:func:`keyed_stage` is the Python API: ``key_by`` + :class:`DriverFunction` + side outputs, on
any stream of bytes records. :func:`run_file_job` runs one stage over a text file on a local
mini-cluster (RocksDB state backend, checkpoints) and writes what it emits to files; it can stop
with a savepoint once every input line is processed and start from one, at any parallelism.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from fssdk._driver import Driver
from fssdk.runtime._run_errors import (
    OperatorFailedError,
    OutputRecordError,
    RunnerIOError,
    UsageError,
)


def _python_path_for_workers() -> None:
    """Let Flink's embedded Python (thread mode) import what this process imports.

    The JVM inherits this process's environment; its embedded interpreter does not read the
    virtual environment's configuration, so the client's ``sys.path`` goes into ``PYTHONPATH``.
    Must run before PyFlink starts its JVM.
    """
    entries = [entry for entry in sys.path if entry and os.path.isdir(entry)]
    old = os.environ.get("PYTHONPATH")
    if old:
        entries += [entry for entry in old.split(os.pathsep) if entry not in entries]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entries))


_python_path_for_workers()

from pyflink.common import Configuration, Duration, WatermarkStrategy  # noqa: E402
from pyflink.common.watermark_strategy import TimestampAssigner  # noqa: E402
from pyflink.datastream import (  # noqa: E402
    DataStream,
    OutputTag,
    StreamExecutionEnvironment,
)
from pyflink.datastream.connectors.file_system import FileSource, StreamFormat  # noqa: E402
from pyflink.datastream.data_stream import CloseableIterator  # noqa: E402
from pyflink.java_gateway import get_gateway  # noqa: E402

from fssdk.flink._function import BYTES, DriverFunction  # noqa: E402
from fssdk.runtime._loader import load_operator  # noqa: E402

#: The uid of the operator's stage: state in a savepoint is matched to it on restore.
OPERATOR_UID: Final = "fssdk-operator"
#: Max parallelism (number of Flink key groups): fixed so that savepoints rescale to any
#: parallelism up to it.
MAX_PARALLELISM: Final = 128


@dataclass(frozen=True)
class KeyedStage:
    """The streams of a keyed stage: ``output`` (target 0) and one side output per target."""

    output: DataStream
    side_outputs: Mapping[int, DataStream] = field(default_factory=dict)

    def side_output(self, target_id: int) -> DataStream:
        """The stream of what the driver emits on ``target_id`` (declared in ``keyed_stage``)."""
        if target_id == 0:
            return self.output
        try:
            return self.side_outputs[target_id]
        except KeyError:
            raise KeyError(
                f"target {target_id} was not declared: pass side_outputs=[{target_id}, ...] to "
                "keyed_stage"
            ) from None


class KeyOf:
    """A Flink key selector around ``key_of(record) -> bytes`` that checks what it returns."""

    def __init__(self, key_of: Callable[[bytes], bytes]) -> None:
        self._key_of = key_of

    def __call__(self, record: bytes | str) -> bytes:
        data = record.encode() if isinstance(record, str) else record
        key = self._key_of(data)
        if type(key) is not bytes:
            raise TypeError(
                f"key_of must return bytes, got {type(key).__name__} for record {data[:80]!r}"
            )
        return key


def keyed_stage(
    stream: DataStream,
    driver: Driver | Callable[[], Driver],
    key_of: Callable[[bytes], bytes],
    *,
    config: Mapping[str, str] | None = None,
    side_outputs: Iterable[int] = (),
    process_watermarks: bool = False,
    uid: str = OPERATOR_UID,
    name: str | None = None,
) -> KeyedStage:
    """Key ``stream`` (of bytes records) by ``key_of`` and run ``driver`` on it.

    ``side_outputs`` lists the target ids ``> 0`` the driver emits on; each becomes an
    ``OutputTag`` and a stream in the result. ``uid`` identifies the stage's state in
    savepoints: keep it stable across versions of a job.
    """
    tags = {target: OutputTag(f"fssdk-target-{target}", BYTES) for target in side_outputs}
    function = DriverFunction(
        driver, config=config, side_outputs=tags, process_watermarks=process_watermarks
    )
    output = (
        stream.key_by(KeyOf(key_of), key_type=BYTES)
        .process(function, output_type=BYTES)
        .uid(uid)
        .name(name or uid)
    )
    return KeyedStage(output, {target: output.get_side_output(tag) for target, tag in tags.items()})


# -- the command line's job ------------------------------------------------------------------


def json_field_key(name: str, record: bytes) -> bytes:
    """The key of a JSON-object record: field ``name``, UTF-8 if a string, else its JSON text."""
    try:
        document = json.loads(record)
    except ValueError as exc:
        raise ValueError(f"record is not JSON: {record[:80]!r}") from exc
    if not isinstance(document, dict) or name not in document:
        raise ValueError(f"record has no field {name!r} to key by: {record[:80]!r}")
    value = document[name]
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, sort_keys=True).encode()


class JsonFieldTimestamp(TimestampAssigner):  # type: ignore[misc]
    """Event time of a JSON-object record: its integer field ``name``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        document = json.loads(value)
        stamp = document.get(self._name) if isinstance(document, dict) else None
        if type(stamp) is not int:
            raise ValueError(
                f"record has no integer field {self._name!r} for its timestamp: {value[:80]!r}"
            )
        return stamp


def load_driver(spec: str) -> Driver:
    """The driver registered by the operator ``spec`` (run in each Flink worker)."""
    return load_operator(spec).driver


def local_configuration(
    parallelism: int,
    checkpoint_dir: str,
    *,
    from_savepoint: str | None = None,
    checkpoint_interval_ms: int = 500,
    mode: str = "thread",
) -> Configuration:
    """A local mini-cluster's configuration: RocksDB, checkpoints, no restarts.

    Thread mode runs Python functions inside the JVM (the faster mode, per the Flink docs and
    docs/flink.md); ``mode="process"`` runs them in separate Python workers.
    """
    conf = Configuration()
    settings = {
        "python.execution-mode": mode,
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        "state.backend.type": "rocksdb",
        "execution.checkpointing.interval": f"{checkpoint_interval_ms}ms",
        "execution.checkpointing.dir": Path(checkpoint_dir).resolve().as_uri(),
        "restart-strategy.type": "none",
        "parallelism.default": str(parallelism),
        "pipeline.max-parallelism": str(MAX_PARALLELISM),
        # PyFlink fuses chained Python operators into one, which gives a stage's uid to two
        # nodes ("Hash collision on user-specified ID") when Python operators follow it.
        "python.operator-chaining.enabled": "false",
    }
    if from_savepoint is not None:
        settings["execution.state-recovery.path"] = Path(from_savepoint).resolve().as_uri()
        settings["execution.state-recovery.ignore-unclaimed-state"] = "true"
    for key, value in settings.items():
        conf.set_string(key, value)
    return conf


def find_savepoint(path: str) -> str:
    """``path`` if it is a savepoint, else the newest ``savepoint-*`` directory in it."""
    folder = Path(path)
    if (folder / "_metadata").is_file():
        return str(folder)
    found = sorted(
        (child for child in folder.glob("savepoint-*") if (child / "_metadata").is_file()),
        key=lambda child: child.stat().st_mtime,
    )
    if not found:
        raise UsageError(f"--from-savepoint {path!r}: no Flink savepoint there (no _metadata)")
    return str(found[-1])


def count_lines(path: str) -> int:
    """Records Flink's text-line format reads from ``path`` (lines end at \\n, \\r or \\r\\n)."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline=None) as handle:
            return sum(1 for _ in handle)
    except OSError as exc:
        raise RunnerIOError(f"cannot read input {path!r}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class FlinkJobResult:
    """What a file job did: input records, lines written per target, the savepoint, seconds."""

    records: int
    outputs: dict[int, int]
    savepoint: str | None
    elapsed: float


class _Outputs:
    """Target 0 to ``output`` (``-``: stdout), target ``n`` to ``PREFIX.n``."""

    def __init__(self, output: str, side_output_prefix: str | None) -> None:
        self._output = output
        self._prefix = side_output_prefix or (output if output != "-" else None)
        self._files: dict[int, IO[bytes]] = {}
        self.lines: dict[int, int] = {}

    def _file(self, target: int) -> IO[bytes]:
        handle = self._files.get(target)
        if handle is not None:
            return handle
        if target == 0:
            path = self._output
        elif self._prefix is None:
            raise UsageError(f"the operator emitted on target {target}: give --side-outputs PREFIX")
        else:
            path = f"{self._prefix}.{target}"
        try:
            handle = sys.stdout.buffer if path == "-" else open(path, "wb")  # noqa: SIM115
        except OSError as exc:
            raise RunnerIOError(f"cannot write {path!r}: {exc.strerror or exc}") from exc
        self._files[target] = handle
        self.lines[target] = 0
        return handle

    def write(self, target: int, data: bytes) -> None:
        if b"\n" in data:
            raise OutputRecordError(
                f"the operator emitted a record with a newline on target {target}: {data[:80]!r}"
            )
        self._file(target).write(data + b"\n")
        self.lines[target] += 1

    def close(self) -> None:
        for handle in self._files.values():
            if handle is sys.stdout.buffer:
                handle.flush()
            else:
                handle.close()


_PYTHON_ERROR: Final = re.compile(r"PythonException: <class '([^']+)'>: (.*)")


def _failure(exc: Exception) -> OperatorFailedError:
    """The operator's own error out of the Java stack trace that a failed job raises."""
    text = str(exc)
    found = _PYTHON_ERROR.findall(text)
    if found:
        kind, message = found[-1]
        return OperatorFailedError(f"the job failed: {kind.rsplit('.', 1)[-1]}: {message}")
    first = next((line for line in text.splitlines() if "Exception" in line), text[:300])
    return OperatorFailedError(f"the job failed: {first.strip()}")


def run_file_job(
    driver: Driver | Callable[[], Driver] | str,
    *,
    input: str,
    output: str,
    key_of: Callable[[bytes], bytes],
    parallelism: int = 1,
    config: Mapping[str, str] | None = None,
    savepoint_dir: str | None = None,
    from_savepoint: str | None = None,
    timestamp_field: str | None = None,
    watermark_delay: int = 0,
    side_output_prefix: str | None = None,
    checkpoint_interval_ms: int = 500,
    mode: str = "thread",
) -> FlinkJobResult:
    """Run ``driver`` over the lines of ``input`` on a local mini-cluster; write its outputs.

    ``driver`` is a Driver, a factory, or an operator spec (a .py path or ``package.module``,
    loaded in each worker). Each line is a record (UTF-8); records are keyed by ``key_of``.
    Target 0 goes to ``output`` in the order results reach the client (per key the operator's
    order, across keys interleaved); target ``n`` to ``PREFIX.n``. With ``savepoint_dir`` the
    job stops with a savepoint once every line is processed (the input is read as an unbounded
    source, so no final watermark); without it the input is bounded, and its end sends the
    final watermark. With ``timestamp_field`` records carry event time and
    ``process_watermark`` is called per key as Flink's watermark (the largest timestamp seen
    minus ``watermark_delay`` minus 1) advances.
    """
    if parallelism < 1 or parallelism > MAX_PARALLELISM:
        raise UsageError(f"--parallelism must be in 1..{MAX_PARALLELISM}, got {parallelism}")
    expected = count_lines(input)
    restore = find_savepoint(from_savepoint) if from_savepoint is not None else None
    function = DriverFunction(
        _driver_source(driver),
        config=config,
        process_watermarks=timestamp_field is not None,
        tagged=True,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fssdk-flink-") as scratch:
        env = StreamExecutionEnvironment.get_execution_environment(
            local_configuration(
                parallelism,
                os.path.join(scratch, "checkpoints"),
                from_savepoint=restore,
                checkpoint_interval_ms=checkpoint_interval_ms,
                mode=mode,
            )
        )
        run_id = uuid.uuid4().hex
        # Source and collect sink get fresh uids each run: a resumed job reads a new input
        # and collects afresh; only the operator's state (OPERATOR_UID) carries over.
        lines = env.from_source(
            _file_source(input, unbounded=savepoint_dir is not None),
            _watermarks(timestamp_field, watermark_delay),
            "input",
        ).uid(f"fssdk-input-{run_id}")
        results = (
            lines.key_by(KeyOf(key_of), key_type=BYTES)
            .process(function, output_type=BYTES)
            .uid(OPERATOR_UID)
            .name(OPERATOR_UID)
        )
        j_iterator = _collect(env, results, f"fssdk-collect-{run_id}")
        outputs = _Outputs(output, side_output_prefix)
        try:
            client = env.execute_async(f"fssdk {Path(input).name}")
            with CloseableIterator(j_iterator, results.get_type()) as collected:
                records = _write(collected, outputs, expected if savepoint_dir else None)
                savepoint = None
                if savepoint_dir is not None:
                    savepoint = _stop_with_savepoint(client, savepoint_dir)
                    _write(collected, outputs, None)
        except Exception as exc:
            if type(exc).__name__ == "Py4JJavaError":
                raise _failure(exc) from None
            raise
        finally:
            outputs.close()
    return FlinkJobResult(records, dict(outputs.lines), savepoint, time.monotonic() - started)


def _driver_source(driver: Driver | Callable[[], Driver] | str) -> Driver | Callable[[], Driver]:
    """A driver or factory for DriverFunction; an operator spec is checked here, loaded there."""
    if not isinstance(driver, str):
        return driver
    spec = str(Path(driver).resolve()) if driver.endswith(".py") else driver
    load_driver(spec)  # fail here, with the loader's message, rather than in a worker
    return functools.partial(load_driver, spec)


def _file_source(path: str, *, unbounded: bool) -> Any:
    """Flink's text-line file source; unbounded (monitoring the file) to stop with a savepoint."""
    builder = FileSource.for_record_stream_format(
        StreamFormat.text_line_format(), str(Path(path).resolve())
    )
    if unbounded:
        builder = builder.monitor_continuously(Duration.of_seconds(1))
    return builder.build()


def _watermarks(timestamp_field: str | None, delay: int) -> WatermarkStrategy:
    """Bounded out-of-orderness on the JSON field, or no watermarks without one."""
    if timestamp_field is None:
        return WatermarkStrategy.no_watermarks()
    return WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_millis(delay)
    ).with_timestamp_assigner(JsonFieldTimestamp(timestamp_field))


def _write(collected: Iterable[Any], outputs: _Outputs, until_records: int | None) -> int:
    """Write collected results; stop after ``until_records`` records (None: at the end)."""
    records = 0
    if until_records == 0:
        return 0
    for is_record, emitted in collected:
        for target, data in emitted:
            outputs.write(target, data)
        records += is_record
        if records == until_records:
            break
    return records


def _collect(env: StreamExecutionEnvironment, stream: DataStream, uid: str) -> Any:
    """``stream.collectAsync()`` with a sink uid of our choosing; the Java iterator.

    ``collectAsync`` names its sink after the transformation's id, which is the same in every
    run of one program, so a job resumed from a savepoint would restore the previous run's
    collect buffer and fail; a fresh uid leaves that state unclaimed.
    """
    jvm = get_gateway().jvm
    collect = jvm.org.apache.flink.streaming.api.operators.collect
    j_env = env._j_stream_execution_environment
    j_stream = stream._j_data_stream
    serializer = j_stream.getType().createSerializer(j_env.getConfig().getSerializerConfig())
    accumulator = f"dataStreamCollect_{uuid.uuid4()}"
    settings = j_env.getConfiguration()
    factory = collect.CollectSinkOperatorFactory(
        serializer,
        accumulator,
        settings.get(collect.CollectSinkOperatorFactory.MAX_BATCH_SIZE),
        settings.get(collect.CollectSinkOperatorFactory.SOCKET_TIMEOUT),
    )
    sink = collect.CollectStreamSink(j_stream, factory)
    sink.name("fssdk output").uid(uid)
    timeout = settings.get(jvm.org.apache.flink.configuration.RpcOptions.ASK_TIMEOUT_DURATION)
    iterator = collect.CollectResultIterator(
        uid, serializer, accumulator, j_env.getCheckpointConfig(), timeout.toMillis()
    )
    j_env.addOperator(sink.getTransformation())
    j_env.registerCollectIterator(iterator)
    return iterator


def _stop_with_savepoint(client: Any, directory: str) -> str:
    """Stop the job with a canonical savepoint in ``directory``; its path.

    PyFlink's ``JobClient.stop_with_savepoint`` does not pass a format type through Py4J; the
    Java client's three-argument form does.
    """
    gateway = get_gateway()
    canonical = gateway.jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
    target = Path(directory).resolve()
    target.mkdir(parents=True, exist_ok=True)
    path: str = client._j_job_client.stopWithSavepoint(False, target.as_uri(), canonical).get()
    return path.removeprefix("file:")
