"""The electricity distribution company connector (Muscat Electricity Distribution Company,
SOAP 1.1, WS-Security UsernameToken), registered as the `hub.connectors` plugin `electricity`.

Credentials: `username` and `password` of the UsernameToken the company issued to the
municipality (the simulator accepts `hub` / `electricity-sim-secret` unless told otherwise).
The company's notification to the hub (ConnectionCompleted) is described in the same WSDL as
the service `ElectricityNotifications`; the hub serves it, this connector does not call it.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.agency import AgencyConnector
from connectors.electricity import data
from connectors.electricity.client import ElectricityClient
from connectors.electricity.simulator import ElectricitySimulator
from hub.plugin import CallPolicy, Operation

OPERATIONS: Mapping[str, Operation] = {
    "account_standing": Operation(
        name="account_standing",
        description="Holder, premises, status and arrears of an electricity account "
        "(AccountStanding).",
        request_contract="urn:muscat-hub:canonical:electricity-account-standing-request:1.0",
        response_contract="urn:muscat-hub:canonical:electricity-account-standing-response:1.0",
        reuse_answer_s=3600.0,
    ),
    "new_connection_request": Operation(
        name="new_connection_request",
        description="File a new-connection request for a permitted building; the company "
        "returns the same request number for the same permit (NewConnection).",
        request_contract="urn:muscat-hub:canonical:electricity-new-connection-request:1.0",
        response_contract="urn:muscat-hub:canonical:electricity-new-connection-response:1.0",
    ),
}


connector = AgencyConnector(
    name="electricity",
    title="Muscat Electricity Distribution Company",
    # The customer system is slower than ROP's register, especially at month end when
    # bills run; 8 s per attempt, and the company asks consumers to stay under 10 per second.
    policy=CallPolicy(
        timeout_s=8.0, backoff_initial_s=0.5, backoff_max_s=8.0, rate_limit_per_s=10.0
    ),
    declared=OPERATIONS,
    make_client=ElectricityClient,
    make_simulator=ElectricitySimulator,
)

__all__ = ["ElectricityClient", "ElectricitySimulator", "connector", "data"]
