"""StateView: a key group's entries read back from its stored descriptor alone, in process
(``fssdk state inspect`` uses it in a subprocess, see tests/runtime/test_inspect.py)."""

from __future__ import annotations

from typing import Any

import pytest

from fssdk import ComplexKey, Store
from fssdk.reserved import IDENTITY_KEY_GROUP
from fssdk.runtime import LocalContext
from fssdk_advanced import (
    BytesCodec,
    IntCodec,
    KeyedListStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedValueStateFactory,
    StringCodec,
)
from fssdk_advanced.state import StateView


class Opaque(BytesCodec):
    """A user codec: its signature names a class that a tool cannot rebuild."""

    signature = "tests.Opaque"


def view_and_entries(store: Store, key: bytes) -> tuple[StateView, list[Any]]:
    view = StateView.from_descriptor(store.get(ComplexKey(IDENTITY_KEY_GROUP, b"g", b"", b"")))  # type: ignore[arg-type]
    with store.scan_complex(b"g", key, b"") as scan:
        return view, [view.entry(user_key, value) for user_key, value in scan]


def test_each_kind_of_state_reads_back_as_values(ctx: LocalContext) -> None:
    values = KeyedValueStateFactory.from_context(
        ctx, "v", b"g", IntCodec(), key_codec=StringCodec()
    )
    values.new_keyed_value("alice").update(7)
    lists = KeyedListStateFactory.from_context(ctx, "l", b"g", StringCodec())
    lists.new_keyed_list(b"k").add_all(["a", "bc"])
    queues = KeyedPriorityQueueStateFactory.from_context(ctx, "q", b"g", IntCodec())
    for element in (3, 1):
        queues.new_keyed_priority_queue(b"k").add(element)
    view, entries = view_and_entries(ctx.get_or_create_store("v"), b"alice")
    assert (view.kind, view.primary_key(b"alice"), entries) == ("ValueState", "alice", [(None, 7)])
    view, entries = view_and_entries(ctx.get_or_create_store("l"), b"k")
    assert (view.kind, view.primary_key(b"k"), entries) == (
        "ListState",
        b"k",
        [(None, ["a", "bc"])],
    )
    view, entries = view_and_entries(ctx.get_or_create_store("q"), b"k")
    assert (view.kind, entries) == ("PriorityQueueState", [(1, None), (3, None)])


def test_values_of_a_codec_that_cannot_be_rebuilt_read_back_as_bytes(ctx: LocalContext) -> None:
    values = KeyedValueStateFactory.from_context(ctx, "v", b"g", Opaque())
    values.new_keyed_value(b"k").update(b"\x01\x02")
    _, entries = view_and_entries(ctx.get_or_create_store("v"), b"k")
    assert entries == [(None, b"\x01\x02")]


@pytest.mark.parametrize("data", [b"not json", b"[]", b'{"kind": "ValueState"}'])
def test_bytes_that_are_not_a_descriptor_are_refused_naming_them(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a state descriptor"):
        StateView.from_descriptor(data)
