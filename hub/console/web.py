"""What every console page shares: who is signed in, what their role allows, the CSRF check
of every form, the page's language, masking, and the security headers on every response."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from hub.api.auth_throttle import AuthThrottle
from hub.bus.probe import BrokerProbe
from hub.config import Settings
from hub.console.i18n import DIRECTION, LANGUAGES, translator
from hub.console.operators import OperatorBook
from hub.console.replay_jobs import ReplayJobs
from hub.console.roles import Permission, allows
from hub.console.sessions import SessionBook, SignedIn, csrf_matches
from hub.messages.unit_of_work import UnitOfWork
from hub.observability import mask_text, mask_value

log = structlog.get_logger("hub.console")

SESSION_COOKIE = "hub_console"
PRESESSION_COOKIE = "hub_console_pre"  # the sign-in form's CSRF token, before any session
LANGUAGE_COOKIE = "hub_lang"
TEMPLATES = Path(__file__).resolve().parent / "templates"


class NotSignedIn(Exception):
    """No valid session: the person is sent to the sign-in page."""


class Refused(Exception):
    """The operator's role does not allow what they asked (audited)."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(permission.value)
        self.permission = permission


class CsrfRefused(Exception):
    """A form came back without the token the console gave it (audited)."""


@dataclass
class Console:
    """The console's parts, built once per process by `create_console`."""

    settings: Settings
    sessions: sessionmaker[Session]
    operators: OperatorBook
    logins: SessionBook
    jobs: ReplayJobs
    agencies: list[str]
    templates: Jinja2Templates
    throttle: AuthThrottle
    broker: BrokerProbe

    @classmethod
    def build(
        cls, settings: Settings, sessions: sessionmaker[Session], agencies: list[str]
    ) -> Console:
        return cls(
            settings=settings,
            sessions=sessions,
            operators=OperatorBook(sessions),
            logins=SessionBook(
                sessions, settings.console_session_idle_s, settings.console_session_max_s
            ),
            jobs=ReplayJobs(sessions, settings.resolved_broker_url),
            agencies=agencies,
            templates=Jinja2Templates(directory=str(TEMPLATES)),
            throttle=AuthThrottle(settings.auth_fail_limit, settings.auth_fail_window_s, time.time),
            broker=BrokerProbe(
                settings.resolved_broker_url, settings.health_probe_cache_s, timeout_s=1.0
            ),
        )

    def audit(self, actor: str, kind: str, **detail: Any) -> None:
        """One console event on the audit trail, in its own transaction."""
        with UnitOfWork(self.sessions, actor=actor[:100]) as uow:
            uow.audit(kind, **detail)
            uow.commit()


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "en")
    return chosen if chosen in LANGUAGES else "en"


async def signed_in(request: Request, permission: Permission = Permission.READ) -> SignedIn:
    """The operator of this request, allowed `permission`; else NotSignedIn or Refused."""
    console = console_of(request)
    who = await run_in_threadpool(console.logins.find, request.cookies.get(SESSION_COOKIE))
    if who is None:
        raise NotSignedIn()
    request.state.signed = who
    if not allows(who.role, permission):
        await run_in_threadpool(
            console.audit,
            f"operator:{who.name}",
            "console.refused",
            operator=who.name,
            permission=permission.value,
            path=request.url.path,
        )
        raise Refused(permission)
    return who


async def checked_form(request: Request, who: SignedIn | None) -> FormData:
    """The posted form, once its CSRF token matches the session's (or, before sign-in, the
    pre-session cookie's); CsrfRefused otherwise."""
    form = await request.form()
    expected = who.csrf_token if who else request.cookies.get(PRESESSION_COOKIE)
    given = form.get("csrf")
    if not expected or not csrf_matches(expected, given if isinstance(given, str) else None):
        if who is None:  # nobody signed in: logged, so a flood cannot lengthen the trail
            log.warning("console.csrf_refused", path=request.url.path)
        else:
            await run_in_threadpool(
                console_of(request).audit,
                f"operator:{who.name}",
                "console.csrf-refused",
                path=request.url.path,
            )
        raise CsrfRefused()
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def masker(who: SignedIn | None) -> Callable[[Any], str]:
    """How a page shows stored values: civil ids and phone numbers masked unless the role
    allows personal data."""
    clear = who is not None and allows(who.role, Permission.PERSONAL_DATA)

    def shown(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            safe = value if clear else mask_value("", value)
            value = json.dumps(safe, ensure_ascii=False, indent=2, default=str)
            return str(value)
        return value if clear else mask_text(value)

    return shown


def render(
    request: Request,
    template: str,
    who: SignedIn | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    lang = language(request)
    pre = request.cookies.get(PRESESSION_COOKIE) or secrets.token_urlsafe(32)
    response = console_of(request).templates.TemplateResponse(
        request,
        template,
        {
            "t": translator(lang),
            "lang": lang,
            "dir": DIRECTION[lang],
            "who": who,
            "csrf": who.csrf_token if who else pre,
            "mask": masker(who),
            "can": (lambda p: who is not None and allows(who.role, Permission(p))),
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    if who is None and PRESESSION_COOKIE not in request.cookies:
        set_cookie(request, response, PRESESSION_COOKIE, pre)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=console_of(request).settings.console_secure_cookies,
        path="/",
    )


def problem(status: int, title: str, detail: str, request: Request) -> JSONResponse:
    """An RFC 9457 problem document."""
    return JSONResponse(
        {
            "type": f"urn:muscat-hub:problem:console:{title.lower().replace(' ', '-')}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.url.path,
        },
        status_code=status,
        media_type="application/problem+json",
    )


async def on_not_signed_in(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse("/signin", status_code=303)
    return problem(401, "Not signed in", "sign in first; the session may have expired", request)


async def on_refused(request: Request, exc: Exception) -> Response:
    who = getattr(request.state, "signed", None)
    needed = exc.permission.value if isinstance(exc, Refused) else "?"
    return render(request, "refused.html", who, status_code=403, needed=needed)


async def on_csrf_refused(request: Request, exc: Exception) -> Response:
    return problem(
        403,
        "CSRF token missing",
        "this form did not come from the console; nothing changed",
        request,
    )
