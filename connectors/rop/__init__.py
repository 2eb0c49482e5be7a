"""The Royal Oman Police connector (SOAP 1.1, WS-Security UsernameToken), registered as the
`hub.connectors` plugin `rop`.

Credentials: `username` and `password` of the UsernameToken ROP issued to the municipality
(the simulator accepts `hub` / `rop-sim-secret` unless told otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.agency import AgencyConnector
from connectors.rop.client import RopClient
from connectors.rop.simulator import RopSimulator
from hub.plugin import CallPolicy, Operation

OPERATIONS: Mapping[str, Operation] = {
    "vehicle_inquiry": Operation(
        name="vehicle_inquiry",
        description="The registered vehicle and owner behind a plate (ROP VehicleInquiry).",
        request_contract="urn:muscat-hub:canonical:vehicle-inquiry-request:1.0",
        response_contract="urn:muscat-hub:canonical:vehicle-inquiry-response:1.0",
        reuse_answer_s=3600.0,
    ),
    "civil_defence_certificate": Operation(
        name="civil_defence_certificate",
        description="The civil defence safety certificate of a premises (ROP "
        "CivilDefenceCertificate).",
        request_contract="urn:muscat-hub:canonical:civil-defence-certificate-request:1.0",
        response_contract="urn:muscat-hub:canonical:civil-defence-certificate-response:1.0",
        reuse_answer_s=3600.0,
    ),
    "parking_violation_settled": Operation(
        name="parking_violation_settled",
        description="Tell ROP a parking fine was paid; idempotent per violation and payment "
        "reference (ROP ParkingViolationSettled).",
        request_contract="urn:muscat-hub:canonical:parking-violation-settled-request:1.0",
        response_contract="urn:muscat-hub:canonical:parking-violation-settled-response:1.0",
    ),
}


connector = AgencyConnector(
    name="rop",
    title="Royal Oman Police",
    # ROP answers in well under a second; 5 s per attempt leaves room for a slow day,
    # and its gateway allows about 20 requests per second per consumer.
    policy=CallPolicy(rate_limit_per_s=20.0),
    declared=OPERATIONS,
    make_client=RopClient,
    make_simulator=RopSimulator,
)

__all__ = ["RopClient", "RopSimulator", "connector"]
