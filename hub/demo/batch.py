"""The demo's mixed batch across every flow, built from the simulators' own data so each
outcome is known in advance: licence renewals and new licences (healthy establishments and
ones with each kind of weakness), building permits, paid parking fines, and, once those are
decided, the agency pushes that follow them (a cancelled CR, a connected building, a vehicle
sold)."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from connectors import world
from connectors.rop import data as rop_register
from connectors.rop import violations
from connectors.world import Establishment
from hub.demo.cases import DemoCase, parking_cases

RENEWAL_SHARE, ISSUE_SHARE, BUILDING_SHARE, FINE_SHARE = 0.25, 0.10, 0.15, 0.08


def _premises(e: Establishment) -> dict[str, str]:
    return {
        "premises_id": e.premises_id,
        "wilayat": e.wilayat,
        "plot_no": e.plot_no,
        "electricity_account": e.account_no,
    }


# Left out of the first wave: hub/demo/payments.py renews and pays these through the gateway
# (it takes the last healthy establishments and the last fine the wave leaves alone).
PAID_RENEWALS = 2


def licence_cases(rng: random.Random, renewals: int, issues: int, run_id: str) -> list[DemoCase]:
    reserved = {e.licence_no for e in world.healthy()[-PAID_RENEWALS:]}
    everyone = [e for e in world.establishments() if e.licence_no not in reserved]
    cases = []
    for index in range(renewals):
        e = everyone[index % len(everyone)]
        data = {
            "licence_no": e.licence_no,
            "cr_no": e.cr_no,
            "activities": [e.licence_activity.code],
            "premises": _premises(e),
            "channel": rng.choice(["portal", "baladiyati-app"]),
        }
        cases.append(DemoCase(_scenario(e), data, type="licence.renewal.requested"))
    for index in range(issues):
        e = rng.choice(everyone)
        data = {
            "application_no": f"TLA-{run_id}-{index:05d}",
            "cr_no": e.cr_no,
            "activities": [e.activities[0].code],
            "premises": _premises(e),
        }
        cases.append(DemoCase(_scenario(e), data, type="licence.issue.requested"))
    return cases


def _scenario(e: Establishment) -> str:
    weaknesses = sorted(e.weaknesses_on(date.today()))
    return "healthy establishment" if not weaknesses else "weak: " + ", ".join(weaknesses)


def building_cases(rng: random.Random, count: int, run_id: str) -> list[DemoCase]:
    owners = [v.owner for v in rop_register.vehicles()]
    cases = []
    for index in range(count):
        owner = rng.choice(owners)
        data = {
            "permit_no": f"MCT-BP-2026-{int(run_id, 16) % 900 + 100:03d}{index:03d}",
            "owner": {
                "civil_id": owner.civil_id,
                "name_en": owner.name_en,
                "name_ar": owner.name_ar,
            },
            "plot_no": f"{rng.randint(1, 9)}/{rng.randint(100, 9999)}",
            "wilayat": rng.choice(list(world.WILAYATS)),
            "load_kva": rng.choice([30, 60, 80, 150, 300]),
        }
        cases.append(DemoCase("new building", data, type="permit.building.issued"))
    return cases


def violation_cases(rng: random.Random, count: int, run_id: str) -> list[DemoCase]:
    """Each fine of ROP's book paid once (a second payment of a settled fine is refused by
    ROP), and a few fines ROP has never heard of."""
    book = list(violations.violations())[:-1]  # the last is paid by hub/demo/payments.py
    unknown = violations.unknown_violation_numbers(max(count // 5, 1))
    count = min(count, len(book) + len(unknown))  # each fine of the book at most once
    cases = []
    for index in range(count):
        if index < len(unknown):
            number, plate, amount = unknown[index], ("1234", "A"), "10.000"
            scenario = "fine unknown to ROP"
        else:
            v = book[index - len(unknown)]
            number, plate, amount = v.violation_no, (v.plate_number, v.plate_code), v.amount_omr
            scenario = "fine paid"
        data = {
            "violation_no": number,
            "plate": {"number": plate[0], "code": plate[1]},
            "amount_omr": amount,
            "payment_reference": f"MM-PAY-{run_id}-{index:06d}",
        }
        cases.append(DemoCase(scenario, data, type="violation.parking.paid"))
    return cases


def first_wave(count: int, run_id: str) -> list[DemoCase]:
    """Everything the municipal systems send on their own, shuffled as a busy day would;
    parking permits take whatever share the other flows leave."""
    rng = random.Random(f"demo-batch-{count}")
    licences = licence_cases(rng, int(count * RENEWAL_SHARE), int(count * ISSUE_SHARE), run_id)
    buildings = building_cases(rng, int(count * BUILDING_SHARE), run_id)
    fines = violation_cases(rng, max(int(count * FINE_SHARE), 1), run_id)
    parking = parking_cases(max(count - len(licences) - len(buildings) - len(fines), 10), run_id)
    cases = parking + licences + buildings + fines
    rng.shuffle(cases)
    return cases


def pushes(results: list[dict[str, Any]]) -> list[DemoCase]:
    """What the agencies tell the hub afterwards, about records the first wave created."""
    cases = []
    approved = [
        r
        for r in results
        if r["type"] == "licence.renewal.completed" and r["data"]["decision"] == "approved"
    ]
    if approved:
        cr_no = approved[0]["data"]["cr_no"]
        cases.append(
            DemoCase(
                "MOCI cancels a CR",
                {
                    "cr_no": cr_no,
                    "status": "cancelled",
                    "effective_date": "2026-12-01",
                    "reason": "شطب السجل التجاري بناءً على طلب المالك",
                },
                type="moci.cr.status-changed",
            )
        )
    for requested in [r for r in results if r["type"] == "permit.building.electricity-requested"][
        :3
    ]:
        cases.append(
            DemoCase(
                "electricity connects a building",
                {
                    "request_no": requested["data"]["request_no"],
                    "permit_no": requested["data"]["permit_no"],
                    "meter_no": f"MTR-{abs(hash(requested['id'])) % 10**8:08d}",
                    "connected_at": "2026-12-18T09:15:00+04:00",
                },
                type="electricity.connection.completed",
            )
        )
    issued = [
        r
        for r in results
        if r["type"] == "permit.parking.completed" and r["data"]["decision"] == "issued"
    ]
    if issued:
        plate = issued[0]["data"]["plate"]
        owner = rop_register.find_vehicle(plate["number"], plate["code"])
        if owner is not None:
            cases.append(
                DemoCase(
                    "ROP reports a vehicle sold",
                    {
                        "plate": plate,
                        "old_owner_civil_id": owner.owner.civil_id,
                        "new_owner_civil_id": "19999999",
                        "transferred_at": "2026-11-27T11:42:00+04:00",
                    },
                    type="rop.ownership.transferred",
                )
            )
    return cases
