"""Recompute the hashes of stored trail rows as the verifier reads them: the detail column
as its stored JSON text. The writer stores it as the canonical text it hashed, so a row
first costs one sha256 over the payload with that text as it is (`_stored_text_matches`);
a row stored otherwise costs one msgspec parse and two msgspec encodes (all C) instead of
SQLAlchemy's parse plus the pure-Python canonicaliser.

Verify's worker processes run `first_mismatch` on the rows they read or are sent. The payload
holds `hub.audit.entry.payload`'s fields and its bytes come from `hub.audit.canonical`'s one
fast path (the detail through `canonical_text`, the payload through `canonical.encode`);
whatever that path cannot vouch for steps aside to the general path, `entry.payload_hash` on
the row as SQLAlchemy would have read it (tests/unit/test_canonical_json.py proves both equal
to rfc8785).
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Sequence
from hashlib import sha256
from typing import Any

import msgspec

from hub.audit.canonical import INT_LIMIT, STEP_ASIDE, NotCanonical, canonical_text, encode
from hub.audit.entry import HASHED, payload, payload_hash

# (seq, recorded_at, correlationid, message_id, kind, actor, detail as stored JSON text,
#  prev_hash, entry_hash): one row of `audit_entries`, the detail not yet parsed.
RawRow = tuple[Any, ...]
# Where a batch first fails to hash to its stored hashes (its length if never), and the error
# if hashing that row raised one.
Mismatch = tuple[int, BaseException | None]

_SEEN_LIMIT = 4096  # details remembered; the repeating ones are few and short
_SEEN_TEXT_LIMIT = 512
_seen: dict[str, msgspec.Raw] = {}  # stored detail text -> its RFC 8785 bytes (pure function)
# `payload`'s fields as a Struct: a quarter cheaper to build and encode than its dict, and the
# sorted encoder writes a Struct's fields in the same sorted order, so the bytes are the same.
_Payload = msgspec.defstruct("_Payload", [(name, Any) for name in HASHED])
_as_raw = msgspec.json.Decoder(msgspec.Raw).decode  # one JSON value, checked, kept as its bytes


def load_detail(stored: Any) -> Any:
    """The detail as SQLAlchemy's JSON type would give it for the stored text."""
    return None if stored is None else json.loads(stored)


def parsed_payload(row: RawRow) -> dict[str, Any]:
    """The payload of a raw row with its detail parsed, as the writer hashed it."""
    seq, recorded_at, correlationid, message_id, kind, actor, detail, prev_hash = row[:8]
    detail = load_detail(detail)
    return payload(seq, recorded_at, correlationid, message_id, kind, actor, detail, prev_hash)


def row_hash(row: RawRow) -> str:
    """The hash a raw row's content gives (the same as `payload_hash` of its payload)."""
    if _stored_text_matches(row):
        return str(row[8])
    try:
        return _plain_row_hash(row)
    except STEP_ASIDE:
        # Anything unusual, including content that cannot be hashed: the general path
        # decides, and raises what it would have raised on the parsed row.
        return payload_hash(parsed_payload(row))


def _canonical_detail(stored: str) -> msgspec.Raw:
    """`canonical_text` of a stored detail, remembered: many steps (received, validated, done)
    store the very same detail text again and again."""
    raw = canonical_text(stored)
    if len(stored) <= _SEEN_TEXT_LIMIT:
        if len(_seen) >= _SEEN_LIMIT:
            _seen.clear()
        _seen[stored] = raw
    return raw


def _stored_text_matches(row: RawRow) -> bool:
    """True when the payload with the detail's stored text as it is hashes to the stored hash.

    The writer stores a detail as the RFC 8785 bytes it hashed (`canonical.stored_text`), so
    one sha256 decides, without parsing or re-encoding the detail. Sound because the bytes
    hashed here are JSON meaning exactly this row's values: the text is checked to be one JSON
    value (`_as_raw`; SQLite does not check), the other fields are written by the same guarded
    encoder as `_plain_row_hash`'s, and equal sha256 means equal bytes, so equal values to
    the ones the writer hashed. Any other row (legacy text, an edit) goes the full way."""
    try:
        content = _Payload(*_checked(row)[:6], _as_raw(row[6]), row[7])
        stored_hash: str = row[8]
        return sha256(encode(content)).hexdigest() == stored_hash
    except STEP_ASIDE:
        return False


def _checked(row: RawRow) -> RawRow:
    """The row, when its columns have the types the fast encoder writes as RFC 8785 does."""
    seq, recorded_at, correlationid, message_id, kind, actor, stored, prev_hash, _ = row
    if type(seq) is not int or not -INT_LIMIT <= seq <= INT_LIMIT or type(stored) is not str:
        raise NotCanonical("row")
    if not (
        str is type(recorded_at) is type(kind) is type(actor) is type(prev_hash)
        and (correlationid is None or type(correlationid) is str)
        and (message_id is None or type(message_id) is str)
    ):
        raise NotCanonical("a column of another type")  # msgspec might write it differently
    return row


def _plain_row_hash(row: RawRow) -> str:
    seq, recorded_at, correlationid, message_id, kind, actor, stored, prev_hash, _ = _checked(row)
    detail = _seen.get(stored) or _canonical_detail(stored)
    # Keys are ASCII field names (sorted by the encoder); a lone surrogate fails to encode.
    content = _Payload(seq, recorded_at, correlationid, message_id, kind, actor, detail, prev_hash)
    return sha256(encode(content)).hexdigest()


def packed_mismatch(packed: bytes) -> Mismatch:
    """`first_mismatch` of a batch packed with `marshal` (what worker processes are sent:
    a quarter of pickle's cost on both sides, for rows of plain str, int and None)."""
    return first_mismatch(marshal.loads(packed))


def first_mismatch(rows: Sequence[RawRow]) -> Mismatch:
    """The index of the first row whose content does not give its stored hash, and the error
    if hashing it failed; `len(rows)` when all match. Worker processes run this per batch."""
    stored_text_matches, plain_row_hash = _stored_text_matches, _plain_row_hash
    for index, row in enumerate(rows):
        if stored_text_matches(row):
            continue
        try:
            try:
                if plain_row_hash(row) == row[8]:
                    continue
            except STEP_ASIDE:
                if payload_hash(parsed_payload(row)) == row[8]:  # the general path decides
                    continue
            return index, None
        except Exception as error:  # reported with its place: a break before it may win
            return index, error
    return len(rows), None
