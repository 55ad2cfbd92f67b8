"""``fssdk run --engine flink``: option checks that need neither PyFlink nor Java."""

from __future__ import annotations

import pytest

from fssdk.cli import main


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--engine", "flink"], "--engine flink needs --key-field NAME"),
        (
            ["--engine", "flink", "--key-field", "user", "--memory"],
            "--memory does not apply to --engine flink",
        ),
        (
            ["--engine", "flink", "--key-field", "user", "--state-dir", "s"],
            "--state-dir does not apply to --engine flink",
        ),
        (
            ["--engine", "flink", "--key-field", "user", "--watermark-every", "5"],
            "--watermark-every does not apply to --engine flink",
        ),
        (
            ["--engine", "flink", "--key-field", "user", "--final-watermark", "--savepoint", "s"],
            "--final-watermark does not go with --savepoint",
        ),
        (
            ["--engine", "flink", "--key-field", "user", "--jobmanager", "localhost"],
            "--jobmanager must be HOST:PORT",
        ),
        (
            ["--engine", "flink", "--key-field", "user", "--restart-attempts", "-1"],
            "--restart-attempts must be >= 0",
        ),
        (
            ["--engine", "flink", "--key-field", "user", "--restart-delay", "10"],
            "--restart-delay needs --restart-attempts",
        ),
        (["--key-field", "user", "--memory"], "--key-field needs --engine flink"),
        (["--jobmanager", "h:1", "--memory"], "--jobmanager needs --engine flink"),
        (["--restart-attempts", "3", "--memory"], "--restart-attempts needs --engine flink"),
        (["--job-dir", "j", "--memory"], "--job-dir needs --engine flink"),
        (["--savepoint", "sp", "--memory"], "--savepoint needs --engine flink"),
        (["--from-savepoint", "sp", "--memory"], "--from-savepoint needs --engine flink"),
        ([], "give --state-dir DIR or --memory (or --engine flink)"),
    ],
)
def test_engine_options_are_checked(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "op.py", "--input", "in.txt", "--output", "out.txt", *options])
    assert code == 2
    assert message in capsys.readouterr().err


def test_flink_refuses_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "run",
            "op.py",
            "--input",
            "-",
            "--output",
            "out.txt",
            "--engine",
            "flink",
            "--key-field",
            "user",
        ]
    )
    assert code == 2
    assert "--input - (stdin) is not supported" in capsys.readouterr().err
