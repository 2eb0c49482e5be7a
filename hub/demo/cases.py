"""The demo's batch: realistic parking permit requests built from the ROP simulator's register,
so the outcomes are known in advance (owners, lapsed registrations, someone else's vehicle,
unknown plates, one malformed request, one request sent twice)."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from connectors.rop import data as rop_register
from connectors.rop.data import Owner, Vehicle

PARKING_TYPE = "permit.parking.requested"
ZONES = [
    "ruwi",
    "muttrah-corniche",
    "qurum",
    "al-khuwair",
    "al-ghubrah",
    "madinat-sultan-qaboos",
    "seeb-souq",
    "bawshar",
    "al-amerat",
    "qurayyat",
]
CHANNELS = ["portal", "baladiyati-app", "sms", "counter"]


@dataclass
class DemoCase:
    scenario: str
    data: dict[str, Any]
    type: str = PARKING_TYPE
    send_twice: bool = False
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def body(self) -> bytes:
        return json.dumps(
            {
                "specversion": "1.0",
                "id": self.event_id,
                "source": "urn:muscat:baladiyati",
                "type": self.type,
                "datacontenttype": "application/json",
                "data": self.data,
            },
            ensure_ascii=False,
        ).encode("utf-8")


def _request(
    rng: random.Random, application_no: str, plate: tuple[str, str], applicant: Owner
) -> dict[str, Any]:
    return {
        "application_no": application_no,
        "plate": {"number": plate[0], "code": plate[1]},
        "civil_id": applicant.civil_id,
        "applicant_name": {"en": applicant.name_en, "ar": applicant.name_ar},
        "zone": rng.choice(ZONES),
        "months": rng.choice([1, 3, 6, 12]),
        "channel": rng.choice(CHANNELS),
    }


def _plate(vehicle: Vehicle) -> tuple[str, str]:
    return vehicle.plate_number, vehicle.plate_code


def parking_cases(count: int, run_id: str, seed: int = 0) -> list[DemoCase]:
    """`count` cases: ~10% unknown plates, ~15% lapsed, ~10% not the owner, one malformed."""
    rng = random.Random(f"demo-{seed}-{count}")
    valid = rop_register.valid_vehicles(seed)
    lapsed = rop_register.lapsed_vehicles(seed)
    unknown = rop_register.unknown_plates(max(count // 10, 1), seed)
    plan = (
        ["unknown plate"] * len(unknown)
        + ["registration lapsed"] * max(count * 15 // 100, 1)
        + ["someone else's vehicle"] * max(count // 10, 1)
    )
    plan += ["owner, valid registration"] * (count - 1 - len(plan)) + ["malformed request"]
    cases: list[DemoCase] = []
    for index, scenario in enumerate(plan, start=1):
        application_no = f"PKA-{run_id}-{index:05d}"
        if scenario == "unknown plate":
            data = _request(rng, application_no, unknown.pop(), rng.choice(valid).owner)
        elif scenario == "registration lapsed":
            vehicle = rng.choice(lapsed)
            data = _request(rng, application_no, _plate(vehicle), vehicle.owner)
        elif scenario == "someone else's vehicle":
            vehicle, other = rng.sample(valid, 2)
            while other.owner.civil_id == vehicle.owner.civil_id:
                other = rng.choice(valid)
            data = _request(rng, application_no, _plate(vehicle), other.owner)
        elif scenario == "malformed request":
            # No civil id, a letter in the plate number, a 5-month permit: three failing fields.
            data = {
                "application_no": application_no,
                "plate": {"number": "12A45", "code": "AB"},
                "zone": "qurum",
                "months": 5,
            }
        else:
            vehicle = rng.choice(valid)
            data = _request(rng, application_no, _plate(vehicle), vehicle.owner)
        cases.append(DemoCase(scenario, data))
    first_owner = next(c for c in cases if c.scenario == "owner, valid registration")
    first_owner.send_twice = True
    first_owner.scenario = "owner, sent twice"
    rng.shuffle(cases)
    return cases
