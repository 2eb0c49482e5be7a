"""Ooredoo Oman: charging API and SMSC (SMPP 3.4), registered as the `hub.connectors` plugin
`ooredoo`; Friendi rides on this transport (`connectors.friendi`)."""

from __future__ import annotations

from decimal import Decimal

from connectors.telco.family import telco_connector
from connectors.telco.identity import Telco

TELCO = Telco(
    name="ooredoo",
    title="Ooredoo Oman",
    transport="ooredoo",
    system_id="mctoor",
    charge_prefix="ORD",
    service_fee=Decimal("0.015"),
    window=8,
    per_second=40.0,
)

connector = telco_connector(TELCO)

__all__ = ["TELCO", "connector"]
