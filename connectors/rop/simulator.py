"""A stand-in for the ROP web services: a real SOAP 1.1 server on loopback with switchable faults.

POST / answers operations (WS-Security UsernameToken required), GET /?wsdl serves the contract
WSDL bound to the address it was fetched from, POST /_sim/fault {"mode": ...} switches faults.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from datetime import date

from lxml import etree
from lxml.builder import ElementMaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from connectors.rop.contract import (
    NAMESPACE,
    VEHICLE_INQUIRY_REQUEST,
    WSDL_PATH,
    XSD_NAME,
    XSD_PATH,
    rop_schema,
)
from connectors.rop.data import Vehicle, find_vehicle
from hub.connectors import CORRELATION_HEADER, FAULT_MODES
from hub.soap import (
    CONTENT_TYPE,
    SoapEndpoint,
    SoapFault,
    SoapMessage,
    check_username_token,
    fault_response,
    publish_schema,
    publish_wsdl,
    schema_errors,
)

DEFAULT_CREDENTIALS = {"username": "hub", "password": "rop-sim-secret"}

E = ElementMaker(namespace=NAMESPACE, nsmap={"rop": NAMESPACE})


def service_fault(code: str, message: str) -> etree._Element:
    """The rop:ServiceFault detail the WSDL declares for every operation."""
    return E.ServiceFault(E.Code(code), E.Message(message))


def vehicle_element(
    vehicle: Vehicle, *, expiry: str | None = None, with_civil_id: bool = True
) -> etree._Element:
    """A rop:Vehicle as rop.xsd defines it (the keywords exist to break it on purpose)."""
    person = vehicle.owner
    owner = [E.CivilId(person.civil_id)] if with_civil_id else []
    owner += [E.NameEn(person.name_en), E.NameAr(person.name_ar)]
    if person.phone:
        owner.append(E.Phone(person.phone))
    return E.Vehicle(
        E.PlateNumber(vehicle.plate_number),
        E.PlateCode(vehicle.plate_code),
        E.Make(vehicle.make),
        E.Model(vehicle.model),
        E.Year(str(vehicle.year)),
        E.ColourEn(vehicle.colour_en),
        E.ColourAr(vehicle.colour_ar),
        E.RegistrationExpiry(expiry or vehicle.registration_expiry.isoformat()),
        E.Owner(*owner),
    )


def broken_vehicle_inquiry_response(vehicle: Vehicle | None) -> etree._Element:
    """A well-formed reply that breaks rop.xsd the way a careless release might: a date in
    the local dd/mm/yyyy form and an owner without a civil id; 'no' for an unknown plate."""
    if vehicle is None:
        return E.VehicleInquiryResponse(E.Found("no"))
    local_date = vehicle.registration_expiry.strftime("%d/%m/%Y")
    return E.VehicleInquiryResponse(
        E.Found("true"), vehicle_element(vehicle, expiry=local_date, with_civil_id=False)
    )


class RopSimulator:
    """The ROP vehicle register on loopback, answering from the seeded data set."""

    def __init__(
        self,
        seed: int = 0,
        *,
        credentials: Mapping[str, str] | None = None,
        today: date | None = None,
        latency_s: float = 1.5,
        stall_s: float = 30.0,
    ) -> None:
        self.seed = seed
        self.today = today
        self.latency_s = latency_s
        self.stall_s = stall_s
        self._credentials = dict(credentials or DEFAULT_CREDENTIALS)
        self._fault = "none"
        # The X-Correlation-ID of recent calls, so tests can see the case travel to the agency.
        self.seen_correlation_ids: deque[str] = deque(maxlen=1000)
        self._schema = rop_schema()
        self._endpoint = SoapEndpoint(
            {VEHICLE_INQUIRY_REQUEST: self._vehicle_inquiry}, self._authenticate
        )
        self._app = Starlette(
            routes=[
                Route("/", self._root, methods=["GET", "POST"]),
                Route("/_sim/fault", self._fault_admin, methods=["GET", "POST"]),
            ]
        )

    @property
    def app(self) -> ASGIApp:
        return self._app

    @property
    def credentials(self) -> Mapping[str, str]:
        """What a client must send as its UsernameToken (`username`, `password`)."""
        return dict(self._credentials)

    @property
    def fault(self) -> str:
        return self._fault

    def set_fault(self, mode: str) -> None:
        """Switch the fault mode for every following request (thread-safe: one assignment)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; one of {', '.join(FAULT_MODES)}")
        self._fault = mode

    def _authenticate(self, message: SoapMessage) -> str:
        return check_username_token(
            message.header, self._credentials["username"], self._credentials["password"]
        )

    async def _vehicle_inquiry(self, message: SoapMessage, caller: str) -> etree._Element:
        errors = schema_errors(self._schema, message.payload)
        if errors:
            detail = service_fault("INVALID_REQUEST", errors[0])
            raise SoapFault.client(f"request breaks rop.xsd: {errors[0]}", detail)
        number = message.payload.findtext(f"{{{NAMESPACE}}}PlateNumber") or ""
        code = message.payload.findtext(f"{{{NAMESPACE}}}PlateCode") or ""
        vehicle = find_vehicle(number.strip(), code.strip(), self.seed, self.today)
        if self._fault == "contract-break":
            return broken_vehicle_inquiry_response(vehicle)
        if vehicle is None:
            return E.VehicleInquiryResponse(E.Found("false"))
        return E.VehicleInquiryResponse(E.Found("true"), vehicle_element(vehicle))

    async def _stall(self, request: Request) -> None:
        """Hold the request without answering, until the caller gives up or `stall_s` passes;
        waiting on the disconnect lets the server stop promptly after the client's timeout."""

        async def until_disconnect() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until_disconnect(), self.stall_s)

    async def _transport_fault(self, request: Request) -> Response | None:
        """The faults that strike before the service reads the request (network, gateway)."""
        mode = self._fault
        if mode == "latency":
            await asyncio.sleep(self.latency_s)
        elif mode == "timeout":
            await self._stall(request)
            return Response(status_code=504)
        elif mode == "outage":
            return Response(status_code=503)
        elif mode == "rate-limit":
            return Response("rate limit exceeded", status_code=429, headers={"Retry-After": "1"})
        return None

    async def _root(self, request: Request) -> Response:
        refused = await self._transport_fault(request)
        if refused is not None:
            return refused
        if request.method == "GET":
            return self._publish(request)
        if CORRELATION_HEADER.lower() in request.headers:
            self.seen_correlation_ids.append(request.headers[CORRELATION_HEADER.lower()])
        if self._fault == "error":
            detail = service_fault("BACKEND_UNAVAILABLE", "vehicle register is not answering")
            return fault_response(
                SoapFault.server("ROP vehicle register temporarily unavailable", detail)
            )
        response = await self._endpoint.handle(request)
        if self._fault == "malformed" and response.status_code == 200:
            whole = bytes(response.body)
            return Response(whole[: len(whole) // 2], media_type=CONTENT_TYPE)
        return response

    def _publish(self, request: Request) -> Response:
        """?wsdl and ?xsd=rop.xsd, with addresses pointing back at this server."""
        address = str(request.url.replace(query=""))

        def schema_url(name: str) -> str:
            return f"{address}?xsd={name}"

        if "wsdl" in request.query_params:
            return Response(publish_wsdl(WSDL_PATH, address, schema_url), media_type=CONTENT_TYPE)
        if request.query_params.get("xsd") == XSD_NAME:
            return Response(publish_schema(XSD_PATH, schema_url), media_type=CONTENT_TYPE)
        return Response("GET ?wsdl for the service description", status_code=404)

    async def _fault_admin(self, request: Request) -> Response:
        """GET: the current mode. POST {"mode": ...}: switch it (400 names the valid modes)."""
        if request.method == "POST":
            try:
                payload = await request.json()
                self.set_fault(str(payload["mode"]))
            except (ValueError, KeyError, TypeError):
                return JSONResponse(
                    {"error": 'send {"mode": MODE}', "modes": list(FAULT_MODES)}, status_code=400
                )
        return JSONResponse({"mode": self._fault})
