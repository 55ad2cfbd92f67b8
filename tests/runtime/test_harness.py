"""fssdk.testing.OperatorHarness: an operator driven in-process, checkpointed and crashed as
``fssdk run`` does, on the memory backend and on RocksDB."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from fssdk import BaseDriver, Context
from fssdk.runtime import OperatorFailedError
from fssdk.runtime._checkpoint import StateDir
from fssdk.testing import OperatorHarness
from tests.support import database_dump

BACKENDS = ["memory", "rocksdb"]


class Counter(BaseDriver):
    """Counts records per key in its store and in memory (rebuilt in init), emits the count on
    target 0, odd counts on target 1, and forwards watermarks plus one."""

    def __init__(self) -> None:
        self.inits = 0
        self.seen: dict[bytes, int] = {}

    def init(self, ctx: Context, config: Mapping[str, str]) -> None:
        self.inits += 1
        self.store = ctx.get_or_create_store("counts")
        keys = self.store.list_states(b"", b"")
        self.seen = {k: int(self.store.get_state(k) or b"0") for k in keys}
        self.step = int(config.get("step", "1"))

    def process(self, ctx: Context, source_id: int, data: bytes) -> None:
        if data == b"boom":
            raise KeyError(data)
        count = self.seen.get(data, 0) + self.step
        self.seen[data] = count
        self.store.put_state(data, str(count).encode())
        ctx.emit(data + b"=" + str(count).encode())
        if count % 2:
            ctx.emit(data, 1)

    def process_watermark(self, ctx: Context, source_id: int, watermark: int) -> None:
        ctx.emit_watermark(watermark + 1)


def feed(harness: OperatorHarness, words: str) -> None:
    harness.process_all(words.split())


@pytest.mark.parametrize("backend", BACKENDS)
def test_outputs_per_target_watermarks_and_config(backend: str) -> None:
    with OperatorHarness(Counter, backend=backend, config={"step": "2"}) as harness:
        feed(harness, "a b a")
        harness.watermark(41)
        assert harness.emitted() == [b"a=2", b"b=2", b"a=4"]
        assert harness.emitted(1) == []
        assert harness.emitted_watermarks() == [42]
        assert harness.output() == [(0, b"a=2"), (0, b"b=2"), (0, b"a=4")]
        assert harness.records == 3
        assert harness.ctx.config == {"step": "2"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crash_restores_the_last_checkpoint_and_equals_an_uninterrupted_run(
    backend: str,
) -> None:
    words = list("abacabccad")
    with OperatorHarness(Counter, backend=backend) as reference:
        reference.process_all(words[:4])
        at_checkpoint = reference.output()
        reference.process_all(words[4:])
        expected = reference.output()
    with OperatorHarness(Counter, backend=backend) as harness:
        harness.process_all(words[:4])
        assert harness.checkpoint() == 1
        before = harness.driver
        harness.process_all(words[4:7])
        harness.crash()
        assert harness.driver is not before  # a new driver, initialised once
        assert harness.driver.inits == 1  # type: ignore[attr-defined]
        assert harness.records == 4
        assert harness.output() == at_checkpoint
        harness.process_all(words[4:])
        assert harness.output() == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crash_before_any_checkpoint_starts_over(backend: str) -> None:
    with OperatorHarness(Counter, backend=backend) as harness:
        feed(harness, "a a")
        harness.crash()
        assert harness.output() == []
        feed(harness, "a")
        assert harness.emitted() == [b"a=1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_driver_object_is_copied_before_init_for_each_start(backend: str) -> None:
    driver = Counter()
    with OperatorHarness(driver, backend=backend) as harness:
        feed(harness, "a")
        harness.checkpoint()
        feed(harness, "a")
        harness.crash()
        feed(harness, "a")
        assert harness.emitted() == [b"a=1", b"a=2"]
        assert driver.inits == 0  # the object given stays as it was


def test_rocksdb_checkpoints_are_fssdk_run_checkpoints(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with OperatorHarness(Counter, backend="rocksdb", state_dir=state_dir) as harness:
        for checkpoint in range(1, 6):
            feed(harness, "x y")
            assert harness.checkpoint() == checkpoint
        state = StateDir(state_dir)
        assert [info.id for info in state.complete_checkpoints()] == [3, 4, 5]
        assert state.complete_checkpoints()[-1].metadata["records"] == 10
        assert state.is_locked()
    assert not StateDir(state_dir).is_locked()
    # A later harness on the same state dir resumes from it, as a rerun of fssdk run does.
    with OperatorHarness(Counter, backend="rocksdb", state_dir=state_dir) as again:
        feed(again, "x")
        assert again.emitted() == [b"x=6"]


def test_a_damaged_newest_checkpoint_falls_back_with_a_warning(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with OperatorHarness(Counter, backend="rocksdb", state_dir=state_dir) as harness:
        feed(harness, "a")
        harness.checkpoint()
        feed(harness, "a")
        harness.checkpoint()
        newest = StateDir(state_dir).checkpoint_path(2)
        for table in newest.glob("*.sst"):
            table.unlink()
            table.write_bytes(b"not a table")
        harness.crash()
        assert any("falling back to checkpoint 1" in w for w in harness.warnings)
        feed(harness, "a")
        assert harness.emitted() == [b"a=1", b"a=2"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crash_drops_what_was_not_checkpointed_even_if_flushed(
    backend: str, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state" if backend == "rocksdb" else None
    with OperatorHarness(Counter, backend=backend, state_dir=state_dir) as harness:
        feed(harness, "a")
        harness.checkpoint()
        feed(harness, "b b")
        harness.ctx.backend.flush()  # reaches the live database, not the checkpoint
        harness.crash()
        assert harness.ctx.get_or_create_store("counts").list_states(b"", b"") == [b"a"]
    if state_dir is not None:
        keys = [key for _, key, _ in database_dump(state_dir / "db")]
        assert not any(isinstance(key, bytes) and key.endswith(b"b") for key in keys)


class Clocked(BaseDriver):
    def process(self, ctx: Context, source_id: int, data: bytes) -> None:
        ctx.emit(str(ctx.processing_time()).encode())

    def check_heartbeat(self, ctx: Context) -> bool:
        ctx.emit(b"tick " + str(ctx.processing_time()).encode())
        return ctx.processing_time() < 100


def test_processing_time_is_the_harness_clock_and_moves_with_a_heartbeat() -> None:
    with OperatorHarness(Clocked, processing_time=5) as harness:
        harness.process(b"")
        harness.advance_processing_time(50)
        harness.process(b"")
        assert harness.emitted() == [b"5", b"tick 50", b"50"]
        with pytest.raises(ValueError, match="before the clock's 50"):
            harness.advance_processing_time(49)
        with pytest.raises(OperatorFailedError, match="asks for a restart"):
            harness.advance_processing_time(100)


def test_what_the_operator_raises_reaches_the_test_unchanged() -> None:
    with OperatorHarness(Counter) as harness, pytest.raises(KeyError, match="boom"):
        harness.process(b"boom")


def test_an_operator_file_is_loaded_again_after_a_crash(tmp_path: Path) -> None:
    source = tmp_path / "loaded_op.py"
    source.write_text(
        "import fssdk\n"
        "class Op(fssdk.BaseDriver):\n"
        "    calls = []\n"
        "    def process(self, ctx, source_id, data):\n"
        "        self.calls.append(data)\n"
        "        ctx.emit(b'%d' % len(self.calls))\n"
        "fssdk.run(Op())\n"
    )
    with OperatorHarness(source, backend="rocksdb") as harness:
        feed(harness, "a b")
        harness.checkpoint()
        harness.crash()  # a new module: the class attribute starts empty again
        feed(harness, "c")
        assert harness.emitted() == [b"1", b"2", b"1"]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        OperatorHarness(Counter, backend="disk")
    with pytest.raises(ValueError, match="state_dir needs backend='rocksdb'"):
        OperatorHarness(Counter, state_dir="x")
    with pytest.raises(TypeError, match="returned int, not a Driver"):
        OperatorHarness(lambda: 3)  # type: ignore[arg-type, return-value]
    harness = OperatorHarness(Counter)
    with pytest.raises(TypeError, match="record must be bytes or str"):
        harness.process(3)  # type: ignore[arg-type]
    harness.close()
    with pytest.raises(RuntimeError, match="closed"):
        harness.process(b"a")


def test_two_operator_files_of_one_name_run_one_after_the_other(tmp_path: Path) -> None:
    """An operator module the loader imported does not block another file of its name (a
    standard or installed module still does: tests/runtime/test_cli.py)."""
    emitted = []
    for word in ("first", "second"):
        folder = tmp_path / word
        folder.mkdir()
        (folder / "same_name_op.py").write_text(
            "import fssdk\n"
            "class Op(fssdk.BaseDriver):\n"
            "    def process(self, ctx, source_id, data):\n"
            f"        ctx.emit(b'{word}')\n"
            "fssdk.run(Op())\n"
        )
        with OperatorHarness(folder / "same_name_op.py") as harness:
            harness.process(b"")
            emitted += harness.emitted()
    assert emitted == [b"first", b"second"]


class FailsInInit(BaseDriver):
    def init(self, ctx: Context, config: Mapping[str, str]) -> None:
        ctx.get_or_create_store("s").put_state(b"k", b"v")
        raise RuntimeError("no config")


def test_an_init_that_raises_leaves_the_state_dir_free(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no config"):
        OperatorHarness(FailsInInit, backend="rocksdb", state_dir=tmp_path / "state")
    assert not StateDir(tmp_path / "state").is_locked()
