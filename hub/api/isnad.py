"""Isnad's partner endpoint under /api/v1: POST /push/isnad/tender-status, one status change
of a tender, published once as isnad.tender.status-changed on municipal.in (the tender flow
relays changes in order per tender). A push joins the case of the tender it names, so
`hub replay show <case>` tells the tender's whole story. It passes the partner gate first, as
every partner call does; a body that breaks its contract is a problem document and nothing is
stored."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime.
from typing import Annotated, Any

from fastapi import APIRouter, Request, Security
from starlette.concurrency import run_in_threadpool

from hub.api import grants
from hub.api.gate import PartnerGate
from hub.api.problems import InvalidBody, problem_responses
from hub.api.pushes import PushAccepted, PushService, refused_fields
from hub.api.rest import body_schema, json_object, partner_dependency, partner_reference
from hub.contracts.registry import ContractRegistry
from hub.errors import ContractViolation
from hub.store.tenders import tender_case

ISNAD_TENDER_STATUS = "isnad.tender.status-changed"


def isnad_router(gate: PartnerGate, pushes: PushService, contracts: ContractRegistry) -> APIRouter:
    """The Isnad push route, bound to the services it uses."""
    router = APIRouter(prefix="/api/v1")

    def partner(grant: str) -> Any:
        return Security(partner_dependency(gate, grant))

    def accept(caller: str, data: dict[str, Any], reference: str | None) -> PushAccepted:
        with pushes.sessions() as session:
            tender_no = data.get("tender_no")
            case = tender_case(session, tender_no) if isinstance(tender_no, str) else None
        return pushes.accept(caller, ISNAD_TENDER_STATUS, data, reference, case=case)

    @router.post(
        "/push/isnad/tender-status",
        tags=["pushes"],
        summary="Isnad: a tender changed status",
        description="Published once as `isnad.tender.status-changed` on municipal.in and "
        "relayed in sequence order per tender; the same push sent again returns the same "
        "event id with `duplicate: true`.",
        status_code=202,
        responses=problem_responses(401, 403, 413, 415, 422, 429),
        openapi_extra={"requestBody": body_schema(contracts, ISNAD_TENDER_STATUS)},
    )
    async def push_tender_status(
        request: Request, caller: Annotated[str, partner(grants.PUSH_ISNAD_TENDER_STATUS)]
    ) -> PushAccepted:
        try:
            data = await json_object(request)
            return await run_in_threadpool(accept, caller, data, partner_reference(request))
        except (InvalidBody, ContractViolation) as exc:
            await run_in_threadpool(
                pushes.refused, caller, ISNAD_TENDER_STATUS, refused_fields(exc)
            )
            raise

    return router
