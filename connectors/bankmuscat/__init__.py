"""Bank Muscat mobile payments, registered as the `hub.connectors` plugin `bankmuscat`; the
API shape, signatures and simulator are shared with the national gateway (connectors.payments)."""

from __future__ import annotations

from connectors.payments.family import payment_connector
from connectors.payments.identity import Provider

PROVIDER = Provider(
    name="bankmuscat",
    title="Bank Muscat mobile payments",
    title_ar="بنك مسقط للمدفوعات عبر الهاتف",
    key_header="X-BM-Api-Key",
    signature_header="X-BM-Signature",
    id_prefix="BM-",
    api_key="bankmuscat-sim-api-key",
    notify_key="bankmuscat-sim-notify-key",
)

connector = payment_connector(PROVIDER)

__all__ = ["PROVIDER", "connector"]
