"""The REST agencies without a server: what each simulator would send satisfies the agency's
own schema, maps to a canonical reply that satisfies the hub's contract, and keeps what the
world says; a contract-breaking release is caught by the agency schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from connectors import world
from connectors.labour import mapping as labour_mapping
from connectors.labour.simulator import LabourSimulator, standing_body
from connectors.moci import mapping as moci_mapping
from connectors.moci.simulator import MociSimulator, registration_body
from connectors.occi import mapping as occi_mapping
from connectors.occi.simulator import OcciSimulator, membership_body
from connectors.replies import retry_after_seconds
from connectors.rest.client import AgencySchemas
from connectors.rest.simulator import RestAgencySimulator
from hub.contracts.registry import ContractRegistry

TODAY = date(2025, 3, 1)
CONTRACTS = ContractRegistry.load()
WORLD = world.establishments(0, TODAY)
MEMBERS = [e for e in WORLD if e.occi_grade is not None]


def canonical(name: str) -> str:
    return f"urn:muscat-hub:canonical:{name}-response:1.0"


def test_every_registration_satisfies_moci_schema_and_maps_faithfully() -> None:
    schemas = AgencySchemas("moci")
    for e in WORLD:
        body = registration_body(e)
        assert schemas.errors("registration", body) == []
        reply = moci_mapping.registration_to_canonical(body)
        assert CONTRACTS.errors(canonical("commercial-registration"), reply) == []
        registration = reply["registration"]
        assert (registration["cr_no"], registration["name_ar"]) == (e.cr_no, e.name_ar)
        assert registration["status"] == e.cr_status
        assert registration["expiry"] == e.cr_expiry.isoformat()
        assert [a["code"] for a in registration["activities"]] == [a.code for a in e.activities]
        assert [o["civil_id"] for o in registration["owners"]] == [o.civil_id for o in e.owners]


def test_every_membership_satisfies_occi_schema_and_maps_faithfully() -> None:
    schemas = AgencySchemas("occi")
    for e in MEMBERS:
        body = membership_body(e, TODAY)
        assert schemas.errors("membership", body) == []
        expired = e.occi_valid_until is not None and e.occi_valid_until < TODAY
        assert body["data"]["status"] == ("EXPIRED" if expired else "ACTIVE")
        reply = occi_mapping.membership_to_canonical(body)
        assert CONTRACTS.errors(canonical("chamber-membership"), reply) == []
        assert reply["membership"]["grade"] == e.occi_grade
        assert reply["membership"]["valid_until"] == str(e.occi_valid_until)


def test_every_standing_satisfies_the_labour_schema_and_maps_faithfully() -> None:
    schemas = AgencySchemas("labour")
    for e in WORLD:
        body = standing_body(e)
        assert schemas.errors("standing", body) == []
        reply = labour_mapping.standing_to_canonical(body)
        assert CONTRACTS.errors(canonical("labour-standing"), reply) == []
        standing = reply["standing"]
        assert standing["omanisation_ratio"] == e.omanisation_ratio
        assert standing["clearance"] == e.clearance
        assert standing.get("clearance_reason_ar") == e.clearance_reason_ar


@pytest.mark.parametrize(
    "simulator, body, schema",
    [
        (MociSimulator(), lambda e: registration_body(e), "registration"),
        (OcciSimulator(), lambda e: membership_body(e, TODAY), "membership"),
        (LabourSimulator(), lambda e: standing_body(e), "standing"),
    ],
    ids=["moci", "occi", "labour"],
)
def test_a_contract_breaking_release_breaks_the_agency_schema(
    simulator: RestAgencySimulator, body: Callable[[world.Establishment], Any], schema: str
) -> None:
    schemas = AgencySchemas(simulator.agency)
    status, broken = simulator.break_contract((200, body(MEMBERS[0])))
    assert status == 200 and schemas.errors(schema, broken) != []
    missing = simulator.error_body("NOT_FOUND_ANYWHERE", "no", "لا")
    status, broken = simulator.break_contract((404, missing))
    assert schemas.errors("not-found", broken) != []


def test_not_found_maps_to_found_false() -> None:
    for to_canonical in (
        moci_mapping.registration_to_canonical,
        occi_mapping.membership_to_canonical,
        labour_mapping.standing_to_canonical,
    ):
        assert to_canonical(None) == {"found": False}


def test_requests_become_the_agencies_own_addresses() -> None:
    request = {"cr_no": "1043217"}
    assert moci_mapping.registration_path(request) == "/api/v1/commercial-registrations/1043217"
    assert occi_mapping.membership_query(request) == {"crNo": "1043217"}
    assert labour_mapping.standing_path(request) == (
        "/api/labour/v1/establishments/1043217/standing"
    )


def test_an_empty_workforce_has_a_zero_ratio() -> None:
    body = standing_body(WORLD[0])
    body["manpower"] |= {"total_workers": 0, "omani_workers": 0, "expatriate_workers": 0}
    assert labour_mapping.standing_to_canonical(body)["standing"]["omanisation_ratio"] == 0.0


def test_request_examples_name_establishments_of_the_seed_0_world() -> None:
    for name in ("commercial-registration", "chamber-membership", "labour-standing"):
        contract = CONTRACTS.get(f"urn:muscat-hub:canonical:{name}-request:1.0")
        for example in contract.examples:
            assert world.by_cr(example["cr_no"], 0) is not None, (name, example)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
