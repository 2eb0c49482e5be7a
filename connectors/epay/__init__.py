"""The national e-payment gateway, registered as the `hub.connectors` plugin `epay`; the API
shape, signatures and simulator are shared with Bank Muscat (connectors.payments)."""

from __future__ import annotations

from connectors.payments.family import payment_connector
from connectors.payments.identity import Provider

PROVIDER = Provider(
    name="epay",
    title="National e-payment gateway",
    title_ar="بوابة الدفع الإلكتروني الوطنية",
    key_header="X-Merchant-Key",
    signature_header="X-Epay-Signature",
    id_prefix="EP-",
    api_key="epay-sim-merchant-key",
    notify_key="epay-sim-notify-key",
)

connector = payment_connector(PROVIDER)

__all__ = ["PROVIDER", "connector"]
