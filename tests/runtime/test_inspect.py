"""``fssdk state inspect`` shows typed state decoded through its stored descriptors."""

from __future__ import annotations

import json
import time
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


# -- TTL'd state, and the libraries' own key groups ---------------------------------------------

DAY = 86_400_000

TTL_OPERATOR = """
import fssdk
from fssdk_advanced import (
    IntCodec, KeyedListStateFactory, KeyedMapStateFactory, KeyedPriorityQueueStateFactory,
    KeyedValueStateFactory, StringCodec,
)
from fssdk_advanced.time import StateTtl

class Expiring(fssdk.BaseDriver):
    def init(self, ctx, config):
        ttl = StateTtl(86_400_000)
        self.values = KeyedValueStateFactory.from_context(
            ctx, "ttl", b"values", IntCodec(), ttl=ttl)
        self.lists = KeyedListStateFactory.from_context(
            ctx, "ttl", b"lists", StringCodec(), ttl=ttl)
        self.maps = KeyedMapStateFactory.from_context(
            ctx, "ttl", b"maps", StringCodec(), IntCodec(), ttl=ttl)
        self.queue = KeyedPriorityQueueStateFactory.from_context(
            ctx, "ttl", b"queue", IntCodec(), ttl=ttl)

    def process(self, ctx, source_id, data):
        user, city, n = data.decode().split(" ")
        self.values.new_keyed_value(user.encode()).update(int(n))
        self.lists.new_keyed_list(user.encode()).add(city)
        self.maps.new_keyed_map(user.encode()).put(city, int(n))
        self.queue.new_keyed_priority_queue(user.encode()).add(int(n))

fssdk.run(Expiring())
"""


@pytest.fixture(scope="module")
def ttl_state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, range]:
    """A state dir of TTL'd state, and the range its values' expiry falls in (epoch ms)."""
    tmp = tmp_path_factory.mktemp("ttl")
    operator = tmp / "expiring.py"
    operator.write_text(TTL_OPERATOR)
    source = tmp / "in.txt"
    source.write_text(LINES)
    before = int(time.time() * 1000)
    done = run_fssdk(
        "run", operator, "--input", source, "--output", tmp / "out", "--state-dir", tmp / "s"
    )
    after = int(time.time() * 1000)
    assert done.returncode == 0, done.stderr
    return tmp / "s", range(before + DAY, after + DAY + 1)


def inspect_ttl(state_dir: Path, *args: object) -> dict[str, Any]:
    done = run_fssdk("state", "inspect", state_dir, "--store", "ttl", *args, "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_ttl_values_show_decoded_with_their_expiry(ttl_state: tuple[Path, range]) -> None:
    state_dir, expiry = ttl_state
    values = inspect_ttl(state_dir, "--key-group", "values", "--key", "ann")["dump"]["entries"]
    assert [(e["key"], e["value"], e["expires_at"] in expiry) for e in values] == [("", -2, True)]
    maps = inspect_ttl(state_dir, "--key-group", "maps", "--key", "ann")["dump"]["entries"]
    assert [(e["key"], e["value"]) for e in maps] == [("oslo", -2), ("paris", 3)]
    assert all(e["expires_at"] in expiry for e in maps)
    queue = inspect_ttl(state_dir, "--key-group", "queue", "--key", "ann")["dump"]["entries"]
    assert [(e["key"], e["value"]) for e in queue] == [(-2, None), (3, None)]
    assert all(e["expires_at"] in expiry for e in queue)


def test_ttl_list_elements_show_decoded_each_with_its_expiry(
    ttl_state: tuple[Path, range],
) -> None:
    state_dir, expiry = ttl_state
    lists = inspect_ttl(state_dir, "--key-group", "lists", "--key", "ann")["dump"]["entries"]
    assert [e["value"] for e in lists] == [["paris", "oslo"]]
    assert "error" not in lists[0]
    assert len(lists[0]["expires_at"]) == 2
    assert all(at in expiry for at in lists[0]["expires_at"])


def test_ttl_values_print_decoded_with_an_expiry_column(ttl_state: tuple[Path, range]) -> None:
    state_dir, expiry = ttl_state
    done = run_fssdk(
        "state", "inspect", state_dir, "--store", "ttl", "--key-group", "maps", "--key", "bob"
    )
    assert done.returncode == 0, done.stderr
    assert "expires at" in done.stdout
    row = next(line for line in done.stdout.splitlines() if "rome" in line)
    cells = [cell.strip() for cell in row.strip("│┃| \n").split("│")]
    assert cells[:2] == ["rome", "5"]
    assert int(cells[2]) in expiry


def test_library_key_groups_are_neither_listed_nor_counted_with_the_users(
    ttl_state: tuple[Path, range],
) -> None:
    state_dir, _ = ttl_state
    store = inspect_ttl(state_dir)["stores"][0]
    groups = store["groups"]
    assert sorted(g["key_group"] for g in groups) == ["lists", "maps", "queue", "values"]
    assert store["key_groups"] == 4
    assert store["complex_entries"] == sum(g["entries"] for g in groups)
    assert store["bytes"] >= sum(g["bytes"] for g in groups)
    library = store["library"]
    assert library["key_groups"] == 2  # the state descriptors and the TTL index
    assert library["entries"] >= 4 + 1  # four descriptors, the index keys
    summary = run_fssdk("state", "inspect", state_dir)
    assert summary.returncode == 0, summary.stderr
    assert "hex:" not in summary.stdout
