"""Omantel: charging API and SMSC (SMPP 3.4), registered as the `hub.connectors` plugin
`omantel`; the shared telco code is `connectors.telco`."""

from __future__ import annotations

from decimal import Decimal

from connectors.telco.family import telco_connector
from connectors.telco.identity import Telco

TELCO = Telco(
    name="omantel",
    title="Omantel",
    transport="omantel",
    system_id="mctomt",
    charge_prefix="OMT",
    service_fee=Decimal("0.010"),
    window=10,
    per_second=50.0,
)

connector = telco_connector(TELCO)

__all__ = ["TELCO", "connector"]
