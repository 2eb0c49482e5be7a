"""The console's actions (POST): each checks the form's CSRF token and the operator's role
first, goes through the same core code as the CLI, and leaves an audit entry."""

from __future__ import annotations

from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.agencies.connector import load_connectors
from hub.agencies.simulators import SimulatorsUnavailable, switch_fault
from hub.api.partners import PartnerError, PartnerRegistry, SecretHasher, load_pepper
from hub.audit.verify import verify_store
from hub.console import evidence
from hub.console.cases import BadSearch, CaseQuery, search_civil_id
from hub.console.roles import Permission
from hub.console.web import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    checked_form,
    console_of,
    field,
    problem,
    render,
    set_cookie,
    signed_in,
)
from hub.errors import ConfigurationError
from hub.observability import mask_digits
from hub.replay.plan import Action, PlannedReplay, UnknownMessage, plan_replay
from hub.replay.redrive import ReplayRequest
from hub.store.queries import MessageFilter
from hub.store.tables import MessageStatus

PLAN_LIMIT = 500  # messages one dry run may show
REASON_MAX = 500


async def sign_in(request: Request) -> Response:
    console = console_of(request)
    form = await checked_form(request, None)
    name, password = field(form, "name"), str(form.get("password") or "")
    client = request.client.host if request.client else None
    wait_s = console.throttle.retry_after(client, name)
    if wait_s is not None:  # refused before the password is even checked
        response = render(
            request, "signin.html", None, status_code=429, error="Too many failed sign-ins."
        )
        response.headers["retry-after"] = str(wait_s)
        return response
    who = await run_in_threadpool(console.operators.authenticate, name, password, client)
    if who is None:
        console.throttle.failed(client, name)
        error = "Wrong name or password."
        return render(request, "signin.html", None, status_code=401, error=error, name=name)
    token, _ = await run_in_threadpool(console.logins.open, who.name)
    response = RedirectResponse("/", status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token)
    response.delete_cookie(PRESESSION_COOKIE, path="/")
    return response


async def sign_out(request: Request) -> Response:
    console = console_of(request)
    who = await signed_in(request)
    await checked_form(request, who)
    await run_in_threadpool(console.logins.close, request.cookies.get(SESSION_COOKIE))
    await run_in_threadpool(
        console.audit, f"operator:{who.name}", "console.signed-out", operator=who.name
    )
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def civil_id_search(request: Request) -> Response:
    """Search by civil id: the id travels in the POST body only, and the search is audited
    with the id masked."""
    console = console_of(request)
    who = await signed_in(request)
    form = await checked_form(request, who)
    civil_id = field(form, "civil_id")
    await run_in_threadpool(
        console.audit,
        f"operator:{who.name}",
        "console.searched-civil-id",
        civil_id=mask_digits(civil_id),
    )

    def find() -> list[dict[str, object]]:
        with console.sessions() as session:
            return search_civil_id(session, civil_id)

    error, rows = None, []
    try:
        rows = await run_in_threadpool(find)
    except BadSearch as exc:
        error = str(exc)
    return render(
        request,
        "cases.html",
        who,
        query=CaseQuery(),
        rows=rows,
        total=len(rows),
        error=error,
        statuses=MessageStatus.ALL,
        agencies=console.agencies,
        status_code=400 if error else 200,
    )


async def replay_plan(request: Request) -> Response:
    """The dry run: what a replay of the chosen messages (ids, or a filter) would do. Nothing
    changes; the page then asks for a reason and a confirmation."""
    console = console_of(request)
    who = await signed_in(request, Permission.REPLAY)
    form = await checked_form(request, who)
    ids = [i for i in form.getlist("ids") if isinstance(i, str) and i.strip()]
    status, agency, type_ = field(form, "status"), field(form, "agency"), field(form, "type")

    def plan() -> list[PlannedReplay]:
        flt = None
        if not ids:
            flt = MessageFilter(
                status=status or None, agency=agency or None, type=type_ or None, limit=None
            )
        with console.sessions() as session:
            return list(plan_replay(session, ids, flt, force=False)[:PLAN_LIMIT])

    try:
        planned = await run_in_threadpool(plan)
    except (ValueError, UnknownMessage) as exc:
        return render(request, "replay_plan.html", who, planned=[], error=str(exc), status_code=400)
    return render(request, "replay_plan.html", who, planned=planned, error=None)


async def replay_run(request: Request) -> Response:
    """Replay the messages the dry run showed, with the operator's reason, through the same
    `run_replay` as `hub replay run`; then the progress page."""
    console = console_of(request)
    who = await signed_in(request, Permission.REPLAY)
    form = await checked_form(request, who)
    ids = [i for i in form.getlist("ids") if isinstance(i, str) and i.strip()]
    reason = field(form, "reason")
    confirmed = field(form, "confirm") == "yes"

    def plan() -> list[PlannedReplay]:
        with console.sessions() as session:
            return list(plan_replay(session, ids, None, force=False))

    error = None
    if not ids:
        error = "choose at least one message"
    elif not reason:
        error = "a reason is required: say why these messages are replayed"
    elif len(reason) > REASON_MAX:
        error = f"the reason must be at most {REASON_MAX} characters"
    elif not confirmed:
        error = "confirm the replay after reading the dry run"
    planned: list[PlannedReplay] = []
    if ids:
        try:
            planned = await run_in_threadpool(plan)
        except (ValueError, UnknownMessage) as exc:
            error = error or str(exc)
    if error:
        return render(
            request, "replay_plan.html", who, planned=planned, error=error, status_code=400
        )
    request_ = ReplayRequest(reason, who.name)
    job = console.jobs.start(planned, request_)
    redrives = sum(1 for p in planned if p.decision.action is not Action.SKIP)
    await run_in_threadpool(
        console.audit,
        f"operator:{who.name}",
        "console.replay-started",
        replay_job=job.id,
        messages=len(planned),
        redrives=redrives,
        reason=reason,
    )
    return RedirectResponse(f"/replay/jobs/{job.id}", status_code=303)


async def switch_simulator_fault(request: Request) -> Response:
    console = console_of(request)
    who = await signed_in(request, Permission.REPLAY)
    form = await checked_form(request, who)
    agency, mode = request.path_params["agency"], field(form, "mode")
    try:
        await run_in_threadpool(
            switch_fault, console.settings.data_dir, load_connectors(), agency, mode
        )
    except (SimulatorsUnavailable, ConfigurationError) as exc:
        return problem(400, "Fault not switched", str(exc), request)
    await run_in_threadpool(
        console.audit,
        f"operator:{who.name}",
        "console.simulator-fault",
        agency=agency,
        mode=mode,
    )
    return RedirectResponse("/agencies", status_code=303)


async def run_verify(request: Request) -> Response:
    """`hub audit verify` from the console; its verdict joins the trail (the overview shows
    the last one)."""
    console = console_of(request)
    who = await signed_in(request, Permission.REPLAY)
    await checked_form(request, who)
    result = await run_in_threadpool(verify_store, console.settings)
    first = result.first
    await run_in_threadpool(
        console.audit,
        f"operator:{who.name}",
        "console.audit.verified",
        ok=result.ok,
        entries=result.entries,
        checkpoints=result.checkpoints,
        problems=len(result.problems),
        first_problem=str(first) if first else None,
    )

    def read() -> list[dict[str, object]]:
        with console.sessions() as session:
            return evidence.checkpoints(session)

    checkpoints = await run_in_threadpool(read)
    return render(request, "audit.html", who, checkpoints=checkpoints, result=result)


async def revoke_partner(request: Request) -> Response:
    console = console_of(request)
    who = await signed_in(request, Permission.PARTNERS_WRITE)
    await checked_form(request, who)
    name = request.path_params["name"]
    registry = PartnerRegistry(console.sessions, SecretHasher(load_pepper(console.settings)))
    try:
        await run_in_threadpool(partial(registry.revoke, name, actor=f"operator:{who.name}"))
    except PartnerError as exc:
        return problem(404, "No such partner", str(exc), request)
    return RedirectResponse("/partners", status_code=303)
