"""Record ids and timestamps the way Salesforce writes them.

Ids are 15 case-sensitive characters (3-character key prefix first) plus a 3-character
suffix that encodes the case of the first 15, which makes the 18-character form
case-insensitive. Both forms are accepted wherever an id is.
"""

from __future__ import annotations

import datetime as dt
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"
_ID_CHARS = frozenset(string.ascii_letters + string.digits)


def id_suffix(id15: str) -> str:
    """The 3-character case-encoding suffix of a 15-character id."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if char.isupper():
                bits |= 1 << position
        suffix += _SUFFIX[bits]
    return suffix


def make_id(prefix: str, pod: str, number: int) -> str:
    """An 18-character id: key prefix, pod, then ``number`` in base 62."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    body = f"{prefix}{pod}{digits.rjust(15 - len(prefix) - len(pod), '0')}"
    return body + id_suffix(body)


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not an id."""
    if len(value) not in (15, 18) or not set(value) <= _ID_CHARS:
        return None
    if not set(value[15:].upper()) <= set(_SUFFIX):
        return None
    body = value[:15]
    if len(value) == 18:
        # The suffix says which letters are upper case, so the 18-character form may have
        # lost its case (spreadsheets, case-insensitive stores) and still name one record.
        chars = list(body)
        for chunk, code in enumerate(value[15:].upper()):
            bits = _SUFFIX.index(code)
            for position in range(5):
                index = chunk * 5 + position
                upper = bool(bits & (1 << position))
                chars[index] = chars[index].upper() if upper else chars[index].lower()
        body = "".join(chars)
    return body + id_suffix(body)


def format_datetime(value: dt.datetime) -> str:
    """``2013-05-20T20:49:32.000+0000``: UTC, milliseconds, offset without a colon."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(value: str) -> dt.datetime:
    """Read a Salesforce datetime (or any ISO 8601 one with an offset). Raises ValueError."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"datetime without offset: {value!r}")
    return parsed.astimezone(dt.UTC)
