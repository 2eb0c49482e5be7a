"""Wire one hub process from its settings: store, contracts, connectors (and, in the embedded
default, their simulators on loopback), gateway, flows and pipeline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import hub.bus  # noqa: F401  (registers the embedded transport's URL alias with kombu)
from hub.agencies.circuits import StoreCircuitListener, make_breakers
from hub.agencies.connector import (
    AgencyClient,
    Connector,
    Endpoint,
    MessageChannel,
    load_connectors,
)
from hub.agencies.exchanges import ExchangeSeals, body_signing, ws_signing
from hub.agencies.gateway import AgencyGateway
from hub.agencies.simulators import (
    RunningSimulator,
    agencies_to_simulate,
    serve_simulators,
    stop_simulators,
)
from hub.audit.sealing import Checkpointer, SealTimer
from hub.config import Settings
from hub.contracts.registry import ContractRegistry
from hub.documents.desk import DocumentDesk
from hub.flows import FlowRegistry, default_flows
from hub.flows.payment_billing import PaymentBilling
from hub.messages.settlement import AfterCommit
from hub.pipeline import Pipeline
from hub.runtime.sms_inbound import SmsInbound
from hub.runtime.waiting import wait_for
from hub.store.engine import make_engine, make_session_factory
from hub.store.migrate import upgrade


@dataclass
class HubRuntime:
    """Everything a hub process needs; close it to stop simulators and agency clients."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    contracts: ContractRegistry
    connectors: dict[str, Connector]
    clients: dict[str, AgencyClient]
    gateway: AgencyGateway
    flows: FlowRegistry
    sealer: Checkpointer | None = None  # signs audit checkpoints; every unit of work gets it
    seal_timer: SealTimer | None = None  # seals the unsealed tail on a timer and at close
    simulators: dict[str, RunningSimulator] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    inbound: SmsInbound | None = None

    @property
    def channels(self) -> dict[str, MessageChannel]:
        """The clients that also receive (the telcos' SMPP sessions)."""
        return {n: c for n, c in self.clients.items() if isinstance(c, MessageChannel)}

    def open_channels(self) -> None:
        """Bind each telco's SMPP session in this runtime's loop (the worker's, running) and
        publish residents' messages to municipal.in; `close` unbinds them."""
        channels = self.channels
        if not channels or self.inbound is not None:
            return
        inbound = self.inbound = SmsInbound(self.broker_url)

        def listen() -> None:
            for channel in channels.values():
                channel.listen(inbound.receive)

        self.loop.call_soon_threadsafe(listen)

    @property
    def broker_url(self) -> str:
        return self.settings.resolved_broker_url

    def pipeline(self, after_commit: AfterCommit | None = None) -> Pipeline:
        return Pipeline(
            self.sessions,
            self.contracts,
            self.flows,
            self.gateway,
            self.settings.retry_delays_s,
            after_commit,
            sealer=self.sealer,
            max_unexpected_errors=self.settings.max_unexpected_errors,
        )

    def close(self) -> None:
        async def close_clients() -> None:
            for client in self.clients.values():
                await client.aclose()

        self.loop.run_until_complete(close_clients())  # unbinds the SMPP sessions too
        self.loop.close()
        if self.inbound is not None:
            self.inbound.close()
        stop_simulators(self.simulators, self.settings.data_dir)
        if self.seal_timer is not None:
            self.seal_timer.stop()  # seal on shutdown: no tail left open until the next start
        self.engine.dispose()

    def __enter__(self) -> HubRuntime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def start_simulators(
    connectors: dict[str, Connector], names: list[str], data_dir: Path | None = None
) -> dict[str, RunningSimulator]:
    """Serve each named agency's simulator on a free loopback port; with `data_dir`, record
    where in its simulators.json so `hub simulators fault` can reach them."""
    return serve_simulators(connectors, names, registry_dir=data_dir)


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def payment_billing(settings: Settings) -> PaymentBilling:
    """How payments are made, and which decided cases are billed (none while
    HUB_PAYMENTS_BILLING is off; a fine the payer chose to pay is billed regardless)."""
    services = tuple(settings.payments_billed_services) if settings.payments_billing else ()
    return PaymentBilling(settings.payment_provider, settings.payment_return_url, services)


def build_runtime(settings: Settings, *, migrate: bool = True) -> HubRuntime:
    """Build the hub from settings; agencies without a URL get their simulator when allowed."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)  # store, keys, journal, broker: the service user's alone
    connectors = load_connectors()
    unconfigured = [name for name in connectors if name not in settings.agencies]
    simulated = agencies_to_simulate(settings, unconfigured)  # or the error naming the URL
    # The worker's store threads (one per delivery in flight, two more), the API's and a spare.
    engine = make_engine(
        settings.resolved_database_url,
        pool_size=settings.prefetch + 4,
        timeout_s=settings.store_timeout_s,
    )
    wait_for("store", lambda: _ping(engine), settings.startup_wait_s)
    if migrate:
        upgrade(engine)
    contracts = ContractRegistry.load()
    simulators = start_simulators(connectors, simulated, settings.data_dir) if simulated else {}
    bodies = body_signing(settings)  # for connectors that sign what they send
    signing = {n: bodies for n, c in connectors.items() if getattr(c, "signs_bodies", False)}
    endpoints = {
        name: Endpoint(
            cfg.url, cfg.credentials, ws_signing(settings) if cfg.ws_security else signing.get(name)
        )
        for name, cfg in settings.agencies.items()
    } | {
        name: Endpoint(run.server.url, dict(run.simulator.credentials), signing.get(name))
        for name, run in simulators.items()
    }
    clients = {
        name: connectors[name].client(endpoints[name]) for name in endpoints if name in connectors
    }
    sessions = make_session_factory(engine)
    sealer = Checkpointer.from_settings(settings)  # signs audit checkpoints
    breakers = make_breakers(
        connectors, lambda: StoreCircuitListener(sessions), settings.circuit_reset_s
    )
    return HubRuntime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        contracts=contracts,
        connectors=connectors,
        clients=clients,
        gateway=AgencyGateway(
            connectors,
            clients,
            contracts,
            breakers,
            settings.rate_limits,
            ExchangeSeals.from_settings(settings, sessions),
        ),
        flows=default_flows(payment_billing(settings), DocumentDesk.from_settings(settings)),
        sealer=sealer,
        seal_timer=SealTimer(sealer, sessions, settings.audit_seal_interval_s).start(),
        simulators=simulators,
        endpoints=endpoints,
    )
