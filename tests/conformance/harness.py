"""One installed connector and its simulator on loopback, called through the hub's gateway as
the flows call it, but fast: the suite shortens the connector's policy and the simulator's
stalls so every connector runs in seconds.

What a connector must allow for that (part of conformance): `policy` is a plain attribute its
`client()` reads, and a simulator may expose `latency_s` and `stall_s`, which the suite lowers.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.agencies.connector import CallContext, Connector, Endpoint, Health, Simulator
from hub.agencies.gateway import AgencyGateway, CallLog
from hub.contracts.registry import ContractRegistry
from hub.serving import LoopbackServer

TIMEOUT_S = 0.5  # per attempt; the gateway's own guard is twice this
SIMULATED_LATENCY_S = 0.1  # well inside the timeout: "latency" must still answer
SIMULATED_STALL_S = 5.0  # a stalled reply is never awaited that long


def fast(connector: Connector, attempts: int) -> Connector:
    """A copy of `connector` whose policy times out quickly and retries `attempts` times with
    tiny backoff, no rate limit and a circuit that never opens during the suite."""
    policy = dataclasses.replace(
        connector.policy,
        timeout_s=TIMEOUT_S,
        attempts=attempts,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        rate_limit_per_s=None,
    )
    if hasattr(policy, "circuit_failures"):
        policy = dataclasses.replace(policy, circuit_failures=10_000)
    quick = copy.copy(connector)
    try:
        quick.policy = policy
    except AttributeError as exc:
        raise AssertionError(
            f"connector {connector.name!r}: the suite must be able to set `policy` ({exc})"
        ) from None
    return quick


@dataclass
class AgencyUnderTest:
    """An installed connector, its simulator served on loopback, and the hub's contracts."""

    connector: Connector
    simulator: Simulator
    server: LoopbackServer
    contracts: ContractRegistry
    calls: CallLog = field(default_factory=CallLog)

    @property
    def name(self) -> str:
        return self.connector.name

    def endpoint(self, credentials: Mapping[str, str] | None = None) -> Endpoint:
        sent = self.simulator.credentials if credentials is None else credentials
        return Endpoint(self.server.url, dict(sent))

    def call(
        self,
        operation: str,
        request: Mapping[str, Any],
        *,
        attempts: int = 1,
        correlation_id: str | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        """One gateway call with a fresh client and gateway (fresh circuit), closed after."""
        quick = fast(self.connector, attempts)
        self.calls = CallLog()
        ctx = CallContext(correlation_id or f"conformance-{uuid.uuid4()}", f"msg-{uuid.uuid4()}")

        async def run() -> Mapping[str, Any]:
            client = quick.client(self.endpoint(credentials))
            gateway = AgencyGateway({self.name: quick}, {self.name: client}, self.contracts)
            try:
                return await gateway.call(self.name, operation, request, ctx, self.calls)
            finally:
                await client.aclose()

        return asyncio.run(run())

    def health(self) -> Health:
        quick = fast(self.connector, 1)

        async def run() -> Health:
            client = quick.client(self.endpoint())
            try:
                return await client.health()
            finally:
                await client.aclose()

        return asyncio.run(run())

    def examples(self, operation: str) -> list[Mapping[str, Any]]:
        """The request examples of `operation`'s request contract."""
        op = self.connector.operations()[operation]
        return list(self.contracts.get(op.request_contract).examples)

    def first_example(self) -> tuple[str, Mapping[str, Any]]:
        """The first operation with its first request example: the one fault tests ask."""
        operation = next(iter(self.connector.operations()))
        return operation, self.examples(operation)[0]


def serve(connector: Connector, contracts: ContractRegistry) -> AgencyUnderTest:
    """Start `connector`'s simulator (seed 0) on a free loopback port, with short stalls."""
    simulator = connector.simulator(0)
    for attribute, value in (("latency_s", SIMULATED_LATENCY_S), ("stall_s", SIMULATED_STALL_S)):
        if hasattr(simulator, attribute):
            setattr(simulator, attribute, value)
    server = LoopbackServer(simulator.app).start()
    return AgencyUnderTest(connector, simulator, server, contracts)
