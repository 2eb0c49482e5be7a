"""Where the electricity company's contract lives and the names in it, shared by the client and
the simulator.

The WSDL and XSD are packaged under `contracts/agencies/electricity`; they are found through
`contracts.CONTRACTS_DIR` so an installed hub reads the same files as a checkout.
"""

from __future__ import annotations

from lxml import etree

from contracts import CONTRACTS_DIR
from hub.plugin import load_schema

CONTRACT_DIR = CONTRACTS_DIR / "agencies" / "electricity"
WSDL_PATH = CONTRACT_DIR / "electricity.wsdl"
XSD_PATH = CONTRACT_DIR / "electricity.xsd"
XSD_NAME = XSD_PATH.name

NAMESPACE = "urn:medc.om:services:1"
SERVICE_NAME = "ElectricityServices"
BINDING = f"{{{NAMESPACE}}}ElectricityServicesSoapBinding"
ACCOUNT_STANDING_REQUEST = f"{{{NAMESPACE}}}AccountStandingRequest"
NEW_CONNECTION_REQUEST = f"{{{NAMESPACE}}}NewConnectionRequest"
# The push the company sends to the hub; described in electricity.wsdl, served by the hub.
NOTIFICATIONS_SERVICE = "ElectricityNotifications"


def electricity_schema() -> etree.XMLSchema:
    """electricity.xsd compiled; each client or simulator compiles once and keeps its own,
    because a validator's error log must not be shared between threads."""
    return load_schema(XSD_PATH)
