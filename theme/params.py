"""Ids and quantities from requests: ASCII digits of bounded length, nothing else.

One parser for every view of the shop (catalog, checkout, dashboard), in the ground
floor where all of them may import it. `str.isdigit()` is never used: it accepts "²"
and other digits that `int()` refuses, and `int()` refuses strings over 4,300 digits
(and is slow well before that), so the length is checked before anything is converted.
"""

import re

# 18 digits stay inside a 64-bit primary key on every database.
ID_MAX_DIGITS = 18
# A quantity has at most 9 digits; anything longer is "too many" without being parsed.
QUANTITY_MAX_DIGITS = 9

_DIGITS = re.compile(r"[0-9]+")


class NotANumber(ValueError):
    """Not a whole number written in ASCII digits ("", "1.5", "-1", "²", "1e3")."""


class NumberTooLong(ValueError):
    """ASCII digits, but more of them than allowed: a number too large to mean anything."""


def is_number(text: str) -> bool:
    """True for ASCII digits only (any length: nothing is converted)."""
    return bool(_DIGITS.fullmatch(text))


def number_parse(raw: str | None, *, max_digits: int) -> int:
    """A whole number of at most `max_digits` ASCII digits (surrounding spaces ignored).

    Raises NotANumber for anything that is not ASCII digits, NumberTooLong for ASCII
    digits longer than `max_digits` (never converted, whatever their length).
    """
    text = (raw or "").strip()
    if not _DIGITS.fullmatch(text):
        raise NotANumber(text[:20])
    if len(text) > max_digits:
        raise NumberTooLong(f"{len(text)} digits")
    return int(text)


def id_parse(raw: str | None) -> int | None:
    """A primary key (1 or more, at most ID_MAX_DIGITS digits), or None."""
    try:
        value = number_parse(raw, max_digits=ID_MAX_DIGITS)
    except ValueError:
        return None
    return value or None


def ids_parse(raw: str | None, *, limit: int) -> list[int]:
    """Up to `limit` distinct ids from "1,2,3", in the order given; pieces that are not
    ids are left out."""
    ids: dict[int, None] = {}
    for piece in (raw or "").split(",", maxsplit=limit * 4):
        value = id_parse(piece)
        if value is not None:
            ids.setdefault(value)
            if len(ids) == limit:
                break
    return list(ids)


class IdConverter:
    """The `<id:name>` path converter (registered by theme.apps): a primary key as
    `id_parse` reads it. Anything else (too long, 0) matches no URL: a 404 without a
    query."""

    regex = f"[0-9]{{1,{ID_MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        parsed = id_parse(value)
        if parsed is None:
            raise ValueError(value)  # Django: no match
        return parsed

    def to_url(self, value: int) -> str:
        return str(int(value))
