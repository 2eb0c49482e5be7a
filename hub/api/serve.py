"""The partner endpoints served beside the workers by `hub serve`: uvicorn on
HUB_HTTP_HOST:HUB_HTTP_PORT (port 0: any free port, printed), with its own broker connection."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from hub.api.app import build_services, create_app, create_ops_app
from hub.api.mtls import server_tls
from hub.api.slow_clients import partner_server_options
from hub.audit.sealing import Checkpointer
from hub.bus.publisher import Publisher
from hub.config import Settings
from hub.contracts.registry import ContractRegistry
from hub.errors import ConfigurationError
from hub.serving import LoopbackServer
from hub.store.engine import make_engine, make_session_factory


class PartnerEndpoints:
    """The REST and SOAP server of one hub process; `stop()` closes it and its publisher."""

    @classmethod
    def before_runtime(cls, settings: Settings) -> PartnerEndpoints:
        """Endpoints with a store connection of their own, served before the runtime waits
        for the store and the broker: /readyz then answers 503 naming what is down instead of
        refusing connections. Neither the engine nor the publisher connects until asked."""
        engine = make_engine(
            settings.resolved_database_url, pool_size=4, timeout_s=settings.store_timeout_s
        )
        sealer = Checkpointer.from_settings(settings)
        return cls(settings, make_session_factory(engine), ContractRegistry.load(), sealer)

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        contracts: ContractRegistry,
        sealer: Checkpointer | None = None,
    ) -> None:
        self._publisher = Publisher(
            settings.resolved_broker_url,
            heartbeat_s=settings.broker_heartbeat_s,
            confirm_timeout_s=settings.broker_confirm_timeout_s,
            kind="api-publisher",
        )
        services = build_services(settings, sessions, contracts, self._publisher, sealer)
        app = create_app(services)
        self._server = LoopbackServer(
            app,
            settings.http_host,
            settings.http_port,
            server_tls(settings),
            **partner_server_options(settings),
        )
        self._ops: LoopbackServer | None = None
        if settings.ops_port is not None:  # /metrics and /docs there, not on the partner port
            ops_app = create_ops_app(services, app)
            self._ops = LoopbackServer(ops_app, settings.http_host, settings.ops_port)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def ops_url(self) -> str:
        """Where /metrics and /docs are served: the operations port, or the partner port."""
        return self._ops.url if self._ops is not None else self._server.url

    def start(self) -> PartnerEndpoints:
        started: list[LoopbackServer] = []
        for server in [self._server] + ([self._ops] if self._ops is not None else []):
            try:
                started.append(server.start())
            except RuntimeError:
                for running in started:
                    running.stop()
                self._publisher.close()
                raise ConfigurationError(
                    f"cannot serve the partner endpoints on {server.url} (is the port in use?)"
                ) from None
        return self

    def stop(self) -> None:
        if self._ops is not None:
            self._ops.stop()
        self._server.stop()
        self._publisher.close()

    def __enter__(self) -> PartnerEndpoints:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
