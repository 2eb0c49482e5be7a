"""The electricity company's books: accounts read from the shared world, connection requests
kept as they are filed.

Accounts belong to the establishments of `connectors.world`, so the premises and arrears agree
with what the other agencies say. What the world does not hold is derived here, the same for a
given seed and day: an account with large arrears is disconnected, and the last payment is
recent for an account in good standing and months old for one in arrears.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from connectors import world

EXAMPLE_ACCOUNT = "3000123456"
# Above this many rials owed the company cuts the supply.
DISCONNECT_ABOVE_OMR = Decimal("500")
# Days from filing to connection, by connected load: a larger load needs network work.
_LEAD_DAYS = ((60, 21), (500, 45))
_LEAD_DAYS_SUBSTATION = 90


@dataclass(frozen=True)
class Account:
    account_no: str
    holder_name_en: str
    holder_name_ar: str
    premises_id: str
    status: str  # Active or Disconnected, as the company writes it
    arrears_omr: str
    last_payment_date: date


def find_account(account_no: str, seed: int = 0, today: date | None = None) -> Account | None:
    """The account with this number, or None when the company does not know it."""
    day = today or date.today()
    establishment = world.by_account(account_no, seed, day)
    if establishment is None:
        return None
    arrears = Decimal(establishment.arrears_omr)
    rng = random.Random(f"payments-{seed}-{account_no}")
    days_ago = rng.randint(95, 420) if arrears > 0 else rng.randint(3, 35)
    return Account(
        account_no=account_no,
        holder_name_en=establishment.name_en,
        holder_name_ar=establishment.name_ar,
        premises_id=establishment.premises_id,
        status="Disconnected" if arrears > DISCONNECT_ABOVE_OMR else "Active",
        arrears_omr=establishment.arrears_omr,
        last_payment_date=day - timedelta(days=days_ago),
    )


def unknown_account_numbers(count: int, seed: int = 0) -> list[str]:
    """`count` well-formed account numbers nobody in the world for `seed` holds."""
    known = {e.account_no for e in world.establishments(seed)}
    rng = random.Random(f"unknown-accounts-{seed}")
    found: list[str] = []
    while len(found) < count:
        number = f"30{rng.randint(0, 99_999_999):08d}"
        if number not in known and number not in found:
            found.append(number)
    return found


def lead_days(load_kva: int) -> int:
    """Days the company expects between a request and the connection, by load."""
    for limit, days in _LEAD_DAYS:
        if load_kva <= limit:
            return days
    return _LEAD_DAYS_SUBSTATION


@dataclass(frozen=True)
class ConnectionRequest:
    request_no: str
    permit_no: str
    owner_civil_id: str
    load_kva: int
    expected_connection_date: date


class ConnectionBook:
    """New-connection requests as filed, keyed by building permit: filing twice for the same
    permit returns the request already filed (the company is idempotent per permit)."""

    def __init__(self) -> None:
        self._by_permit: dict[str, ConnectionRequest] = {}

    def __len__(self) -> int:
        return len(self._by_permit)

    def get(self, permit_no: str) -> ConnectionRequest | None:
        return self._by_permit.get(permit_no)

    def file(
        self, permit_no: str, owner_civil_id: str, load_kva: int, today: date
    ) -> ConnectionRequest:
        filed = self._by_permit.get(permit_no)
        if filed is not None:
            return filed
        request = ConnectionRequest(
            request_no=f"MEDC-NC-{today.year}-{len(self._by_permit) + 1:06d}",
            permit_no=permit_no,
            owner_civil_id=owner_civil_id,
            load_kva=load_kva,
            expected_connection_date=today + timedelta(days=lead_days(load_kva)),
        )
        self._by_permit[permit_no] = request
        return request
