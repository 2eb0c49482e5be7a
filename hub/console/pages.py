"""The console's pages (GET): each reads through the store's queries, the replay history and
the audit trail, then renders a template. Nothing here changes anything."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from hub.agencies.connector import FAULT_MODES
from hub.audit.export import export_case
from hub.console import agencies_view, evidence
from hub.console.cases import BadSearch, CaseQuery, search, timeline
from hub.console.dead_letters import stuck_groups
from hub.console.i18n import LANGUAGES
from hub.console.overview import overview
from hub.console.roles import Permission
from hub.console.web import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Console,
    console_of,
    render,
    set_cookie,
    signed_in,
)
from hub.replay.plan import UnknownMessage
from hub.store.tables import Message, MessageStatus

T = TypeVar("T")


async def signin_page(request: Request) -> Response:
    console = console_of(request)
    who = await run_in_threadpool(console.logins.find, request.cookies.get(SESSION_COOKIE))
    if who is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "signin.html", None)


async def switch_language(request: Request) -> Response:
    """A display preference only (a cookie), so a plain link may set it."""
    chosen = request.path_params["lang"]
    target = request.query_params.get("next", "/")
    if not _local(target):
        target = "/"
    response = RedirectResponse(target, status_code=303)
    if chosen in LANGUAGES:
        set_cookie(request, response, LANGUAGE_COOKIE, chosen)
    return response


def _local(target: str) -> bool:
    """A path on this console: not another host (`//host`, `/\\host`, `https:`)."""
    return (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and not any(ch in target for ch in "\r\n\t")
    )


async def overview_page(request: Request) -> Response:
    who = await signed_in(request)
    console = console_of(request)
    data = await run_in_threadpool(overview, console.sessions, console.broker)
    return render(request, "overview.html", who, data=data, statuses=MessageStatus.ALL)


async def overview_json(request: Request) -> Response:
    await signed_in(request)
    console = console_of(request)
    data = await run_in_threadpool(overview, console.sessions, console.broker)
    return JSONResponse(data)


async def cases_page(request: Request) -> Response:
    who = await signed_in(request)
    console = console_of(request)
    params = request.query_params
    query = CaseQuery(**{k: params.get(k, "").strip() for k in CaseQuery.__dataclass_fields__})
    error, total = None, 0
    rows: list[dict[str, Any]] = []
    if any(vars(query).values()):
        try:
            rows, total = await run_in_threadpool(_read, console, partial(search, query=query))
        except BadSearch as exc:
            error = str(exc)
            query = CaseQuery()  # a refused value is not echoed back into the page
    return render(
        request,
        "cases.html",
        who,
        query=query,
        rows=rows,
        total=total,
        error=error,
        statuses=MessageStatus.ALL,
        agencies=console.agencies,
        status_code=400 if error else 200,
    )


async def case_page(request: Request) -> Response:
    who = await signed_in(request)
    console = console_of(request)
    ident = request.path_params["ident"]
    try:
        stories = await run_in_threadpool(_read, console, partial(timeline, ident=ident))
    except UnknownMessage as exc:
        return render(
            request, "case.html", who, ident=ident, stories=[], error=str(exc), status_code=404
        )
    return render(request, "case.html", who, ident=ident, stories=stories, error=None)


async def dead_letters_page(request: Request) -> Response:
    who = await signed_in(request)
    console = console_of(request)
    groups = await run_in_threadpool(_read, console, stuck_groups)
    return render(
        request,
        "dead_letters.html",
        who,
        groups=groups,
        agencies=console.agencies,
        statuses=("dead", "failed"),
    )


async def replay_job_page(request: Request) -> Response:
    who = await signed_in(request)
    job = console_of(request).jobs.get(request.path_params["job"])
    if job is None:
        return render(request, "refused.html", who, status_code=404, needed="-")
    statuses = await run_in_threadpool(_statuses, request, [p.message_id for p in job.planned])
    return render(request, "replay_job.html", who, job=job, statuses=statuses)


async def replay_job_json(request: Request) -> Response:
    await signed_in(request)
    job = console_of(request).jobs.get(request.path_params["job"])
    if job is None:
        return JSONResponse({"error": "unknown replay"}, status_code=404)
    statuses = await run_in_threadpool(_statuses, request, [p.message_id for p in job.planned])
    return JSONResponse(
        {
            "done": len(job.outcomes),
            "total": job.total,
            "finished": job.finished,
            "error": job.error,
            "statuses": statuses,
            "actions": {o.planned.message_id: o.action.value for o in job.outcomes},
        }
    )


def _statuses(request: Request, ids: list[str]) -> dict[str, str]:
    with console_of(request).sessions() as session:
        return {i: (row.status if (row := session.get(Message, i)) else "gone") for i in ids}


async def agencies_page(request: Request) -> Response:
    who = await signed_in(request)
    console = console_of(request)
    rows = await run_in_threadpool(
        _read,
        console,
        partial(agencies_view.agencies, names=console.agencies, data_dir=console.settings.data_dir),
    )
    return render(request, "agencies.html", who, agencies=rows, modes=FAULT_MODES)


async def audit_page(request: Request) -> Response:
    who = await signed_in(request)
    checkpoints = await run_in_threadpool(_read, console_of(request), evidence.checkpoints)
    return render(request, "audit.html", who, checkpoints=checkpoints, result=None)


async def audit_export(request: Request) -> Response:
    """A case's audit entries with their hashes, as JSON lines (unmasked: the evidence)."""
    who = await signed_in(request, Permission.PERSONAL_DATA)
    console = console_of(request)
    ident = request.path_params["ident"]
    await run_in_threadpool(
        console.audit, f"operator:{who.name}", "console.audit.exported", correlationid=ident
    )

    def lines() -> Iterator[str]:
        for record in export_case(console.sessions, ident):
            yield json.dumps(record, ensure_ascii=False) + "\n"

    return StreamingResponse(
        iterate_in_threadpool(lines()),
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="case-audit.jsonl"'},
    )


async def partners_page(request: Request) -> Response:
    who = await signed_in(request)
    console = console_of(request)
    rows = await run_in_threadpool(_read, console, evidence.partners)
    denied = await run_in_threadpool(_read, console, evidence.denials)
    return render(request, "partners.html", who, partners=rows, denials=denied)


def _read(console: Console, query: Callable[[Session], T]) -> T:
    """Run one read (a function of a session) in a session of its own."""
    with console.sessions() as session:
        return query(session)
