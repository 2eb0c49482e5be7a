"""Friendi mobile, a virtual network on Ooredoo's: Ooredoo's charging API and SMSC
(`transport`), under Friendi's own SMSC identity, charge ids and tariff. Registered as the
`hub.connectors` plugin `friendi`."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from connectors.ooredoo import TELCO as OOREDOO
from connectors.telco.family import telco_connector

TELCO = dataclasses.replace(
    OOREDOO,
    name="friendi",
    title="Friendi mobile (on Ooredoo)",
    system_id="mctfrd",
    charge_prefix="FRD",
    service_fee=Decimal("0.005"),
    window=4,
    per_second=20.0,
)

connector = telco_connector(TELCO)

__all__ = ["TELCO", "connector"]
