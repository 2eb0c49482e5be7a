"""REST under /api/v1: records by number, CR or plate, and MOCI's CR-status push.

Every operation first passes the partner gate (key, grant, rate limit, audit), so a caller
without a key learns nothing about the request's validity; the push reads its own body for
the same reason, after the gate, and checks it against its event contract.
"""

# No `from __future__ import annotations` here: FastAPI reads the routes' annotations at
# runtime, and they name dependencies local to `rest_router`.
import json
from collections.abc import Callable
from copy import deepcopy
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, Request, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from hub.api import grants
from hub.api.gate import Admitted, CallInfo, Credentials, PartnerGate
from hub.api.mtls import client_certificate
from hub.api.problems import InvalidBody, InvalidHeader, problem_responses
from hub.api.pushes import MOCI_CR_STATUS_CHANGED, PushAccepted, PushService
from hub.api.records import (
    BuildingPermitView,
    LicenceView,
    ParkingPermitView,
    RecordNotFound,
    RecordReader,
    scoped,
)
from hub.contracts.envelope import CORRELATION_ID_RULE, valid_correlation
from hub.contracts.registry import ContractRegistry

API_KEY = APIKeyHeader(
    name="X-Api-Key",
    scheme_name="ApiKey",
    description="The partner's secret from `hub partners add`.",
    auto_error=False,
)
CORRELATION_HEADER = "x-correlation-id"

RECORD_NO = r"^[A-Za-z0-9][A-Za-z0-9\-]{0,39}$"
CR_NO = r"^[0-9]{7}$"
PLATE_NUMBER = r"^[0-9]{1,5}$"
PLATE_CODE = r"^[A-Z]{1,2}$"

View = TypeVar("View")


def _reference(request: Request) -> str | None:
    """The partner's own reference (X-Correlation-Id) when it is in the strict pattern; the
    hub never takes it as a case id on trust (see `PushService`)."""
    value = request.headers.get(CORRELATION_HEADER)
    return value if valid_correlation(value) else None


def partner_dependency(gate: PartnerGate, grant: str) -> Callable[..., Admitted]:
    """A FastAPI dependency admitting the caller for `grant`; it yields the partner's name."""

    def admitted(
        request: Request, api_key: Annotated[str | None, Security(API_KEY)] = None
    ) -> Admitted:
        route = request.scope.get("route")
        template = getattr(route, "path", request.url.path)
        call = CallInfo(
            operation=f"{request.method} {template}",
            grant=grant,
            client=request.client.host if request.client else None,
            reference=_reference(request),
        )
        credentials = Credentials("rest", api_key, certificate=client_certificate(request))
        partner = gate.admit(credentials, call)
        if request.headers.get(CORRELATION_HEADER) is not None and call.reference is None:
            raise InvalidHeader("X-Correlation-Id", CORRELATION_ID_RULE)
        return partner

    return admitted


def _found(record: View | None, missing: str) -> View:
    """The record a read asked for by its key, or the 404 problem saying which is missing."""
    if record is None:
        raise RecordNotFound(missing)
    return record


def _body_schema(contracts: ContractRegistry, type_: str) -> dict[str, Any]:
    """The request body's OpenAPI description: the event contract itself (OpenAPI 3.1 speaks
    JSON Schema 2020-12), without the keywords that identify it as a file."""
    schema = deepcopy(contracts.latest(type_).schema)
    for key in ("$id", "$schema"):
        schema.pop(key, None)
    examples = schema.get("examples", [])
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": schema,
                "examples": {f"example{i + 1}": {"value": ex} for i, ex in enumerate(examples)},
            }
        },
    }


async def _json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or `InvalidBody` saying why not."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise HTTPException(415, "the body must be JSON (Content-Type: application/json)")
    raw = await request.body()
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidBody(f"not JSON: {exc}") from None
    except RecursionError:
        raise InvalidBody("not JSON: nested too deeply") from None
    except ValueError as exc:  # an integer past Python's digit limit, a duplicate key
        raise InvalidBody(f"not usable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidBody("the body must be a JSON object")
    if _has_lone_surrogate(data):
        raise InvalidBody("not usable JSON: a lone surrogate escape (\\ud800-\\udfff) is not text")
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object hook refusing a key given twice (which one wins differs by parser)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} is given twice")
        found[key] = value
    return found


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in `value` holds a surrogate code point (cannot be UTF-8)."""
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def rest_router(
    gate: PartnerGate, reader: RecordReader, pushes: PushService, contracts: ContractRegistry
) -> APIRouter:
    """The /api/v1 routes, bound to the services they use."""
    router = APIRouter(prefix="/api/v1")
    reads = problem_responses(401, 403, 422, 429)
    read_one = problem_responses(401, 403, 404, 422, 429)

    def partner(grant: str) -> Any:
        return Security(partner_dependency(gate, grant))

    @router.get(
        "/licences/{licence_no}",
        tags=["records"],
        summary="A trade licence by its number",
        responses=read_one,
    )
    def get_licence(
        licence_no: Annotated[
            str, Path(pattern=RECORD_NO, openapi_examples={"licence": {"value": "MCT-TL-004217"}})
        ],
        _: Annotated[Admitted, partner(grants.LICENCES_READ)],
    ) -> LicenceView:
        return _found(reader.licence(licence_no), f"no licence {licence_no}")

    @router.get(
        "/commercial-registrations/{cr_no}/licences",
        tags=["records"],
        summary="Every trade licence of one commercial registration",
        responses=reads,
    )
    def licences_by_cr(
        cr_no: Annotated[str, Path(pattern=CR_NO, openapi_examples={"cr": {"value": "1043217"}})],
        _: Annotated[Admitted, partner(grants.LICENCES_READ)],
    ) -> list[LicenceView]:
        return reader.licences_by_cr(cr_no)

    @router.get(
        "/building-permits/{permit_no}",
        tags=["records"],
        summary="A building permit by its number",
        responses=read_one,
    )
    def get_building_permit(
        permit_no: Annotated[
            str,
            Path(pattern=RECORD_NO, openapi_examples={"permit": {"value": "MCT-BP-2026-001234"}}),
        ],
        caller: Annotated[Admitted, partner(grants.BUILDING_PERMITS_READ)],
    ) -> BuildingPermitView:
        found = _found(reader.building_permit(permit_no), f"no building permit {permit_no}")
        return scoped(found, caller.scopes)

    @router.get(
        "/parking-permits",
        tags=["records"],
        summary="The parking permits of one plate, newest first",
        responses=reads,
    )
    def parking_permits(
        plate_number: Annotated[
            str, Query(pattern=PLATE_NUMBER, openapi_examples={"plate": {"value": "12345"}})
        ],
        plate_code: Annotated[
            str, Query(pattern=PLATE_CODE, openapi_examples={"plate": {"value": "AB"}})
        ],
        caller: Annotated[Admitted, partner(grants.PARKING_PERMITS_READ)],
    ) -> list[ParkingPermitView]:
        permits = reader.parking_permits(plate_number, plate_code)
        return [scoped(permit, caller.scopes) for permit in permits]

    @router.post(
        "/push/moci/cr-status",
        tags=["pushes"],
        summary="MOCI: a commercial registration changed status",
        description="Published once as `moci.cr.status-changed` on municipal.in; the same "
        "notification sent again returns the same event id with `duplicate: true`.",
        status_code=202,
        responses=problem_responses(401, 403, 413, 415, 422, 429),
        openapi_extra={"requestBody": _body_schema(contracts, MOCI_CR_STATUS_CHANGED)},
    )
    async def push_cr_status(
        request: Request, caller: Annotated[str, partner(grants.PUSH_MOCI_CR_STATUS)]
    ) -> PushAccepted:
        data = await _json_object(request)
        return await run_in_threadpool(
            pushes.accept, caller, MOCI_CR_STATUS_CHANGED, data, _reference(request)
        )

    return router


# What the other partner routers (hub/api/investeasy.py, hub/api/isnad.py) share with these
# routes: the request body's description, the body read as one JSON object, the partner's
# own reference.
body_schema = _body_schema
json_object = _json_object
partner_reference = _reference
