"""Where the ROP contract lives and the names in it, shared by the client and the simulator.

The WSDL and XSD are packaged under `contracts/agencies/rop`; they are found through
`contracts.CONTRACTS_DIR` so an installed hub reads the same files as a checkout.
"""

from __future__ import annotations

from lxml import etree

from contracts import CONTRACTS_DIR
from hub.plugin import load_schema

CONTRACT_DIR = CONTRACTS_DIR / "agencies" / "rop"
WSDL_PATH = CONTRACT_DIR / "rop.wsdl"
XSD_PATH = CONTRACT_DIR / "rop.xsd"
XSD_NAME = XSD_PATH.name

NAMESPACE = "urn:rop.gov.om:services:1"
BINDING = f"{{{NAMESPACE}}}RopServicesSoapBinding"
VEHICLE_INQUIRY_REQUEST = f"{{{NAMESPACE}}}VehicleInquiryRequest"
VEHICLE_INQUIRY_RESPONSE = f"{{{NAMESPACE}}}VehicleInquiryResponse"
CIVIL_DEFENCE_CERTIFICATE_REQUEST = f"{{{NAMESPACE}}}CivilDefenceCertificateRequest"
PARKING_VIOLATION_SETTLED_REQUEST = f"{{{NAMESPACE}}}ParkingViolationSettledRequest"
# The push ROP sends to the hub; described in rop.wsdl, served by the hub.
NOTIFICATIONS_SERVICE = "RopNotifications"


def rop_schema() -> etree.XMLSchema:
    """rop.xsd compiled; each client or simulator compiles once and keeps its own, because a
    validator's error log must not be shared between threads."""
    return load_schema(XSD_PATH)
