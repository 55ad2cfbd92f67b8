"""Codecs: how typed state values become bytes.

Ordered codecs (usable as map keys and queue elements): :class:`IntCodec`, :class:`FloatCodec`,
:class:`StringCodec`, :class:`BytesCodec`, :class:`BoolCodec`, :class:`TupleCodec`. Value codecs:
:class:`MsgpackCodec` (the default), :class:`JsonCodec`, :class:`PickleCodec` (opt-in only).
:func:`default_codec_for` picks one from a type. :func:`codec_schema` describes what a codec's
bytes mean and :func:`schema_change` says whether one schema reads bytes written under another.
"""

from fssdk_advanced.codecs._default import default_codec_for
from fssdk_advanced.codecs._ordered import (
    BoolCodec,
    BytesCodec,
    FloatCodec,
    IntCodec,
    StringCodec,
    TupleCodec,
)
from fssdk_advanced.codecs._protocol import Codec, CodecBase, UnorderedCodecError, codec_signature
from fssdk_advanced.codecs._schema import codec_schema, schema_change
from fssdk_advanced.codecs._value import JsonCodec, MsgpackCodec, PickleCodec

__all__ = [
    "BoolCodec",
    "BytesCodec",
    "Codec",
    "CodecBase",
    "FloatCodec",
    "IntCodec",
    "JsonCodec",
    "MsgpackCodec",
    "PickleCodec",
    "StringCodec",
    "TupleCodec",
    "UnorderedCodecError",
    "codec_schema",
    "codec_signature",
    "default_codec_for",
    "schema_change",
]
