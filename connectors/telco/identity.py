"""Who a telco is to the hub: its name, the SMSC identity it gave the municipality, the
charging tariff it adds, and whose transport it rides on (Friendi rides on Ooredoo's)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SHORT_CODE = "90091"  # the municipality's parking short code, the same on every network


@dataclass(frozen=True)
class Telco:
    name: str
    title: str
    transport: str  # whose charging API and SMSC carry it (its own name for a host network)
    system_id: str
    charge_prefix: str  # the charging API's charge ids start with this
    service_fee: Decimal  # added by the telco to every charge, OMR to the baisa
    window: int = 10  # unanswered submit_sm at once (agreed with the telco)
    per_second: float = 50.0  # submit_sm per second (agreed with the telco)
    short_code: str = SHORT_CODE
