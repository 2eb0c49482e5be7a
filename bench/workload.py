"""The messages every row is driven with: valid parking permit requests for vehicles the ROP
simulator knows, so each one takes the full path (one agency call, a record change, a result)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from connectors.rop import data as rop_register

PARKING_TYPE = "permit.parking.requested"
ZONES = ("ruwi", "qurum", "al-khuwair", "bawshar")


@dataclass(frozen=True)
class Request:
    event_id: str
    body: bytes


def parking_requests(count: int, run_tag: str) -> list[Request]:
    """`count` distinct owner requests (unique event ids and application numbers)."""
    vehicles = rop_register.valid_vehicles()
    requests: list[Request] = []
    for index in range(count):
        vehicle = vehicles[index % len(vehicles)]
        event_id = str(uuid.uuid4())
        event = {
            "specversion": "1.0",
            "id": event_id,
            "source": "urn:muscat:baladiyati",
            "type": PARKING_TYPE,
            "datacontenttype": "application/json",
            "data": {
                "application_no": f"PKA-{run_tag}-{index:06d}",
                "plate": {"number": vehicle.plate_number, "code": vehicle.plate_code},
                "civil_id": vehicle.owner.civil_id,
                "applicant_name": {"en": vehicle.owner.name_en, "ar": vehicle.owner.name_ar},
                "zone": ZONES[index % len(ZONES)],
                "months": 3,
                "channel": "portal",
            },
        }
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        requests.append(Request(event_id, body))
    return requests
