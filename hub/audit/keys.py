"""The Ed25519 key that signs audit checkpoints: named by configuration, or (embedded default)
made on first use under the data folder, readable by its owner only. The key is never logged."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import structlog
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.config import Settings
from hub.errors import ConfigurationError

log = structlog.get_logger("hub.audit.keys")
DEFAULT_KEY_NAME = "audit-signing-key.pem"


def key_path(settings: Settings) -> Path:
    return settings.audit_key_file or settings.data_dir / DEFAULT_KEY_NAME


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short public name for a key, stored beside each signature so a foreign key shows."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The configured key; the default one is made on first use (a writer's first start).

    A configured file that is missing is an error rather than a fresh key: a new key would
    make every earlier checkpoint look forged.
    """
    return existing_signing_key(settings) or create_key(key_path(settings))


def existing_signing_key(settings: Settings) -> Ed25519PrivateKey | None:
    """The key if there is one yet; verify reads it and never makes one."""
    path = key_path(settings)
    if path.exists():
        return read_key(path)
    if settings.audit_key_file is not None:
        raise ConfigurationError(f"audit signing key not found: {path}")
    return None


def read_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError(f"audit signing key {path} is not a readable PEM key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"audit signing key {path} is not an Ed25519 key")
    if path.stat().st_mode & 0o077:
        log.warning("audit.key_readable_by_others", path=str(path))
    return key


def create_key(path: Path) -> Ed25519PrivateKey:
    """Write a new key with mode 0600; when processes race on first use, one key wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(scratch, path)  # atomic, and refuses to replace a key another process made
    except FileExistsError:
        return read_key(path)
    finally:
        scratch.unlink()
    log.info("audit.key_created", path=str(path), key_id=key_id(key.public_key()))
    return key


# --- The public half: all `hub audit verify` needs (security review, item 4) ----------------
PUBLIC_KEY_NAME = "audit-signing-key.pub.pem"


def public_key_path(settings: Settings) -> Path:
    """Beside the checkpoint file (the record kept apart from the store), unless configured."""
    if settings.audit_public_key_file is not None:
        return settings.audit_public_key_file
    journal = settings.audit_checkpoint_file or settings.data_dir / "audit-checkpoints.jsonl"
    return journal.parent / PUBLIC_KEY_NAME


def keep_public_key(settings: Settings, key: Ed25519PrivateKey) -> None:
    """Write the signing key's public half for verify, once; a different one already there is
    left alone and reported (verify will then name the checkpoints it cannot vouch for)."""
    path = public_key_path(settings)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if path.exists():
        if path.read_bytes() != pem:
            log.warning("audit.public_key_differs", path=str(path))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    scratch.write_bytes(pem)
    try:
        os.link(scratch, path)
    except FileExistsError:
        pass
    finally:
        scratch.unlink()


def verify_key(settings: Settings) -> Ed25519PublicKey | None:
    """The public key verify checks signatures with; never the private key."""
    path = public_key_path(settings)
    if not path.exists():
        if settings.audit_public_key_file is not None:
            raise ConfigurationError(f"audit public key not found: {path}")
        return None
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError(f"audit public key {path} is not a readable PEM key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"audit public key {path} is not an Ed25519 key")
    return key
