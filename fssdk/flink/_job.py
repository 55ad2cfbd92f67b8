"""Keyed stages for DataStream programs, and the file-to-file job of ``fssdk run --engine flink``.

:func:`keyed_stage` is the Python API: ``key_by`` + :class:`DriverFunction` + side outputs, on
any stream of bytes records. :func:`run_file_job` runs one stage over a text file on a local
mini-cluster (RocksDB state backend, checkpoints) and writes what it emits to files; it can stop
with a savepoint once every input line is processed and start from one, at any parallelism.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from fssdk._driver import Driver
from fssdk.runtime._run_errors import (
    OperatorFailedError,
    RunnerIOError,
    UsageError,
)


def prepare_worker_python() -> None:
    """Let Flink's embedded Python (thread mode) import what this process imports.

    The JVM inherits this process's environment. Its embedded interpreter finds itself as
    ``python`` on the ``PATH``, so this interpreter's folder goes first on the ``PATH``: the
    embedded one then starts as this virtual environment's Python, with its site-packages and
    their ``.pth`` files (editable installs), whether or not the environment was activated.
    The client's ``sys.path`` goes into ``PYTHONPATH`` (the operator's folder, the working
    directory). Must run before PyFlink starts its JVM.
    """
    entries = [entry for entry in sys.path if entry and os.path.isdir(entry)]
    old = os.environ.get("PYTHONPATH")
    if old:
        entries += [entry for entry in old.split(os.pathsep) if entry not in entries]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entries))
    folder = os.path.dirname(sys.executable)
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    os.environ["PATH"] = os.pathsep.join([folder, *(entry for entry in path if entry != folder)])


prepare_worker_python()

from pyflink.common import Configuration, Duration, Encoder, Types, WatermarkStrategy  # noqa: E402
from pyflink.common.watermark_strategy import TimestampAssigner  # noqa: E402
from pyflink.datastream import (  # noqa: E402
    DataStream,
    OutputTag,
    StreamExecutionEnvironment,
)
from pyflink.datastream.connectors.file_system import (  # noqa: E402
    BucketAssigner,
    FileSink,
    FileSource,
    OutputFileConfig,
    RollingPolicy,
    StreamFormat,
)
from pyflink.datastream.data_stream import CloseableIterator  # noqa: E402
from pyflink.java_gateway import get_gateway  # noqa: E402

from fssdk.flink._function import BYTES, PROGRESS, DriverFunction, read_tagged_line  # noqa: E402
from fssdk.flink._settings import (  # noqa: E402
    NO_RESTARTS,
    NO_WATERMARKS,
    Restarts,
    Watermarks,
    split_address,
)
from fssdk.flink._watermarks import STRATEGY_CLASS, watermark_jar  # noqa: E402
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


#: Parallel instances in one TaskManager share its embedded Python (thread mode) and open at
#: once; an operator module registers its driver in one global slot while it is imported.
_LOADING: Final = threading.Lock()


def load_driver(spec: str) -> Driver:
    """The driver registered by the operator ``spec`` (run in each Flink worker), one import
    at a time, so that each parallel instance gets the driver its own import registered."""
    with _LOADING:
        return load_operator(spec).driver


def local_configuration(
    parallelism: int,
    checkpoint_dir: str,
    *,
    from_savepoint: str | None = None,
    checkpoint_interval_ms: int = 500,
    mode: str = "thread",
    jobmanager: str | None = None,
    restarts: Restarts = NO_RESTARTS,
) -> Configuration:
    """A job's configuration: RocksDB, checkpoints, restarts (none by default), thread mode.

    Without ``jobmanager`` the job runs on a mini-cluster in this process; with
    ``"host:port"`` (the REST address of a session cluster, as ``flink run -m``) it is
    submitted there, and ``checkpoint_dir`` must be a folder the TaskManagers reach. Thread
    mode runs Python functions inside the JVM (the faster mode, per the Flink docs and
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
        **restarts.settings(),
        "parallelism.default": str(parallelism),
        "pipeline.max-parallelism": str(MAX_PARALLELISM),
        # PyFlink fuses chained Python operators into one, which gives a stage's uid to two
        # nodes ("Hash collision on user-specified ID") when Python operators follow it.
        "python.operator-chaining.enabled": "false",
    }
    if jobmanager is not None:
        host, port = split_address(jobmanager)
        settings.update(
            {"execution.target": "remote", "rest.address": host, "rest.port": str(port)}
        )
    if from_savepoint is not None:
        settings["execution.state-recovery.path"] = Path(from_savepoint).resolve().as_uri()
        settings["execution.state-recovery.ignore-unclaimed-state"] = "true"
    for key, value in settings.items():
        conf.set_string(key, value)
    return conf


def execution_environment(configuration: Configuration) -> StreamExecutionEnvironment:
    """The environment of ``configuration``: a mini-cluster, or the session cluster it names.

    ``StreamExecutionEnvironment.get_execution_environment`` makes a local environment in a
    program not started by ``flink run``, whatever ``execution.target`` says; the Java
    constructor picks the executor of the configured target (``remote``: the REST client).
    """
    gateway = get_gateway()
    if configuration.get_string("execution.target", "local") == "remote":
        java = gateway.jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment
        return StreamExecutionEnvironment(java(configuration._j_configuration))
    return StreamExecutionEnvironment.get_execution_environment(configuration)


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
        self._file(target).write(data + b"\n")
        self.lines[target] += 1

    def create(self) -> None:
        """Create the main output even when the operator emits nothing (as ``fssdk run``)."""
        self._file(0)

    def close(self) -> None:
        for handle in self._files.values():
            if handle is sys.stdout.buffer:
                handle.flush()
            else:
                handle.close()


def committed_parts(folder: Path) -> list[Path]:
    """The part files the FileSink committed in ``folder``, in the order they were written.

    Each subtask writes one file at a time and rolls it at every checkpoint, so sorting by
    modification time keeps each subtask's order (hence each key's); the FileSink's in-progress
    and pending files (names starting with ``.``) are never read: they were not committed.
    """
    parts = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return sorted(parts, key=lambda part: (part.stat().st_mtime_ns, part.name))


def _copy_outputs(folder: Path, outputs: _Outputs) -> None:
    """Split the committed lines of ``folder`` by target into ``outputs``."""
    for part in committed_parts(folder):
        with open(part, "rb") as handle:
            for line in handle:
                target, data = read_tagged_line(line[:-1] if line.endswith(b"\n") else line)
                outputs.write(target, data)


_PYTHON_ERROR: Final = re.compile(r"PythonException: <class '([^']+)'>: (.*)")


def job_failure(exc: Exception) -> OperatorFailedError:
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
    watermarks: Watermarks = NO_WATERMARKS,
    side_output_prefix: str | None = None,
    checkpoint_interval_ms: int = 500,
    mode: str = "thread",
    jobmanager: str | None = None,
    restarts: Restarts = NO_RESTARTS,
    job_dir: str | None = None,
) -> FlinkJobResult:
    """Run ``driver`` over the lines of ``input`` on Flink; write its outputs.

    ``driver`` is a Driver, a factory, or an operator spec (a .py path or ``package.module``):
    a spec's module, and the modules it imported from its folder, are shipped with the job,
    so a cluster's TaskManagers import them without a copy. Each line is a record (UTF-8),
    keyed by ``key_of``. The job runs on a mini-cluster in this process, or on the session
    cluster at ``jobmanager`` (``host:port``).

    The source reads the file at parallelism 1, in order, so the watermarks (``watermarks``)
    follow ``fssdk run``'s rule; the operator runs at ``parallelism``. What it emits goes
    through Flink's FileSink, which commits on checkpoints: with ``restarts`` a job that loses
    a TaskManager resumes from its newest checkpoint and every line is written exactly once.
    Once the job is done, target 0 goes to ``output``, target ``n`` to ``PREFIX.n``, per key in
    the operator's order. With ``savepoint_dir`` the job stops with a savepoint once every line
    is processed (the input is read as an unbounded source, so no final watermark).
    ``job_dir`` holds checkpoints and uncommitted output (default: a temporary folder, removed
    at the end); on a cluster of several machines it must be a shared folder.
    """
    if parallelism < 1 or parallelism > MAX_PARALLELISM:
        raise UsageError(f"--parallelism must be in 1..{MAX_PARALLELISM}, got {parallelism}")
    expected = count_lines(input)
    restore = find_savepoint(from_savepoint) if from_savepoint is not None else None
    source, python_files = _driver_source(driver)
    function = DriverFunction(
        source,
        config=config,
        tagged=True,
        progress=savepoint_dir is not None,
        final_watermark=watermarks.final,
    )
    started = time.monotonic()
    with _job_folder(job_dir) as scratch:
        parts = scratch / "output"
        env = execution_environment(
            local_configuration(
                1,
                str(scratch / "checkpoints"),
                from_savepoint=restore,
                checkpoint_interval_ms=checkpoint_interval_ms,
                mode=mode,
                jobmanager=jobmanager,
                restarts=restarts,
            )
        )
        for path in python_files:
            env.add_python_file(path)
        run_id = uuid.uuid4().hex
        # Source and sinks get fresh uids each run: a resumed job reads a new input and writes
        # afresh; only the operator's state (OPERATOR_UID) carries over.
        lines = env.from_source(
            file_source(input, unbounded=savepoint_dir is not None),
            WatermarkStrategy.no_watermarks(),
            "input",
        ).uid(f"fssdk-input-{run_id}")
        if watermarks.field is not None:
            lines = _with_watermarks(env, lines, watermarks)
        results = (
            lines.key_by(KeyOf(key_of), key_type=BYTES)
            .process(function, output_type=Types.STRING())
            .uid(OPERATOR_UID)
            .name(OPERATOR_UID)
            .set_parallelism(parallelism)
        )
        results.sink_to(_file_sink(parts)).uid(f"fssdk-output-{run_id}").name(
            "fssdk output"
        ).set_parallelism(parallelism)
        progress = None
        if savepoint_dir is not None:
            progress = collect_stream(
                env, results.get_side_output(PROGRESS), f"fssdk-progress-{run_id}"
            )
        savepoint = None
        try:
            client = env.execute_async(f"fssdk {Path(input).name}")
            if progress is None:
                client.get_job_execution_result().result()
            else:
                with CloseableIterator(progress, Types.BOOLEAN()) as processed:
                    wait_for_records(processed, expected)
                    savepoint = stop_with_savepoint(client, savepoint_dir)  # type: ignore[arg-type]
        except Exception as exc:
            if type(exc).__name__ == "Py4JJavaError":
                raise job_failure(exc) from None
            raise
        outputs = _Outputs(output, side_output_prefix)
        try:
            outputs.create()
            if parts.is_dir():
                _copy_outputs(parts, outputs)
        finally:
            outputs.close()
    return FlinkJobResult(expected, dict(outputs.lines), savepoint, time.monotonic() - started)


@contextlib.contextmanager
def _job_folder(job_dir: str | None) -> Iterator[Path]:
    """``job_dir`` (created, a fresh subfolder per run), or a temporary folder removed after."""
    if job_dir is None:
        with tempfile.TemporaryDirectory(prefix="fssdk-flink-") as scratch:
            yield Path(scratch)
        return
    folder = Path(job_dir).resolve() / f"run-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    folder.mkdir(parents=True)
    yield folder


def _driver_source(
    driver: Driver | Callable[[], Driver] | str,
) -> tuple[Driver | Callable[[], Driver], list[str]]:
    """A driver or factory for DriverFunction, and the Python files to ship with the job.

    An operator spec is loaded here (to fail with the loader's message rather than in a
    worker); the workers import it by module name from the shipped files.
    """
    if not isinstance(driver, str):
        return driver, []
    load_operator(str(Path(driver).resolve()) if driver.endswith(".py") else driver)
    if driver.endswith(".py"):
        path = Path(driver).resolve()
        module, root = path.stem, path.parent
    else:
        module = driver
        top = sys.modules[driver.split(".", 1)[0]]
        root = Path(top.__file__ or "").resolve().parent
        if hasattr(top, "__path__"):
            root = root.parent
    return functools.partial(load_driver, module), _shipped_files(root)


def _shipped_files(root: Path) -> list[str]:
    """The modules and packages imported from ``root`` (the operator's folder), as files and
    top-level package folders to ship; nothing of an installed distribution."""
    installed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
    found: set[str] = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        path = Path(file).resolve()
        if root not in path.parents or any(prefix in path.parents for prefix in installed):
            continue
        top = root / path.relative_to(root).parts[0]
        found.add(str(top))
    return sorted(found)


def file_source(path: str, *, unbounded: bool) -> Any:
    """Flink's text-line file source; unbounded (monitoring the file) to stop with a savepoint."""
    builder = FileSource.for_record_stream_format(
        StreamFormat.text_line_format(), str(Path(path).resolve())
    )
    if unbounded:
        builder = builder.monitor_continuously(Duration.of_seconds(1))
    return builder.build()


def _with_watermarks(
    env: StreamExecutionEnvironment, lines: DataStream, watermarks: Watermarks
) -> DataStream:
    """Timestamps from the JSON field and, after every record, the largest timestamp minus the
    delay (a Java generator: PyFlink runs none written in Python; see _watermarks)."""
    assert watermarks.field is not None
    env.add_jars(watermark_jar().as_uri())
    java = get_gateway().jvm
    for part in STRATEGY_CLASS.split("."):
        java = getattr(java, part)
    strategy = WatermarkStrategy(java(watermarks.delay))
    assigner = JsonFieldTimestamp(watermarks.field)
    return lines.assign_timestamps_and_watermarks(strategy.with_timestamp_assigner(assigner))


def _file_sink(folder: Path) -> FileSink:
    """Flink's FileSink of text lines into ``folder``, committing at every checkpoint."""
    return (
        FileSink.for_row_format(folder.as_uri(), Encoder.simple_string_encoder("UTF-8"))
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .with_rolling_policy(RollingPolicy.on_checkpoint_rolling_policy())
        .with_output_file_config(OutputFileConfig.builder().with_part_prefix("part").build())
        .build()
    )


def wait_for_records(processed: Iterable[Any], expected: int) -> None:
    """Wait until ``expected`` records are processed (one element of ``processed`` each)."""
    if expected == 0:
        return
    for seen, _ in enumerate(processed, start=1):
        if seen == expected:
            return


def collect_stream(env: StreamExecutionEnvironment, stream: DataStream, uid: str) -> Any:
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


def stop_with_savepoint(client: Any, directory: str) -> str:
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
