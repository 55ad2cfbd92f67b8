"""ListState and KeyedListStateFactory on every backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fssdk import ComplexKey, CorruptStateError
from fssdk.runtime import Backend, LocalContext, MemoryBackend
from fssdk_advanced import (
    BytesCodec,
    IntCodec,
    KeyedListState,
    KeyedListStateFactory,
    ListState,
    StringCodec,
    TupleCodec,
)

SCOPE = ComplexKey(b"g", b"user1", b"w", b"")


class FixedButWrong:
    """Claims 4-byte encodings but writes whatever it is given."""

    ordered = False
    fixed_size = 4

    def encode(self, value: bytes) -> bytes:
        return value

    def decode(self, data: bytes) -> bytes:
        return data


def test_empty_list_is_empty(ctx: LocalContext) -> None:
    assert ListState.from_context(ctx, "l", IntCodec()).get() == []


def test_add_appends_in_order(ctx: LocalContext) -> None:
    state = ListState.from_context(ctx, "l", StringCodec())
    for word in ("a", "", "bc"):
        state.add(word)
    assert state.get() == ["a", "", "bc"]


def test_add_all_appends_all_in_one_merge(ctx: LocalContext) -> None:
    state = ListState.from_context(ctx, "l", IntCodec())
    state.add(1)
    state.add_all(iter([2, 3]))
    state.add_all([])
    assert state.get() == [1, 2, 3]


def test_update_replaces_and_empty_update_clears(ctx: LocalContext) -> None:
    state = ListState.from_context(ctx, "l", IntCodec())
    state.add_all([1, 2])
    state.update([9])
    assert state.get() == [9]
    state.update([])
    assert state.get() == []
    state.add(4)
    assert state.get() == [4]


def test_clear_removes_everything(ctx: LocalContext) -> None:
    state = ListState.from_context(ctx, "l", IntCodec())
    state.add_all([1, 2])
    state.clear()
    assert state.get() == []
    state.clear()


def test_any_element_bytes_survive_framing(ctx: LocalContext) -> None:
    elements = [b"", b"\x00", b"\x80", b"\xff" * 127, b"\x01" * 128, bytes(range(256)) * 70, b"x"]
    state = ListState.from_context(ctx, "l", BytesCodec())
    for element in elements[:3]:
        state.add(element)
    state.add_all(elements[3:])
    assert state.get() == elements


def test_variable_size_layout_is_varint_length_then_encoding(ctx: LocalContext) -> None:
    state = ListState.from_context(ctx, "l", BytesCodec())
    state.add_all([b"a", b"bc", b"z" * 300])
    stored = ctx.get_or_create_store("l").get(ComplexKey(b"", b"", b"", b""))
    assert stored == b"\x01a\x02bc" + b"\xac\x02" + b"z" * 300


def test_fixed_size_layout_has_no_length_prefix(ctx: LocalContext) -> None:
    state = ListState.from_context(ctx, "l", IntCodec())
    state.add_all([1, 2, 3])
    stored = ctx.get_or_create_store("l").get(ComplexKey(b"", b"", b"", b""))
    assert stored == b"".join(IntCodec().encode(v) for v in (1, 2, 3))


def test_a_codec_breaking_its_fixed_size_is_refused(ctx: LocalContext) -> None:
    state = ListState.from_context(ctx, "l", FixedButWrong())
    with pytest.raises(ValueError, match="declares fixed_size 4"):
        state.add(b"abc")
    state.add(b"abcd")
    assert state.get() == [b"abcd"]


def test_many_appends_across_flushes_keep_order(backend: Backend, ctx: LocalContext) -> None:
    state = ListState.from_context(ctx, "l", IntCodec())
    for value in range(1_000):
        state.add(value)
        if value % 97 == 0:
            backend.flush()
        if value % 250 == 0:
            assert state.get() == list(range(value + 1))
    assert state.get() == list(range(1_000))


def test_keyed_lists_are_isolated(ctx: LocalContext) -> None:
    factory = KeyedListStateFactory.from_context(ctx, "l", b"g", IntCodec())
    other = KeyedListStateFactory.from_context(ctx, "l", b"g2", IntCodec())
    factory.new_keyed_list(b"user1", b"").add(1)
    factory.new_keyed_list(b"user1", b"w1").add(2)
    other.new_keyed_list(b"user1", b"").add(3)
    assert factory.new_keyed_list(b"user1", b"").get() == [1]
    assert factory.new_keyed_list(b"user1", b"w1").get() == [2]
    assert factory.new_keyed_list(b"user12", b"").get() == []
    assert other.new_keyed_list(b"user1", b"").get() == [3]
    factory.new_keyed_list(b"user1", b"").clear()
    assert factory.new_keyed_list(b"user1", b"w1").get() == [2]
    assert isinstance(factory.new_keyed_list(b"x", b""), KeyedListState)


def test_auto_codec_list_of_tuples(ctx: LocalContext) -> None:
    state = ListState.from_context_auto_codec(ctx, "l", tuple[str, int])
    state.add(("a", 1))
    assert state.get() == [("a", 1)]
    keyed = KeyedListStateFactory.from_context_auto_codec(ctx, "k", b"g", str)
    keyed.new_keyed_list(b"u").add("x")
    assert keyed.new_keyed_list(b"u", b"").get() == ["x"]


def test_lists_survive_reopen(backend_factory: Callable[[], Backend]) -> None:
    with backend_factory() as backend:
        if isinstance(backend, MemoryBackend):
            pytest.skip("the memory backend keeps nothing across reopen")
        ctx = LocalContext(backend)
        factory = KeyedListStateFactory.from_context(ctx, "l", b"g", StringCodec())
        factory.new_keyed_list(b"u", b"").add_all(["a", "b"])
        backend.flush()
        factory.new_keyed_list(b"u", b"").add("c")
    with backend_factory() as backend:
        ctx = LocalContext(backend)
        factory = KeyedListStateFactory.from_context(ctx, "l", b"g", StringCodec())
        state = factory.new_keyed_list(b"u", b"")
        assert state.get() == ["a", "b", "c"]
        state.add("d")
        assert state.get() == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    ("codec", "stored", "element"),
    [
        (StringCodec(), b"\x05ab", "#0"),  # frame runs past the end
        (StringCodec(), b"\x01a\x80", "#1"),  # length prefix cut off
        (StringCodec(), b"\x01a\x02\xff\xfe", "#1"),  # not UTF-8
        (IntCodec(), bytes(12), "#0"),  # not a whole number of 8-byte elements
        (TupleCodec(StringCodec(), IntCodec()), b"\x01a", "#0"),  # tuple without terminator
    ],
    ids=["truncated-frame", "truncated-varint", "bad-element", "fixed-size-remainder", "tuple"],
)
def test_corrupt_list_raises_naming_store_scope_and_element(
    ctx: LocalContext, codec: Any, stored: bytes, element: str
) -> None:
    factory = KeyedListStateFactory.from_context(ctx, "l", b"g", codec)
    ctx.get_or_create_store("l").put(SCOPE, stored)
    with pytest.raises(CorruptStateError, match=r"'l'.*b'g'.*b'user1'.*b'w'") as info:
        factory.new_keyed_list(b"user1", b"w").get()
    assert f"element {element}" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_bad_arguments(ctx: LocalContext) -> None:
    factory = KeyedListStateFactory.from_context(ctx, "l", b"g", IntCodec())
    with pytest.raises(TypeError, match="new_keyed_list: primary_key and namespace"):
        factory.new_keyed_list(1, b"")
    with pytest.raises(TypeError, match="IntCodec encodes int"):
        factory.new_keyed_list(b"k").add("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key_group must be bytes"):
        KeyedListStateFactory.from_context(ctx, "l2", None, IntCodec())  # type: ignore[arg-type]
