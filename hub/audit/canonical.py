"""RFC 8785 canonical JSON: `rfc8785.dumps` is the reference, and this module has ONE fast path,
msgspec's sorted-key encoder, taken only where its bytes are the reference's.

Every entry hash on the trail is sha256 over `rfc8785.dumps(...)`, so no path here may ever
give other bytes, or succeed where `rfc8785.dumps` raises. The pure-Python reference is slow;
msgspec (C) writes the same bytes except where RFC 8785 differs from plain JSON:

- floats: RFC 8785 writes ECMAScript numbers (`1` for `1.0`, no `-0`, its own exponent form,
  no NaN or infinity); a float whose `repr` has a fraction and no exponent is written the
  same by both (msgspec writes every float as its shortest round-trip text, as `repr` does);
- integers beyond +-(2**53 - 1), which rfc8785 rejects;
- key order: RFC 8785 sorts by UTF-16 code units, msgspec by code point; the two agree while
  every key stays below U+D800 (values: from U+E000 up, see `canonical_text`);
- types: rfc8785 takes subclasses, tuples and other mappings on its own terms;
- lone surrogates, which rfc8785 rejects (msgspec fails to encode them here);
- very deep nesting, where rfc8785 runs out of recursion.

Two ways in, one encoder: `dumps(value)` for Python values (the writer, checkpoints, digests)
and `canonical_text(stored)` for a detail still in its stored JSON text (the verifier, which
never builds Python floats it cannot write). tests/unit/test_canonical_json.py proves both
against `rfc8785.dumps` with hypothesis; anything outside the guards goes to the reference.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import rfc8785

INT_LIMIT = 2**53 - 1  # rfc8785's safe-integer domain, both signs
MAX_DEPTH = 64  # deeper values go to rfc8785, which decides how deep is too deep
_LAST_SAFE_KEY_CHAR = "\ud7ff"  # below the surrogates, UTF-16 and code-point order agree

encode = msgspec.json.Encoder(order="sorted").encode
"""THE fast path: value -> RFC 8785 bytes, for values `plain` accepts (a `msgspec.Raw` inside is
written as is: bytes this module made)."""

reference = rfc8785.dumps


class NotCanonical(Exception):
    """The fast path cannot vouch for these bytes (a float, a big integer, a rare character)."""


# What the fast path raises on anything unusual, or on content that cannot be hashed at all
# (msgspec.DecodeError and UnicodeEncodeError are ValueErrors): the reference then decides.
STEP_ASIDE = (NotCanonical, ValueError, TypeError, RecursionError, msgspec.MsgspecError)


def dumps(value: Any) -> bytes:
    """The RFC 8785 canonical form of `value`: the same bytes (or error) as `rfc8785.dumps`."""
    if plain(value):
        try:
            return encode(value)
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 names it
            pass
    return reference(value)


def stored_text(value: Any) -> str | None:
    """The text to store for a detail: its RFC 8785 form where the fast path writes it (which
    parses back to the very same values: floats with a fraction, safe integers, strings), so
    the verifier can hash the stored text as it is; None where the stored text must stay
    `JSON`'s own (a whole float such as 12.0 would come back as the integer 12)."""
    if plain(value):
        try:
            return encode(value).decode()
        except UnicodeEncodeError:  # a lone surrogate: the chain's own hash has refused it
            pass
    return None


def plain(value: Any, depth: int = 0) -> bool:
    """True when msgspec writes `value` exactly as RFC 8785 does (see above)."""
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key in value:
            if type(key) is not str:
                return False
        keys = "".join(value)
        if not keys.isascii() and max(keys) > _LAST_SAFE_KEY_CHAR:
            return False
        items = value.values()
    elif kind is list:
        if depth >= MAX_DEPTH:
            return False
        items = value
    else:
        items = (value,)
    for item in items:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if -INT_LIMIT <= item <= INT_LIMIT:
                continue
            return False
        if kind is float:
            if plain_float(item):
                continue
            return False
        if kind is dict or kind is list:
            if plain(item, depth + 1):
                continue
            return False
        return False
    return True


def plain_float(number: float) -> bool:
    """A float msgspec and RFC 8785 both write as its `repr`: finite, a fraction, no exponent."""
    text = repr(number)
    return "e" not in text and "n" not in text and not text.endswith(".0")


# -- the same encoder on JSON text (a detail as stored), without building unwritable floats --

# One pass over the bytes for two checks: every digit becomes 0, so 16 zeros are 16 digits in a
# row, maybe an integer RFC 8785 rejects (up to 15 digits all are safe; a regex takes ten times
# longer); every [ becomes {, so counting { counts how deep it might nest.
_FOLD = bytes.maketrans(b"123456789[", b"000000000{")
_LONG_DIGITS = b"0" * 16
# The second look, only where that finds some: 16 digits not after a point (not a fraction).
_LONG_INTEGER = re.compile(rb"(?<![0-9.])[0-9]{16}")
# UTF-8 lead bytes of U+E000 and above: where code-point and UTF-16 key order may differ.
_HIGH_CHAR = re.compile(rb"[\xee-\xf4]")


def _float(text: str) -> float | int:
    """A JSON number with a fraction or exponent as RFC 8785 writes it: as a float msgspec writes
    like `repr`, or, when whole, the integer; anything else steps aside."""
    number = float(text)  # what `json.loads` makes of the token
    if plain_float(number):
        return number
    if number.is_integer() and -INT_LIMIT <= number <= INT_LIMIT:
        # 12.0 (a latency that came out round), -0.0: RFC 8785 writes the integer, as `json`
        # does for int(number). Hashing only: the value is never handed back to anyone.
        return int(number)
    raise NotCanonical(text)  # 1e-07, 1e+16, NaN, ...: RFC 8785 writes these its own way


_parse = msgspec.json.Decoder(float_hook=_float).decode


def canonical_text(stored: str | bytes) -> msgspec.Raw:
    """The RFC 8785 bytes of the value `json.loads(stored)` gives, or `STEP_ASIDE` raised.

    msgspec parses a subset of what `json.loads` accepts (no NaN, no lone surrogate escapes:
    those raise) to the same values; the guards below are `plain`'s, read off the bytes."""
    written = encode(_parse(stored))
    if not written.isascii() and _HIGH_CHAR.search(written):
        raise NotCanonical("character from U+E000 up")  # maybe in a key: UTF-16 order
    folded = written.translate(_FOLD)
    if _LONG_DIGITS in folded and _LONG_INTEGER.search(written):
        raise NotCanonical("maybe an integer beyond 2**53")
    if folded.count(b"{") >= MAX_DEPTH:
        raise NotCanonical("deep")  # maybe nested beyond what `plain` lets through
    return msgspec.Raw(written)
