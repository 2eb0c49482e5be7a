"""Invest Easy's partner endpoints under /api/v1.

- POST /investeasy/applications: the portal's approval request, answered at once (202) with
  the hub's case id; the request becomes investeasy.approval.requested on municipal.in, its
  event id derived from the application reference, so the same application sent twice is
  one case (`duplicate: true` the second time).
- GET /investeasy/applications/{application_ref}: where the application stands.

Every call passes the partner gate first (key, grant, rate limit, audited denial), as the
other partner endpoints do; a body that breaks its contract is a problem document and
nothing is stored.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime.
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Security
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from hub.api import grants
from hub.api.gate import Admitted, PartnerGate
from hub.api.problems import InvalidBody, problem_responses
from hub.api.pushes import PushService, refused_fields
from hub.api.records import RecordNotFound
from hub.api.rest import body_schema, json_object, partner_dependency, partner_reference
from hub.contracts.envelope import derived_id
from hub.contracts.registry import ContractRegistry
from hub.errors import ContractViolation
from hub.store.applications import application_state

APPROVAL_REQUESTED = "investeasy.approval.requested"
APPLICATION_REF = r"^IE-[0-9]{4}-[0-9]{6}$"


class ApplicationAcknowledged(BaseModel):
    """What the portal gets back at once: the hub's case id for the application."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "application_ref": "IE-2026-000311",
                    "case_id": "7d1c64a4-55a8-5b1e-9c3f-2f4a8d1e6b20",
                    "status": "received",
                    "duplicate": False,
                }
            ]
        }
    )

    application_ref: str
    case_id: str = Field(description="The hub's case id; the decision callback quotes it.")
    status: Literal["received"] = "received"
    duplicate: bool = Field(description="True when this application was received before.")


class Reason(BaseModel):
    code: str
    en: str
    ar: str


class ApplicationStatus(BaseModel):
    """Where an application stands: received (being decided), decided (the portal is being
    told), confirmed (the portal holds the decision), or waiting (an agency or the portal
    cannot answer now; the hub keeps trying or an operator replays it)."""

    application_ref: str
    case_id: str
    status: Literal["received", "waiting", "decided", "confirmed"]
    decision: Literal["approved", "refused", "inspection-required"] | None = None
    licence_no: str | None = None
    fee_total_omr: Decimal | None = Field(
        default=None, description="Municipal and service fee together, rials (three places)."
    )
    reasons: list[Reason] = []
    receipt: str | None = None


def application_status(
    sessions: sessionmaker[Session], application_ref: str
) -> ApplicationStatus | None:
    """The status view of one application, None when the hub never received it."""
    message_id = derived_id(APPROVAL_REQUESTED, application_ref)
    with sessions() as session:
        application, message_status = application_state(session, application_ref, message_id)
        if application is not None:
            callback: dict[str, Any] = application.callback
            return ApplicationStatus(
                application_ref=application_ref,
                case_id=application.correlationid,
                status="confirmed" if application.status == "confirmed" else "decided",
                decision=application.decision,  # type: ignore[arg-type]
                licence_no=application.licence_no,
                fee_total_omr=application.fee_omr,
                reasons=[Reason(**reason) for reason in callback.get("reasons", [])],
                receipt=application.receipt,
            )
    if message_status is None:
        return None
    waiting = message_status in ("retrying", "dead", "failed")
    return ApplicationStatus(
        application_ref=application_ref,
        case_id=derived_id("case", message_id),
        status="waiting" if waiting else "received",
    )


def investeasy_router(
    gate: PartnerGate,
    pushes: PushService,
    contracts: ContractRegistry,
) -> APIRouter:
    """The Invest Easy routes, bound to the services they use."""
    router = APIRouter(prefix="/api/v1")

    def partner(grant: str) -> Any:
        return Security(partner_dependency(gate, grant))

    @router.post(
        "/investeasy/applications",
        tags=["investeasy"],
        summary="Invest Easy: ask for the municipality's approval of an application",
        description="Answered at once with the hub's case id; the decision is called back "
        "to the portal. The same application reference sent again is the same case "
        "(`duplicate: true`).",
        status_code=202,
        responses=problem_responses(401, 403, 413, 415, 422, 429),
        openapi_extra={"requestBody": body_schema(contracts, APPROVAL_REQUESTED)},
    )
    async def submit_application(
        request: Request, caller: Annotated[str, partner(grants.INVESTEASY_SUBMIT)]
    ) -> ApplicationAcknowledged:
        try:
            data = await json_object(request)
            accepted = await run_in_threadpool(
                pushes.accept,
                caller,
                APPROVAL_REQUESTED,
                data,
                partner_reference(request),
                "application_ref",
            )
        except (InvalidBody, ContractViolation) as exc:
            await run_in_threadpool(pushes.refused, caller, APPROVAL_REQUESTED, refused_fields(exc))
            raise
        return ApplicationAcknowledged(
            application_ref=data["application_ref"],
            case_id=accepted.correlationid,
            duplicate=accepted.duplicate,
        )

    @router.get(
        "/investeasy/applications/{application_ref}",
        tags=["investeasy"],
        summary="Invest Easy: where an application stands",
        responses=problem_responses(401, 403, 404, 422, 429),
    )
    def get_application(
        application_ref: Annotated[
            str,
            Path(pattern=APPLICATION_REF, openapi_examples={"ref": {"value": "IE-2026-000311"}}),
        ],
        _: Annotated[Admitted, partner(grants.INVESTEASY_READ)],
    ) -> ApplicationStatus:
        found = application_status(pushes.sessions, application_ref)
        if found is None:
            raise RecordNotFound(f"no application {application_ref}")
        return found

    return router
