"""An agency connector described as data: one class, configured per agency with its name, its
operations, its call policy, and the factories of its client and simulator.

Every agency package (rop, moci, occi, labour, electricity) exposes one `AgencyConnector` as
`connector`, the `hub.connectors` entry point; what differs between agencies lives in its
client (protocol, authentication, mapping) and simulator, not in this class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from hub.plugin import AgencyClient, CallPolicy, Endpoint, Operation, Simulator

ClientT = TypeVar("ClientT", bound=AgencyClient)
SimulatorT = TypeVar("SimulatorT", bound=Simulator)


@dataclass
class AgencyConnector(Generic[ClientT, SimulatorT]):
    """What the core knows of an agency: its operations, call policy, client and simulator.

    `policy` is a plain attribute: the conformance suite and tests set a quicker one."""

    name: str
    title: str
    policy: CallPolicy
    declared: Mapping[str, Operation]
    make_client: Callable[[Endpoint, CallPolicy], ClientT]
    make_simulator: Callable[[int], SimulatorT]
    # the client signs each body it sends with the municipality's identity when one is
    # configured (the runtime puts it on the endpoint): Invest Easy's decisions
    signs_bodies: bool = False

    def operations(self) -> Mapping[str, Operation]:
        return self.declared

    def client(self, endpoint: Endpoint) -> ClientT:
        return self.make_client(endpoint, self.policy)

    def simulator(self, seed: int = 0) -> SimulatorT:
        return self.make_simulator(seed)

    def with_policy(self, policy: CallPolicy) -> AgencyConnector[ClientT, SimulatorT]:
        """The same agency under another call policy (tests, tuned deployments)."""
        return dataclasses.replace(self, policy=policy)
