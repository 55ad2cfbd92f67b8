"""The codec contract: how a state turns values into bytes and back.

A codec is anything with ``encode``, ``decode``, ``ordered`` and ``fixed_size`` (a structural
:class:`Codec` protocol, so user codecs need no base class). States check ``ordered`` and
``fixed_size`` when they are constructed: map keys and queue elements need ``ordered``, lists
frame fixed-size elements without a length prefix.

``decode`` raises a ``ValueError`` (or a subclass) for bytes it cannot read; the state layer turns
that into ``CorruptStateError`` naming the store, scope and key.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


@runtime_checkable
class Codec(Protocol[T]):
    """Turns values of type ``T`` into bytes and back.

    ``ordered`` is true when the byte order of encodings (as ``bytes`` compare) equals the order
    of the values; ``fixed_size`` is the length of every encoding, or ``None`` when it varies.
    """

    @property
    def ordered(self) -> bool:
        """True when comparing encodings as bytes compares the values."""
        ...

    @property
    def fixed_size(self) -> int | None:
        """The length of every encoding, or ``None`` when lengths vary."""
        ...

    def encode(self, value: T) -> bytes:
        """The bytes of ``value``; ``TypeError``/``ValueError`` for a value it cannot encode."""
        ...

    def decode(self, data: bytes) -> T:
        """The value encoded as ``data``; a ``ValueError`` when ``data`` is not an encoding."""
        ...


class UnorderedCodecError(TypeError, ValueError):
    """An unordered codec was given where byte order must equal value order (map keys, queues).

    Both a ``TypeError`` (the codec is the wrong kind) and a ``ValueError`` (a bad argument).
    """


class CodecBase:
    """Equality, hashing and ``repr`` from a ``signature`` string, for the built-in codecs.

    Two codecs with equal signatures read and write the same bytes the same way; the state
    library compares signatures to catch one state declared with two incompatible codecs.
    """

    __slots__ = ()
    schema_name: ClassVar[str | None] = None
    """The built-in codecs' name in :attr:`schema` (``"int"``); ``None`` for other codecs."""

    @property
    def signature(self) -> str:
        """A description that two codecs share exactly when they are interchangeable."""
        return f"{type(self).__name__}()"

    @property
    def schema(self) -> dict[str, Any]:
        """What the bytes mean, as JSON-able data (see ``codec_schema``).

        ``{"codec": schema_name}`` for the built-in codecs, else the class's qualified name and
        the signature.
        """
        if self.schema_name is not None:
            return {"codec": self.schema_name}
        cls = type(self)
        return {"codec": f"{cls.__module__}.{cls.__qualname__}", "signature": self.signature}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CodecBase):
            return NotImplemented
        return type(self) is type(other) and self.signature == other.signature

    def __hash__(self) -> int:
        return hash((type(self), self.signature))

    def __repr__(self) -> str:
        return self.signature


def codec_signature(codec: object) -> str:
    """The ``signature`` of ``codec``, or its class's qualified name for codecs without one.

    >>> from fssdk_advanced.codecs import IntCodec, TupleCodec, StringCodec
    >>> codec_signature(TupleCodec(IntCodec(), StringCodec()))
    'TupleCodec(IntCodec(), StringCodec())'
    """
    signature = getattr(codec, "signature", None)
    if isinstance(signature, str):
        return signature
    cls = type(codec)
    return f"{cls.__module__}.{cls.__qualname__}"


def check_codec(codec: object, argument: str, owner: str, *, ordered: bool = False) -> Codec[Any]:
    """Return ``codec`` if it fulfils the :class:`Codec` protocol (and is ordered if asked).

    Raises ``TypeError`` naming ``argument`` of ``owner`` for anything else, and
    :class:`UnorderedCodecError` when ``ordered`` is required and the codec is not.
    """
    missing = [
        name for name in ("encode", "decode", "ordered", "fixed_size") if not hasattr(codec, name)
    ]
    if (
        missing
        or not callable(getattr(codec, "encode", None))
        or not callable(getattr(codec, "decode", None))
    ):
        raise TypeError(
            f"{owner}: {argument} must be a codec (encode, decode, ordered, fixed_size), "
            f"got {codec!r}" + (f" without {', '.join(missing)}" if missing else "")
        )
    fixed_size = getattr(codec, "fixed_size", None)
    if fixed_size is not None and (type(fixed_size) is not int or fixed_size <= 0):
        raise TypeError(
            f"{owner}: {argument}.fixed_size must be None or a positive int, got {fixed_size!r}"
        )
    if ordered and getattr(codec, "ordered", False) is not True:
        raise UnorderedCodecError(
            f"{owner}: {argument} {codec_signature(codec)} is not ordered (its byte order is "
            "not its value order); use an ordered codec: IntCodec, FloatCodec, StringCodec, "
            "BytesCodec, BoolCodec or a TupleCodec of them"
        )
    return codec  # type: ignore[return-value]
