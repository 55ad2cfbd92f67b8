"""Hypothesis strategies for Store inputs that aim at the hard cases on purpose.

Random bytes rarely hit the inputs that break stores: empty components, components holding the
escape bytes 0x00 and 0xFF, keys that are prefixes of one another, scopes whose components
collide when concatenated (``(b"ab", b"c")`` and ``(b"a", b"bc")``), empty and long values. Every
strategy here mixes a fixed list of such values with small random ones over a narrow alphabet,
so that two draws are often equal, prefixes of each other, or differ only in a 0x00 or 0xFF.
"""

from __future__ import annotations

from typing import Final

from hypothesis import strategies as st

from fssdk._complex_key import ComplexKey

Scope = tuple[bytes, bytes, bytes]

#: Byte strings that have broken byte-key encodings before: empty, the escape and terminator
#: bytes alone and in pairs, prefixes of each other, the halves of a concatenation collision.
HARD_BYTES: Final[tuple[bytes, ...]] = (
    b"",
    b"\x00",
    b"\xff",
    b"\x00\x00",
    b"\x00\x01",
    b"\x00\x02",
    b"\x00\xff",
    b"\xff\x00",
    b"\xff\xff",
    b"\x01",
    b"a",
    b"a\x00",
    b"a\xff",
    b"ab",
    b"b",
    b"bc",
    b"c",
    b"user1",
    b"user12",
)

#: The alphabet of the small random strings: the bytes an escaping scheme treats specially,
#: their neighbours, and two letters.
ALPHABET: Final[tuple[int, ...]] = (0x00, 0x01, 0x02, 0x61, 0x62, 0xFE, 0xFF)


def _small_bytes(max_size: int) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(ALPHABET), max_size=max_size).map(bytes)


def components() -> st.SearchStrategy[bytes]:
    """One scope component (key_group, key or namespace), biased towards the hard cases."""
    return st.one_of(st.sampled_from(HARD_BYTES), _small_bytes(4), st.binary(max_size=6))


def user_keys() -> st.SearchStrategy[bytes]:
    """A user key: the hard cases, small strings over a narrow alphabet, or arbitrary bytes."""
    return st.one_of(st.sampled_from(HARD_BYTES), _small_bytes(6), st.binary(max_size=10))


def simple_keys() -> st.SearchStrategy[bytes]:
    """A simple key (``put_state``): the same mix as user keys."""
    return user_keys()


def long_values(min_size: int = 64, max_size: int = 4096) -> st.SearchStrategy[bytes]:
    """Values of ``min_size`` to ``max_size`` bytes, built cheaply by repeating a short pattern."""
    return st.builds(
        _repeat,
        st.binary(min_size=1, max_size=4),
        st.integers(min_value=min_size, max_value=max_size),
    )


def _repeat(pattern: bytes, length: int) -> bytes:
    """``pattern`` repeated to exactly ``length`` bytes.

    >>> _repeat(b"ab", 5)
    b'ababa'
    """
    return (pattern * (length // len(pattern) + 1))[:length]


def values() -> st.SearchStrategy[bytes]:
    """A value: often empty (a present entry, not a missing one), usually short, sometimes long."""
    return st.one_of(
        st.just(b""),
        st.sampled_from(HARD_BYTES[1:]),
        st.binary(min_size=1, max_size=12),
        long_values(),
    )


def scopes() -> st.SearchStrategy[Scope]:
    """A scope ``(key_group, key, namespace)`` of hard-case components."""
    return st.tuples(components(), components(), components())


@st.composite
def colliding_scopes(draw: st.DrawFn) -> tuple[Scope, Scope]:
    """Two different scopes whose components concatenate to the same bytes.

    A store that joins components without escaping them confuses the two.
    """
    joined = draw(st.binary(min_size=1, max_size=8) | _small_bytes(6).filter(bool))
    cuts = st.tuples(
        st.integers(min_value=0, max_value=len(joined)),
        st.integers(min_value=0, max_value=len(joined)),
    ).map(sorted)
    first_cut = draw(cuts)
    second_cut = draw(cuts.filter(lambda cut: cut != first_cut))
    return split(joined, first_cut), split(joined, second_cut)


def split(joined: bytes, cuts: list[int] | tuple[int, int]) -> Scope:
    """The scope obtained by cutting ``joined`` at the two (sorted) positions ``cuts``.

    >>> split(b"abc", (1, 1))
    (b'a', b'', b'bc')
    """
    low, high = cuts
    return joined[:low], joined[low:high], joined[high:]


def complex_keys() -> st.SearchStrategy[ComplexKey]:
    """A :class:`~fssdk.ComplexKey` of hard-case components and user key."""
    return st.builds(ComplexKey, components(), components(), components(), user_keys())
