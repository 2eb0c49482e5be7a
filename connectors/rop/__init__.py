"""The Royal Oman Police connector (SOAP 1.1, WS-Security UsernameToken), registered as the
`hub.connectors` plugin `rop`.

Credentials: `username` and `password` of the UsernameToken ROP issued to the municipality
(the simulator accepts `hub` / `rop-sim-secret` unless told otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.rop.client import RopClient
from connectors.rop.simulator import RopSimulator
from hub.plugin import CallPolicy, Endpoint, Operation

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


class RopConnector:
    """What the core knows of ROP: its operations, call policy, client and simulator."""

    def __init__(self, policy: CallPolicy | None = None) -> None:
        self.name = "rop"
        self.title = "Royal Oman Police"
        # ROP answers in well under a second; 5 s per attempt leaves room for a slow day,
        # and its gateway allows about 20 requests per second per consumer.
        self.policy = policy or CallPolicy(
            timeout_s=5.0,
            attempts=3,
            backoff_initial_s=0.2,
            backoff_max_s=5.0,
            rate_limit_per_s=20.0,
        )

    def operations(self) -> Mapping[str, Operation]:
        return OPERATIONS

    def client(self, endpoint: Endpoint) -> RopClient:
        return RopClient(endpoint, self.policy)

    def simulator(self, seed: int = 0) -> RopSimulator:
        return RopSimulator(seed)


connector = RopConnector()

__all__ = ["RopClient", "RopConnector", "RopSimulator", "connector"]
