"""One audit entry, defined once: the fields its hash covers and how that hash is made.

The writer (`chain.append_entries`), the exporter (`export`) and the verifier (`rehash`,
`diagnosis`) all build an entry's payload with `payload` and hash it with `payload_hash`, so
what is written, handed out and checked cannot drift apart. Changing either breaks every trail
written before: tests/unit/test_canonical_json.py pins them to sha256 over `rfc8785.dumps`.
"""

from __future__ import annotations

import hashlib
from operator import attrgetter
from typing import Any, NamedTuple

from hub.audit.canonical import dumps

GENESIS_HASH = "0" * 64
HASHED = (
    "seq",
    "recorded_at",
    "correlationid",
    "message_id",
    "kind",
    "actor",
    "detail",
    "prev_hash",
)
"""The fields an entry's hash covers, in the column order of `audit_entries`."""
COLUMNS = (*HASHED, "entry_hash")


def payload(
    seq: int,
    recorded_at: str,
    correlationid: str | None,
    message_id: str | None,
    kind: str,
    actor: str,
    detail: Any,
    prev_hash: str,
) -> dict[str, Any]:
    """Everything an entry's hash covers, as RFC 8785 serialises it (keys are sorted there)."""
    return {
        "seq": seq,
        "recorded_at": recorded_at,
        "correlationid": correlationid,
        "message_id": message_id,
        "kind": kind,
        "actor": actor,
        "detail": detail,
        "prev_hash": prev_hash,
    }


def payload_hash(content: dict[str, Any]) -> str:
    """The entry hash of a payload: sha256 over its RFC 8785 canonical form."""
    return hashlib.sha256(dumps(content)).hexdigest()


class StoredEntry(NamedTuple):
    """One row of `audit_entries`, in column order (the detail parsed)."""

    seq: int
    recorded_at: str
    correlationid: str | None
    message_id: str | None
    kind: str
    actor: str
    detail: Any
    prev_hash: str
    entry_hash: str

    @classmethod
    def of(cls, row: object) -> StoredEntry:
        """The entry an object with the columns as attributes holds (an ORM `AuditEntry`)."""
        return cls(*_columns(row))

    def payload(self, seq: int | None = None) -> dict[str, Any]:
        """What the hash covers; `seq`: as if the entry had been written at that number."""
        return payload(self.seq if seq is None else seq, *self[1:8])

    def hash_as(self, seq: int) -> str:
        """The hash this entry's content would have if it had been written at `seq`."""
        return payload_hash(self.payload(seq))

    def content_hash(self) -> str:
        """The hash the entry's content gives (its `entry_hash`, unless it was changed)."""
        return payload_hash(self.payload())

    def record(self) -> dict[str, Any]:
        """The entry as an export record: its payload and its hash, so anyone can recheck it."""
        return self.payload() | {"entry_hash": self.entry_hash}


_columns = attrgetter(*COLUMNS)
