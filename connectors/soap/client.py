"""The hub's side of an agency's SOAP services: templates over httpx, failures sorted for retrying.

Agency-neutral: a SOAP connector (rop, electricity) supplies its WSDL, binding, XSD and a table
of operations; everything else (WS-Security, reply checks, error classes, health) is here once.
zeep reads the packaged WSDL once per process and each operation is compiled from its types
(`connectors.soap.operations`); per call the request is written with lxml, posted with httpx,
and the reply the transport already parsed and checked against the XSD is read once into the
plain values zeep would give. The endpoint URL comes from configuration (the WSDL's
soap:address is a placeholder). Every failure leaves as a `TransientAgencyError` (worth
retrying) or a `PermanentAgencyError` (not), never as an httpx or lxml exception; refused
credentials and requests to back off as their subclasses `AgencyAuthError` and
`AgencyRateLimited`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from connectors.replies import ReplyRejected, exchange_error, probe
from connectors.soap.operations import OperationCodec, binding_codecs
from connectors.soap.transport import JUDGED_REPLY, CheckedTransport
from connectors.soap.wsse import WsSecurity
from connectors.soap.xsd_reader import ReplyUnusable
from connectors.soap.xsd_writer import RequestUnfit
from hub.plugin import (
    CONTENT_TYPE,
    AgencyError,
    CallContext,
    CallPolicy,
    ConfigurationError,
    Endpoint,
    Health,
    PermanentAgencyError,
    SoapMessage,
    TransientAgencyError,
    record_reply,
    record_request,
    stamp_correlation,
)


@dataclass(frozen=True)
class SoapOperation:
    """How one canonical operation is asked of the agency and how its reply is read back."""

    soap_name: str
    to_soap: Callable[[Mapping[str, Any]], dict[str, Any]]
    to_canonical: Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class SoapService:
    """One agency's SOAP contract as the client needs it."""

    agency: str
    wsdl_path: Path
    binding: str
    schema: Callable[[], etree.XMLSchema]
    schema_name: str
    operations: Mapping[str, SoapOperation]


def token_credentials(agency: str, endpoint: Endpoint) -> tuple[str, str]:
    """The UsernameToken's user name and password from the endpoint's credentials."""
    try:
        return endpoint.credentials["username"], endpoint.credentials["password"]
    except KeyError:
        raise ConfigurationError(
            f"{agency} endpoint {endpoint.url} needs credentials 'username' and 'password' "
            "(WS-Security UsernameToken)"
        ) from None


class SoapFaultReply(Exception):
    """A SOAP 1.1 fault the agency answered with: its faultcode and faultstring as sent."""

    def __init__(self, fault: etree._Element) -> None:
        self.code = fault.findtext("faultcode")
        self.message = fault.findtext("faultstring")
        super().__init__(f"{self.code}: {self.message}")


class SoapAgencyClient:
    """One agency endpoint: `call` asks an operation, `health` fetches the WSDL and times it."""

    def __init__(self, service: SoapService, endpoint: Endpoint, policy: CallPolicy) -> None:
        username, password = token_credentials(service.agency, endpoint)
        self.service = service
        self.agency = service.agency
        self.endpoint = endpoint
        self.policy = policy
        self._codecs = binding_codecs(service.wsdl_path, service.binding)
        self._security = WsSecurity(username, password, endpoint.ws_signing)
        self._http = httpx.AsyncClient(
            timeout=policy.timeout_s,
            transport=CheckedTransport(service.schema(), schema_name=service.schema_name),
            event_hooks={
                "request": [stamp_correlation, record_request],
                "response": [record_reply],
            },
        )

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        """The canonical reply to `operation`, or an AgencyError saying whether to retry.
        The gateway only asks operations the connector declares (it refuses the others)."""
        spec = self.service.operations[operation]
        codec = self._codecs[spec.soap_name]
        try:
            content = self._security.envelope(codec.request(spec.to_soap(request)))
            response = await self._http.post(
                self.endpoint.url,
                content=content,
                headers={"SOAPAction": f'"{codec.soap_action}"', "Content-Type": CONTENT_TYPE},
            )
            plain = self._read(codec, response)
        except (ReplyRejected, httpx.HTTPError, SoapFaultReply, ReplyUnusable, RequestUnfit) as exc:
            raise self._classify(operation, exc) from exc
        return spec.to_canonical(plain or {})

    def _read(self, codec: OperationCodec, response: httpx.Response) -> Any:
        """The reply's plain values from the envelope the transport parsed and judged: its
        signature checked first (as zeep did), then a fault raised, else the payload read."""
        message: SoapMessage = response.extensions[JUDGED_REPLY]
        self._security.check_reply(response.content, message.is_fault)
        if message.is_fault:
            raise SoapFaultReply(message.payload)
        return codec.reply(message.payload)

    def _classify(self, operation: str, exc: Exception) -> AgencyError:
        """The hub's error class for a failed call: `connectors.replies` decides for replies and
        exchanges; a SOAP fault is transient when the agency says it was its own (Server)."""
        agency = self.agency
        error = exchange_error(agency, operation, exc, self.policy.timeout_s)
        if error is not None:
            return error
        if isinstance(exc, SoapFaultReply):
            code = str(exc.code or "").rpartition(":")[2] or "unknown"
            reason = f"SOAP {code} fault: {exc.message}"
            if code == "Server":
                return TransientAgencyError(agency, operation, reason)
            return PermanentAgencyError(agency, operation, reason)
        if isinstance(exc, RequestUnfit):
            return PermanentAgencyError(agency, operation, f"request unfit for the WSDL: {exc}")
        return PermanentAgencyError(agency, operation, f"reply unusable: {exc!r}")

    async def health(self) -> Health:
        """Reachable when the endpoint serves its WSDL: a real round trip, with no side effect."""
        separator = "&" if "?" in self.endpoint.url else "?"
        url = f"{self.endpoint.url}{separator}wsdl"
        return await probe(
            lambda: self._http.get(url), self.policy.timeout_s, "WSDL request", "WSDL served"
        )

    async def aclose(self) -> None:
        await self._http.aclose()
