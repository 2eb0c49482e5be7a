"""A case stays followable across the agencies' pushes: what electricity's ConnectionCompleted
and ROP's OwnershipTransferred cause carries the case's correlation id (the one the municipal
backend gave when it opened the case), the push's own event id as causation, and the stored
record keeps the case's id. Pushes are sent as an agency would: zeep from the served WSDL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import zeep
from sqlalchemy import select
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from connectors.rop import data as rop_register
from hub.api.grants import soap_grant
from hub.config import Settings
from hub.serving import free_port
from hub.store.engine import make_engine, make_session_factory
from hub.store.tables import BuildingPermit, ParkingPermit
from tests.e2e.harness import HubProcess, MunicipalBackend, run_cli

pytestmark = pytest.mark.e2e


class Served:
    """A `hub serve` process, a municipal backend on its queues, and the CLI's environment."""

    def __init__(self, env: dict[str, str], backend: MunicipalBackend) -> None:
        self.env = env
        self.backend = backend
        self.url = f"http://127.0.0.1:{env['HUB_HTTP_PORT']}"

    def soap(self, service: str, operation: str) -> zeep.Client:
        """A stock zeep client of a partner granted `operation`, built from the served WSDL."""
        added = run_cli(
            self.env,
            "partners",
            "add",
            operation.lower(),
            "--grant",
            soap_grant(service, operation),
        )
        assert added.returncode == 0, added.stderr
        secret = added.stdout.splitlines()[-1]
        return zeep.Client(
            f"{self.url}/soap/{service}?wsdl",
            wsse=UsernameToken(operation.lower(), secret),
            transport=Transport(timeout=30, operation_timeout=30),
        )

    def inbox_id(self, type_: str, timeout_s: float = 60) -> str:
        """The id of the one inbound message of `type_` (the push), via `hub replay list`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            listed = run_cli(self.env, "replay", "list", "--json", "--type", type_)
            rows = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
            if rows:
                [row] = rows
                return str(row["id"])
            time.sleep(0.5)
        raise AssertionError(f"no {type_} reached the worker")

    def stored_correlation(self, table: Any, column: Any, key: str) -> str:
        settings = Settings(
            data_dir=Path(self.env["HUB_DATA_DIR"]),
            database_url=self.env.get("HUB_DATABASE_URL"),
        )
        engine = make_engine(settings.resolved_database_url)
        try:
            with make_session_factory(engine)() as session:
                row = session.scalars(select(table).where(column == key)).one()
                return str(row.correlationid)
        finally:
            engine.dispose()


@pytest.fixture
def served(engines: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    env = engines | {"HUB_HTTP_PORT": str(free_port())}
    backend = MunicipalBackend(env["HUB_TEST_BROKER_URL"])
    try:
        with HubProcess(env, tmp_path / "hub.log"):
            yield Served(env, backend)
    finally:
        backend.close()


def one_result(backend: MunicipalBackend, type_: str, timeout_s: float = 60) -> dict[str, Any]:
    """The one result of `type_` (bounded in time); results of other types are skipped."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while not any(r["type"] == type_ for r in got) and time.monotonic() < deadline:
        got.extend(backend.take_at_least(1, timeout_s=1))
    [result] = [r for r in got if r["type"] == type_]
    return result


def test_electricity_connected_carries_the_building_permit_case(served: Served) -> None:
    case = "CASE-BP-FOLLOW-1"
    owner = rop_register.valid_vehicles()[0].owner
    permit_no = "MCT-BP-2026-710001"
    served.backend.send(
        "permit.building.issued",
        {
            "permit_no": permit_no,
            "owner": {
                "civil_id": owner.civil_id,
                "name_en": owner.name_en,
                "name_ar": owner.name_ar,
            },
            "plot_no": "3/771",
            "wilayat": "Seeb",
            "load_kva": 80,
        },
        correlationid=case,
    )
    requested = one_result(served.backend, "permit.building.electricity-requested")
    assert requested["correlationid"] == case

    client = served.soap("ElectricityNotifications", "ConnectionCompleted")
    reply = client.service.ConnectionCompleted(
        RequestNumber=requested["data"]["request_no"],
        BuildingPermitNumber=permit_no,
        MeterNumber="MTR-710001",
        ConnectedAt=datetime(2026, 12, 18, 5, 15, tzinfo=UTC),
    )
    assert reply is True
    connected = one_result(served.backend, "permit.building.electricity-connected")
    push_id = served.inbox_id("electricity.connection.completed")
    assert connected["correlationid"] == case
    assert connected["causationid"] == push_id
    assert served.stored_correlation(BuildingPermit, BuildingPermit.permit_no, permit_no) == case


def test_flagged_parking_permit_carries_the_parking_case(served: Served) -> None:
    case = "CASE-PK-FOLLOW-1"
    vehicle = rop_register.valid_vehicles()[5]
    plate = {"number": vehicle.plate_number, "code": vehicle.plate_code}
    served.backend.send(
        "permit.parking.requested",
        {
            "application_no": "PKA-FOLLOW-00001",
            "plate": plate,
            "civil_id": vehicle.owner.civil_id,
            "zone": "qurum",
            "months": 12,
        },
        correlationid=case,
    )
    issued = one_result(served.backend, "permit.parking.completed")
    assert issued["data"]["decision"] == "issued" and issued["correlationid"] == case

    client = served.soap("RopNotifications", "OwnershipTransferred")
    reply = client.service.OwnershipTransferred(
        PlateNumber=vehicle.plate_number,
        PlateCode=vehicle.plate_code,
        PreviousOwnerCivilId=vehicle.owner.civil_id,
        NewOwnerCivilId="19999999",
        TransferredAt=datetime(2026, 11, 27, 7, 42, tzinfo=UTC),
    )
    assert reply is True
    flagged = one_result(served.backend, "permit.parking.flagged")
    push_id = served.inbox_id("rop.ownership.transferred")
    assert flagged["correlationid"] == case
    assert flagged["causationid"] == push_id
    stored = served.stored_correlation(
        ParkingPermit, ParkingPermit.application_no, "PKA-FOLLOW-00001"
    )
    assert stored == case
