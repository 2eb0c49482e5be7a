"""A SOAP 1.1 agency on loopback with switchable faults: what every SOAP simulator shares.

Agency-neutral (rop and electricity subclass it): POST / answers the agency's operations
(WS-Security UsernameToken required), GET /?wsdl serves the contract WSDL bound to the address
it was fetched from, GET /?xsd=NAME its schema, and GET or POST /_sim/fault reads or switches
the fault mode. Subclasses supply only their operations and their data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from connectors.faults import FaultSwitch
from hub.plugin import (
    CONTENT_TYPE,
    Handler,
    ReplayGuard,
    SignatureRefused,
    SoapEndpoint,
    SoapFault,
    SoapMessage,
    WsSigning,
    check_username_token,
    fault_response,
    hardened_parser,
    load_schema,
    parse_xml,
    publish_schema,
    publish_wsdl,
    schema_errors,
    sign_envelope,
    verify_envelope,
)

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11_NS = "http://schemas.xmlsoap.org/wsdl/soap/"


def _service_addresses(root: etree._Element) -> dict[str, str]:
    """Each wsdl:service name with the location of its (first) soap:address."""
    found: dict[str, str] = {}
    for service in root.iter(f"{{{WSDL_NS}}}service"):
        address = service.find(f".//{{{WSDL_SOAP11_NS}}}address")
        if address is not None:
            found[service.get("name", "")] = address.get("location", "")
    return found


class SoapAgencySimulator(FaultSwitch):
    """The shared half of a SOAP agency simulator; subclasses implement `operations`."""

    def __init__(
        self,
        *,
        namespace: str,
        prefix: str,
        wsdl_path: Path,
        xsd_path: Path,
        service_name: str,
        credentials: Mapping[str, str],
        unavailable: str,
        latency_s: float,
        stall_s: float,
    ) -> None:
        super().__init__(latency_s, stall_s)
        self.E = ElementMaker(namespace=namespace, nsmap={prefix: namespace})
        self._wsdl_path = wsdl_path
        self._xsd_path = xsd_path
        self._service_name = service_name
        self._unavailable = unavailable
        self._credentials = dict(credentials)
        self._schema = load_schema(xsd_path)
        self._endpoint = SoapEndpoint(self.operations(), self._authenticate)
        # WS-Security signatures, when this agency requires them (`require_signatures`)
        self._signing: WsSigning | None = None
        self._replays = ReplayGuard()
        self.tamper_signed_replies = False  # a reply changed after it was signed
        self._app = Starlette(
            routes=[
                Route("/", self._root, methods=["GET", "POST"]),
                Route("/_sim/fault", self._fault_admin, methods=["GET", "POST"]),
            ]
        )

    def operations(self) -> Mapping[str, Handler]:
        """The agency's operations keyed by request element (Clark notation)."""
        raise NotImplementedError

    def require_signatures(self, signing: WsSigning) -> None:
        """From now on: refuse requests without a valid signature from the CA's certificates
        (unsigned, wrongly signed, wrong CA, expired, stale, replayed), sign every reply."""
        self._signing = signing

    async def _signature_refusal(self, request: Request) -> Response | None:
        if self._signing is None:
            return None
        try:
            verify_envelope(await request.body(), self._signing.trust_anchor, replays=self._replays)
        except SignatureRefused as exc:
            return fault_response(SoapFault.client(f"signature refused: {exc}"))
        return None

    def _signed(self, response: Response) -> Response:
        if self._signing is None or response.status_code != 200:
            return response
        signed = sign_envelope(bytes(response.body), self._signing)
        if self.tamper_signed_replies:
            signed = _tampered(signed)
        return Response(signed, media_type=CONTENT_TYPE)

    @property
    def app(self) -> ASGIApp:
        return self._app

    @property
    def credentials(self) -> Mapping[str, str]:
        """What a client must send as its UsernameToken (`username`, `password`)."""
        return dict(self._credentials)

    def service_fault(self, code: str, message: str) -> etree._Element:
        """The ServiceFault detail the WSDL declares for every operation."""
        return self.E.ServiceFault(self.E.Code(code), self.E.Message(message))

    def client_fault(self, code: str, message: str) -> SoapFault:
        """A business refusal: the caller's request cannot succeed as it is."""
        return SoapFault.client(message, self.service_fault(code, message))

    def check_request(self, message: SoapMessage) -> None:
        """A request that breaks the agency XSD is the caller's fault, named by field."""
        errors = schema_errors(self._schema, message.payload)
        if errors:
            detail = self.service_fault("INVALID_REQUEST", errors[0])
            raise SoapFault.client(f"request breaks {self._xsd_path.name}: {errors[0]}", detail)

    @staticmethod
    def text(message: SoapMessage, name: str) -> str:
        """The stripped text of a child of the request payload, in the payload's namespace."""
        namespace = etree.QName(message.payload).namespace
        return (message.payload.findtext(f"{{{namespace}}}{name}") or "").strip()

    def _authenticate(self, message: SoapMessage) -> str:
        return check_username_token(
            message.header, self._credentials["username"], self._credentials["password"]
        )

    async def _root(self, request: Request) -> Response:
        refused = await self._transport_fault(request)
        if refused is not None:
            return refused
        if request.method == "GET":
            return self._publish(request)
        self.note_correlation(request)
        if self._fault == "error":
            detail = self.service_fault(
                "BACKEND_UNAVAILABLE", f"{self._unavailable} is not answering"
            )
            fault = SoapFault.server(f"{self._unavailable} temporarily unavailable", detail)
            return fault_response(fault)
        refused = await self._signature_refusal(request)
        if refused is not None:
            return refused
        response = self._signed(await self._endpoint.handle(request))
        if self._fault == "malformed" and response.status_code == 200:
            whole = bytes(response.body)
            return Response(whole[: len(whole) // 2], media_type=CONTENT_TYPE)
        return response

    def _publish(self, request: Request) -> Response:
        """?wsdl and ?xsd=NAME, with this agency's address pointing back at this server."""
        address = str(request.url.replace(query=""))

        def schema_url(name: str) -> str:
            return f"{address}?xsd={name}"

        if "wsdl" in request.query_params:
            return Response(self._published_wsdl(address, schema_url), media_type=CONTENT_TYPE)
        if request.query_params.get("xsd") == self._xsd_path.name:
            return Response(publish_schema(self._xsd_path, schema_url), media_type=CONTENT_TYPE)
        return Response("GET ?wsdl for the service description", status_code=404)

    def _published_wsdl(self, address: str, schema_url: Callable[[str], str]) -> bytes:
        """The WSDL with only the agency's own service bound here: the notification services
        it describes are served by the hub, so their placeholder addresses are kept."""
        contract = etree.parse(str(self._wsdl_path), hardened_parser()).getroot()
        placeholders = _service_addresses(contract)
        published = parse_xml(publish_wsdl(self._wsdl_path, address, schema_url))
        for service in published.iter(f"{{{WSDL_NS}}}service"):
            name = service.get("name", "")
            node = service.find(f".//{{{WSDL_SOAP11_NS}}}address")
            if name != self._service_name and node is not None and name in placeholders:
                node.set("location", placeholders[name])
        return etree.tostring(published, xml_declaration=True, encoding="utf-8")


def _tampered(signed: bytes) -> bytes:
    """The signed reply with one free-text value of its Body changed (a name: still valid for
    the agency's XSD, but the signature no longer holds)."""
    root = parse_xml(signed)
    body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    for node in body.iter() if body is not None else []:
        if node.text and " " in node.text.strip():
            node.text = node.text.strip() + " Jr"
            break
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
