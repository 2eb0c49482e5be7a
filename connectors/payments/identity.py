"""What tells one payment provider from another: its name, the headers it authenticates and
signs with, and how it numbers payments. The API shape is shared (connectors.payments)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    """One payment provider as the hub and its simulator know it."""

    name: str
    title: str
    title_ar: str
    key_header: str  # the merchant's API key on every call
    signature_header: str  # HMAC-SHA256 (hex) of a notification's exact body
    id_prefix: str  # how the provider numbers its payments
    api_key: str  # the simulator's merchant key
    notify_key: str  # the simulator's notification signing key
