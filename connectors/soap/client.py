"""The hub's side of an agency's SOAP services: zeep over httpx, failures sorted for retrying.

Agency-neutral: a SOAP connector (rop, electricity) supplies its WSDL, binding, XSD and a table
of operations; everything else (WS-Security, reply checks, error classes, health) is here once.
The WSDL is read from the packaged contract when the client is made; the endpoint URL comes
from configuration (the WSDL's soap:address is a placeholder). Every failure leaves as a
`TransientAgencyError` (worth retrying) or a `PermanentAgencyError` (not), never as a zeep or
httpx exception; refused credentials and requests to back off as their subclasses
`AgencyAuthError` and `AgencyRateLimited`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from lxml import etree
from zeep import AsyncClient, Settings
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport
from zeep.wsse.username import UsernameToken

from connectors.replies import ReplyRejected, exchange_error, probe
from connectors.soap.transport import CheckedTransport
from connectors.soap.wsse import SignedUsernameToken
from hub.plugin import (
    AgencyError,
    CallContext,
    CallPolicy,
    ConfigurationError,
    Endpoint,
    Health,
    PermanentAgencyError,
    TransientAgencyError,
    record_reply,
    record_request,
    stamp_correlation,
)

# zeep parses with these on top of our own hardened parse of every reply.
ZEEP_SETTINGS = Settings(
    strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
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


class SoapAgencyClient:
    """One agency endpoint: `call` asks an operation, `health` fetches the WSDL and times it."""

    def __init__(self, service: SoapService, endpoint: Endpoint, policy: CallPolicy) -> None:
        username, password = token_credentials(service.agency, endpoint)
        self.service = service
        self.agency = service.agency
        self.endpoint = endpoint
        self.policy = policy
        self._http = httpx.AsyncClient(
            timeout=policy.timeout_s,
            transport=CheckedTransport(service.schema(), schema_name=service.schema_name),
            event_hooks={
                "request": [stamp_correlation, record_request],
                "response": [record_reply],
            },
        )
        # zeep ships partial annotations, hence the no-untyped-call ignores on its calls.
        # wsdl_http: zeep fetches nothing over it (WSDL and XSD are local files) but wants one.
        wsdl_http = httpx.Client(timeout=policy.timeout_s)
        try:
            zeep_client = AsyncClient(  # type: ignore[no-untyped-call]
                str(service.wsdl_path),
                transport=AsyncTransport(  # type: ignore[no-untyped-call]
                    client=self._http, wsdl_client=wsdl_http
                ),
                wsse=(
                    SignedUsernameToken(username, password, endpoint.ws_signing)
                    if endpoint.ws_signing is not None
                    else UsernameToken(username, password)  # type: ignore[no-untyped-call]
                ),
                settings=ZEEP_SETTINGS,
            )
        finally:
            wsdl_http.close()
        # AsyncClient.create_service returns a sync proxy (zeep issues #1168, #1288), so the
        # async proxy is bound to the configured address by hand.
        self._service = AsyncServiceProxy(  # type: ignore[no-untyped-call]
            zeep_client, zeep_client.wsdl.bindings[service.binding], address=endpoint.url
        )

    async def call(
        self, operation: str, request: Mapping[str, Any], ctx: CallContext
    ) -> Mapping[str, Any]:
        """The canonical reply to `operation`, or an AgencyError saying whether to retry.
        The gateway only asks operations the connector declares (it refuses the others)."""
        spec = self.service.operations[operation]
        try:
            reply = await getattr(self._service, spec.soap_name)(**spec.to_soap(request))
        except (ReplyRejected, httpx.HTTPError, ZeepError) as exc:
            raise self._classify(operation, exc) from exc
        plain = serialize_object(reply, dict)  # type: ignore[no-untyped-call]
        return spec.to_canonical(plain or {})

    def _classify(self, operation: str, exc: Exception) -> AgencyError:
        """The hub's error class for a failed call: `connectors.replies` decides for replies and
        exchanges; a SOAP fault is transient when the agency says it was its own (Server)."""
        agency = self.agency
        error = exchange_error(agency, operation, exc, self.policy.timeout_s)
        if error is not None:
            return error
        if isinstance(exc, Fault):
            code = str(exc.code or "").rpartition(":")[2] or "unknown"
            reason = f"SOAP {code} fault: {exc.message}"
            if code == "Server":
                return TransientAgencyError(agency, operation, reason)
            return PermanentAgencyError(agency, operation, reason)
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
