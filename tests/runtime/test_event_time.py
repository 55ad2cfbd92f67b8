"""``--watermark-field``'s reader agrees with ``json.loads(record)[name]`` on every record: the
same value, or the same kind of error, whether it reads the field in place or parses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fssdk.runtime._event_time import EventTimeField

ERRORS = (ValueError, TypeError, KeyError, IndexError)

NAMES = st.sampled_from(["ts", "t", "time stamp", 'q"uote', "back\\slash", "é", "ts\n"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3)
)


def expected(record: bytes, name: str) -> tuple[str, Any]:
    try:
        return "value", json.loads(record)[name]
    except ERRORS as exc:
        return "error", type(exc)


def read(record: bytes, name: str) -> tuple[str, Any]:
    try:
        return "value", EventTimeField(name).value(record)
    except ERRORS as exc:
        return "error", type(exc)


def same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] == "value" and isinstance(a[1], float) and a[1] != a[1]:
        return b[0] == "value" and isinstance(b[1], float) and b[1] != b[1]
    return a == b and type(a[1]) is type(b[1])


@given(
    name=NAMES,
    pairs=st.lists(st.tuples(NAMES, VALUES), max_size=5),
    ascii_only=st.booleans(),
    separators=st.sampled_from([(", ", ": "), (",", ":"), (" ,\t", " :\r\n")]),
)
def test_the_reader_agrees_with_json_on_objects(
    name: str, pairs: list[tuple[str, Any]], ascii_only: bool, separators: tuple[str, str]
) -> None:
    items = ", ".join(
        f"{json.dumps(key, ensure_ascii=ascii_only)}{separators[1]}"
        f"{json.dumps(value, ensure_ascii=ascii_only)}"
        for key, value in pairs
    ).replace(", ", separators[0])
    record = ("{" + items + "}").encode()
    assert same(read(record, name), expected(record, name))


@given(name=NAMES, record=st.binary(max_size=40), cut=st.integers(0, 60))
@example(name="ts", record=b'{"ts": 12, "x": tru}', cut=60)
@example(name="ts", record=b'{"ts": 12, "ts": 13}', cut=60)
@example(name="ts", record=b'{"a\\"ts": 5}', cut=60)
@example(name="ts", record=b'{"a": {"ts": 5}}', cut=60)
@example(name="ts", record=b'{"ts": 012}', cut=60)
@example(name="ts", record=b'{"ts": -0, "v": NaN}', cut=60)
@example(name="ts", record=b'{"ts": 1.5}', cut=60)
@example(name="ts", record=b'{"ts": 1e3}', cut=60)
@example(name="ts", record=b'["ts", 5]', cut=60)
@example(name="ts", record=b'{"v": "ts", "ts": 7}', cut=60)
def test_the_reader_agrees_with_json_on_any_bytes(name: str, record: bytes, cut: int) -> None:
    for candidate in (record, b'{"ts": 5, ' + record, record[:cut]):
        assert same(read(candidate, name), expected(candidate, name)), candidate


@pytest.mark.parametrize(
    ("record", "ts"),
    [
        (b'{"key": "k0875", "ts": 1700000000743, "value": 418}', 1700000000743),
        (b' {"ts":-3}\r', -3),
        (b'{"a": null, "b": true, "c": -1.5e-3, "d": Infinity, "ts": 0}', 0),
    ],
)
def test_a_flat_object_is_read_in_place(
    record: bytes, ts: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json.loads was called")

    monkeypatch.setattr(json, "loads", refuse)
    assert EventTimeField("ts").value(record) == ts
