"""Properties of key format v1 (fssdk/_keyformat.py, docs/key-format.md).

Keys, scopes and user keys come from the conformance kit's strategies, which produce empty
components, 0x00 and 0xFF bytes, prefixes of one another and concatenation collisions on purpose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from fssdk import ComplexKey
from fssdk import _keyformat as kf
from fssdk._keyformat import LAYOUT
from fssdk.runtime import RocksDBBackend
from fssdk.testing import (
    Scope,
    colliding_scopes,
    complex_keys,
    components,
    scopes,
    simple_keys,
    user_keys,
)

seqs = st.integers(min_value=0, max_value=2**64 - 1)


def physical(key: ComplexKey) -> bytes:
    """The physical key of ``key``'s base value."""
    return LAYOUT.base_key(LAYOUT.scope_prefix(*key.scope), key.user_key)


def operand_key(prefix: bytes, user_key: bytes, seq: int) -> bytes:
    """The physical key of merge operand ``seq`` of ``user_key`` in the scope with ``prefix``."""
    return LAYOUT.operand_after(LAYOUT.base_key(prefix, user_key), seq)


@st.composite
def related_scopes(draw: st.DrawFn, scope: Scope) -> Scope:
    """A scope near ``scope``: equal, re-split, or with one component extended or cut short."""
    how = draw(st.sampled_from(["same", "resplit", "extend", "cut"]))
    if how == "same":
        return scope
    if how == "resplit":
        joined = b"".join(scope)
        low = draw(st.integers(0, len(joined)))
        high = draw(st.integers(low, len(joined)))
        return joined[:low], joined[low:high], joined[high:]
    parts = list(scope)
    position = draw(st.integers(0, 2))
    if how == "extend":
        parts[position] += draw(components())
    else:
        parts[position] = parts[position][: draw(st.integers(0, len(parts[position])))]
    return parts[0], parts[1], parts[2]


@st.composite
def key_pairs(draw: st.DrawFn) -> tuple[ComplexKey, ComplexKey]:
    """Two keys that are often in related scopes and have related user keys."""
    first = draw(complex_keys())
    scope = draw(related_scopes(first.scope))
    user_key = draw(
        st.one_of(
            user_keys(),
            st.just(first.user_key),
            components().map(lambda suffix: first.user_key + suffix),
            st.integers(0, 8).map(lambda length: first.user_key[:length]),
        )
    )
    return first, ComplexKey(*scope, user_key)


# -- injective ---------------------------------------------------------------------------------


@given(complex_keys(), st.sampled_from([b"", b"\x00"]))
def test_locate_is_the_scope_prefix_and_the_physical_key(key: ComplexKey, user_key: bytes) -> None:
    """The per-record ``locate`` agrees with ``scope_prefix`` and ``base_key``, an empty user
    key (its shortcut) and one of a zero byte included."""
    head = LAYOUT.group_head(key.key_group)
    for user in (key.user_key, user_key):
        prefix = LAYOUT.scope_prefix(*key.scope)
        assert LAYOUT.locate(head, key.key, key.namespace, user) == (
            prefix,
            LAYOUT.base_key(prefix, user),
        )


@given(key_pairs())
def test_different_keys_have_different_physical_keys(pair: tuple[ComplexKey, ComplexKey]) -> None:
    first, second = pair
    assert (physical(first) == physical(second)) == (first == second)


@given(colliding_scopes(), user_keys())
def test_scopes_that_collide_when_concatenated_stay_apart(
    pair: tuple[Scope, Scope], user_key: bytes
) -> None:
    first, second = pair
    assert LAYOUT.scope_prefix(*first) != LAYOUT.scope_prefix(*second)
    assert physical(ComplexKey(*first, user_key)) != physical(ComplexKey(*second, user_key))


def test_the_textbook_collisions_are_apart() -> None:
    assert LAYOUT.scope_prefix(b"ab", b"c", b"") != LAYOUT.scope_prefix(b"a", b"bc", b"")
    user1 = LAYOUT.scope_prefix(b"g", b"user1", b"")
    assert not physical(ComplexKey(b"g", b"user12", b"", b"")).startswith(user1)
    assert not physical(ComplexKey(b"g", b"user1", b"", b"2")).startswith(
        LAYOUT.scope_prefix(b"g", b"user12", b"")
    )


# -- prefix-isolated ---------------------------------------------------------------------------


@given(key_pairs(), seqs)
def test_a_scope_prefix_starts_exactly_the_keys_of_that_scope(
    pair: tuple[ComplexKey, ComplexKey], seq: int
) -> None:
    first, second = pair
    prefix = LAYOUT.scope_prefix(*first.scope)
    same_scope = first.scope == second.scope
    assert physical(second).startswith(prefix) == same_scope
    operand = operand_key(LAYOUT.scope_prefix(*second.scope), second.user_key, seq)
    assert operand.startswith(prefix) == same_scope


@given(key_pairs(), seqs)
def test_a_user_key_prefix_range_holds_exactly_the_keys_that_start_with_it(
    pair: tuple[ComplexKey, ComplexKey], seq: int
) -> None:
    """The range ``delete_prefix`` removes: ``[P . E'(p), successor(P . E'(p)))``, whose low
    end is ``user_prefix``."""
    scoped, other = pair
    low = LAYOUT.user_prefix(LAYOUT.scope_prefix(*scoped.scope), scoped.user_key)
    assert low == LAYOUT.scope_prefix(*scoped.scope) + LAYOUT.escape(scoped.user_key)
    high = LAYOUT.successor(low)
    inside = other.scope == scoped.scope and other.user_key.startswith(scoped.user_key)
    prefix = LAYOUT.scope_prefix(*other.scope)
    assert (low <= physical(other) < high) == inside
    assert (low <= operand_key(prefix, other.user_key, seq) < high) == inside


# -- order-preserving --------------------------------------------------------------------------


@given(key_pairs())
@example((ComplexKey(b"", b"", b"", b"\x00"), ComplexKey(b"", b"", b"", b"")))
@example((ComplexKey(b"a", b"", b"", b""), ComplexKey(b"a\x00", b"", b"", b"")))
@example((ComplexKey(b"", b"\xff", b"", b""), ComplexKey(b"", b"\x00", b"", b"")))
def test_physical_order_is_tuple_order(pair: tuple[ComplexKey, ComplexKey]) -> None:
    first, second = pair
    assert (physical(first) < physical(second)) == (tuple(first) < tuple(second))


@given(scopes(), user_keys(), user_keys())
def test_within_a_scope_physical_order_is_user_key_order(
    scope: Scope, first: bytes, second: bytes
) -> None:
    prefix = LAYOUT.scope_prefix(*scope)
    assert (LAYOUT.base_key(prefix, first) < LAYOUT.base_key(prefix, second)) == (first < second)


@given(user_keys(), user_keys())
def test_escaping_preserves_order_and_round_trips(first: bytes, second: bytes) -> None:
    assert (LAYOUT.escape(first) < LAYOUT.escape(second)) == (first < second)
    assert LAYOUT.unescape(LAYOUT.escape(first)) == first
    assert kf.TERMINATOR not in LAYOUT.escape(first)


# -- simple keys, metadata ---------------------------------------------------------------------


@given(simple_keys(), complex_keys(), seqs)
def test_simple_keys_complex_keys_and_metadata_are_separate_spaces(
    key: bytes, complex_key: ComplexKey, seq: int
) -> None:
    simple = LAYOUT.simple_key(key)
    prefix = LAYOUT.scope_prefix(*complex_key.scope)
    complex_keys_ = (physical(complex_key), operand_key(prefix, complex_key.user_key, seq))
    for complex_physical in complex_keys_:
        assert simple < kf.COMPLEX_TAG <= complex_physical < kf.META_TAG
    assert simple < LAYOUT.successor(kf.SIMPLE_TAG) <= kf.COMPLEX_TAG
    assert kf.META_FORMAT_VERSION.startswith(kf.META_TAG)
    assert kf.META_MERGE_SEQ.startswith(kf.META_TAG)


# -- merge operands ----------------------------------------------------------------------------


@given(scopes(), user_keys(), user_keys(), seqs, seqs)
def test_operands_sort_after_their_base_and_before_the_next_user_key(
    scope: Scope, user_key: bytes, other: bytes, seq: int, other_seq: int
) -> None:
    prefix = LAYOUT.scope_prefix(*scope)
    base = LAYOUT.base_key(prefix, user_key)
    operand = operand_key(prefix, user_key, seq)
    assert base < operand
    low, high = LAYOUT.operands_of(LAYOUT.base_key(prefix, user_key))
    assert low <= operand < high
    assert not low <= base < high
    assert (operand < operand_key(prefix, user_key, other_seq)) == (seq < other_seq)
    if other != user_key:
        later = other > user_key
        assert (operand < LAYOUT.base_key(prefix, other)) == later
        assert (operand < operand_key(prefix, other, other_seq)) == later
        assert not low <= LAYOUT.base_key(prefix, other) < high
        assert not low <= operand_key(prefix, other, other_seq) < high


@given(complex_keys(), seqs)
def test_decode_components_and_user_key_of_round_trip(key: ComplexKey, seq: int) -> None:
    prefix = LAYOUT.scope_prefix(*key.scope)
    operand = operand_key(prefix, key.user_key, seq)
    assert LAYOUT.decode_components(physical(key)) == tuple(key)
    assert LAYOUT.decode_components(operand) == (*key, seq.to_bytes(kf.SEQ_BYTES, "big"))
    assert LAYOUT.user_key(LAYOUT.base_of(physical(key)), len(prefix)) == key.user_key
    assert LAYOUT.user_key(LAYOUT.base_of(operand), len(prefix)) == key.user_key


@pytest.mark.parametrize(
    "physical",
    [
        LAYOUT.simple_key(b"\x02abc"),
        kf.META_FORMAT_VERSION,
        kf.META_MERGE_SEQ,
        b"\x03\x00\x01",
        b"",
    ],
    ids=["simple", "format-version", "merge-seq", "tag-03", "empty"],
)
def test_decode_components_refuses_other_key_spaces_naming_the_tag(physical: bytes) -> None:
    with pytest.raises(ValueError, match=re.escape(f"not a complex key (tag {physical[:1]!r})")):
        LAYOUT.decode_components(physical)


@pytest.mark.parametrize("component", range(3))
def test_decode_components_refuses_an_operand_marker_before_the_user_key(component: int) -> None:
    """Only the user key may end in ``00 02`` (a merge operand): anywhere else it is damage."""
    physical = LAYOUT.base_key(LAYOUT.scope_prefix(b"g", b"k", b"n"), b"u")
    ends = [index for index in range(len(physical)) if physical[index : index + 2] == b"\x00\x01"]
    damaged = physical[: ends[component] + 1] + b"\x02" + physical[ends[component] + 2 :]
    with pytest.raises(ValueError, match="bad terminator"):
        LAYOUT.decode_components(damaged)


# -- successor ---------------------------------------------------------------------------------


@given(st.binary(max_size=6), st.binary(max_size=6))
def test_successor_bounds_exactly_the_strings_with_a_prefix(prefix: bytes, other: bytes) -> None:
    assume(prefix.rstrip(b"\xff"))
    assert (prefix <= other < LAYOUT.successor(prefix)) == other.startswith(prefix)
    assert prefix <= prefix + other < LAYOUT.successor(prefix)


def test_successor_of_only_ff_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="0xFF"):
        LAYOUT.successor(b"\xff\xff")


# -- the documented example and the version --------------------------------------------------


def test_the_worked_example_of_docs_key_format() -> None:
    prefix = LAYOUT.scope_prefix(b"clicks", b"user\x001", b"")
    assert prefix.hex(" ") == "02 63 6c 69 63 6b 73 00 01 75 73 65 72 00 ff 31 00 01 00 01"
    assert LAYOUT.base_key(prefix, b"2026-11-27") == prefix + bytes.fromhex(
        "32 30 32 36 2d 31 31 2d 32 37 00 01"
    )
    assert operand_key(prefix, b"2026-11-27", 7) == prefix + bytes.fromhex(
        "32 30 32 36 2d 31 31 2d 32 37 00 02 00 00 00 00 00 00 00 07 02"
    )
    assert LAYOUT.simple_key(b"total").hex(" ") == "01 74 6f 74 61 6c"


def test_a_database_of_another_format_version_is_refused(tmp_path: Path) -> None:
    from rocksdict import Options, Rdict

    path = str(tmp_path)
    with RocksDBBackend(path):
        pass
    options = Options(raw_mode=True)
    options.create_missing_column_families(True)
    database = Rdict(path, options)
    database.put(kf.META_FORMAT_VERSION, b"2")
    database.close()
    with pytest.raises(OSError, match="version 2"):
        RocksDBBackend(path)


@given(scopes(), user_keys())
def test_a_scope_range_is_the_scope_prefix_and_its_user_range_from_start(
    scope: Scope, start: bytes
) -> None:
    key_group, key, namespace = scope
    prefix = LAYOUT.scope_prefix(key_group, key, namespace)
    found = LAYOUT.scope_range(LAYOUT.group_head(key_group), key, namespace, start)
    assert found == (prefix, *LAYOUT.user_range(prefix, start, b""))
