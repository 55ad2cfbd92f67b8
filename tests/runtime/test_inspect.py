"""``fssdk state inspect`` shows typed state decoded through its stored descriptors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import run_fssdk

TYPED_OPERATOR = """
import fssdk
from fssdk_advanced import (
    IntCodec, JsonCodec, KeyedListStateFactory, KeyedMapStateFactory,
    KeyedPriorityQueueStateFactory, KeyedValueStateFactory, MsgpackCodec, StringCodec,
    TupleCodec, ValueState,
)

class Typed(fssdk.BaseDriver):
    def init(self, ctx, config):
        self.total = ValueState.from_context(ctx, "typed", IntCodec())
        self.counts = KeyedValueStateFactory.from_context(
            ctx, "typed", b"counts", IntCodec(), key_codec=StringCodec())
        self.places = KeyedMapStateFactory.from_context(
            ctx, "typed", b"places", TupleCodec(StringCodec(), IntCodec()), MsgpackCodec())
        self.seen = KeyedListStateFactory.from_context(ctx, "typed", b"seen", JsonCodec())
        self.queue = KeyedPriorityQueueStateFactory.from_context(
            ctx, "typed", b"queue", IntCodec(), key_codec=TupleCodec(StringCodec(), IntCodec()))

    def process(self, ctx, source_id, data):
        user, city, n = data.decode().split(" ")
        total, _ = self.total.value()
        self.total.update((total or 0) + int(n))
        count = self.counts.new_keyed_value(user)
        count.update((count.value()[0] or 0) + 1)
        self.places.new_keyed_map(user.encode()).put((city, int(n)), {"n": int(n), "b": b"\\x00"})
        self.seen.new_keyed_list(user.encode()).add({"city": city})
        self.queue.new_keyed_priority_queue((user, int(n))).add(-int(n))

fssdk.run(Typed())
"""

LINES = "ann paris 3\nbob rome 5\nann oslo -2\n"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("typed")
    operator = tmp / "typed.py"
    operator.write_text(TYPED_OPERATOR)
    source = tmp / "in.txt"
    source.write_text(LINES)
    done = run_fssdk(
        "run", operator, "--input", source, "--output", tmp / "out", "--state-dir", tmp / "s"
    )
    assert done.returncode == 0, done.stderr
    return tmp / "s"


def inspect(state_dir: Path, *args: object) -> dict[str, Any]:
    done = run_fssdk("state", "inspect", state_dir, "--store", "typed", *args, "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_key_groups_show_their_kind_and_not_the_descriptors(state_dir: Path) -> None:
    groups = {g["key_group"]: g["kind"] for g in inspect(state_dir)["stores"][0]["groups"]}
    assert groups == {
        "": "ValueState",
        "counts": "ValueState",
        "places": "MapState",
        "seen": "ListState",
        "queue": "PriorityQueueState",
    }


def test_ints_show_as_numbers(state_dir: Path) -> None:
    dump = inspect(state_dir, "--key-group", "")["dump"]
    assert dump["kind"] == "ValueState"
    assert [(e["key"], e["value"]) for e in dump["entries"]] == [("", 6)]
    counts = inspect(state_dir, "--key-group", "counts", "--key", "ann")["dump"]
    assert [e["value"] for e in counts["entries"]] == [2]


def test_map_entries_show_tuple_keys_and_msgpack_values(state_dir: Path) -> None:
    dump = inspect(state_dir, "--key-group", "places", "--key", "ann")["dump"]
    assert [(e["key"], e["value"]) for e in dump["entries"]] == [
        (["oslo", -2], {"n": -2, "b": "hex:00"}),
        (["paris", 3], {"n": 3, "b": "hex:00"}),
    ]
    text = run_fssdk(
        "state", "inspect", state_dir, "--store", "typed", "--key-group", "places", "--key", "ann"
    )
    assert text.returncode == 0, text.stderr
    assert '("oslo", -2)' in text.stdout
    assert '"n": 3' in text.stdout


def test_lists_show_their_elements_as_json(state_dir: Path) -> None:
    dump = inspect(state_dir, "--key-group", "seen", "--key", "ann")["dump"]
    assert [e["value"] for e in dump["entries"]] == [[{"city": "paris"}, {"city": "oslo"}]]


def test_listing_the_primary_keys_of_a_key_group(state_dir: Path) -> None:
    keys = inspect(state_dir, "--key-group", "counts", "--keys")["keys"]
    assert (keys["kind"], keys["total"], keys["keys"]) == ("ValueState", 2, ["ann", "bob"])
    places = inspect(state_dir, "--key-group", "places", "--keys", "--limit", "1")["keys"]
    assert (places["total"], places["keys"]) == (2, ["ann"])
    queue = inspect(state_dir, "--key-group", "queue", "--keys")["keys"]
    assert queue["keys"] == [["ann", -2], ["ann", 3], ["bob", 5]]
    text = run_fssdk(
        "state", "inspect", state_dir, "--store", "typed", "--key-group", "queue", "--keys"
    )
    assert text.returncode == 0, text.stderr
    assert '("ann", -2)' in text.stdout
    assert "3 primary keys" in text.stdout


def test_listing_keys_of_one_namespace(state_dir: Path) -> None:
    keys = inspect(state_dir, "--key-group", "seen", "--keys", "--namespace", "")["keys"]
    assert keys["keys"] == ["ann", "bob"]
    none = inspect(state_dir, "--key-group", "seen", "--keys", "--namespace", "w")["keys"]
    assert (none["total"], none["keys"]) == (0, [])


def test_queue_elements_show_as_values(state_dir: Path) -> None:
    dump = inspect(state_dir, "--key-group", "queue", "--key", "hex:" + _tuple_key("ann", 3))
    assert [(e["key"], e["value"]) for e in dump["dump"]["entries"]] == [(-3, None)]


def test_keys_needs_a_key_group(state_dir: Path) -> None:
    done = run_fssdk("state", "inspect", state_dir, "--store", "typed", "--keys")
    assert done.returncode == 2
    assert "--keys needs --store NAME --key-group KG" in done.stderr


def _tuple_key(text: str, number: int) -> str:
    from fssdk_advanced import IntCodec, StringCodec, TupleCodec

    return TupleCodec(StringCodec(), IntCodec()).encode((text, number)).hex()
