"""Recompute the hashes of stored trail rows as the verifier reads them: the detail column
as its stored JSON text, so a row costs one msgspec parse and two msgspec encodes (all C)
instead of SQLAlchemy's parse plus the pure-Python canonicaliser.

Verify hands batches of rows to worker processes, which run `first_mismatch`. Every shortcut
here gives the bytes `chain.payload_hash` hashes, or steps aside to the general path, which is
`chain.payload_hash` itself on the row as SQLAlchemy would have read it.

Why msgspec writes RFC 8785's bytes here (tests/unit/test_canonical_json.py checks each):

- parsing: msgspec accepts a subset of what `json.loads` accepts (no NaN, no lone surrogate
  escapes: those step aside) and gives the same values; every float goes through
  `_plain_float`, so no float is ever written by msgspec: only `repr` text (as `json` and
  RFC 8785 both write it) or the integer RFC 8785 writes for a whole float;
- strings: msgspec escapes exactly as `json` with `ensure_ascii=False` (every code point is
  compared in the tests), which is RFC 8785's escaping; a lone surrogate fails to encode;
- key order: msgspec sorts by code point, RFC 8785 by UTF-16 unit; they agree unless a key
  holds a character from U+E000 up, so any such character in the detail steps aside;
- integers: RFC 8785 rejects any beyond +-(2**53 - 1); any run of 16 digits steps aside.
"""

from __future__ import annotations

import json
import marshal
import re
from collections.abc import Sequence
from hashlib import sha256
from typing import Any

import msgspec

from hub.audit.canonical import INT_LIMIT, MAX_DEPTH
from hub.audit.chain import payload_hash

# (seq, recorded_at, correlationid, message_id, kind, actor, detail as stored JSON text,
#  prev_hash, entry_hash): one row of `audit_entries`, the detail not yet parsed.
RawRow = tuple[Any, ...]
# Where a batch first fails to hash to its stored hashes (its length if never), and the error
# if hashing that row raised one.
Mismatch = tuple[int, BaseException | None]

_SEEN_LIMIT = 4096  # details remembered; the repeating ones are few and short
_SEEN_TEXT_LIMIT = 512
_seen: dict[str, msgspec.Raw] = {}  # stored detail text -> its RFC 8785 bytes (pure function)
# One pass over a detail's bytes for two checks: every digit becomes 0, so 16 zeros are 16 digits
# in a row, maybe an integer RFC 8785 rejects (up to 15 digits all are safe; a regex takes ten
# times longer); every [ becomes {, so counting { counts how deep it might nest.
_FOLD = bytes.maketrans(b"123456789[", b"000000000{")
_LONG_DIGITS = b"0" * 16
# The second look, only where that finds some: 16 digits not after a point (not a fraction).
_LONG_INTEGER = re.compile(rb"(?<![0-9.])[0-9]{16}")
# UTF-8 lead bytes of U+E000 and above: where code-point and UTF-16 key order may differ.
_HIGH_CHAR = re.compile(rb"[\xee-\xf4]")


class _NotPlain(Exception):
    """The row needs the general canonicaliser (a float, a big integer, a rare character)."""


# What the fast path raises on anything unusual, or on content that cannot be hashed at all
# (msgspec.DecodeError and UnicodeEncodeError are ValueErrors).
_STEP_ASIDE = (_NotPlain, ValueError, TypeError, RecursionError, msgspec.MsgspecError)


def _plain_float(text: str) -> msgspec.Raw | int:
    """A float as RFC 8785 writes it: its `repr` (written as is) or, when whole, the integer."""
    number = float(text)  # what `json.loads` makes of the token
    shown = repr(number)
    if "e" not in shown and "n" not in shown and not shown.endswith(".0"):  # `plain_float`
        return msgspec.Raw(shown.encode())
    if number.is_integer() and -INT_LIMIT <= number <= INT_LIMIT:
        # 12.0 (a latency that came out round), -0.0: RFC 8785 writes the integer, as `json`
        # does for int(number). Hashing only: the value is never handed back to anyone.
        return int(number)
    raise _NotPlain(text)  # 1e-07, 1e+16, NaN, ...: RFC 8785 writes these its own way


_parse_plain = msgspec.json.Decoder(float_hook=_plain_float).decode
_encode_sorted = msgspec.json.Encoder(order="sorted").encode  # the detail, keys sorted
_encode = msgspec.json.Encoder().encode  # the payload, whose keys are written in order


def load_detail(stored: Any) -> Any:
    """The detail as SQLAlchemy's JSON type would give it for the stored text."""
    return None if stored is None else json.loads(stored)


def row_hash(row: RawRow) -> str:
    """The hash a raw row's content gives (the same as `chain.payload_hash` of its payload)."""
    try:
        return _plain_row_hash(row)
    except _STEP_ASIDE:
        # Anything unusual, including content that cannot be hashed: the general path
        # decides, and raises what it would have raised on the parsed row.
        return payload_hash(payload(row))


def payload(row: RawRow) -> dict[str, Any]:
    seq, recorded_at, correlationid, message_id, kind, actor, detail, prev_hash = row[:8]
    return {
        "seq": seq,
        "recorded_at": recorded_at,
        "correlationid": correlationid,
        "message_id": message_id,
        "kind": kind,
        "actor": actor,
        "detail": load_detail(detail),
        "prev_hash": prev_hash,
    }


def _canonical_detail(stored: str) -> msgspec.Raw:
    """The RFC 8785 bytes of a stored detail, or _NotPlain; remembered, as many steps
    (received, validated, done) store the very same detail text again and again."""
    detail = _encode_sorted(_parse_plain(stored))
    if not detail.isascii() and _HIGH_CHAR.search(detail):
        raise _NotPlain("character from U+E000 up")  # maybe in a key: UTF-16 order
    folded = detail.translate(_FOLD)
    if _LONG_DIGITS in folded and _LONG_INTEGER.search(detail):
        raise _NotPlain("maybe an integer beyond 2**53")
    if folded.count(b"{") >= MAX_DEPTH:
        raise _NotPlain("deep")  # maybe nested beyond what `canonical.plain` lets through
    raw = msgspec.Raw(detail)
    if len(stored) <= _SEEN_TEXT_LIMIT:
        if len(_seen) >= _SEEN_LIMIT:
            _seen.clear()
        _seen[stored] = raw
    return raw


def _plain_row_hash(row: RawRow) -> str:
    seq, recorded_at, correlationid, message_id, kind, actor, stored, prev_hash, _ = row
    if type(seq) is not int or not -INT_LIMIT <= seq <= INT_LIMIT or type(stored) is not str:
        raise _NotPlain("row")
    if not (
        str is type(recorded_at) is type(kind) is type(actor) is type(prev_hash)
        and (correlationid is None or type(correlationid) is str)
        and (message_id is None or type(message_id) is str)
    ):
        raise _NotPlain("a column of another type")  # msgspec might write it differently
    detail = _seen.get(stored) or _canonical_detail(stored)
    # The payload's keys in RFC 8785 order; a lone surrogate fails to encode (a ValueError).
    text = _encode(
        {
            "actor": actor,
            "correlationid": correlationid,
            "detail": detail,
            "kind": kind,
            "message_id": message_id,
            "prev_hash": prev_hash,
            "recorded_at": recorded_at,
            "seq": seq,
        }
    )
    return sha256(text).hexdigest()


def packed_mismatch(packed: bytes) -> Mismatch:
    """`first_mismatch` of a batch packed with `marshal` (what worker processes are sent:
    a quarter of pickle's cost on both sides, for rows of plain str, int and None)."""
    return first_mismatch(marshal.loads(packed))


def first_mismatch(rows: Sequence[RawRow]) -> Mismatch:
    """The index of the first row whose content does not give its stored hash, and the error
    if hashing it failed; `len(rows)` when all match. Worker processes run this per batch."""
    plain_row_hash = _plain_row_hash
    for index, row in enumerate(rows):
        try:
            try:
                if plain_row_hash(row) == row[8]:
                    continue
            except _STEP_ASIDE:
                if payload_hash(payload(row)) == row[8]:  # the general path decides
                    continue
            return index, None
        except Exception as error:  # reported with its place: a break before it may win
            return index, error
    return len(rows), None
