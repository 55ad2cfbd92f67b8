"""Typed primary keys (``key_codec=``), ``keys(namespace=None)`` and namespaces given as ``str`` or
``bytes``, on every Keyed factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fssdk.runtime import LocalContext
from fssdk_advanced import (
    IntCodec,
    JsonCodec,
    KeyedAggregatingStateFactory,
    KeyedListStateFactory,
    KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory,
    KeyedReducingStateFactory,
    KeyedValueStateFactory,
    StringCodec,
    TupleCodec,
    UnorderedCodecError,
)


class Count:
    def create_accumulator(self) -> int:
        return 0

    def add(self, value: object, acc: int) -> int:
        return acc + 1

    def get_result(self, acc: int) -> int:
        return acc

    def merge(self, a: int, b: int) -> int:
        return a + b


def _add(a: int, b: int) -> int:
    return a + b


#: Per kind: make the factory (with optional key_codec), and write state for (key, namespace).
Maker = Callable[[LocalContext, Any], Any]
Writer = Callable[[Any, Any, str], None]
KINDS: dict[str, tuple[Maker, Writer]] = {
    "value": (
        lambda ctx, kc: KeyedValueStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), key_codec=kc
        ),
        lambda f, k, ns: f.new_keyed_value(k, ns.encode()).update(1),
    ),
    "list": (
        lambda ctx, kc: KeyedListStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), key_codec=kc
        ),
        lambda f, k, ns: f.new_keyed_list(k, ns.encode()).add(1),
    ),
    "map": (
        lambda ctx, kc: KeyedMapStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), IntCodec(), key_codec=kc
        ),
        lambda f, k, ns: f.new_keyed_map(k, ns).put(1, 1),
    ),
    "queue": (
        lambda ctx, kc: KeyedPriorityQueueStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), key_codec=kc
        ),
        lambda f, k, ns: f.new_keyed_priority_queue(k, ns.encode()).add(1),
    ),
    "aggregating": (
        lambda ctx, kc: KeyedAggregatingStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), Count(), key_codec=kc
        ),
        lambda f, k, ns: f.new_aggregating_state(k, ns).add("x"),
    ),
    "reducing": (
        lambda ctx, kc: KeyedReducingStateFactory.from_context(
            ctx, "s", b"g", IntCodec(), _add, key_codec=kc
        ),
        lambda f, k, ns: f.new_reducing_state(k, ns.encode()).add(1),
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_keys_lists_the_distinct_primary_keys_in_byte_order(ctx: LocalContext, kind: str) -> None:
    make, write = KINDS[kind]
    factory = make(ctx, None)
    assert list(factory.keys()) == []
    keys = [b"user12", b"user1", b"", b"\x00", b"a\x00b", b"\xff", b"a"]
    for key in keys:
        write(factory, key, "w1")
        write(factory, key, "w2")
    assert list(factory.keys()) == sorted(keys)


@pytest.mark.parametrize("kind", list(KINDS))
def test_keys_of_a_namespace_lists_only_keys_with_state_there(ctx: LocalContext, kind: str) -> None:
    make, write = KINDS[kind]
    factory = make(ctx, None)
    write(factory, b"alice", "w1")
    write(factory, b"bob", "w2")
    write(factory, b"carol", "w1")
    write(factory, b"carol", "w2")
    assert list(factory.keys(b"w1")) == [b"alice", b"carol"]
    assert list(factory.keys(namespace=b"w2")) == [b"bob", b"carol"]
    assert list(factory.keys(b"w")) == []


@pytest.mark.parametrize("kind", list(KINDS))
def test_keys_are_decoded_with_the_key_codec_in_value_order(ctx: LocalContext, kind: str) -> None:
    make, write = KINDS[kind]
    factory = make(ctx, IntCodec())
    for key in (10, -5, 3, 2**40, -(2**63)):
        write(factory, key, "")
    assert list(factory.keys()) == [-(2**63), -5, 3, 10, 2**40]


def test_keys_see_only_their_key_group_and_store(ctx: LocalContext) -> None:
    factory = KeyedValueStateFactory.from_context(ctx, "s", b"g", IntCodec())
    KeyedValueStateFactory.from_context(ctx, "s", b"g2", IntCodec()).new_keyed_value(b"x").update(1)
    KeyedValueStateFactory.from_context(ctx, "t", b"g", IntCodec()).new_keyed_value(b"y").update(1)
    factory.new_keyed_value(b"z").update(1)
    assert list(factory.keys()) == [b"z"]


def test_a_key_without_state_is_not_listed(ctx: LocalContext) -> None:
    factory = KeyedMapStateFactory.from_context(ctx, "s", b"g", StringCodec(), IntCodec())
    factory.new_keyed_map(b"a").put("x", 1)
    factory.new_keyed_map(b"b").put("x", 1)
    factory.new_keyed_map(b"a").clear()
    assert list(factory.keys()) == [b"b"]


def test_keys_streams(ctx: LocalContext) -> None:
    factory = KeyedValueStateFactory.from_context(ctx, "s", b"g", IntCodec(), key_codec=IntCodec())
    for key in range(500):
        factory.new_keyed_value(key).update(key)
    keys = factory.keys()
    assert next(keys) == 0
    assert next(keys) == 1
    assert sum(1 for _ in keys) == 498


def test_typed_keys_address_the_same_state_as_their_encoding(ctx: LocalContext) -> None:
    typed = KeyedValueStateFactory.from_context_auto_codec(
        ctx, "s", b"g", int, key_codec=StringCodec()
    )
    typed.new_keyed_value("alice").update(3)
    assert typed.new_keyed_value("alice").value() == (3, True)
    assert typed.new_keyed_value("bob").value() == (None, False)
    assert list(typed.keys()) == ["alice"]
    store = ctx.get_or_create_store("s")
    assert [k for k, _ in store.scan_complex(b"g", b"alice", b"")] == [b""]


def test_tuple_keys(ctx: LocalContext) -> None:
    codec = TupleCodec(StringCodec(), IntCodec())
    factory = KeyedListStateFactory.from_context_auto_codec(ctx, "s", b"g", str, key_codec=codec)
    factory.new_keyed_list(("b", 1)).add("x")
    factory.new_keyed_list(("a", 2)).add("y")
    factory.new_keyed_list(("a", -1)).add("z")
    assert list(factory.keys()) == [("a", -1), ("a", 2), ("b", 1)]


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_unordered_key_codec_is_refused_at_construction(ctx: LocalContext, kind: str) -> None:
    with pytest.raises(UnorderedCodecError, match="key_codec"):
        KINDS[kind][0](ctx, JsonCodec())


def test_a_key_of_the_wrong_type_raises_naming_the_codec(ctx: LocalContext) -> None:
    factory = KeyedValueStateFactory.from_context(ctx, "s", b"g", IntCodec(), key_codec=IntCodec())
    with pytest.raises(TypeError, match=r"new_keyed_value: primary_key .* IntCodec\(\) key"):
        factory.new_keyed_value(b"alice")
    with pytest.raises(TypeError, match="keys: namespace must be str or bytes"):
        factory.keys(1)  # type: ignore[arg-type]


def test_auto_codec_constructors_take_key_codec(ctx: LocalContext) -> None:
    kc = StringCodec()
    values = KeyedValueStateFactory.from_context_auto_codec(ctx, "a", b"g", int, key_codec=kc)
    lists = KeyedListStateFactory.from_context_auto_codec(ctx, "b", b"g", int, key_codec=kc)
    maps = KeyedMapStateFactory.from_context_auto_codec(ctx, "c", b"g", str, int, key_codec=kc)
    queues = KeyedPriorityQueueStateFactory.from_context_auto_codec(
        ctx, "d", b"g", int, key_codec=kc
    )
    aggregates = KeyedAggregatingStateFactory.from_context_auto_codec(
        ctx, "e", b"g", Count(), int, key_codec=kc
    )
    reductions = KeyedReducingStateFactory.from_context_auto_codec(
        ctx, "f", b"g", _add, int, key_codec=kc
    )
    values.new_keyed_value("k").update(1)
    lists.new_keyed_list("k").add(1)
    maps.new_keyed_map("k").put("x", 1)
    queues.new_keyed_priority_queue("k").add(1)
    aggregates.new_aggregating_state("k").add(1)
    reductions.new_reducing_state("k").add(1)
    for factory in (values, lists, maps, queues, aggregates, reductions):
        assert list(factory.keys()) == ["k"]
    aggregates.merge_namespaces("k", "all", [""])
    assert aggregates.new_aggregating_state("k", "all").get() == (1, True)


# -- namespaces: str or bytes on every factory, a str being its UTF-8 bytes ----------------------

#: Per factory: make it, what a wrong namespace's error starts with, bind a state, write, read.
Kind = tuple[
    Callable[[LocalContext], Any],
    str,
    Callable[[Any, bytes, Any], Any],
    Callable[[Any], None],
    Callable[[Any], object],
]
NAMESPACE_KINDS: dict[str, Kind] = {
    "value": (
        lambda ctx: KeyedValueStateFactory.from_context(ctx, "s", b"g", IntCodec()),
        "new_keyed_value: namespace",
        lambda f, k, ns: f.new_keyed_value(k, ns),
        lambda state: state.update(7),
        lambda state: state.value(),
    ),
    "list": (
        lambda ctx: KeyedListStateFactory.from_context(ctx, "s", b"g", IntCodec()),
        "new_keyed_list: namespace",
        lambda f, k, ns: f.new_keyed_list(k, ns),
        lambda state: state.add(7),
        lambda state: state.get(),
    ),
    "map": (
        lambda ctx: KeyedMapStateFactory.from_context(ctx, "s", b"g", IntCodec(), IntCodec()),
        "new_keyed_map: map_name",
        lambda f, k, ns: f.new_keyed_map(k, ns),
        lambda state: state.put(1, 7),
        lambda state: list(state.all()),
    ),
    "queue": (
        lambda ctx: KeyedPriorityQueueStateFactory.from_context(ctx, "s", b"g", IntCodec()),
        "new_keyed_priority_queue: namespace",
        lambda f, k, ns: f.new_keyed_priority_queue(k, ns),
        lambda state: state.add(7),
        lambda state: list(state.all()),
    ),
    "aggregating": (
        lambda ctx: KeyedAggregatingStateFactory.from_context(ctx, "s", b"g", IntCodec(), Count()),
        "new_aggregating_state: state_name",
        lambda f, k, ns: f.new_aggregating_state(k, ns),
        lambda state: state.add("click"),
        lambda state: state.get(),
    ),
    "reducing": (
        lambda ctx: KeyedReducingStateFactory.from_context(ctx, "s", b"g", IntCodec(), _add),
        "new_reducing_state: namespace",
        lambda f, k, ns: f.new_reducing_state(k, ns),
        lambda state: state.add(7),
        lambda state: state.get(),
    ),
}


@pytest.mark.parametrize("kind", list(NAMESPACE_KINDS))
def test_a_str_namespace_is_the_scope_of_its_utf8_bytes(ctx: LocalContext, kind: str) -> None:
    make, _, bind, write, read = NAMESPACE_KINDS[kind]
    factory = make(ctx)
    empty = read(bind(factory, b"k", b"other"))
    write(bind(factory, b"k", "wé"))
    written = read(bind(factory, b"k", "wé"))
    assert written != empty
    assert read(bind(factory, b"k", "wé".encode())) == written
    assert read(bind(factory, b"k", "w")) == empty
    write(bind(factory, b"j", b"\x00w"))
    assert read(bind(factory, b"j", "\x00w")) == written
    assert list(factory.keys("wé")) == list(factory.keys("wé".encode())) == [b"k"]
    assert list(factory.keys("\x00w")) == [b"j"]


@pytest.mark.parametrize("kind", list(NAMESPACE_KINDS))
def test_the_default_namespace_is_the_empty_one_as_str_or_bytes(
    ctx: LocalContext, kind: str
) -> None:
    make, _, bind, write, read = NAMESPACE_KINDS[kind]
    factory = make(ctx)
    write(bind(factory, b"k", ""))
    method = getattr(factory, bind.__code__.co_names[0])
    assert read(method(b"k")) == read(bind(factory, b"k", b"")) == read(bind(factory, b"k", ""))


@pytest.mark.parametrize("kind", list(NAMESPACE_KINDS))
def test_a_namespace_of_another_type_is_refused_naming_it(ctx: LocalContext, kind: str) -> None:
    make, named, bind, _, _ = NAMESPACE_KINDS[kind]
    factory = make(ctx)
    with pytest.raises(TypeError, match=f"^{named} must be str or bytes, not int$"):
        bind(factory, b"k", 1)
    with pytest.raises(TypeError, match="keys: namespace must be str or bytes, not list"):
        factory.keys([b"w"])


def method_of(kind: str) -> tuple[str, str]:
    """The per-record method of a kind's factory and its namespace argument's documented name."""
    method = NAMESPACE_KINDS[kind][2].__code__.co_names[0]
    return method, NAMESPACE_KINDS[kind][1].split(": ")[1]


@pytest.mark.parametrize("kind", list(NAMESPACE_KINDS))
def test_the_namespace_may_be_given_by_its_documented_name(ctx: LocalContext, kind: str) -> None:
    make, _, bind, write, read = NAMESPACE_KINDS[kind]
    factory = make(ctx)
    method, argument = method_of(kind)
    write(getattr(factory, method)(primary_key=b"k", **{argument: "w"}))
    assert read(bind(factory, b"k", b"w")) == read(getattr(factory, method)(b"k", "w"))
    assert read(bind(factory, b"k", b"w")) != read(bind(factory, b"k", b""))


@pytest.mark.parametrize("kind", list(NAMESPACE_KINDS))
def test_an_unknown_keyword_is_refused_naming_it(ctx: LocalContext, kind: str) -> None:
    factory = NAMESPACE_KINDS[kind][0](ctx)
    method, _ = method_of(kind)
    with pytest.raises(
        TypeError, match=f"^{method}\\(\\) got an unexpected keyword argument 'name'"
    ):
        getattr(factory, method)(b"k", name="w")


@pytest.mark.parametrize("kind", list(NAMESPACE_KINDS))
def test_the_documented_method_called_on_the_class_binds_the_same_state(
    ctx: LocalContext, kind: str
) -> None:
    _, _, bind, write, read = NAMESPACE_KINDS[kind]
    factory, (method, _) = NAMESPACE_KINDS[kind][0](ctx), method_of(kind)
    write(bind(factory, b"k", "w"))
    documented = getattr(type(factory), method)
    assert documented.__doc__ == getattr(factory, method).__doc__
    assert read(documented(factory, b"k", "w")) == read(bind(factory, b"k", "w"))
    with pytest.raises(TypeError, match=f"^{method}: primary_key and namespace must be bytes"):
        documented(factory, "k", "w")


@pytest.mark.parametrize("kind", ["aggregating", "reducing"])
def test_merge_namespaces_takes_str_and_bytes_alike(ctx: LocalContext, kind: str) -> None:
    make, _, bind, write, read = NAMESPACE_KINDS[kind]
    factory = make(ctx)
    for namespace in ("w1", b"w2"):
        write(bind(factory, b"k", namespace))
    one = read(bind(factory, b"k", "w1"))
    factory.merge_namespaces(b"k", b"all", ["w1", b"w1", "w2"])  # w1 twice: merged once
    merged = read(bind(factory, b"k", "all"))
    assert merged != one
    assert read(bind(factory, b"k", b"w1")) == read(bind(factory, b"k", "w2")) == (None, False)
    with pytest.raises(TypeError, match="merge_namespaces: sources must be str or bytes"):
        factory.merge_namespaces(b"k", "all", [1])
