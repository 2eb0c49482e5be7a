"""One case's evidence as a single file that can be checked offline, on another machine.

The bundle is a ZIP holding:
  entries.jsonl        the chain from the case's first entry up to the checkpoint that covers
                       its last (entries of other cases in between included: a hash covers an
                       entry's whole content, so the links cannot be shown without them)
  checkpoint.json      that checkpoint, Ed25519-signed by the audit key
  documents/*.pdf      the signed documents delivered in the case
  exchanges.jsonl      the sealed agency requests and replies of the case
  certificates/        the CA, the municipality's signing certificate, the audit public key
  manifest.json        every file's sha256, the case id and the time
  manifest.sig         the manifest signed with the municipality's signing key

`bundle_verify.verify_bundle` checks all of it and names what was changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit.checkpoint import Checkpoint
from hub.audit.entry import StoredEntry
from hub.audit.sealing import Checkpointer
from hub.errors import HubError
from hub.pki.material import SigningIdentity, pem
from hub.store.tables import AuditCheckpoint, AuditEntry, IssuedDocument, SealedExchange

FORMAT = "muscat-hub-evidence/1"
ENTRIES = "entries.jsonl"
CHECKPOINT = "checkpoint.json"
EXCHANGES = "exchanges.jsonl"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CA_CERT = "certificates/ca.pem"
SIGNING_CERT = "certificates/signing.pem"
AUDIT_KEY = "certificates/audit-public-key.pem"


class BundleError(HubError):
    """No bundle can be made as asked (unknown case, no signing certificate)."""


def sign_manifest(manifest: bytes, identity: SigningIdentity) -> bytes:
    key = identity.key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(manifest, ec.ECDSA(hashes.SHA256()))
    from cryptography.hazmat.primitives.asymmetric import padding

    return key.sign(manifest, padding.PKCS1v15(), hashes.SHA256())


def write_bundle(
    sessions: sessionmaker[Session],
    sealer: Checkpointer,
    identity: SigningIdentity,
    correlation_id: str,
    target: Path,
) -> dict[str, Any]:
    """Write the case's bundle to `target`; returns its manifest. A checkpoint is signed first
    when none covers the case's last entry yet."""
    with sessions() as session:
        span = session.execute(
            select(func.min(AuditEntry.seq), func.max(AuditEntry.seq)).where(
                AuditEntry.correlationid == correlation_id
            )
        ).one()
    if span[0] is None:
        raise BundleError(f"no audit entries for correlation id {correlation_id!r}")
    first, last = int(span[0]), int(span[1])
    checkpoint = _covering(sessions, last) or sealer.seal_now(sessions) or _covering(sessions, last)
    if checkpoint is None:
        raise BundleError("no checkpoint covers the case and none could be signed")
    files: dict[str, bytes] = {
        ENTRIES: b"".join(_lines(_entries(sessions, first, checkpoint.seq))),
        CHECKPOINT: json.dumps(checkpoint.as_dict(), indent=1).encode(),
        CA_CERT: b"".join(pem(c) for c in identity.chain),
        SIGNING_CERT: pem(identity.certificate),
        AUDIT_KEY: sealer.signer.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }
    with sessions() as session:
        for doc in session.scalars(
            select(IssuedDocument)
            .where(IssuedDocument.correlationid == correlation_id)
            .order_by(IssuedDocument.id)
        ):
            files[f"documents/{doc.reference}-{doc.id}.pdf"] = doc.pdf
        files[EXCHANGES] = b"".join(
            _lines(
                exchange_record(row)
                for row in session.scalars(
                    select(SealedExchange)
                    .where(SealedExchange.correlationid == correlation_id)
                    .order_by(SealedExchange.id)
                )
            )
        )
    manifest = {
        "format": FORMAT,
        "correlationid": correlation_id,
        "created_at": datetime.now(UTC).isoformat(),
        "case_entries": [first, last],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    manifest_bytes = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(MANIFEST, manifest_bytes)
        bundle.writestr(SIGNATURE, base64.b64encode(sign_manifest(manifest_bytes, identity)))
        for name, data in sorted(files.items()):
            bundle.writestr(name, data)
    return manifest


def exchange_record(row: SealedExchange) -> dict[str, Any]:
    return {
        "agency": row.agency,
        "operation": row.operation,
        "direction": row.direction,
        "message_id": row.message_id,
        "body": base64.b64encode(row.body).decode(),
        "sha256": row.sha256,
        "sealed_at": row.sealed_at,
        "signature": row.signature,
        "signer_serial": row.signer_serial,
    }


def _covering(sessions: sessionmaker[Session], seq: int) -> Checkpoint | None:
    with sessions() as session:
        row = session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.seq >= seq)
            .order_by(AuditCheckpoint.seq)
            .limit(1)
        ).first()
        return Checkpoint.from_row(row) if row is not None else None


def _entries(sessions: sessionmaker[Session], first: int, last: int) -> Iterator[dict[str, Any]]:
    with sessions() as session:
        query = (
            select(AuditEntry)
            .where(AuditEntry.seq >= first, AuditEntry.seq <= last)
            .order_by(AuditEntry.seq)
        )
        for row in session.scalars(query):
            yield StoredEntry.of(row).record()


def _lines(records: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for record in records:
        yield (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
