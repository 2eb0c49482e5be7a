"""/readyz and /metrics beside the partner endpoints: what an orchestrator and Prometheus ask
of a hub process. Both read the store and broker only when asked, and neither raises."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from hub.api.shared_state import SharedStateCollector, circuit_states
from hub.bus.probe import broker_reachable
from hub.metrics import exposition


def store_reachable(sessions: sessionmaker[Session]) -> bool:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def readiness(sessions: sessionmaker[Session], broker_url: str) -> tuple[bool, dict[str, Any]]:
    """Ready when the store and the broker answer; circuits are reported, not required (an
    agency outage is what the ladder is for, not a reason to stop taking messages)."""
    store_ok, broker_ok = store_reachable(sessions), broker_reachable(broker_url)
    try:
        circuits: dict[str, str] | str = circuit_states(sessions) if store_ok else "unknown"
    except Exception:
        circuits = "unknown"
    ready = store_ok and broker_ok
    return ready, {
        "status": "ready" if ready else "not-ready",
        "checks": {
            "store": "up" if store_ok else "down",
            "broker": "up" if broker_ok else "down",
            "circuits": circuits,
        },
    }


def health_router(sessions: sessionmaker[Session], broker_url: str) -> APIRouter:
    router = APIRouter(tags=["health"])
    collector = SharedStateCollector(sessions, broker_url)

    # Kept out of the partner OpenAPI document: it is for the orchestrator, not partners.
    @router.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready, body = await run_in_threadpool(readiness, sessions, broker_url)
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        payload = await run_in_threadpool(exposition, collector)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    return router
