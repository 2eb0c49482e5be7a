"""Check an evidence bundle offline (`hub audit verify-bundle`), naming each thing changed.

Trust comes from the CA certificate given (or, without one, the bundle's own, whose
fingerprint is reported for comparison): the municipality's signing certificate must chain
to it and must have signed the manifest; the manifest's digests pin every file; the audit
key in the bundle (pinned by the manifest) must have signed the checkpoint; the entries must
hash and link up to the checkpoint's head; each document must carry a valid signature and be
the one the trail recorded; each sealed exchange must carry a valid seal.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.audit.bundle import (
    AUDIT_KEY,
    CA_CERT,
    CHECKPOINT,
    ENTRIES,
    EXCHANGES,
    FORMAT,
    MANIFEST,
    SIGNATURE,
    SIGNING_CERT,
)
from hub.audit.checkpoint import Checkpoint, signature_problem
from hub.audit.entry import HASHED, payload_hash
from hub.documents.signing import verify_document
from hub.pki.revocation import signed_by
from hub.pki.seal import seal_statement


@dataclass
class BundleVerdict:
    """What was found; `problems` empty: the bundle is intact."""

    correlationid: str | None = None
    entries: int = 0
    case_entries: int = 0
    documents: int = 0
    exchanges: int = 0
    anchor_fingerprint: str = ""
    anchor_from_bundle: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(path: Path, trusted_ca: x509.Certificate | None = None) -> BundleVerdict:
    verdict = BundleVerdict()
    try:
        with zipfile.ZipFile(path) as bundle:
            files = {name: bundle.read(name) for name in bundle.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        verdict.problems.append(f"not a readable bundle: {exc}")
        return verdict
    manifest = _manifest(files, verdict)
    if manifest is None:
        return verdict
    verdict.correlationid = manifest.get("correlationid")
    anchor = _anchor(files, trusted_ca, verdict)
    signer = _signer(files, anchor, verdict)
    if signer is not None and not _signature_ok(signer, files[MANIFEST], files.get(SIGNATURE)):
        verdict.problems.append(
            f"{MANIFEST}: its signature does not match (the bundle was altered after it was made)"
        )
    _digests(files, manifest, verdict)
    checkpoint = _checkpoint(files, verdict)
    documents_recorded = _entries(files, checkpoint, verdict)
    if anchor is not None:
        _documents(files, anchor, documents_recorded, verdict)
    if signer is not None:
        _exchanges(files, signer, verdict)
    return verdict


def _manifest(files: dict[str, bytes], verdict: BundleVerdict) -> dict[str, Any] | None:
    try:
        manifest = json.loads(files[MANIFEST])
    except KeyError:
        verdict.problems.append(f"{MANIFEST}: missing")
        return None
    except ValueError:
        verdict.problems.append(f"{MANIFEST}: not JSON")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        verdict.problems.append(f"{MANIFEST}: not a {FORMAT} manifest")
        return None
    return manifest


def _anchor(
    files: dict[str, bytes], trusted: x509.Certificate | None, verdict: BundleVerdict
) -> x509.Certificate | None:
    if trusted is None:
        verdict.anchor_from_bundle = True
        try:
            trusted = x509.load_pem_x509_certificate(files[CA_CERT])
        except (KeyError, ValueError):
            verdict.problems.append(f"{CA_CERT}: missing or unreadable, and no CA was given")
            return None
    der = trusted.public_bytes(serialization.Encoding.DER)
    verdict.anchor_fingerprint = hashlib.sha256(der).hexdigest()
    return trusted


def _signer(
    files: dict[str, bytes], anchor: x509.Certificate | None, verdict: BundleVerdict
) -> x509.Certificate | None:
    try:
        signer = x509.load_pem_x509_certificate(files[SIGNING_CERT])
    except (KeyError, ValueError):
        verdict.problems.append(f"{SIGNING_CERT}: missing or unreadable")
        return None
    if anchor is not None and not signed_by(signer, anchor):
        verdict.problems.append(f"{SIGNING_CERT}: not issued by the trusted CA")
        return None
    return signer


def _signature_ok(signer: x509.Certificate, data: bytes, signature_b64: bytes | None) -> bool:
    if not signature_b64:
        return False
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    key = signer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _digests(files: dict[str, bytes], manifest: dict[str, Any], verdict: BundleVerdict) -> None:
    listed: dict[str, str] = manifest.get("files") or {}
    for name, digest in listed.items():
        if name not in files:
            verdict.problems.append(f"{name}: removed from the bundle")
        elif hashlib.sha256(files[name]).hexdigest() != digest:
            verdict.problems.append(f"{name}: changed after the bundle was made")
    for name in files:
        if name not in listed and name not in (MANIFEST, SIGNATURE):
            verdict.problems.append(f"{name}: added after the bundle was made")


def _checkpoint(files: dict[str, bytes], verdict: BundleVerdict) -> Checkpoint | None:
    try:
        checkpoint = Checkpoint.from_dict(json.loads(files[CHECKPOINT]))
        key = serialization.load_pem_public_key(files[AUDIT_KEY])
    except (KeyError, ValueError):
        verdict.problems.append(f"{CHECKPOINT} or {AUDIT_KEY}: missing or unreadable")
        return None
    if not isinstance(key, Ed25519PublicKey):
        verdict.problems.append(f"{AUDIT_KEY}: not an Ed25519 key")
        return None
    problem = signature_problem(checkpoint, key)
    if problem is not None:
        verdict.problems.append(f"{CHECKPOINT}: {problem}")
    return checkpoint


def _entries(
    files: dict[str, bytes], checkpoint: Checkpoint | None, verdict: BundleVerdict
) -> set[str]:
    """Check the chain slice; returns the document digests the case's entries recorded."""
    recorded: set[str] = set()
    previous: dict[str, Any] | None = None
    for number, line in enumerate(files.get(ENTRIES, b"").decode("utf-8").splitlines(), 1):
        try:
            entry = json.loads(line)
            content = {name: entry[name] for name in HASHED}
            stated = entry["entry_hash"]
        except (ValueError, KeyError, TypeError):
            verdict.problems.append(f"{ENTRIES} line {number}: not an audit entry")
            continue
        verdict.entries += 1
        seq = content["seq"]
        if content["correlationid"] == verdict.correlationid:
            verdict.case_entries += 1
            if content["kind"] == "document.issued" and isinstance(content["detail"], dict):
                recorded.add(str(content["detail"].get("sha256")))
        if payload_hash(content) != stated:
            verdict.problems.append(
                f"{ENTRIES} seq {seq}: edited (its content no longer matches its hash)"
            )
        if previous is not None:
            if seq != previous["seq"] + 1:
                gap = "removed" if seq > previous["seq"] + 1 else "inserted or reordered"
                verdict.problems.append(
                    f"{ENTRIES} seq {seq}: follows seq {previous['seq']} (entries {gap})"
                )
            elif content["prev_hash"] != previous["entry_hash"]:
                verdict.problems.append(
                    f"{ENTRIES} seq {seq}: does not link to seq {previous['seq']} "
                    "(that entry was rewritten)"
                )
        previous = entry
    if checkpoint is not None:
        if previous is None or previous["seq"] != checkpoint.seq:
            verdict.problems.append(
                f"{ENTRIES}: does not reach the checkpoint at seq {checkpoint.seq} (cut short)"
            )
        elif previous["entry_hash"] != checkpoint.head_hash:
            verdict.problems.append(
                f"{ENTRIES} seq {checkpoint.seq}: not the head the checkpoint signed "
                "(the chain was recomputed)"
            )
    return recorded


def _documents(
    files: dict[str, bytes], anchor: x509.Certificate, recorded: set[str], verdict: BundleVerdict
) -> None:
    for name in sorted(n for n in files if n.startswith("documents/")):
        verdict.documents += 1
        pdf = files[name]
        document = verify_document(pdf, anchor)
        for problem in document.problems:
            verdict.problems.append(f"{name}: {problem}")
        if hashlib.sha256(pdf).hexdigest() not in recorded:
            verdict.problems.append(f"{name}: not the document the audit trail recorded")


def _exchanges(files: dict[str, bytes], signer: x509.Certificate, verdict: BundleVerdict) -> None:
    for number, line in enumerate(files.get(EXCHANGES, b"").decode("utf-8").splitlines(), 1):
        verdict.exchanges += 1
        where = f"{EXCHANGES} line {number}"
        try:
            record = json.loads(line)
            body = base64.b64decode(record["body"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            verdict.problems.append(f"{where}: not a sealed exchange")
            continue
        if hashlib.sha256(body).hexdigest() != record.get("sha256"):
            verdict.problems.append(f"{where}: the exchanged bytes were changed")
            continue
        statement = seal_statement(record)
        if not _signature_ok(signer, statement, str(record.get("signature", "")).encode()):
            verdict.problems.append(f"{where}: its seal does not match")
