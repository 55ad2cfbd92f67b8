"""The event time of a record for ``--watermark-field``: an integer field of a JSON object.

:class:`EventTimeField` returns exactly what ``json.loads(record)[name]`` returns, and raises
what it raises, but most records never go through ``json.loads``. A record that is ASCII, a
*flat* JSON object (its values are strings without escapes, numbers, ``true``, ``false``,
``null``, ``NaN`` or ``Infinity``: no nested object or array, no backslash anywhere) and names
the field once is matched whole by one regular expression, which captures the field's
integer where it stands. Such a record is valid JSON, and its one occurrence of ``"name"`` can
only be that key: without escapes every quote delimits a string, and a string followed by ``:``
is a key. Any other record (nested values, escapes, non-ASCII text, a field that is not a plain
integer, a duplicated or missing field, malformed JSON) is parsed by ``json.loads``, so its
value or its error is json's own.

Cost: about 1.1 µs for a 50-byte record against 2.3 µs for ``json.loads`` of its bytes; the
operator still parses the record itself.
"""

from __future__ import annotations

import json
import re
from typing import Final

_WS: Final = rb"[ \t\n\r]*"
_STRING: Final = rb'"[^"\\\x00-\x1f]*"'
_NUMBER: Final = rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_VALUE: Final = rb"(?:" + _STRING + rb"|" + _NUMBER + rb"|true|false|null|NaN|-?Infinity)"
_PAIR: Final = _STRING + _WS + rb":" + _WS + _VALUE + _WS
_INTEGER: Final = rb"(-?(?:0|[1-9][0-9]*))"


class EventTimeField:
    """Reads the field ``name`` of a record that should be a JSON object (see the module)."""

    __slots__ = ("_pattern", "_quoted", "name")

    def __init__(self, name: str) -> None:
        self.name: Final = name
        quoted = json.dumps(name).encode()
        self._quoted = quoted
        #: A flat object whose pair ``"name": <integer>`` stands among any others, captured.
        self._pattern: re.Pattern[bytes] | None = None
        if b"\\" not in quoted:  # a name json writes with escapes is never read in place
            self._pattern = re.compile(
                _WS + rb"\{" + _WS + rb"(?:" + _PAIR + rb"," + _WS + rb")*?"
                + re.escape(quoted) + _WS + rb":" + _WS + _INTEGER + _WS
                + rb"(?:," + _WS + _PAIR + rb")*\}" + _WS
            )  # fmt: skip

    def value(self, record: bytes) -> object:
        """``json.loads(record)[name]``: the field's value, or the error json and the lookup
        raise (``ValueError``, ``TypeError``, ``KeyError``, ``IndexError``)."""
        pattern = self._pattern
        if pattern is not None and record.isascii() and record.count(self._quoted) == 1:
            match = pattern.fullmatch(record)
            if match is not None:
                return int(match.group(1))
        return json.loads(record)[self.name]
