"""Seals on the hub's exchanges with agencies: the exact bytes' digest, what they were and
when, signed with the municipality's signing key, so either side can later prove what was
said (the X-Road practice)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from hub.pki.material import SigningIdentity

SEALED_FIELDS = ("agency", "operation", "direction", "message_id", "sha256", "sealed_at")


def seal_statement(record: Mapping[str, Any]) -> bytes:
    """The bytes a seal's signature covers: its fields as sorted, compact JSON."""
    fields = {name: record.get(name) for name in SEALED_FIELDS}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Seal:
    agency: str
    operation: str
    direction: str  # "request" or "reply"
    message_id: str | None
    body: bytes
    sha256: str
    sealed_at: str
    signature: str  # base64
    signer_serial: str


class ExchangeSealer:
    """Seals exchanged bytes with one signing identity."""

    def __init__(self, identity: SigningIdentity) -> None:
        self._identity = identity
        self.serial = format(identity.certificate.serial_number, "x")

    def seal(
        self, agency: str, operation: str, direction: str, message_id: str | None, body: bytes
    ) -> Seal:
        record = {
            "agency": agency,
            "operation": operation,
            "direction": direction,
            "message_id": message_id,
            "sha256": hashlib.sha256(body).hexdigest(),
            "sealed_at": datetime.now(UTC).isoformat(),
        }
        statement = seal_statement(record)
        key = self._identity.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            signature = key.sign(statement, ec.ECDSA(hashes.SHA256()))
        else:
            signature = key.sign(statement, padding.PKCS1v15(), hashes.SHA256())
        return Seal(
            agency,
            operation,
            direction,
            message_id,
            body,
            record["sha256"] or "",
            record["sealed_at"] or "",
            base64.b64encode(signature).decode(),
            self.serial,
        )
