"""Every REST error as an RFC 9457 problem document (`application/problem+json`), and the
OpenAPI description of each, so partners get one error shape whatever went wrong."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.api.gate import CertificateRefused, RateLimited, UnknownOperation
from hub.api.records import RecordNotFound
from hub.errors import ContractViolation, FieldError, Forbidden, Unauthorised

log = structlog.get_logger("hub.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:muscat-hub:problem:"
API_KEY_CHALLENGE = 'ApiKey header="X-Api-Key"'


class FieldProblem(BaseModel):
    """One failing field: where it was (`body`, `path`, `query`, `header`), its name, why."""

    field: str
    location: str = "body"
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document; `errors` lists each failing field of a 422."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:muscat-hub:problem:invalid-request",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "2 fields are invalid",
                    "instance": "/api/v1/push/moci/cr-status",
                    "errors": [
                        {"field": "cr_no", "location": "body", "message": "is required"},
                        {
                            "field": "effective_date",
                            "location": "body",
                            "message": "'2026-02-30' is not a 'date'",
                        },
                    ],
                }
            ]
        }
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(None, description="Each failing field (422 only).")


class InvalidBody(Exception):
    """The request body is not usable JSON (answered 422 naming `(body)`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidHeader(Exception):
    """A request header the hub reads is malformed (answered 422 naming the header)."""

    def __init__(self, header: str, reason: str) -> None:
        super().__init__(f"{header}: {reason}")
        self.header = header
        self.reason = reason


def problem_response(
    request: Request,
    status: int,
    detail: str | None = None,
    *,
    kind: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem document; `kind` names a problem type of ours, else `about:blank`."""
    problem = Problem(
        type=f"{TYPE_PREFIX}{kind}" if kind else "about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def _invalid(request: Request, errors: list[FieldProblem]) -> JSONResponse:
    count = len(errors)
    detail = f"{count} field{'s are' if count != 1 else ' is'} invalid"
    return problem_response(request, 422, detail, kind="invalid-request", errors=errors)


def field_problems(errors: list[FieldError], location: str = "body") -> list[FieldProblem]:
    return [FieldProblem(field=e.field, location=location, message=e.message) for e in errors]


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(request, exc.status_code, detail, headers=exc.headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc else "request"
        name = ".".join(loc[1:]) if len(loc) > 1 else "(root)"
        found.append(FieldProblem(field=name, location=location, message=str(error.get("msg"))))
    return _invalid(request, found)


async def _on_invalid_body(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidBody)
    return _invalid(request, [FieldProblem(field="(body)", message=exc.reason)])


async def _on_invalid_header(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidHeader)
    problem = FieldProblem(field=exc.header, location="header", message=exc.reason)
    return _invalid(request, [problem])


async def _on_contract_violation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ContractViolation)
    return _invalid(request, field_problems(exc.errors))


async def _on_unauthorised(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, CertificateRefused):
        return problem_response(request, 401, str(exc), kind="unauthorised")
    return problem_response(
        request,
        401,
        "a valid X-Api-Key header is required",
        kind="unauthorised",
        headers={"WWW-Authenticate": API_KEY_CHALLENGE},
    )


async def _on_forbidden(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(request, 403, str(exc), kind="not-granted")


async def _on_rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return problem_response(
        request,
        429,
        f"rate limit exceeded; retry after {exc.retry_after} s",
        kind="rate-limited",
        headers={"Retry-After": str(exc.retry_after)},
    )


async def _on_not_found(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(request, 404, str(exc), kind="not-found")


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    log.error("api.request_failed", path=request.url.path, error=repr(exc))
    return problem_response(request, 500, "internal error")


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can raise to its problem document."""
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(InvalidBody, _on_invalid_body)
    app.add_exception_handler(InvalidHeader, _on_invalid_header)
    app.add_exception_handler(ContractViolation, _on_contract_violation)
    app.add_exception_handler(Unauthorised, _on_unauthorised)
    app.add_exception_handler(Forbidden, _on_forbidden)
    app.add_exception_handler(RateLimited, _on_rate_limited)
    app.add_exception_handler(UnknownOperation, _on_not_found)
    app.add_exception_handler(RecordNotFound, _on_not_found)
    app.add_exception_handler(Exception, _on_crash)


_DESCRIPTIONS = {
    401: "No X-Api-Key, or one that is wrong or revoked.",
    403: "The partner is not granted this operation.",
    404: "No such record.",
    413: "The request body is over the configured size limit.",
    415: "The body is not JSON.",
    422: "The request is invalid; `errors` names each failing field.",
    429: "The partner is over its rate limit; retry after `Retry-After` seconds.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "example": API_KEY_CHALLENGE}},
    429: {
        "Retry-After": {
            "description": "Seconds until the partner's next rate window.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, each a problem document."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        responses[status] = entry
    return responses


def problem_components() -> dict[str, Any]:
    """The `Problem` schema and the schemas it refers to, for `components.schemas`."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {"Problem": schema, **defs}
