"""Key format, version 1: how a store name's entries become physical RocksDB keys.

Every physical key starts with a one-byte tag naming its key space::

    0x01  simple key     01 · key                       (raw: simple keys are flat)
    0x02  complex key    02 · E(key_group) · E(key) · E(namespace) · E(user_key) · 00 01
    0x02  merge operand  02 · E(key_group) · E(key) · E(namespace) · E(user_key) · 00 02 · seq · 02
    0xFF  metadata       FF · name                      (format version, merge sequence,
                                                         key groups holding merge operands)

``E(b)`` escapes each 0x00 byte of ``b`` as ``00 FF`` and ends it with the terminator ``00 01``
(FoundationDB's tuple layer does the same for byte strings). Because an escaped string never
contains ``00 01``, the encoding is injective and prefix-free: the keys of scope
``(kg, key, ns)`` are exactly those starting with ``02 · E(kg) · E(key) · E(ns)``, whatever the
components hold, and escaped strings compare as the raw strings do, so physical order is
``(kg, key, ns, user_key)`` tuple order.

The user key is escaped too (without its terminator for prefix deletes), so that merge operands
(``Store.merge``) can sit right after their base entry: ``00 02`` sorts after ``00 01`` and before
any longer user key (``00 FF`` or a non-zero byte). Operands carry a big-endian 8-byte sequence
number, so a scope scan meets a key's base and its operands in append order. The trailing byte of
a physical complex key tells the two apart: ``01`` for a base, ``02`` for an operand.

The version lives in the metadata key ``FF format-version``; a database written with another
version is refused rather than misread. See docs/key-format.md for a worked example.

:data:`LAYOUT` (a :class:`Layout`) is the one object that builds and splits physical keys; the
stores, the table layer, the engine adapters and ``fssdk state inspect`` all go through it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Final, TypeVar

FORMAT_VERSION: Final = 1

SIMPLE_TAG: Final = b"\x01"
COMPLEX_TAG: Final = b"\x02"
META_TAG: Final = b"\xff"

TERMINATOR: Final = b"\x00\x01"
BASE_SUFFIX: Final = b"\x00\x01"
OPERAND_INFIX: Final = b"\x00\x02"
OPERAND_SUFFIX: Final = b"\x02"
SEQ_BYTES: Final = 8
OPERAND_TAIL: Final = 2 + SEQ_BYTES + 1

META_FORMAT_VERSION: Final = META_TAG + b"format-version"
META_MERGE_SEQ: Final = META_TAG + b"merge-seq"
#: ``META_OPERAND_GROUP · group_head``: the key group has (or had) merge operands on disk.
META_OPERAND_GROUP: Final = META_TAG + b"operands:"
#: Present once operands are tracked per group; a store with operands but without it predates
#: the markers, and every one of its groups may hold operands.
META_OPERANDS_TRACKED: Final = META_TAG + b"operands-per-group"

_ZERO: Final = b"\x00"
_ESCAPED_ZERO: Final = b"\x00\xff"
#: ``_FOLLOWING[b]``: the byte after ``b`` (0..254), as bytes.
_FOLLOWING: Final = tuple(bytes((value + 1,)) for value in range(255))

Pair = tuple[bytes, bytes]
K = TypeVar("K")
V = TypeVar("V")


class Layout:
    """Key format v1: every physical key is built and split here, and only here.

    Stateless; use the shared instance :data:`LAYOUT`. Methods that sit on the per-record path
    (``base_key``, ``user_key``) are plain byte operations with no intermediate calls.
    """

    __slots__ = ()

    # -- components --------------------------------------------------------------------------

    #: ``escape(component)``: ``component`` with every 0x00 written as ``00 FF`` (no
    #: terminator). ``unescape`` is its inverse. Both are C-level callables (no Python frame):
    #: scans unescape every user key holding a zero byte.
    escape: Final[Callable[[bytes], bytes]] = operator.methodcaller("replace", _ZERO, _ESCAPED_ZERO)
    unescape: Final[Callable[[bytes], bytes]] = operator.methodcaller(
        "replace", _ESCAPED_ZERO, _ZERO
    )

    @staticmethod
    def successor(prefix: bytes) -> bytes:
        """The smallest byte string greater than every string starting with ``prefix``.

        >>> LAYOUT.successor(b"\\x02ab\\xff\\xff").hex(" ")
        '02 61 63'
        """
        if prefix and prefix[-1] != 0xFF:  # every scope prefix: no copy stripped, no tuple
            return prefix[:-1] + _FOLLOWING[prefix[-1]]
        stripped = prefix.rstrip(b"\xff")
        if not stripped:
            raise ValueError(f"no successor for a prefix of only 0xFF bytes: {prefix!r}")
        return stripped[:-1] + bytes((stripped[-1] + 1,))

    # -- simple keys and metadata ------------------------------------------------------------

    #: ``simple_key(key)``: the physical key of simple key ``key`` (C-level, no frame).
    simple_key: Final[Callable[[bytes], bytes]] = SIMPLE_TAG.__add__

    @staticmethod
    def simple_range(start: bytes, end: bytes) -> tuple[bytes, bytes]:
        """``[low, high)`` of the simple keys in ``[start, end)``; ``end == b""``: unbounded."""
        return SIMPLE_TAG + start, (SIMPLE_TAG + end if end else b"\x02")

    @staticmethod
    def simple_key_of(physical: bytes) -> bytes:
        """The simple key of a physical simple key."""
        return physical[1:]

    @staticmethod
    def operand_group_key(head: bytes) -> bytes:
        """Metadata key marking the key group with ``head`` as holding merge operands."""
        return META_OPERAND_GROUP + head

    @staticmethod
    def operand_groups_range() -> tuple[bytes, bytes]:
        """``[low, high)`` of the operand-group markers; :meth:`head_of_marker` reads one."""
        return META_OPERAND_GROUP, Layout.successor(META_OPERAND_GROUP)

    @staticmethod
    def head_of_marker(marker: bytes) -> bytes:
        """The group head an operand-group marker names."""
        return marker[len(META_OPERAND_GROUP) :]

    # -- scopes ------------------------------------------------------------------------------

    @staticmethod
    def group_head(key_group: bytes) -> bytes:
        """The start of every scope prefix of ``key_group``: tag, escaped group, terminator."""
        if 0 in key_group:
            key_group = key_group.replace(_ZERO, _ESCAPED_ZERO)
        return COMPLEX_TAG + key_group + TERMINATOR

    @staticmethod
    def scope_of(head: bytes, key: bytes, namespace: bytes) -> bytes:
        """The scope prefix of ``(key, namespace)`` in the key group whose head is ``head``."""
        if 0 in key or 0 in namespace:
            key = key.replace(_ZERO, _ESCAPED_ZERO)
            namespace = namespace.replace(_ZERO, _ESCAPED_ZERO)
        return b"".join((head, key, TERMINATOR, namespace, TERMINATOR))

    @staticmethod
    def scope_prefix(key_group: bytes, key: bytes, namespace: bytes) -> bytes:
        """The physical prefix shared by exactly the entries of one scope.

        >>> LAYOUT.scope_prefix(b"ab", b"c", b"").hex(" ")
        '02 61 62 00 01 63 00 01 00 01'
        >>> LAYOUT.scope_prefix(b"a", b"bc", b"").hex(" ")
        '02 61 00 01 62 63 00 01 00 01'
        """
        return Layout.scope_of(Layout.group_head(key_group), key, namespace)

    @staticmethod
    def locate(head: bytes, key: bytes, namespace: bytes, user_key: bytes) -> tuple[bytes, bytes]:
        """``(scope prefix, physical key)`` of ``user_key`` in scope ``(key, namespace)`` of the
        key group whose head is ``head``: :meth:`scope_of` and :meth:`base_key` in one call, the
        per-record path of keyed state.

        >>> prefix, physical = LAYOUT.locate(LAYOUT.group_head(b"g"), b"k", b"", b"a")
        >>> prefix == LAYOUT.scope_prefix(b"g", b"k", b"")
        True
        >>> physical == LAYOUT.base_key(prefix, b"a")
        True
        """
        if 0 in key or 0 in namespace:
            key = key.replace(_ZERO, _ESCAPED_ZERO)
            namespace = namespace.replace(_ZERO, _ESCAPED_ZERO)
        prefix = b"".join((head, key, TERMINATOR, namespace, TERMINATOR))
        if not user_key:  # a value, an accumulator, a list: one concatenation, not two
            return prefix, prefix + BASE_SUFFIX
        if 0 in user_key:
            user_key = user_key.replace(_ZERO, _ESCAPED_ZERO)
        return prefix, prefix + user_key + BASE_SUFFIX

    @staticmethod
    def scope_range(
        head: bytes, key: bytes, namespace: bytes, start: bytes
    ) -> tuple[bytes, bytes, bytes]:
        """``(scope prefix, low, high)``: :meth:`scope_of` and :meth:`user_range` from ``start``
        to the scope's end in one call, the bounds of a bounded read of a scope (a queue's head).

        >>> prefix, low, high = LAYOUT.scope_range(LAYOUT.group_head(b"g"), b"k", b"", b"a")
        >>> (prefix, low, high) == (prefix, *LAYOUT.user_range(prefix, b"a", b""))
        True
        """
        escape = Layout.escape
        prefix = b"".join((head, escape(key), TERMINATOR, escape(namespace), TERMINATOR))
        # A scope prefix ends with the terminator 00 01: its successor ends with 00 02.
        return prefix, prefix + escape(start), prefix[:-1] + b"\x02"

    @staticmethod
    def partitioned_scope_prefix(key_group: bytes, namespace: bytes) -> bytes:
        """The prefix of scope ``(key_group, <current key>, namespace)`` in per-key storage.

        An engine that already partitions state by the stream key (Flink keyed state: one map per
        key) leaves the key component out: it is written empty, and the rest is the complex-key
        layout, with the same isolation and order. Entries are :meth:`base_key` of this prefix.

        >>> LAYOUT.partitioned_scope_prefix(b"g", b"").hex(" ")
        '02 67 00 01 00 01 00 01'
        """
        return Layout.scope_of(Layout.group_head(key_group), b"", namespace)

    @staticmethod
    def key_prefix(head: bytes, key: bytes) -> bytes:
        """The prefix of every scope of primary key ``key`` in the group with ``head``."""
        return head + Layout.escape(key) + TERMINATOR

    @staticmethod
    def key_of(physical: bytes, head_length: int) -> bytes:
        """The primary key of a complex physical key whose group head has that length."""
        end = physical.index(TERMINATOR, head_length)
        return Layout.unescape(physical[head_length:end])

    @staticmethod
    def scope_key_of(physical: bytes, head_length: int) -> tuple[bytes, bytes]:
        """The ``(primary key, namespace)`` of a complex physical key whose group head has that
        length."""
        end = physical.index(TERMINATOR, head_length)
        stop = physical.index(TERMINATOR, end + 2)
        return Layout.unescape(physical[head_length:end]), Layout.unescape(physical[end + 2 : stop])

    # -- entries of a scope ------------------------------------------------------------------

    @staticmethod
    def base_key(prefix: bytes, user_key: bytes) -> bytes:
        """Physical key of the value at ``user_key`` in the scope with ``prefix``.

        >>> LAYOUT.base_key(LAYOUT.scope_prefix(b"g", b"k", b""), b"a\\x00").hex(" ")
        '02 67 00 01 6b 00 01 00 01 61 00 ff 00 01'
        """
        if 0 in user_key:
            user_key = user_key.replace(_ZERO, _ESCAPED_ZERO)
        return prefix + user_key + BASE_SUFFIX

    @staticmethod
    def user_prefix(prefix: bytes, user_prefix: bytes) -> bytes:
        """The physical prefix of the entries whose user key starts with ``user_prefix``."""
        return prefix + Layout.escape(user_prefix)

    @staticmethod
    def user_range(prefix: bytes, start: bytes, end: bytes) -> tuple[bytes, bytes]:
        """``[low, high)`` holding the bases and operands of user keys in ``[start, end)``."""
        high = prefix + Layout.escape(end) if end else Layout.successor(prefix)
        return prefix + Layout.escape(start), high

    @staticmethod
    def user_key(base: bytes, prefix_length: int) -> bytes:
        """The user key of the base physical key ``base`` of a scope with that prefix length."""
        user_key = base[prefix_length:-2]
        return user_key.replace(_ESCAPED_ZERO, _ZERO) if 0 in user_key else user_key

    @staticmethod
    def user_pairs(pairs: Iterable[Pair], prefix_length: int) -> Iterator[Pair]:
        """``(user_key, value)`` of a stream of ``(base key, value)`` of one scope."""
        for base, value in pairs:
            user_key = base[prefix_length:-2]
            yield (user_key.replace(_ESCAPED_ZERO, _ZERO) if 0 in user_key else user_key), value

    @staticmethod
    def decode_pairs(
        pairs: Iterable[Pair],
        prefix_length: int,
        decode_key: Callable[[bytes], K],
        decode_value: Callable[[bytes], V],
    ) -> list[tuple[K, V]]:
        """``(decode_key(user_key), decode_value(value))`` of each ``(base key, value)`` of one
        scope: a chunk of a typed scan in one comprehension, no frame per entry but the decodes.
        A ``ValueError`` of either decode propagates (the caller redoes the chunk one by one)."""
        return [
            (decode_key(base[prefix_length:-2].replace(_ESCAPED_ZERO, _ZERO)), decode_value(value))
            for base, value in pairs
        ]

    @staticmethod
    def is_operand(physical: bytes) -> bool:
        """True for a merge operand key, False for a base key."""
        return physical[-1] == 2

    @staticmethod
    def base_of(physical: bytes) -> bytes:
        """The base physical key of a base or operand physical key."""
        if physical[-1] == 1:
            return physical
        return physical[:-OPERAND_TAIL] + BASE_SUFFIX

    @staticmethod
    def operands_of(base: bytes) -> tuple[bytes, bytes]:
        """``[start, end)`` of the merge operands of the base entry with physical key ``base``."""
        stem = base[:-1]
        return stem + b"\x02", stem + b"\x03"

    @staticmethod
    def operand_after(base: bytes, seq: int) -> bytes:
        """Physical key of merge operand number ``seq`` of the base entry ``base``."""
        return base[:-1] + b"\x02" + seq.to_bytes(SEQ_BYTES, "big") + OPERAND_SUFFIX

    @staticmethod
    def fold(pairs: Iterable[Pair], reverse: bool = False) -> Iterator[Pair]:
        """``(base key, value)`` per user key of a run of physical entries, operands appended.

        ``pairs`` is in physical order (descending with ``reverse``), so each key's base and
        operands arrive together; this is the one place merge operands are folded.
        """
        current: bytes | None = None
        parts: list[bytes] = []
        for physical, value in pairs:
            base = physical if physical[-1] == 1 else physical[:-OPERAND_TAIL] + BASE_SUFFIX
            if base != current:
                if current is not None:
                    yield current, b"".join(reversed(parts) if reverse else parts)
                current, parts = base, []
            parts.append(value)
        if current is not None:
            yield current, b"".join(reversed(parts) if reverse else parts)

    # -- tools -------------------------------------------------------------------------------

    @staticmethod
    def decode_components(physical: bytes) -> tuple[bytes, ...]:
        """Split a physical complex key into ``(key_group, key, namespace, user_key[, seq])``.

        For tools (``fssdk state inspect``) and tests; the stores never parse keys on a hot path.
        """
        if physical[:1] != COMPLEX_TAG:
            raise ValueError(f"not a complex key (tag {physical[:1]!r}): {physical!r}")
        parts: list[bytes] = []
        rest = physical[1:]
        while len(parts) < 4:
            end = 0
            while True:
                end = rest.index(_ZERO, end)
                if rest[end + 1] != 0xFF:
                    break
                end += 2
            parts.append(Layout.unescape(rest[:end]))
            marker, rest = rest[end + 1], rest[end + 2 :]
            if len(parts) == 4 and marker == 2:
                parts.append(rest[:SEQ_BYTES])
            elif marker != 1:
                raise ValueError(f"bad terminator in physical key {physical!r}")
        return tuple(parts)


LAYOUT: Final = Layout()
