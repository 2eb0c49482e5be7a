"""The hub's side of the ROP web services: which canonical operation is which SOAP operation.

Everything else (zeep over httpx, WS-Security UsernameToken, reply checks against rop.xsd,
error classes, health) is the agency-neutral `SoapAgencyClient`.
"""

from __future__ import annotations

from connectors.rop import mapping
from connectors.rop.contract import BINDING, WSDL_PATH, XSD_NAME, rop_schema
from connectors.soap.client import SoapAgencyClient, SoapOperation, SoapService
from hub.plugin import CallPolicy, Endpoint

AGENCY = "rop"

OPERATIONS: dict[str, SoapOperation] = {
    "vehicle_inquiry": SoapOperation(
        "VehicleInquiry", mapping.vehicle_inquiry_request, mapping.vehicle_inquiry_response
    ),
    "civil_defence_certificate": SoapOperation(
        "CivilDefenceCertificate",
        mapping.civil_defence_certificate_request,
        mapping.civil_defence_certificate_response,
    ),
    "parking_violation_settled": SoapOperation(
        "ParkingViolationSettled",
        mapping.parking_violation_settled_request,
        mapping.parking_violation_settled_response,
    ),
}

SERVICE = SoapService(
    agency=AGENCY,
    wsdl_path=WSDL_PATH,
    binding=BINDING,
    schema=rop_schema,
    schema_name=XSD_NAME,
    operations=OPERATIONS,
)


class RopClient(SoapAgencyClient):
    """One ROP endpoint (credentials `username`, `password`: its WS-Security UsernameToken)."""

    def __init__(self, endpoint: Endpoint, policy: CallPolicy) -> None:
        super().__init__(SERVICE, endpoint, policy)
