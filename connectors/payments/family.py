"""One payment provider as a `hub.connectors` plugin: the same three operations and API shape
for every provider, its identity (connectors.payments.identity) telling them apart."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from connectors.agency import AgencyConnector
from connectors.payments.client import PaymentClient
from connectors.payments.identity import Provider
from connectors.payments.simulator import PaymentSimulator
from hub.plugin import CallPolicy, Endpoint, Operation


def _canonical(name: str) -> str:
    return f"urn:muscat-hub:canonical:{name}:1.0"


OPERATIONS: Mapping[str, Operation] = {
    "create_payment": Operation(
        name="create_payment",
        description="A payment page for one case's fee; idempotent by the hub's reference.",
        request_contract=_canonical("payment-create-request"),
        response_contract=_canonical("payment-create-response"),
    ),
    "payment_status": Operation(
        name="payment_status",
        description="What the provider knows of one payment (asked when no notification came).",
        request_contract=_canonical("payment-status-request"),
        response_contract=_canonical("payment-status-response"),
    ),
    "refund_payment": Operation(
        name="refund_payment",
        description="Refund a paid payment in full; idempotent by the refund reference.",
        request_contract=_canonical("payment-refund-request"),
        response_contract=_canonical("payment-refund-response"),
    ),
}


def _simulator(provider: Provider, seed: int) -> PaymentSimulator:
    kind = type(f"{provider.name.title()}Simulator", (PaymentSimulator,), {"provider": provider})
    simulator: PaymentSimulator = kind(seed)
    return simulator


def _client(provider: Provider, endpoint: Endpoint, policy: CallPolicy) -> PaymentClient:
    return PaymentClient(provider, endpoint, policy)


def payment_connector(provider: Provider) -> AgencyConnector[PaymentClient, PaymentSimulator]:
    return AgencyConnector(
        name=provider.name,
        title=provider.title,
        # Payment APIs answer within seconds; a create is retried on the hub's ladder.
        policy=CallPolicy(timeout_s=5.0, attempts=2, rate_limit_per_s=20.0),
        declared=OPERATIONS,
        make_client=partial(_client, provider),
        make_simulator=partial(_simulator, provider),
    )
