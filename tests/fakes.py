"""Small honest fakes of the ports, for tests of the core that need no agency server."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp

from hub.agencies.connector import CallContext, CallPolicy, Endpoint, Health, Operation

VEHICLE_OPERATION = Operation(
    "vehicle_inquiry",
    "vehicle by plate",
    "urn:muscat-hub:canonical:vehicle-inquiry-request:1.0",
    "urn:muscat-hub:canonical:vehicle-inquiry-response:1.0",
)


def vehicle(plate: str, code: str, civil_id: str, expiry: str = "2030-01-01") -> dict[str, Any]:
    return {
        "plate_number": plate,
        "plate_code": code,
        "registration_expiry": expiry,
        "owner": {"civil_id": civil_id, "name_en": "Aisha Al Balushi", "name_ar": "عائشة البلوشية"},
    }


class FakeVehicleRegister:
    """Answers vehicle inquiries from a dict; `fail_with` makes the next calls raise, and
    `delay_s` makes each answer take that long (`most_in_flight` shows calls overlapping)."""

    def __init__(self, vehicles: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.vehicles = vehicles
        self.fail_with: Exception | None = None
        self.reply_override: dict[str, Any] | None = None
        self.calls: list[Mapping[str, Any]] = []
        self.delay_s = 0.0
        self.in_flight = 0
        self.most_in_flight = 0

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        self.calls.append(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        if self.fail_with is not None:
            raise self.fail_with
        if self.reply_override is not None:
            return self.reply_override
        found = self.vehicles.get((request["plate_number"], request["plate_code"]))
        return {"found": True, "vehicle": found} if found else {"found": False}

    async def health(self) -> Health:
        return Health(True, "fake")

    async def aclose(self) -> None:
        return None


class FakeSimulator:
    app: ASGIApp = Starlette()
    credentials: Mapping[str, str] = {}
    fault = "none"

    def set_fault(self, mode: str) -> None:
        self.fault = mode


class FakeRopConnector:
    """A connector named rop whose client is a `FakeVehicleRegister`."""

    name = "rop"
    title = "fake ROP"
    policy = CallPolicy(
        timeout_s=1.0, attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02, circuit_failures=100
    )

    def __init__(self, register: FakeVehicleRegister) -> None:
        self.register = register

    def operations(self) -> Mapping[str, Operation]:
        return {"vehicle_inquiry": VEHICLE_OPERATION}

    def client(self, endpoint: Endpoint) -> FakeVehicleRegister:
        return self.register

    def simulator(self, seed: int = 0) -> FakeSimulator:
        return FakeSimulator()
