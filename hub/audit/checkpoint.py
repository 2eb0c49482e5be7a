"""Signed checkpoints: an Ed25519 signature over (sequence number, head hash, time), so that
someone who can rewrite the database but lacks the key cannot vouch for a rewritten chain."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.audit.canonical import dumps
from hub.audit.keys import key_id
from hub.store.tables import AuditCheckpoint


@dataclass(frozen=True)
class Checkpoint:
    """The chain reached `seq` with `head_hash` at `signed_at`, signed by key `key_id`."""

    seq: int
    head_hash: str
    signed_at: str
    key_id: str
    signature: str

    def statement(self) -> bytes:
        """The bytes the signature covers (RFC 8785, like the chain itself)."""
        return dumps(
            {
                "seq": self.seq,
                "head_hash": self.head_hash,
                "signed_at": self.signed_at,
                "key_id": self.key_id,
            }
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """From a line of the external file; ValueError when a field is missing or mistyped."""
        fields = ("head_hash", "signed_at", "key_id", "signature")
        if not isinstance(data.get("seq"), int) or not all(
            isinstance(data.get(name), str) for name in fields
        ):
            raise ValueError("not a checkpoint")
        return cls(
            seq=data["seq"],
            head_hash=data["head_hash"],
            signed_at=data["signed_at"],
            key_id=data["key_id"],
            signature=data["signature"],
        )

    @classmethod
    def from_row(cls, row: AuditCheckpoint) -> Checkpoint:
        return cls(row.seq, row.head_hash, row.signed_at, row.key_id, row.signature)

    def to_row(self) -> AuditCheckpoint:
        return AuditCheckpoint(**self.as_dict())


class CheckpointSigner:
    """Signs checkpoints with the hub's key; holds the key, never shows it."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    def sign(self, seq: int, head_hash: str, at: datetime) -> Checkpoint:
        unsigned = Checkpoint(seq, head_hash, at.isoformat(), self.key_id, "")
        signature = self._key.sign(unsigned.statement())
        return Checkpoint(
            seq, head_hash, unsigned.signed_at, self.key_id, base64.b64encode(signature).decode()
        )

    def __repr__(self) -> str:
        return f"CheckpointSigner(key_id={self.key_id!r})"


def signature_problem(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> str | None:
    """None when the hub's key signed this checkpoint; otherwise what is wrong with it."""
    if not checkpoint.signature:
        return "unsigned"
    trusted = key_id(public_key)
    if checkpoint.key_id != trusted:
        return f"signed by key {checkpoint.key_id}, not the hub's key {trusted}"
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except (binascii.Error, ValueError):
        return "signature is not base64"
    try:
        public_key.verify(signature, checkpoint.statement())
    except InvalidSignature:
        return "signature does not match the checkpoint"
    return None


def signature_problems(public_key: bytes, checkpoints: list[Checkpoint]) -> list[str | None]:
    """`signature_problem` of each checkpoint, the key as raw bytes: what verify's worker
    processes run (a key object does not cross processes)."""
    key = Ed25519PublicKey.from_public_bytes(public_key)
    return [signature_problem(checkpoint, key) for checkpoint in checkpoints]


@dataclass(frozen=True)
class CheckpointPolicy:
    """When to sign: `every` entries, or `seconds` after the last checkpoint if the chain grew."""

    every: int
    seconds: float

    def due(self, head_seq: int, last: tuple[int, datetime] | None, now: datetime) -> bool:
        if last is None:
            return head_seq > 0
        last_seq, last_at = last
        if head_seq <= last_seq:
            return False
        return head_seq - last_seq >= self.every or (now - last_at).total_seconds() >= self.seconds
