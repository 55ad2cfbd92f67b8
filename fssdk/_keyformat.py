"""Key format, version 1: how a store name's entries become physical RocksDB keys.

Every physical key starts with a one-byte tag naming its key space::

    0x01  simple key     01 · key                       (raw: simple keys are flat)
    0x02  complex key    02 · E(key_group) · E(key) · E(namespace) · E(user_key) · 00 01
    0x02  merge operand  02 · E(key_group) · E(key) · E(namespace) · E(user_key) · 00 02 · seq · 02
    0xFF  metadata       FF · name                      (format version, merge sequence)

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
"""

from __future__ import annotations

from typing import Final

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

_ZERO: Final = b"\x00"
_ESCAPED_ZERO: Final = b"\x00\xff"


def escape(component: bytes) -> bytes:
    """``component`` with every 0x00 written as ``00 FF`` (no terminator)."""
    return component.replace(_ZERO, _ESCAPED_ZERO) if 0 in component else component


def unescape(escaped: bytes) -> bytes:
    """Inverse of :func:`escape`."""
    return escaped.replace(_ESCAPED_ZERO, _ZERO) if 0 in escaped else escaped


def scope_prefix(key_group: bytes, key: bytes, namespace: bytes) -> bytes:
    """The physical prefix shared by exactly the entries of one scope.

    >>> scope_prefix(b"ab", b"c", b"").hex(" ")
    '02 61 62 00 01 63 00 01 00 01'
    >>> scope_prefix(b"a", b"bc", b"").hex(" ")
    '02 61 00 01 62 63 00 01 00 01'
    """
    if 0 in key_group or 0 in key or 0 in namespace:
        key_group, key, namespace = escape(key_group), escape(key), escape(namespace)
    return b"".join((b"\x02", key_group, b"\x00\x01", key, b"\x00\x01", namespace, b"\x00\x01"))


def partitioned_scope_prefix(key_group: bytes, namespace: bytes) -> bytes:
    """The prefix of scope ``(key_group, <current key>, namespace)`` in per-key storage.

    An engine that already partitions state by the stream key (Flink keyed state: one map per
    key) leaves the key component out: it is written empty, and the rest is the complex-key
    layout, with the same isolation and order. Entries are :func:`base_key` of this prefix.

    >>> partitioned_scope_prefix(b"g", b"").hex(" ")
    '02 67 00 01 00 01 00 01'
    """
    return scope_prefix(key_group, b"", namespace)


def base_key(prefix: bytes, user_key: bytes) -> bytes:
    """Physical key of the value at ``user_key`` in the scope with ``prefix``."""
    return prefix + escape(user_key) + BASE_SUFFIX


def complex_key(key_group: bytes, key: bytes, namespace: bytes, user_key: bytes) -> bytes:
    """Physical key of the value at ``ComplexKey(key_group, key, namespace, user_key)``.

    >>> complex_key(b"g", b"k", b"", b"a") == base_key(scope_prefix(b"g", b"k", b""), b"a")
    True
    """
    if 0 in key_group or 0 in key or 0 in namespace or 0 in user_key:
        return base_key(scope_prefix(key_group, key, namespace), user_key)
    return b"".join(
        (b"\x02", key_group, TERMINATOR, key, TERMINATOR, namespace, TERMINATOR, user_key,
         BASE_SUFFIX)
    )


def group_head(key_group: bytes) -> bytes:
    """The start of every scope prefix of ``key_group``: tag, escaped group, terminator."""
    return COMPLEX_TAG + escape(key_group) + TERMINATOR


def operands_of(base: bytes) -> tuple[bytes, bytes]:
    """``[start, end)`` of the merge operands of the base entry with physical key ``base``.

    Operands share the base's key up to its final ``00 01``, which becomes ``00 02``.
    """
    stem = base[:-1]
    return stem + b"\x02", stem + b"\x03"


def operand_after(base: bytes, seq: int) -> bytes:
    """Physical key of merge operand number ``seq`` of the base entry ``base``."""
    return base[:-1] + b"\x02" + seq.to_bytes(SEQ_BYTES, "big") + OPERAND_SUFFIX


def operand_range(prefix: bytes, user_key: bytes) -> tuple[bytes, bytes]:
    """``[start, end)`` of the merge operands of ``user_key``."""
    return operands_of(base_key(prefix, user_key))


def operand_key(prefix: bytes, user_key: bytes, seq: int) -> bytes:
    """Physical key of the merge operand number ``seq`` of ``user_key``."""
    return operand_after(base_key(prefix, user_key), seq)


def user_key_of(physical: bytes, prefix_length: int) -> bytes:
    """The user key of a base or operand physical key whose scope prefix has that length."""
    tail = 2 if physical[-1] == 1 else OPERAND_TAIL
    return unescape(physical[prefix_length:-tail])


def simple_key(key: bytes) -> bytes:
    """Physical key of simple key ``key``."""
    return SIMPLE_TAG + key


def successor(prefix: bytes) -> bytes:
    """The smallest byte string greater than every string starting with ``prefix``.

    >>> successor(b"\\x02ab\\xff\\xff").hex(" ")
    '02 61 63'
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        raise ValueError(f"no successor for a prefix of only 0xFF bytes: {prefix!r}")
    return stripped[:-1] + bytes((stripped[-1] + 1,))


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
        parts.append(unescape(rest[:end]))
        marker, rest = rest[end + 1], rest[end + 2 :]
        if len(parts) == 4 and marker == 2:
            parts.append(rest[:SEQ_BYTES])
        elif marker != 1:
            raise ValueError(f"bad terminator in physical key {physical!r}")
    return tuple(parts)
