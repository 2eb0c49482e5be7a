"""Recompute the hashes of stored trail rows as the verifier reads them: the detail column
as its stored JSON text, so a row costs one parse and one C encode instead of SQLAlchemy's
parse plus the pure-Python canonicaliser.

Verify hands batches of rows to worker processes, which run `first_mismatch`. Every shortcut
here gives the bytes `chain.payload_hash` hashes, or steps aside to the general path, which is
`chain.payload_hash` itself on the row as SQLAlchemy would have read it.
"""

from __future__ import annotations

import json
import json.scanner
import marshal
from collections.abc import Callable, Sequence
from hashlib import sha256
from typing import Any

from hub.audit.canonical import INT_LIMIT, MAX_DEPTH, encode, plain_float
from hub.audit.chain import payload_hash

# (seq, recorded_at, correlationid, message_id, kind, actor, detail as stored JSON text,
#  prev_hash, entry_hash): one row of `audit_entries`, the detail not yet parsed.
RawRow = tuple[Any, ...]
# Where a batch first fails to hash to its stored hashes (its length if never), and the error
# if hashing that row raised one.
Mismatch = tuple[int, BaseException | None]

_string = json.encoder.encode_basestring  # str -> JSON string, non-ASCII kept (as RFC 8785)
_LAST_SAFE_KEY_CHAR = "\ud7ff"
_SEEN_LIMIT = 4096  # details remembered; the repeating ones are few and short
_SEEN_TEXT_LIMIT = 512
_seen: dict[str, str] = {}  # stored detail text -> its RFC 8785 text (a pure function)


class _NotPlain(Exception):
    """The row needs the general canonicaliser (a float, a big integer, a rare character)."""


# What the fast path raises on anything unusual, or on content that cannot be hashed at all.
_STEP_ASIDE = (_NotPlain, ValueError, TypeError, RecursionError, StopIteration)


def _no_constant(text: str) -> Any:
    raise _NotPlain(text)  # NaN, Infinity: rfc8785 rejects them


def _plain_float(text: str) -> float | int:
    number = float(text)
    if plain_float(number):
        return number
    if number.is_integer() and -INT_LIMIT <= number <= INT_LIMIT:
        # 12.0 (a latency that came out round), -0.0: RFC 8785 writes the integer, as `json`
        # does for int(number). Hashing only: the value is never handed back to anyone.
        return int(number)
    raise _NotPlain(text)  # 1e-07, 1e+16, ...: RFC 8785 writes these its own way


def _small_int(text: str) -> int:
    # 15 characters hold every integer below 10**15 (or above -10**14): all inside 2**53.
    if len(text) > 15:
        raise _NotPlain(text)
    return int(text)


def _make_parse() -> Callable[[str], Any]:
    """Parses as `json.loads` does, but stops at any number RFC 8785 writes differently from
    `json`. The C scanner is called directly (no whitespace skipping or second pass of
    `JSONDecoder.decode`): stored detail text is `json.dumps` output, and any other text goes
    to the general path."""
    decoder = json.JSONDecoder(
        parse_float=_plain_float, parse_int=_small_int, parse_constant=_no_constant
    )
    scan = json.scanner.make_scanner(decoder)  # type: ignore[arg-type]  # typeshed: a decoder

    def parse(text: str) -> Any:
        value, end = scan(text, 0)  # StopIteration when no value starts at 0
        if end != len(text):
            raise _NotPlain("trailing text")
        return value

    return parse


_parse_plain = _make_parse()


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


def _canonical_detail(stored: str) -> str:
    """The RFC 8785 text of a stored detail, or _NotPlain; remembered, as many steps (received,
    validated, done) store the very same detail text again and again."""
    detail = encode(_parse_plain(stored))
    if not detail.isascii() and max(detail) > _LAST_SAFE_KEY_CHAR:
        raise _NotPlain("character beyond U+D7FF")  # maybe in a key: UTF-16 order
    if detail.count("{") + detail.count("[") >= MAX_DEPTH:
        raise _NotPlain("deep")  # maybe nested beyond what `canonical.plain` lets through
    if len(stored) <= _SEEN_TEXT_LIMIT:
        if len(_seen) >= _SEEN_LIMIT:
            _seen.clear()
        _seen[stored] = detail
    return detail


def _plain_row_hash(row: RawRow) -> str:
    seq, recorded_at, correlationid, message_id, kind, actor, stored, prev_hash, _ = row
    if type(seq) is not int or not -INT_LIMIT <= seq <= INT_LIMIT or type(stored) is not str:
        raise _NotPlain("row")
    detail = _seen.get(stored) or _canonical_detail(stored)
    # The payload's keys in RFC 8785 order; every value a str (or None) except seq.
    text = (
        f'{{"actor":{_string(actor)},'
        f'"correlationid":{"null" if correlationid is None else _string(correlationid)},'
        f'"detail":{detail},'
        f'"kind":{_string(kind)},'
        f'"message_id":{"null" if message_id is None else _string(message_id)},'
        f'"prev_hash":{_string(prev_hash)},'
        f'"recorded_at":{_string(recorded_at)},'
        f'"seq":{seq}}}'
    )
    # A lone surrogate anywhere fails here (UnicodeEncodeError is a ValueError).
    return sha256(text.encode()).hexdigest()


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
