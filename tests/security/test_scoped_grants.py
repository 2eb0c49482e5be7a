"""Item 10 of the security review: a grant may carry a scope. Civil ids in record responses
(REST and SOAP) are masked unless the partner's grant for that operation says `unmasked`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from hub.api.grants import UnknownGrant, check_grants, soap_grant
from tests.integration.partner_hub import PartnerHub, building_permit, parking_permit
from tests.integration.test_api_soap import RECORDS, envelope

CIVIL_ID = "09123456"  # what partner_hub's records carry
MASKED = "******56"
PERMIT = "MCT-BP-2026-800001"
MR = "urn:muscat-hub:partners:municipal-records:1"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    with PartnerHub(tmp_path_factory.mktemp("scoped")) as served:
        served.insert(building_permit(PERMIT), parking_permit("PKA-2026-8000001", ("8001", "S")))
        yield served


def _rest(hub: PartnerHub, secret: str) -> tuple[str, list[str]]:
    headers = {"X-Api-Key": secret}
    permit = httpx.get(f"{hub.url}/api/v1/building-permits/{PERMIT}", headers=headers)
    parking = httpx.get(
        f"{hub.url}/api/v1/parking-permits",
        params={"plate_number": "8001", "plate_code": "S"},
        headers=headers,
    )
    assert permit.status_code == 200 and parking.status_code == 200, permit.text
    return permit.json()["owner_civil_id"], [p["civil_id"] for p in parking.json()]


def _soap(hub: PartnerHub, credentials: tuple[str, str]) -> list[str]:
    payloads = [
        f"<mr:GetBuildingPermitRequest><mr:PermitNo>{PERMIT}</mr:PermitNo>"
        "</mr:GetBuildingPermitRequest>",
        "<mr:GetParkingPermitsRequest><mr:PlateNumber>8001</mr:PlateNumber>"
        "<mr:PlateCode>S</mr:PlateCode></mr:GetParkingPermitsRequest>",
    ]
    found = []
    for payload in payloads:
        reply = httpx.post(
            f"{hub.url}/soap/{RECORDS}",
            content=envelope(payload, credentials),
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        assert reply.status_code == 200, reply.text
        root = etree.fromstring(reply.content)
        found += [n.text or "" for n in root.iter(f"{{{MR}}}OwnerCivilId", f"{{{MR}}}CivilId")]
    return found


SOAP_READS = [soap_grant(RECORDS, "GetBuildingPermit"), soap_grant(RECORDS, "GetParkingPermits")]


def test_civil_ids_are_masked_for_a_plain_grant(hub: PartnerHub) -> None:
    _, secret = hub.partner("building-permits.read", "parking-permits.read")
    assert _rest(hub, secret) == (MASKED, [MASKED])
    name, secret = hub.partner(*SOAP_READS)
    assert _soap(hub, (name, secret)) == [MASKED, MASKED]


def test_the_unmasked_scope_shows_civil_ids_in_full(hub: PartnerHub) -> None:
    _, secret = hub.partner("building-permits.read:unmasked", "parking-permits.read:unmasked")
    assert _rest(hub, secret) == (CIVIL_ID, [CIVIL_ID])
    name, secret = hub.partner(*[f"{grant}:unmasked" for grant in SOAP_READS])
    assert _soap(hub, (name, secret)) == [CIVIL_ID, CIVIL_ID]


def test_a_scope_applies_to_its_own_grant_only(hub: PartnerHub) -> None:
    _, secret = hub.partner("building-permits.read:unmasked", "parking-permits.read")
    assert _rest(hub, secret) == (CIVIL_ID, [MASKED])


@pytest.mark.parametrize(
    "grant", ["push.moci.cr-status:unmasked", "licences.read:everything", "nope.read:unmasked"]
)
def test_a_scope_a_grant_cannot_carry_is_refused(grant: str) -> None:
    with pytest.raises(UnknownGrant):
        check_grants([grant])
