"""The hub's side of the electricity company's web services: which canonical operation is which
SOAP operation.

Everything else (zeep over httpx, WS-Security UsernameToken, reply checks against
electricity.xsd, error classes, health) is the shared `connectors.soap.client.SoapAgencyClient`.
"""

from __future__ import annotations

from connectors.electricity import mapping
from connectors.electricity.contract import BINDING, WSDL_PATH, XSD_NAME, electricity_schema
from connectors.soap.client import SoapAgencyClient, SoapOperation, SoapService
from hub.plugin import CallPolicy, Endpoint

AGENCY = "electricity"

OPERATIONS: dict[str, SoapOperation] = {
    "account_standing": SoapOperation(
        "AccountStanding", mapping.account_standing_request, mapping.account_standing_response
    ),
    "new_connection_request": SoapOperation(
        "NewConnection", mapping.new_connection_request, mapping.new_connection_response
    ),
}

SERVICE = SoapService(
    agency=AGENCY,
    wsdl_path=WSDL_PATH,
    binding=BINDING,
    schema=electricity_schema,
    schema_name=XSD_NAME,
    operations=OPERATIONS,
)


class ElectricityClient(SoapAgencyClient):
    """One company endpoint (credentials `username`, `password`: its WS-Security UsernameToken)."""

    def __init__(self, endpoint: Endpoint, policy: CallPolicy) -> None:
        super().__init__(SERVICE, endpoint, policy)
