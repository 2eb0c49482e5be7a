"""The console's ASGI app: routes, error pages and security headers over one `Console`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hub.config import Settings
from hub.console import actions, pages
from hub.console.headers import SecurityHeaders
from hub.console.web import (
    Console,
    CsrfRefused,
    NotSignedIn,
    Refused,
    on_csrf_refused,
    on_not_signed_in,
    on_refused,
)

STATIC = Path(__file__).resolve().parent / "static"

ROUTES = [
    Route("/signin", pages.signin_page, methods=["GET"]),
    Route("/signin", actions.sign_in, methods=["POST"]),
    Route("/signout", actions.sign_out, methods=["POST"]),
    Route("/lang/{lang}", pages.switch_language, methods=["GET"]),
    Route("/", pages.overview_page, methods=["GET"]),
    Route("/overview.json", pages.overview_json, methods=["GET"]),
    Route("/cases", pages.cases_page, methods=["GET"]),
    Route("/cases/civil-id", actions.civil_id_search, methods=["POST"]),
    Route("/cases/{ident:path}", pages.case_page, methods=["GET"]),
    Route("/dead-letters", pages.dead_letters_page, methods=["GET"]),
    Route("/replay/plan", actions.replay_plan, methods=["POST"]),
    Route("/replay/run", actions.replay_run, methods=["POST"]),
    Route("/replay/jobs/{job}", pages.replay_job_page, methods=["GET"]),
    Route("/replay/jobs/{job}/progress.json", pages.replay_job_json, methods=["GET"]),
    Route("/agencies", pages.agencies_page, methods=["GET"]),
    Route("/agencies/{agency}/fault", actions.switch_simulator_fault, methods=["POST"]),
    Route("/audit", pages.audit_page, methods=["GET"]),
    Route("/audit/verify", actions.run_verify, methods=["POST"]),
    Route("/audit/export/{ident:path}", pages.audit_export, methods=["GET"]),
    Route("/partners", pages.partners_page, methods=["GET"]),
    Route("/partners/{name}/revoke", actions.revoke_partner, methods=["POST"]),
    Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
]


def create_console(
    settings: Settings, sessions: sessionmaker[Session], agencies: list[str]
) -> Starlette:
    """The console over this store; `agencies` are the installed connectors' names."""
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            NotSignedIn: on_not_signed_in,
            Refused: on_refused,
            CsrfRefused: on_csrf_refused,
        },
    )
    app.state.console = Console.build(settings, sessions, agencies)
    return app
