"""The partner-facing HTTP app: REST under /api/v1 (OpenAPI 3.1 at /openapi.json), SOAP
under /soap/<Service>, /healthz; one body-size limit and one request timeout for all of it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.orm import Session, sessionmaker
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hub.api.auth_throttle import AuthThrottle
from hub.api.docs_page import docs_endpoint
from hub.api.gate import PartnerGate
from hub.api.health import health_router
from hub.api.investeasy import investeasy_router
from hub.api.isnad import isnad_router
from hub.api.limits import BodySizeLimit, RequestTimeout
from hub.api.message_signatures import InboundSignatures
from hub.api.mtls import partner_certificates
from hub.api.ops import OpsGuard
from hub.api.partners import PartnerRegistry, SecretHasher, load_pepper
from hub.api.payment_notifications import NotifyKeys, payment_router
from hub.api.problems import install_problem_handlers, problem_components
from hub.api.pushes import PushService
from hub.api.records import RecordReader
from hub.api.rest import rest_router
from hub.api.soap_services import (
    electricity_notifications,
    municipal_records,
    rop_notifications,
)
from hub.audit.sealing import Checkpointer
from hub.bus.publisher import Publisher
from hub.config import Settings
from hub.contracts.registry import ContractRegistry
from hub.flows.payment_notices import NoticeDesk

TITLE = "Muscat integration hub: partner endpoints"
API_VERSION = "1.0.0"
DESCRIPTION = (
    "Municipal records for partner agencies, and the agencies' pushes to the municipality. "
    "Every call carries the partner's secret in `X-Api-Key` and needs a grant for its "
    "operation; errors are RFC 9457 problem documents. The same records are served over "
    "SOAP 1.1 at /soap/MunicipalRecords (WSDL at ?wsdl)."
)


@dataclass(frozen=True)
class ApiServices:
    """What the endpoints use; built from settings for a real hub, by hand in tests."""

    gate: PartnerGate
    records: RecordReader
    pushes: PushService
    contracts: ContractRegistry
    settings: Settings
    sessions: sessionmaker[Session] | None = None  # for /readyz and /metrics
    payments: NoticeDesk | None = None  # the payment providers' notifications


def build_services(
    settings: Settings,
    sessions: sessionmaker[Session],
    contracts: ContractRegistry,
    publisher: Publisher,
    sealer: Checkpointer | None = None,
) -> ApiServices:
    """`sealer` signs audit checkpoints when due, for every unit of work the endpoints open."""
    registry = PartnerRegistry(sessions, SecretHasher(load_pepper(settings)), sealer)
    gate = PartnerGate(
        sessions,
        registry,
        rate_limit=settings.partner_rate_limit,
        window_s=settings.partner_rate_window_s,
        auth_fail_limit=settings.auth_fail_limit,
        auth_fail_window_s=settings.auth_fail_window_s,
        certificates=partner_certificates(settings),
    )
    return ApiServices(
        gate=gate,
        records=RecordReader(sessions),
        pushes=PushService(sessions, contracts, publisher, sealer),
        contracts=contracts,
        settings=settings,
        sessions=sessions,
        payments=NoticeDesk(sessions, contracts, sealer),
    )


def create_app(services: ApiServices) -> FastAPI:
    settings = services.settings
    app = FastAPI(
        title=TITLE,
        version=API_VERSION,
        description=DESCRIPTION,
        redoc_url=None,
        docs_url=None,  # Swagger UI loads scripts from a CDN: /docs is served below instead
        redirect_slashes=False,  # its redirects named the request's Host header
    )
    install_problem_handlers(app)
    app.include_router(
        rest_router(services.gate, services.records, services.pushes, services.contracts)
    )
    app.include_router(investeasy_router(services.gate, services.pushes, services.contracts))
    app.include_router(isnad_router(services.gate, services.pushes, services.contracts))
    if services.payments is not None:
        pushes = services.pushes
        throttle = AuthThrottle(settings.auth_fail_limit, settings.auth_fail_window_s, time.time)
        app.include_router(
            payment_router(
                services.payments,
                NotifyKeys(settings),
                lambda rows: pushes.publish(list(rows)),
                throttle,
            )
        )
    limit = settings.http_max_body_bytes
    signatures = InboundSignatures.from_settings(settings)
    for soap in (
        municipal_records(services.records, services.gate, max_body_bytes=limit),
        electricity_notifications(services.pushes, services.gate, max_body_bytes=limit),
        rop_notifications(services.pushes, services.gate, max_body_bytes=limit),
    ):
        soap.public_base_url = settings.public_base_url
        soap.signatures = signatures
        app.add_route(soap.path, soap.handle, methods=["GET", "POST"], include_in_schema=False)

    @app.get("/healthz", tags=["health"], summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "alive"}

    separate = settings.ops_port is not None  # /metrics and /docs on the operations port
    if services.sessions is not None:
        app.include_router(
            health_router(
                services.sessions,
                settings.resolved_broker_url,
                settings.health_probe_cache_s,
                metrics=not separate,
            )
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=TITLE, version=API_VERSION, description=DESCRIPTION, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                problem_components()
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    if not separate:
        app.add_route("/docs", docs_endpoint(openapi), methods=["GET"], include_in_schema=False)
        if settings.ops_token is not None:
            app.add_middleware(OpsGuard, token=settings.ops_token.get_secret_value())
    app.add_middleware(BodySizeLimit, max_bytes=settings.http_max_body_bytes)
    app.add_middleware(RequestTimeout, seconds=settings.http_request_timeout_s)
    proxies = [str(network) for network in settings.trusted_proxy_networks]
    if proxies:  # outermost: every layer below sees the client the proxy named
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    return app


def create_ops_app(services: ApiServices, partner_app: FastAPI) -> FastAPI:
    """The operations port's app (HUB_OPS_PORT): /metrics, /docs of the partner API, /readyz
    and /healthz; behind HUB_OPS_TOKEN when set."""
    settings = services.settings
    app = FastAPI(
        title=f"{TITLE}: operations",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "alive"}

    if services.sessions is not None:
        app.include_router(
            health_router(
                services.sessions, settings.resolved_broker_url, settings.health_probe_cache_s
            )
        )
    app.add_route("/docs", docs_endpoint(partner_app.openapi), methods=["GET"])
    if settings.ops_token is not None:
        app.add_middleware(OpsGuard, token=settings.ops_token.get_secret_value())
    return app
