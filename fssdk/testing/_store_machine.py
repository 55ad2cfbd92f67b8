"""The differential state machine behind :func:`fssdk.testing.check_store`.

:class:`StoreMachine` applies one random sequence of Store operations to the store under test and
to a reference store, and raises :class:`StoreMismatch` at the first result that differs.

Keys come from a bundle that later steps reuse and derive from (re-split scopes, extended and
truncated parts, one key's user key in another's scope), so that the hard cases meet inside one
store: prefixes of each other, colliding scopes, 0x00 and 0xFF. Scan bounds and the writes made
during a scan are often *references* to the entries the scope holds at that moment (:class:`Ref`),
so that boundaries fall exactly on stored keys and writes hit what a scan has yet to yield.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from fssdk._complex_key import ComplexKey
from fssdk._errors import ErrorCode, SDKError
from fssdk._store import Iterator, Pair, Store, StoreScope
from fssdk.stores import MemoryStore
from fssdk.testing import _strategies as sts
from fssdk.testing._strategies import Scope

#: Scans a machine keeps open at once; each is read a little at a time between other steps.
MAX_OPEN_SCANS: Final = 4

#: How a rule reaches the store: ComplexKey methods, a ``store.scope(...)`` handle, or a handle
#: from the per-key-group maker ``store.scopes(key_group)``.
VIAS: Final = st.sampled_from(["key", "scope", "scopes"])

#: Characters of a value shown in a mismatch message before it is elided.
_SHOW_LIMIT: Final = 60

#: Entries one bulk step writes at most: past every size threshold of fssdk's stores at their
#: production values (a write buffer sorts a scope past 64 entries, say), in one step.
MAX_BULK: Final = 300

#: Stored user keys per scope that ``compare_everything`` uses as list and scan bounds (spread
#: over the scope): every one of a small scope, a bounded number of a bulk-filled one.
BOUNDS_PER_SCOPE: Final = 12


class _Refused(Exception):
    """What a ``pop_first`` read raises to refuse the entry it was handed."""


class StoreMismatch(AssertionError):
    """The store under test returned something other than the reference did."""


def show(value: object) -> str:
    """``repr(value)`` shortened for messages; long byte strings keep their length."""
    text = repr(value)
    if len(text) <= _SHOW_LIMIT:
        return text
    size = f" ({len(value)} bytes)" if isinstance(value, bytes | bytearray) else ""
    return f"{text[:_SHOW_LIMIT]}...{size}"


def _tag_key(user_key: bytes) -> tuple[str, bytes]:
    if user_key.endswith(b"\xff"):
        raise ValueError("a key the test's decoder refuses")
    return "key", user_key


def _tag_value(value: bytes) -> tuple[str, bytes]:
    if value.endswith(b"\xff"):
        raise ValueError("a value the test's decoder refuses")
    return "value", value


def _undecodable(user_key: bytes, value: bytes) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    return ("undecodable", user_key), ("undecodable", value)


def _decoded(user_key: bytes, value: bytes) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """What ``items`` with the test's decoders gives for one entry."""
    try:
        return _tag_key(user_key), _tag_value(value)
    except ValueError:
        return _undecodable(user_key, value)


def _scope_args(scope: Scope) -> str:
    return ", ".join(map(show, scope))


@dataclass(frozen=True)
class Subject:
    """What a machine tests: how to make, reopen and dispose of the store, and the reference."""

    make_store: Callable[[], Store]
    make_reference: Callable[[], Store]
    reopen: Callable[[Store], Store] | None
    teardown: Callable[[Store], None]


# -- rule arguments that print well in counter-examples ------------------------------------------


@dataclass(frozen=True)
class KeyChange:
    """A way to derive a key from another one.

    ``resplit`` cuts the concatenated scope elsewhere (``(ab, c)`` -> ``(a, bc)``); ``extend``
    appends ``suffix`` to part ``part`` (0-2: a scope component, 3: the user key), which turns
    ``user1`` into ``user12``; ``truncate`` cuts the user key to ``length`` bytes.
    """

    kind: str
    part: int = 3
    suffix: bytes = b""
    cuts: tuple[int, int] = (0, 0)
    length: int = 0

    def apply(self, base: ComplexKey) -> ComplexKey:
        """The key derived from ``base``."""
        parts = list(base)
        if self.kind == "resplit":
            joined = b"".join(base.scope)
            low, high = sorted(cut % (len(joined) + 1) for cut in self.cuts)
            parts[:3] = sts.split(joined, (low, high))
        elif self.kind == "extend":
            parts[self.part] += self.suffix
        else:
            parts[3] = parts[3][: self.length]
        return ComplexKey(*parts)

    def __repr__(self) -> str:
        if self.kind == "resplit":
            return f"KeyChange(resplit at {self.cuts!r})"
        if self.kind == "extend":
            return f"KeyChange(extend part {self.part} by {self.suffix!r})"
        return f"KeyChange(truncate user key to {self.length})"


def key_changes() -> st.SearchStrategy[KeyChange]:
    """Changes that make the keys a store most easily confuses with their base."""
    suffixes = st.sampled_from([b"2", b"\x00", b"\x01", b"\xff", b"\x00\x01"]) | sts.components()
    return st.one_of(
        st.builds(KeyChange, st.just("resplit"), cuts=st.tuples(*[st.integers(0, 31)] * 2)),
        st.builds(KeyChange, st.just("extend"), part=st.integers(0, 3), suffix=suffixes),
        st.builds(KeyChange, st.just("truncate"), length=st.integers(0, 6)),
    )


@dataclass(frozen=True)
class Ref:
    """A user key given relative to what a scope holds when a rule runs.

    ``none`` is ``b""`` (an unbounded bound); ``entry`` is the user key of the scope's entry
    number ``index`` (modulo their count); ``after`` is that user key followed by 0x00, the
    smallest key above it; ``bytes`` is ``value`` itself.
    """

    kind: str
    index: int = 0
    value: bytes = b""

    def resolve(self, entries: list[bytes]) -> bytes:
        """The user key this refers to, given the scope's user keys in order."""
        if self.kind == "bytes":
            return self.value
        if self.kind == "none" or not entries:
            return b""
        user_key = entries[self.index % len(entries)]
        return user_key + b"\x00" if self.kind == "after" else user_key

    def __repr__(self) -> str:
        if self.kind == "bytes":
            return f"Ref({self.value!r})"
        if self.kind == "none":
            return "Ref(none)"
        if self.kind == "after":
            return f"Ref(just after entry {self.index})"
        return f"Ref(entry {self.index})"


_NONE: Final = Ref("none")


def refs(keys: Bundle[ComplexKey], *, after: bool) -> st.SearchStrategy[Ref]:
    """User-key references: none, a stored entry (or, with ``after``, just above one), or bytes."""
    indexes = st.integers(0, 7)
    kinds = [
        st.just(_NONE),
        indexes.map(lambda index: Ref("entry", index)),
        (keys.map(_user_key) | sts.user_keys()).map(lambda value: Ref("bytes", value=value)),
    ]
    if after:
        kinds.append(indexes.map(lambda index: Ref("after", index)))
    return st.one_of(kinds)


def _user_key(key: ComplexKey) -> bytes:
    return key.user_key


def spread(items: list[bytes], most: int) -> list[bytes]:
    """At most ``most`` of ``items``, evenly spaced, the first and the last included."""
    if len(items) <= most:
        return items
    return [items[index * (len(items) - 1) // (most - 1)] for index in range(most)]


def bulk_suffix(number: int, style: str) -> bytes:
    """The suffix of bulk entry ``number``: three decimal digits (``b"05"`` is then a prefix of
    ten entries) or two big-endian bytes (zero and 0xFF bytes included)."""
    return b"%03d" % number if style == "digits" else number.to_bytes(2, "big")


@dataclass(frozen=True)
class ScopeWrite:
    """One write to the scope being scanned: put, merge, delete, delete_prefix or flush."""

    operation: str
    target: Ref = _NONE
    value: bytes = b""

    def apply(self, store: Store, scope: Scope, entries: list[bytes], *, flush: bool) -> None:
        """Do the write on ``store``; ``flush`` says whether the store has (and gets) a flush."""
        key = ComplexKey(*scope, self.target.resolve(entries))
        if self.operation == "put":
            store.put(key, self.value)
        elif self.operation == "merge":
            store.merge(key, self.value)
        elif self.operation == "delete":
            store.delete(key)
        elif self.operation == "delete_prefix":
            store.delete_prefix(key)
        elif flush:
            store.flush()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        if self.operation == "flush":
            return "ScopeWrite(flush)"
        if self.operation in ("delete", "delete_prefix"):
            return f"ScopeWrite({self.operation} {self.target!r})"
        return f"ScopeWrite({self.operation} {self.target!r} {show(self.value)})"


def scope_writes(keys: Bundle[ComplexKey]) -> st.SearchStrategy[ScopeWrite]:
    """Writes to one scope, half of them at entries it holds (which a scan has yet to yield)."""
    targets = st.one_of(
        st.integers(0, 7).map(lambda index: Ref("entry", index)),
        (keys.map(_user_key) | sts.user_keys()).map(lambda value: Ref("bytes", value=value)),
    )
    return st.one_of(
        st.builds(ScopeWrite, st.just("put"), targets, sts.values()),
        st.builds(ScopeWrite, st.just("merge"), targets, sts.values()),
        st.builds(ScopeWrite, st.just("delete"), targets),
        st.builds(ScopeWrite, st.just("delete_prefix"), targets),
        st.just(ScopeWrite("flush")),
    )


@dataclass
class _OpenScan:
    """One scan opened on both stores, read in steps while other operations run."""

    tested: Iterator
    reference: Iterator
    label: str


def _next_or_stop(iterator: Iterator) -> object:
    """``iterator.next()``, or the ``StopIteration`` class when it raises that."""
    try:
        return iterator.next()
    except StopIteration:
        return StopIteration


# -- the machine ---------------------------------------------------------------------------------


class StoreMachine(RuleBasedStateMachine):
    """Every Store operation, applied to the store under test and the reference alike.

    Subclasses set ``subject`` (see :func:`store_machine`). Rules cover simple keys; complex
    keys directly and through ``scope``/``scopes`` handles; merges in runs with flushes in
    between; prefix deletes; lists and scans with bounds, forwards and in reverse; and scans read
    a few pairs at a time while writes go on (they must yield the scope as it was when they were
    opened). Stores
    with a ``flush()`` method are flushed at random; with a ``reopen`` function the store is closed
    and reopened at random and then compared in full. Every result must equal the reference's and
    have its type (``bytes``, never ``bytearray``); ``_check()`` runs after every step on stores
    that have one.
    """

    subject: ClassVar[Subject]

    keys: Final[Bundle[ComplexKey]] = Bundle("keys")
    simple_keys: Final[Bundle[bytes]] = Bundle("simple_keys")

    def __init__(self) -> None:
        super().__init__()
        subject = type(self).subject
        self.store: Store = subject.make_store()
        self.reference: Store = subject.make_reference()
        self.scans: list[_OpenScan] = []

    # -- comparing -----------------------------------------------------------------------------

    @staticmethod
    def agree(operation: str, got: object, want: object) -> None:
        """Raise :class:`StoreMismatch` unless ``got`` equals ``want`` (types included)."""
        if got != want or type(got) is not type(want):
            raise StoreMismatch(
                f"{operation}: the store under test returned {show(got)}, "
                f"the reference {show(want)}"
            )

    @staticmethod
    def expect_bytes_list(operation: str, got: object) -> None:
        """Raise unless ``got`` is a list of ``bytes`` (``agree`` compares the values)."""
        if type(got) is not list or any(type(item) is not bytes for item in got):
            raise StoreMismatch(f"{operation}: expected a list of bytes, got {show(got)}")

    @staticmethod
    def expect_pair(operation: str, got: object) -> None:
        """Raise unless ``got`` is a ``(bytes, bytes)`` tuple."""
        if type(got) is not tuple or len(got) != 2 or any(type(part) is not bytes for part in got):
            raise StoreMismatch(f"{operation}: expected a (bytes, bytes) tuple, got {show(got)}")

    def agree_pairs(self, label: str, got: list[Pair], want: list[Pair]) -> None:
        """Compare what two scans yielded, pair types included."""
        for pair in got:
            self.expect_pair(label, pair)
        self.agree(label, got, want)

    def compare_scan(self, label: str, tested: Iterator, reference: Iterator) -> None:
        """Read two scans to the end and compare every pair."""
        with tested, reference:
            got = list(tested)
            want = list(reference)
        self.agree_pairs(label, got, want)

    def pool(self, name: str) -> list[Any]:
        """The distinct values of bundle ``name``, sorted."""
        return sorted({self.names_to_values[ref.name] for ref in self.bundle(name)})

    def entries(self, scope: Scope) -> list[bytes]:
        """The user keys the reference holds in ``scope``, which :class:`Ref` s resolve against."""
        return self.reference.list_complex(*scope, b"", b"")

    def flushable(self) -> bool:
        """True when the store under test has a ``flush()`` (a write buffer, say)."""
        return callable(getattr(self.store, "flush", None))

    def flush_store(self) -> None:
        """Call the store's ``flush()``."""
        flush: Callable[[], object] = self.store.flush  # type: ignore[attr-defined]
        flush()

    def handle(self, scope: Scope, via: str) -> StoreScope:
        """A handle on ``scope``: from ``store.scope(...)``, or from ``store.scopes(key_group)``."""
        if via == "scopes":
            return self.store.scopes(scope[0])(scope[1], scope[2])
        return self.store.scope(*scope)

    def open_both(
        self, scope: Scope, start: bytes, end: bytes, reverse: bool, via: str
    ) -> tuple[Iterator, Iterator]:
        """One scan on the store under test (maybe through a scope handle) and the reference."""
        if via != "key":
            tested = self.handle(scope, via).scan(start=start, end=end, reverse=reverse)
        else:
            tested = self.store.scan_complex(*scope, start=start, end=end, reverse=reverse)
        return tested, self.reference.scan_complex(*scope, start=start, end=end, reverse=reverse)

    def close_scans(self) -> None:
        """Close every open scan on both stores."""
        for scan in self.scans:
            scan.tested.close()
            scan.reference.close()
        self.scans.clear()

    # -- the key pools -------------------------------------------------------------------------

    @initialize(
        target=keys,
        scopes=st.lists(sts.scopes(), min_size=1, max_size=3),
        resplit=st.none() | st.tuples(st.integers(0, 31), st.integers(0, 31)),
        rows=st.lists(
            st.tuples(st.integers(0, 3), sts.user_keys(), st.none() | sts.values()),
            min_size=1,
            max_size=8,
        ),
    )
    def prefill(
        self,
        scopes: list[Scope],
        resplit: tuple[int, int] | None,
        rows: list[tuple[int, bytes, bytes | None]],
    ) -> MultipleResults[ComplexKey]:
        """Start from a few scopes holding a few entries each (``None``: a key not written).

        With ``resplit``, one more scope is the first one's bytes cut elsewhere, so that scopes
        that collide under concatenation are there from the first step.
        """
        if resplit is not None:
            cut = KeyChange("resplit", cuts=resplit).apply(ComplexKey(*scopes[0], b""))
            scopes = [*scopes, cut.scope]
        keys = []
        for which, user_key, value in rows:
            key = ComplexKey(*scopes[which % len(scopes)], user_key)
            keys.append(key)
            if value is not None:
                self.store.put(key, value)
                self.reference.put(key, value)
        return multiple(*keys)

    @initialize(
        target=simple_keys,
        rows=st.lists(
            st.tuples(sts.simple_keys(), st.none() | sts.values()), min_size=1, max_size=4
        ),
    )
    def prefill_simple(self, rows: list[tuple[bytes, bytes | None]]) -> MultipleResults[bytes]:
        """A few simple keys, some of them written."""
        for key, value in rows:
            if value is not None:
                self.store.put_state(key, value)
                self.reference.put_state(key, value)
        return multiple(*(key for key, _ in rows))

    @rule(
        target=keys,
        base=keys,
        rows=st.lists(
            st.tuples(st.booleans(), sts.user_keys(), sts.values()), min_size=1, max_size=6
        ),
        via=VIAS,
    )
    def fill_scope(
        self, base: ComplexKey, rows: list[tuple[bool, bytes, bytes]], via: str
    ) -> MultipleResults[ComplexKey]:
        """Put several entries in ``base``'s scope; ``True`` rows extend ``base``'s user key.

        Scopes holding many keys that are prefixes of one another are what scans, bounds and
        prefix deletes need to be tested on.
        """
        keys = []
        for extend, user_key, value in rows:
            key = ComplexKey(*base.scope, base.user_key + user_key if extend else user_key)
            keys.append(key)
            if via == "key":
                self.store.put(key, value)
            else:
                self.handle(key.scope, via).put(key.user_key, value)
            self.reference.put(key, value)
        return multiple(*keys)

    @rule(
        target=keys,
        base=keys,
        count=st.integers(0, MAX_BULK),
        style=st.sampled_from(["digits", "bytes"]),
        merge=st.booleans(),
        via=VIAS,
    )
    def bulk_fill(
        self, base: ComplexKey, count: int, style: str, merge: bool, via: str
    ) -> MultipleResults[ComplexKey]:
        """Put (or merge) ``count`` entries into ``base``'s scope in one step: user keys
        ``base.user_key`` followed by :func:`bulk_suffix`, values their number (every fifth one
        empty).

        A store's sizes (a write buffer's automatic flush, a scope kept sorted past some number
        of entries, a cache of the head) are only crossed by many writes to one scope; random
        single puts rarely get there. The first, middle and last keys join the bundle.
        """
        scope = base.scope
        handle = None if via == "key" else self.handle(scope, via)
        user_keys = [base.user_key + bulk_suffix(number, style) for number in range(count)]
        operation = "merge" if merge else "put"
        for number, user_key in enumerate(user_keys):
            key = ComplexKey(*scope, user_key)
            value = b"" if number % 5 == 4 else b"%d" % number
            getattr(self.reference, operation)(key, value)
            if handle is None:
                getattr(self.store, operation)(key, value)
            else:
                getattr(handle, operation)(user_key, value)
        picked = sorted({user_keys[0], user_keys[count // 2], user_keys[-1]}) if count else []
        return multiple(*(ComplexKey(*scope, user_key) for user_key in picked))

    @rule(target=keys, key=sts.complex_keys())
    def new_key(self, key: ComplexKey) -> ComplexKey:
        return key

    @rule(target=keys, base=keys, change=key_changes())
    def derive_key(self, base: ComplexKey, change: KeyChange) -> ComplexKey:
        """A key related to an existing one: its scope re-split, a part longer or shorter."""
        return change.apply(base)

    @rule(target=keys, scope_of=keys, user_key_of=keys)
    def combine_keys(self, scope_of: ComplexKey, user_key_of: ComplexKey) -> ComplexKey:
        """One key's user key in another key's scope: the same user key in many scopes."""
        return ComplexKey(*scope_of.scope, user_key_of.user_key)

    @rule(target=simple_keys, key=sts.simple_keys())
    def new_simple_key(self, key: bytes) -> bytes:
        return key

    @rule(target=simple_keys, base=simple_keys, suffix=sts.components(), length=st.integers(0, 6))
    def derive_simple_key(self, base: bytes, suffix: bytes, length: int) -> bytes:
        """``base`` cut to ``length`` bytes, then ``suffix`` appended: prefixes of each other."""
        return base[:length] + suffix

    @rule(target=simple_keys, key=keys)
    def simple_key_like_complex(self, key: ComplexKey) -> bytes:
        """A simple key holding a complex key's bytes, for stores that share one key space."""
        return b"".join(key)

    # -- simple keys ---------------------------------------------------------------------------

    @rule(key=simple_keys, value=sts.values())
    def put_state(self, key: bytes, value: bytes) -> None:
        self.store.put_state(key, value)
        self.reference.put_state(key, value)

    @rule(key=simple_keys)
    def get_state(self, key: bytes) -> None:
        got = self.store.get_state(key)
        self.agree(f"get_state({show(key)})", got, self.reference.get_state(key))

    @rule(key=simple_keys)
    def delete_state(self, key: bytes) -> None:
        self.store.delete_state(key)
        self.reference.delete_state(key)

    @rule(
        start=st.just(b"") | simple_keys,
        end=st.just(b"") | simple_keys | simple_keys.map(lambda key: key + b"\x00"),
    )
    def list_states(self, start: bytes, end: bytes) -> None:
        label = f"list_states({show(start)}, {show(end)})"
        got = self.store.list_states(start, end)
        self.expect_bytes_list(label, got)
        self.agree(label, got, self.reference.list_states(start, end))

    # -- complex keys --------------------------------------------------------------------------

    def read_back(self, key: ComplexKey) -> None:
        """Compare ``get(key)`` right after a write, before anything can flush a write buffer."""
        got = self.store.get(key)
        self.agree(f"get({key!r}) right after writing it", got, self.reference.get(key))

    @rule(key=keys, value=sts.values(), via=VIAS, read_back=st.booleans())
    def put(self, key: ComplexKey, value: bytes, via: str, read_back: bool) -> None:
        if via == "key":
            self.store.put(key, value)
        else:
            self.handle(key.scope, via).put(key.user_key, value)
        self.reference.put(key, value)
        if read_back:
            self.read_back(key)

    @rule(key=keys, via=VIAS)
    def get(self, key: ComplexKey, via: str) -> None:
        handle = None if via == "key" else self.handle(key.scope, via)
        got = self.store.get(key) if handle is None else handle.get(key.user_key)
        self.agree(f"get({key!r})", got, self.reference.get(key))

    @rule(key=keys, via=VIAS, read_back=st.booleans())
    def delete(self, key: ComplexKey, via: str, read_back: bool) -> None:
        if via == "key":
            self.store.delete(key)
        else:
            self.handle(key.scope, via).delete(key.user_key)
        self.reference.delete(key)
        if read_back:
            self.read_back(key)

    @rule(key=keys, value=sts.values(), via=VIAS, read_back=st.booleans())
    def merge(self, key: ComplexKey, value: bytes, via: str, read_back: bool) -> None:
        if via == "key":
            self.store.merge(key, value)
        else:
            self.handle(key.scope, via).merge(key.user_key, value)
        self.reference.merge(key, value)
        if read_back:
            self.read_back(key)

    @rule(key=keys, tail=st.none() | sts.values(), read_back=st.booleans())
    def compute(self, key: ComplexKey, tail: bytes | None, read_back: bool) -> None:
        """``store.scopes(key_group).compute``: the entry's value (``None`` when missing) with
        ``tail`` appended, or deleted when ``tail`` is ``None``; the value the change was
        handed must be the reference's."""
        seen: list[bytes | None] = []

        def change(value: bytes | None, tail: bytes | None) -> bytes | None:
            seen.append(value)
            return None if tail is None else (value or b"") + tail

        want = self.reference.get(key)
        self.store.scopes(key.key_group).compute(key.key, key.namespace, key.user_key, change, tail)
        handed = seen[0] if len(seen) == 1 else f"{len(seen)} calls of the change"
        self.agree(f"the value compute({key!r}) handed its change", handed, want)
        if tail is None:
            self.reference.delete(key)
        else:
            self.reference.put(key, (want or b"") + tail)
        if read_back:
            self.read_back(key)

    @rule(
        key=keys,
        parts=st.lists(sts.values(), min_size=2, max_size=12),
        flush_every=st.integers(0, 4),
    )
    def merge_run(self, key: ComplexKey, parts: list[bytes], flush_every: int) -> None:
        """Many merges onto one key, with flushes between them when the store has ``flush()``.

        Long runs across flushes are what push a store's merge operands past its folding
        thresholds, which single random merges rarely do.
        """
        for number, part in enumerate(parts, start=1):
            self.store.merge(key, part)
            self.reference.merge(key, part)
            if flush_every and number % flush_every == 0 and self.flushable():
                self.flush_store()
        self.read_back(key)

    @rule(key=keys, via=VIAS)
    def delete_prefix(self, key: ComplexKey, via: str) -> None:
        """Delete the entries of ``key``'s scope whose user key starts with ``key.user_key``."""
        if via == "key":
            self.store.delete_prefix(key)
        else:
            self.handle(key.scope, via).delete_prefix(key.user_key)
        self.reference.delete_prefix(key)

    def largest_scope(self) -> Scope:
        """The scope of the key pool that holds the most entries (the first of them on a tie)."""
        scopes: list[Scope] = sorted({key.scope for key in self.pool("keys")})
        return max(scopes, key=lambda scope: len(self.entries(scope)))

    @rule(index=st.integers(0, 7), drop=st.integers(0, 4), via=VIAS)
    def delete_prefix_in_largest_scope(self, index: int, drop: int, via: str) -> None:
        """In the scope holding the most entries, delete the prefix made of an entry's user key
        less its last ``drop`` bytes (a bulk entry less a digit: ten entries), then compare the
        scope."""
        scope = self.largest_scope()
        entries = self.entries(scope)
        user_key = entries[index % len(entries)] if entries else b""
        prefix = user_key[: max(0, len(user_key) - drop)]
        self.delete_prefix(ComplexKey(*scope, prefix), via)
        self.compare_scan(
            f"scan_complex({_scope_args(scope)}) after delete_prefix({show(prefix)})",
            self.store.scan_complex(*scope),
            self.reference.scan_complex(*scope),
        )

    @rule(reverse=st.booleans(), start=refs(keys, after=True), via=VIAS)
    def scan_largest_scope(self, reverse: bool, start: Ref, via: str) -> None:
        """Scan the scope holding the most entries from ``start`` to its end (larger than any
        cache or window of a store, after a bulk step), and look up its first entry there."""
        scope = self.largest_scope()
        low = start.resolve(self.entries(scope))
        label = f"scan_complex({_scope_args(scope)}, start={show(low)}, reverse={reverse})"
        self.compare_scan(label, *self.open_both(scope, low, b"", reverse, via))
        self.compare_first(scope, low)

    @rule(
        key=keys,
        start=refs(keys, after=False),
        end=refs(keys, after=True),
        reverse=st.booleans(),
        limit=st.integers(0, 40),
        largest=st.booleans(),
    )
    def scopes_items_and_take(  # noqa: PLR0917 - a rule takes what it draws
        self, key: ComplexKey, start: Ref, end: Ref, reverse: bool, limit: int, largest: bool
    ) -> None:
        """The fused reads of ``store.scopes(key_group)``: ``items`` (every entry decoded, here
        by functions that tag keys and values and fail on a marker byte) and ``take`` (the first
        entries from a start), against the reference's scan."""
        scope = self.largest_scope() if largest else key.scope
        entries = self.entries(scope)
        low, high = start.resolve(entries), end.resolve(entries)
        with self.reference.scan_complex(*scope, start=low, end=high, reverse=reverse) as it:
            want_pairs = list(it)
        scopes = self.store.scopes(scope[0])
        label = (
            f"scopes({show(scope[0])}).items({show(scope[1])}, {show(scope[2])}, "
            f"start={show(low)}, end={show(high)}, reverse={reverse})"
        )
        got = list(
            scopes.items(
                scope[1],
                scope[2],
                _tag_key,
                _tag_value,
                _undecodable,
                start=low,
                end=high,
                reverse=reverse,
            )
        )
        want = [_decoded(user_key, value) for user_key, value in want_pairs]
        self.agree(label, got, want)
        with self.reference.scan_complex(*scope, start=low) as it:
            want_taken = list(itertools.islice(it, limit))
        label = (
            f"scopes({show(scope[0])}).take({show(scope[1])}, {show(scope[2])}, {limit}, "
            f"{show(low)})"
        )
        taken = scopes.take(scope[1], scope[2], limit, low)
        for pair in taken:
            self.expect_pair(label, pair)
        self.agree(label, taken, want_taken)

    @rule(key=keys, start=refs(keys, after=False), end=refs(keys, after=True))
    def list_complex(self, key: ComplexKey, start: Ref, end: Ref) -> None:
        """List ``key``'s scope between two bounds."""
        entries = self.entries(key.scope)
        low, high = start.resolve(entries), end.resolve(entries)
        label = f"list_complex({_scope_args(key.scope)}, {show(low)}, {show(high)})"
        got = self.store.list_complex(*key.scope, low, high)
        self.expect_bytes_list(label, got)
        self.agree(label, got, self.reference.list_complex(*key.scope, low, high))

    @rule(
        key=keys,
        start=refs(keys, after=False),
        end=refs(keys, after=True),
        reverse=st.booleans(),
        via=VIAS,
    )
    def scan(self, key: ComplexKey, start: Ref, end: Ref, reverse: bool, via: str) -> None:
        """Scan ``key``'s scope between two bounds, to the end."""
        entries = self.entries(key.scope)
        low, high = start.resolve(entries), end.resolve(entries)
        label = (
            f"scan_complex({_scope_args(key.scope)}, start={show(low)}, end={show(high)}, "
            f"reverse={reverse})"
        )
        self.compare_scan(label, *self.open_both(key.scope, low, high, reverse, via))

    @rule(key=keys, start=refs(keys, after=True))
    def first(self, key: ComplexKey, start: Ref) -> None:
        """``StoreScope.first``: the one-seek lookup that priority queues use."""
        self.compare_first(key.scope, start.resolve(self.entries(key.scope)))

    def compare_first(self, scope: Scope, low: bytes) -> None:
        """Compare ``first(low)`` of ``scope`` with the reference's first pair from ``low``."""
        got = self.store.scope(*scope).first(low)
        label = f"scope({_scope_args(scope)}).first({show(low)})"
        if got is not None:
            self.expect_pair(label, got)
        with self.reference.scan_complex(*scope, start=low) as it:
            want = it.next() if it.has_next() else None
        self.agree(label, got, want)

    @rule(key=keys, start=refs(keys, after=True), refuse=st.booleans())
    def pop_first(self, key: ComplexKey, start: Ref, refuse: bool) -> None:
        """``StoreScopes.pop_first``: the first entry from ``start`` read and removed (a queue's
        poll), or left where the read raises."""
        scope = key.scope
        low = start.resolve(self.entries(scope))
        with self.reference.scan_complex(*scope, start=low) as it:
            want = it.next() if it.has_next() else None
        seen: list[bytes] = []

        def read(user_key: bytes) -> int:
            seen.append(user_key)
            if refuse:
                raise _Refused(user_key)
            return len(user_key)

        label = f"scopes({show(scope[0])}).pop_first({show(scope[1])}, {show(scope[2])}, ...)"
        got: object
        try:
            got = self.store.scopes(scope[0]).pop_first(scope[1], scope[2], read, low)
        except _Refused:
            got = "the read's error"
        if want is None:
            self.agree(label, got, None)
        else:
            self.agree(label, got, "the read's error" if refuse else (want[0], len(want[0])))
            if not refuse:
                self.reference.delete(ComplexKey(*scope, want[0]))
        self.agree(f"the user keys {label} read", seen, [] if want is None else [want[0]])
        self.compare_first(scope, low)

    # -- scans that stay open while the store changes -----------------------------------------

    @rule(
        key=keys,
        start=st.just(_NONE) | refs(keys, after=False),
        end=st.just(_NONE) | refs(keys, after=True),
        reverse=st.booleans(),
        read_first=st.integers(0, 3),
        writes=st.lists(scope_writes(keys), min_size=1, max_size=6),
    )
    def scan_while_writing(
        self,
        *,
        key: ComplexKey,
        start: Ref,
        end: Ref,
        reverse: bool,
        read_first: int,
        writes: list[ScopeWrite],
    ) -> None:
        """Read a few pairs of a scan, write to the scanned scope, then read the rest.

        The scan must yield the scope as it was when it was opened: a state library deletes
        expired entries while it iterates, and relies on that.
        """
        entries = self.entries(key.scope)
        low, high = start.resolve(entries), end.resolve(entries)
        label = (
            f"scan_complex({_scope_args(key.scope)}, start={show(low)}, end={show(high)}, "
            f"reverse={reverse}) with writes after {read_first} pairs"
        )
        tested, reference = self.open_both(key.scope, low, high, reverse, via="key")
        with tested, reference:
            got = [pair for _, pair in zip(range(read_first), tested, strict=False)]
            want = [pair for _, pair in zip(range(read_first), reference, strict=False)]
            flush = self.flushable()
            for write in writes:
                write.apply(self.store, key.scope, entries, flush=flush)
                write.apply(self.reference, key.scope, entries, flush=False)
            got.extend(tested)
            want.extend(reference)
        self.agree_pairs(label, got, want)

    @precondition(lambda self: len(self.scans) < MAX_OPEN_SCANS)
    @rule(
        key=keys,
        start=refs(keys, after=False),
        end=refs(keys, after=True),
        reverse=st.booleans(),
        via=VIAS,
    )
    def open_scan(self, key: ComplexKey, start: Ref, end: Ref, reverse: bool, via: str) -> None:
        """Open a scan of ``key``'s scope on both stores, to be read while other steps run."""
        entries = self.entries(key.scope)
        low, high = start.resolve(entries), end.resolve(entries)
        label = (
            f"open scan of ({_scope_args(key.scope)}, start={show(low)}, end={show(high)}, "
            f"reverse={reverse})"
        )
        tested, reference = self.open_both(key.scope, low, high, reverse, via)
        self.scans.append(_OpenScan(tested, reference, label))

    @precondition(lambda self: bool(self.scans))
    @rule(
        which=st.integers(0, MAX_OPEN_SCANS - 1),
        steps=st.integers(1, 4),
        style=st.sampled_from(["has_next", "next", "python"]),
    )
    def read_scan(self, which: int, steps: int, style: str) -> None:
        """Read a few pairs of an open scan through one of the Iterator's three interfaces."""
        scan = self.scans[which % len(self.scans)]
        for _ in range(steps):
            if style == "has_next":
                more = scan.tested.has_next()
                self.agree(f"{scan.label}: has_next()", more, scan.reference.has_next())
                if not more:
                    return
                got: object = scan.tested.next()
                want: object = scan.reference.next()
            elif style == "next":
                got, want = _next_or_stop(scan.tested), _next_or_stop(scan.reference)
            else:
                got, want = next(scan.tested, None), next(scan.reference, None)
            if got is not None and got is not StopIteration:
                self.expect_pair(scan.label, got)
            self.agree(f"{scan.label}: next pair", got, want)

    @precondition(lambda self: bool(self.scans))
    @rule(which=st.integers(0, MAX_OPEN_SCANS - 1))
    def close_scan(self, which: int) -> None:
        """Close an open scan early; a closed scan is exhausted."""
        scan = self.scans.pop(which % len(self.scans))
        scan.tested.close()
        scan.reference.close()
        self.agree(f"{scan.label}: has_next() after close()", scan.tested.has_next(), False)

    # -- durability ----------------------------------------------------------------------------

    @precondition(lambda self: self.flushable())
    @rule()
    def flush(self) -> None:
        self.flush_store()

    @precondition(lambda self: type(self).subject.reopen is not None)
    @rule()
    def reopen(self) -> None:
        """Close and reopen the store, then compare everything: nothing written may be lost."""
        reopen = type(self).subject.reopen
        assert reopen is not None
        self.close_scans()
        old = self.store
        self.store = reopen(old)
        if self.store is not old:
            check_closed(old, "the store handed to reopen")
        self.compare_everything(with_scans=True)

    @rule(with_scans=st.booleans())
    def compare_everything(self, with_scans: bool) -> None:
        """Read every key the pools know of, in every scope they know of; then list and scan.

        Point reads leave a write buffer alone; lists and scans may flush it, so they are
        optional here and the buffer gets to grow between steps. Lists and reverse scans are
        bounded at up to :data:`BOUNDS_PER_SCOPE` stored keys of each scope.
        """
        keys: list[ComplexKey] = self.pool("keys")
        scopes = sorted({key.scope for key in keys})
        user_keys = sorted({key.user_key for key in keys})
        for simple_key in self.pool("simple_keys"):
            got = self.store.get_state(simple_key)
            self.agree(f"get_state({show(simple_key)})", got, self.reference.get_state(simple_key))
        for scope in scopes:
            for user_key in user_keys:
                key = ComplexKey(*scope, user_key)
                self.agree(f"get({key!r})", self.store.get(key), self.reference.get(key))
        if not with_scans:
            return
        got_states = self.store.list_states(b"", b"")
        self.agree("list_states(b'', b'')", got_states, self.reference.list_states(b"", b""))
        for scope in scopes:
            self.compare_scan(
                f"scan_complex({_scope_args(scope)})",
                self.store.scan_complex(*scope),
                self.reference.scan_complex(*scope),
            )
            for user_key in spread(self.entries(scope), BOUNDS_PER_SCOPE):
                for low, high in ((user_key, b""), (b"", user_key)):
                    label = f"list_complex({_scope_args(scope)}, {show(low)}, {show(high)})"
                    listed = self.store.list_complex(*scope, low, high)
                    self.agree(label, listed, self.reference.list_complex(*scope, low, high))
                self.compare_scan(
                    f"scan_complex({_scope_args(scope)}, end={show(user_key)}, reverse=True)",
                    self.store.scan_complex(*scope, end=user_key, reverse=True),
                    self.reference.scan_complex(*scope, end=user_key, reverse=True),
                )

    @invariant()
    def internal_invariants(self) -> None:
        """Run ``_check()`` on both stores where they have one (sortedcontainers' convention)."""
        for store in (self.store, self.reference):
            check = getattr(store, "_check", None)
            if callable(check):
                check()

    def teardown(self) -> None:
        self.close_scans()
        type(self).subject.teardown(self.store)
        self.reference.close()


def check_closed(store: Store, what: str) -> None:
    """Raise :class:`StoreMismatch` unless reads and writes on ``store`` raise RUNTIME_CLOSED."""
    probes: dict[str, Callable[[], object]] = {
        "get_state": lambda: store.get_state(b"probe"),
        "put_state": lambda: store.put_state(b"probe", b""),
        "merge": lambda: store.merge(ComplexKey(b"", b"", b"", b"probe"), b""),
    }
    for operation, probe in probes.items():
        try:
            probe()
        except SDKError as exc:
            if exc.code is not ErrorCode.RUNTIME_CLOSED:
                raise StoreMismatch(
                    f"{operation} on {what} raised code {exc.code.name}, not RUNTIME_CLOSED"
                ) from exc
        else:
            raise StoreMismatch(f"{operation} on {what} did not raise SDKError(RUNTIME_CLOSED)")


def store_machine(
    make_store: Callable[[], Store],
    *,
    reopen: Callable[[Store], Store] | None = None,
    teardown: Callable[[Store], None] | None = None,
    reference: Callable[[], Store] | None = None,
) -> type[StoreMachine]:
    """A :class:`StoreMachine` subclass that tests the stores ``make_store`` returns.

    ``reference`` makes the store results are compared with (default: a fresh MemoryStore);
    ``teardown`` disposes of a store at the end of each example (default: ``store.close()``).
    The class can be run with ``hypothesis.stateful.run_state_machine_as_test``, decorated with
    ``@seed`` or ``@reproduce_failure``, or exposed to pytest through its ``TestCase``.
    """
    subject = Subject(
        make_store=make_store,
        make_reference=reference or MemoryStore,
        reopen=reopen,
        teardown=teardown or Store.close,
    )
    return type("StoreMachine", (StoreMachine,), {"subject": subject})
