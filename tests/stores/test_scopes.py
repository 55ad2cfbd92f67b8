"""``Store.scopes(key_group)``: the per-record scope maker of keyed state, on every backend."""

from __future__ import annotations

import pytest

from fssdk import ClosedError, Store
from fssdk.runtime import Backend


def test_a_made_scope_is_the_scope_of_the_same_components(store: Store) -> None:
    make = store.scopes(b"g\x00")
    made = make(b"user\x001", b"\xff")
    made.put(b"k", b"v")
    direct = store.scope(b"g\x00", b"user\x001", b"\xff")
    assert direct.get(b"k") == b"v"
    assert (made.key_group, made.key, made.namespace) == (b"g\x00", b"user\x001", b"\xff")
    assert store.scopes(b"g")(b"user\x001", b"\xff").get(b"k") is None
    assert make(b"user", b"\x001\xff").get(b"k") is None


def test_wrong_types_name_the_argument(store: Store) -> None:
    with pytest.raises(TypeError, match="key_group"):
        store.scopes("g")  # type: ignore[arg-type]
    make = store.scopes(b"g")
    with pytest.raises(TypeError, match="key"):
        make("user", b"")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="namespace"):
        make(b"user", None)  # type: ignore[arg-type]


def test_a_maker_of_a_closed_store_refuses(backend: Backend) -> None:
    make = backend.store("s").scopes(b"g")
    backend.close()
    with pytest.raises(ClosedError):
        make(b"user", b"")
