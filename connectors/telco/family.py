"""One `AgencyConnector` per telco, built from its identity: the same operations, client and
simulator classes, each telco with its own name, SMSC identity, tariff and throughput."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from connectors.agency import AgencyConnector
from connectors.telco.client import TelcoClient
from connectors.telco.identity import Telco
from connectors.telco.simulator import TelcoSimulator
from hub.plugin import CallPolicy, Endpoint, Operation

OPERATIONS: Mapping[str, Operation] = {
    "charge": Operation(
        name="charge",
        description="Charge a subscriber's balance (idempotent on `reference`); the telco's "
        "service fee is added per its tariff. Declined charges are answers, not errors.",
        request_contract="urn:muscat-hub:canonical:telco-charge-request:1.0",
        response_contract="urn:muscat-hub:canonical:telco-charge-response:1.0",
    ),
    "send_sms": Operation(
        name="send_sms",
        description="Send an SMS from the short code through the telco's SMSC (SMPP 3.4 "
        "submit_sm; UCS-2 and concatenated parts when needed).",
        request_contract="urn:muscat-hub:canonical:sms-send-request:1.0",
        response_contract="urn:muscat-hub:canonical:sms-send-response:1.0",
    ),
}

# Charging answers in about a second; the SMSC within its response timeout.
POLICY = CallPolicy(timeout_s=5.0, backoff_initial_s=0.5, backoff_max_s=5.0, rate_limit_per_s=50.0)

TelcoConnector = AgencyConnector[TelcoClient, TelcoSimulator]


def _client(telco: Telco, endpoint: Endpoint, policy: CallPolicy) -> TelcoClient:
    return TelcoClient(telco, endpoint, policy)


def _simulator(telco: Telco, seed: int) -> TelcoSimulator:
    return TelcoSimulator(seed, telco=telco)


def telco_connector(telco: Telco, policy: CallPolicy = POLICY) -> TelcoConnector:
    return AgencyConnector(
        name=telco.name,
        title=telco.title,
        policy=policy,
        declared=OPERATIONS,
        make_client=partial(_client, telco),
        make_simulator=partial(_simulator, telco),
    )
