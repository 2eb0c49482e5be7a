"""One partner-facing SOAP 1.1 service: its WSDL and schemas on GET, its operations on POST,
each call through the partner gate and checked against the service's XSD before it runs.

The order of refusals: a body that is not declared XML (415), unreadable XML or a DTD (before
any expansion), a SOAPAction naming another operation than the Body's, then credentials, then
an unknown operation, then the grant and the rate limit, then the payload's schema; each is a
soap:Client fault and each from credentials on is audited by the gate.

A served WSDL names the configured public address (HUB_PUBLIC_BASE_URL) or, without one, the
address the server listens on: never the caller's Host header, which anyone can set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hub.api.gate import (
    CallInfo,
    CertificateRefused,
    Credentials,
    PartnerGate,
    RateLimited,
    SignatureRefusedByGate,
    UnknownOperation,
)
from hub.api.grants import soap_grant
from hub.api.message_signatures import InboundSignatures, SignatureVerdict
from hub.api.mtls import client_certificate
from hub.contracts.envelope import CORRELATION_ID_RULE, valid_correlation
from hub.errors import Forbidden, Unauthorised
from hub.soap import (
    AUTHENTICATION_FAILED,
    CONTENT_TYPE,
    DIGEST_NOT_SUPPORTED,
    SoapEndpoint,
    SoapFault,
    SoapMessage,
    fault_response,
    publish_schema,
    publish_wsdl,
    read_username_token,
    schema_errors,
    soap_actions,
)

_client: ContextVar[str | None] = ContextVar("soap_client", default=None)
_reference: ContextVar[str | None] = ContextVar("soap_reference", default=None)
_action: ContextVar[str | None] = ContextVar("soap_action", default=None)
_certificate: ContextVar[bytes | None] = ContextVar("soap_certificate", default=None)
_signature: ContextVar[SignatureVerdict] = ContextVar("soap_signature")
CORRELATION_HEADER = "x-correlation-id"
# SOAP 1.1 is text/xml; application/xml and SOAP 1.2's type are accepted as XML (a 1.2
# envelope is then refused as a VersionMismatch).
XML_MEDIA_TYPES = frozenset({"text/xml", "application/xml", "application/soap+xml"})


def partner_reference() -> str | None:
    """The calling partner's X-Correlation-Id on this SOAP call, already checked against the
    strict pattern (a value outside it was refused with a soap:Client fault)."""
    return _reference.get()


Operation = Callable[[SoapMessage, str], Awaitable[etree._Element]]
"""An operation's handler: the request and the partner's name -> the reply payload."""

FaultDetail = Callable[[str, str], etree._Element]
"""(code, message) -> the service's ServiceFault detail element."""


@dataclass(frozen=True)
class SoapOperation:
    """An operation: its WSDL name, the Clark name of its request element, its handler."""

    name: str
    request: str
    handler: Operation


@dataclass(frozen=True)
class ServiceContract:
    """Where a service's description lives: the WSDL, the XSDs it may import (served at
    `?xsd=<file name>`), the schema payloads are checked against, and its fault detail."""

    wsdl: Path
    schemas: tuple[Path, ...]
    schema: etree.XMLSchema
    fault_detail: FaultDetail


class PartnerSoapService:
    """A SOAP service at `/soap/<name>` whose callers are registered partners."""

    def __init__(
        self,
        name: str,
        contract: ServiceContract,
        operations: list[SoapOperation],
        gate: PartnerGate,
        *,
        max_body_bytes: int,
    ) -> None:
        self.name = name
        self.contract = contract
        self._gate = gate
        self._by_request = {op.request: op for op in operations}
        self._schemas = {path.name: path for path in contract.schemas}
        actions = soap_actions(contract.wsdl)
        self._actions = {op.request: actions.get(op.name) for op in operations}
        self.public_base_url: str | None = None  # HUB_PUBLIC_BASE_URL, set by the app
        self.signatures: InboundSignatures | None = None  # WS-Security checks, set by the app
        self._endpoint = SoapEndpoint(
            {op.request: self._checked(op) for op in operations},
            self._authenticate,
            max_body_bytes=max_body_bytes,
        )

    @property
    def path(self) -> str:
        return f"/soap/{self.name}"

    async def handle(self, request: Request) -> Response:
        """GET: ?wsdl or ?xsd=NAME. POST: one operation."""
        if request.method == "GET":
            return self._publish(request)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in XML_MEDIA_TYPES:
            fault = SoapFault.client("a SOAP request needs Content-Type: text/xml")
            fault.status_code = 415
            return fault_response(fault)
        _client.set(request.client.host if request.client else None)
        _reference.set(request.headers.get(CORRELATION_HEADER))
        _action.set(request.headers.get("soapaction"))
        _certificate.set(client_certificate(request))
        verdict = SignatureVerdict()
        if self.signatures is not None:
            verdict = self.signatures.check(await request.body())
        _signature.set(verdict)
        return await self._endpoint.handle(request)

    def _address(self, request: Request) -> str:
        """Where this service is reached: configured, else the listening socket's address."""
        if self.public_base_url:
            return f"{self.public_base_url.rstrip('/')}{self.path}"
        host, port = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"[{host}]" if ":" in str(host) else host
        return f"{request.url.scheme}://{host}:{port}{self.path}"

    def _check_action(self, message: SoapMessage) -> None:
        """A SOAPAction that is present and not empty must be the Body operation's own."""
        given = (_action.get() or "").strip().strip('"')
        if given and given != self._actions.get(message.operation):
            raise SoapFault.client("SOAPAction does not match the operation in the Body")

    def _publish(self, request: Request) -> Response:
        address = self._address(request)

        def schema_url(location: str) -> str:
            return f"{address}?xsd={Path(location).name}"

        if "wsdl" in request.query_params:
            body = publish_wsdl(self.contract.wsdl, address, schema_url)
            return Response(body, media_type=CONTENT_TYPE)
        schema = self._schemas.get(request.query_params.get("xsd", ""))
        if schema is not None:
            return Response(publish_schema(schema, schema_url), media_type=CONTENT_TYPE)
        return Response(f"GET {address}?wsdl for the service description", status_code=404)

    async def _authenticate(self, message: SoapMessage) -> str:
        """The gate's verdict, reached off the event loop, as the partner name or a fault."""
        self._check_action(message)
        operation = self._by_request.get(message.operation)
        name = operation.name if operation else etree.QName(message.payload).localname
        certificate = _certificate.get()
        signed = _signature.get(SignatureVerdict())
        try:
            token = read_username_token(message.header)
            credentials = Credentials(
                "soap",
                token.password,
                token.username,
                token.digest,
                certificate,
                signed.signer,
                signed.problem,
            )
        except SoapFault:
            credentials = Credentials(
                "soap", None, None, False, certificate, signed.signer, signed.problem
            )
        call = CallInfo(
            operation=f"{self.name}.{name}",
            grant=soap_grant(self.name, operation.name) if operation else None,
            client=_client.get(),
            reference=given if valid_correlation(given := _reference.get()) else None,
        )
        try:
            partner = await run_in_threadpool(self._gate.admit, credentials, call)
        except Unauthorised as exc:
            refusal = DIGEST_NOT_SUPPORTED if credentials.digest else AUTHENTICATION_FAILED
            if isinstance(exc, CertificateRefused | SignatureRefusedByGate):
                refusal = str(exc)  # the certificate's own reason: revoked, expired, ...
            raise SoapFault.client(refusal) from None
        except UnknownOperation:
            raise SoapFault.client(f"unknown operation {name}") from None
        except Forbidden:
            raise SoapFault.client(f"not granted {call.grant}") from None
        except RateLimited as exc:
            fault = SoapFault.client(f"rate limit exceeded; retry after {exc.retry_after} s")
            fault.status_code = 429
            fault.headers["Retry-After"] = str(exc.retry_after)
            raise fault from None
        if _reference.get() is not None and call.reference is None:
            _reference.set(None)
            raise SoapFault.client(f"X-Correlation-Id {CORRELATION_ID_RULE}")
        return partner

    def _checked(self, operation: SoapOperation) -> Operation:
        """The handler behind a check of the payload against the service's XSD."""

        async def handle(message: SoapMessage, caller: str) -> etree._Element:
            errors = schema_errors(self.contract.schema, message.payload)
            if errors:
                detail = self.contract.fault_detail("INVALID_REQUEST", "; ".join(errors[:10]))
                raise SoapFault.client(f"invalid {operation.name} request: {errors[0]}", detail)
            return await operation.handler(message, caller)

        return handle
