"""/readyz and /metrics beside the partner endpoints: what an orchestrator and Prometheus ask
of a hub process. Both read the store and broker only when asked, and neither raises.

Readiness combines two views: a bounded probe of the store and the broker from here, and
what this process's own connections (consumer, publisher, store pool) last saw, so a
connection lost or blocked turns /readyz 503 at once, naming it, until it is back."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from hub.api.shared_state import SharedStateCollector, circuit_states
from hub.bus.probe import BrokerProbe
from hub.metrics import exposition, links

PROBE_BOUND_S = 3.0  # a probe that does not answer in this long counts as down
# Few threads: a probe stuck on a silent connection ends at the store's own deadline.
_probes = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hub-readyz")


def store_reachable(sessions: sessionmaker[Session]) -> bool:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _bounded(check: Any, *args: Any) -> bool:
    try:
        return bool(_probes.submit(check, *args).result(timeout=PROBE_BOUND_S))
    except FutureTimeout:
        return False


def connection_problems() -> dict[str, str]:
    """This process's connections that are lost or blocked now, with why and for how long."""
    now = time.monotonic()
    return {
        kind: f"down ({state.reason or 'lost'}) for {now - state.since:.0f} s"
        for kind, state in links().items()
        if not state.up
    }


def readiness(
    sessions: sessionmaker[Session], broker: str | BrokerProbe
) -> tuple[bool, dict[str, Any]]:
    """Ready when the store and the broker answer and none of this process's connections is
    lost; circuits are reported, not required (an agency outage is what the ladder is for,
    not a reason to stop taking messages)."""
    probe = BrokerProbe(broker, ttl_s=0) if isinstance(broker, str) else broker
    store = _probes.submit(store_reachable, sessions)
    broker_ok = _bounded(probe.reachable)
    try:
        store_ok = bool(store.result(timeout=PROBE_BOUND_S))
    except FutureTimeout:
        store_ok = False
    try:
        circuits: dict[str, str] | str = circuit_states(sessions) if store_ok else "unknown"
    except Exception:
        circuits = "unknown"
    problems = connection_problems()
    ready = store_ok and broker_ok and not problems
    checks: dict[str, Any] = {
        "store": "up" if store_ok else "down",
        "broker": "up" if broker_ok else "down",
        "circuits": circuits,
    }
    if problems:
        checks["connections"] = problems
    return ready, {"status": "ready" if ready else "not-ready", "checks": checks}


def health_router(
    sessions: sessionmaker[Session],
    broker_url: str,
    probe_cache_s: float = 5.0,
    *,
    metrics: bool = True,
) -> APIRouter:
    """/readyz and (unless served elsewhere) /metrics, sharing one broker probe looked at
    most once per `probe_cache_s`."""
    router = APIRouter(tags=["health"])
    probe = BrokerProbe(broker_url, ttl_s=probe_cache_s)
    collector = SharedStateCollector(sessions, probe)

    # Kept out of the partner OpenAPI document: it is for the orchestrator, not partners.
    @router.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready, body = await run_in_threadpool(readiness, sessions, probe)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def scrape() -> Response:
        payload = await run_in_threadpool(exposition, collector)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    if metrics:
        router.add_api_route(
            "/metrics",
            scrape,
            methods=["GET"],
            summary="Prometheus metrics",
            include_in_schema=False,
        )
    return router
