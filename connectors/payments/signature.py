"""Notifications are signed with HMAC-SHA256 over the exact bytes of the body, hex encoded;
the hub checks with a constant-time compare, so timing tells a forger nothing."""

from __future__ import annotations

import hashlib
import hmac


def sign(body: bytes, key: str) -> str:
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, key: str, signature: str | None) -> bool:
    """True only for the signature of exactly these bytes under `key`."""
    if not signature:
        return False
    return hmac.compare_digest(sign(body, key), signature.strip().lower())
