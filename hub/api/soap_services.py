"""The hub's SOAP services: MunicipalRecords (the records partners may read) and the
notifications the SOAP-speaking agencies push (electricity ConnectionCompleted, ROP
OwnershipTransferred). Contract first: names and shapes come from the WSDL/XSD files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

from lxml import etree
from lxml.builder import ElementMaker
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from contracts import CONTRACTS_DIR
from hub.api.gate import Admitted, PartnerGate
from hub.api.pushes import ELECTRICITY_CONNECTION_COMPLETED, ROP_OWNERSHIP_TRANSFERRED, PushService
from hub.api.records import (
    BuildingPermitView,
    LicenceView,
    ParkingPermitView,
    RecordReader,
    scoped,
)
from hub.api.soap_host import (
    Operation,
    PartnerSoapService,
    ServiceContract,
    SoapOperation,
    partner_reference,
)
from hub.errors import ContractViolation
from hub.soap import SoapFault, SoapMessage, load_schema

PARTNERS_DIR = CONTRACTS_DIR / "partners"
RECORDS_NS = "urn:muscat-hub:partners:municipal-records:1"
MEDC_NS = "urn:medc.om:services:1"
ROP_NS = "urn:rop.gov.om:services:1"
MUSCAT_TIME = timezone(timedelta(hours=4))
"""An xs:dateTime without a zone is read as Oman time (UTC+4, no daylight saving)."""

R = ElementMaker(namespace=RECORDS_NS, nsmap={"mr": RECORDS_NS})


def _fault_maker(namespace: str, prefix: str) -> Any:
    maker = ElementMaker(namespace=namespace, nsmap={prefix: namespace})

    def fault_detail(code: str, message: str) -> etree._Element:
        return maker.ServiceFault(maker.Code(code), maker.Message(message))

    return fault_detail


def _text(message: SoapMessage, namespace: str, name: str) -> str:
    return (message.payload.findtext(f"{{{namespace}}}{name}") or "").strip()


def _optional(name: str, value: object | None) -> list[etree._Element]:
    if value is None:
        return []
    text = value.isoformat() if isinstance(value, date | datetime) else str(value)
    return [getattr(R, name)(text)]


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(message: SoapMessage, namespace: str, name: str) -> str:
    """An xs:dateTime field as an ISO instant in UTC (so the same moment is one value)."""
    text = _text(message, namespace, name)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SoapFault.client(f"{name}: not a date and time the hub can read: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=MUSCAT_TIME)
    try:
        return _utc(moment)
    except OverflowError:  # year 1 or 9999 with an offset: no such instant in UTC
        raise SoapFault.client(f"{name}: out of range: {text!r}") from None


def licence_element(view: LicenceView) -> etree._Element:
    activities = [
        R.Activity(
            R.Code(a.code),
            *_optional("NameEn", a.name_en),
            *_optional("NameAr", a.name_ar),
        )
        for a in view.activities
    ]
    return R.Licence(
        R.LicenceNo(view.licence_no),
        R.CrNo(view.cr_no),
        R.NameEn(view.name_en),
        R.NameAr(view.name_ar),
        R.Status(view.status),
        *_optional("Expiry", view.expiry),
        *activities,
    )


def building_permit_element(view: BuildingPermitView) -> etree._Element:
    connected = _utc(view.connected_at) if view.connected_at else None
    return R.BuildingPermit(
        R.PermitNo(view.permit_no),
        R.OwnerCivilId(view.owner_civil_id),
        *_optional("OwnerNameEn", view.owner_name_en),
        *_optional("OwnerNameAr", view.owner_name_ar),
        R.PlotNo(view.plot_no),
        R.Wilayat(view.wilayat),
        R.LoadKva(str(view.load_kva)),
        R.Status(view.status),
        *_optional("ElectricityRequestNo", view.electricity_request_no),
        *_optional("ConnectedAt", connected),
    )


def parking_permit_element(view: ParkingPermitView) -> etree._Element:
    return R.ParkingPermit(
        R.ApplicationNo(view.application_no),
        *_optional("PermitNo", view.permit_no),
        R.PlateNumber(view.plate_number),
        R.PlateCode(view.plate_code),
        R.CivilId(view.civil_id),
        R.Zone(view.zone),
        R.Months(str(view.months)),
        R.Status(view.status),
        *_optional("OwnerNameEn", view.owner_name_en),
        *_optional("OwnerNameAr", view.owner_name_ar),
        *_optional("ValidFrom", view.valid_from),
        *_optional("ValidUntil", view.valid_until),
    )


View = TypeVar("View", bound=BaseModel)


def _scopes(caller: str) -> frozenset[str]:
    """The scopes of the caller's grant for this operation (the gate admitted it with them)."""
    return caller.scopes if isinstance(caller, Admitted) else frozenset()


def _records_operation(name: str, handler: Operation) -> SoapOperation:
    """A MunicipalRecords operation, its request element named after it as the WSDL does."""
    return SoapOperation(name, f"{{{RECORDS_NS}}}{name}Request", handler)


def _lookup(
    name: str,
    key: str,
    read: Callable[[str], View | None],
    element: Callable[[View], etree._Element],
) -> SoapOperation:
    """An operation answering one record by its number: `<name>Response` with Found=false when
    there is none (SOAP's answer to REST's 404), else Found=true and the record."""

    async def handler(message: SoapMessage, caller: str) -> etree._Element:
        found = await run_in_threadpool(read, _text(message, RECORDS_NS, key))
        if found is None:
            return R(f"{name}Response", R.Found("false"))
        return R(f"{name}Response", R.Found("true"), element(scoped(found, _scopes(caller))))

    return _records_operation(name, handler)


def _listing(
    name: str,
    keys: tuple[str, ...],
    read: Callable[..., list[View]],
    element: Callable[[View], etree._Element],
) -> SoapOperation:
    """An operation answering every record under a key (read with the `keys` request fields
    in order): `<name>Response` holding one element a record, empty when there are none."""

    async def handler(message: SoapMessage, caller: str) -> etree._Element:
        found = await run_in_threadpool(read, *[_text(message, RECORDS_NS, key) for key in keys])
        scopes = _scopes(caller)
        return R(f"{name}Response", *[element(scoped(view, scopes)) for view in found])

    return _records_operation(name, handler)


def municipal_records(
    reader: RecordReader, gate: PartnerGate, *, max_body_bytes: int
) -> PartnerSoapService:
    """MunicipalRecords: the same queries as REST, over SOAP."""
    contract = ServiceContract(
        wsdl=PARTNERS_DIR / "municipal-records.wsdl",
        schemas=(PARTNERS_DIR / "municipal-records.xsd",),
        schema=load_schema(PARTNERS_DIR / "municipal-records.xsd"),
        fault_detail=_fault_maker(RECORDS_NS, "mr"),
    )
    operations = [
        _lookup("GetLicence", "LicenceNo", reader.licence, licence_element),
        _listing("GetLicencesByCR", ("CrNo",), reader.licences_by_cr, licence_element),
        _lookup("GetBuildingPermit", "PermitNo", reader.building_permit, building_permit_element),
        _listing(
            "GetParkingPermits",
            ("PlateNumber", "PlateCode"),
            reader.parking_permits,
            parking_permit_element,
        ),
    ]
    return PartnerSoapService(
        "MunicipalRecords", contract, operations, gate, max_body_bytes=max_body_bytes
    )


async def _push(
    pushes: PushService, caller: str, type_: str, data: dict[str, Any], contract: ServiceContract
) -> None:
    """Hand a notification to the push service; a contract breach is the sender's fault."""
    try:
        await run_in_threadpool(pushes.accept, caller, type_, data, partner_reference())
    except ContractViolation as exc:
        first = exc.errors[0]
        detail = contract.fault_detail("INVALID_REQUEST", str(exc))
        raise SoapFault.client(f"{first.field}: {first.message}", detail) from None


def electricity_notifications(
    pushes: PushService, gate: PartnerGate, *, max_body_bytes: int
) -> PartnerSoapService:
    """ElectricityNotifications: MEDC reports a connection live."""
    xsd = CONTRACTS_DIR / "agencies" / "electricity" / "electricity.xsd"
    contract = ServiceContract(
        wsdl=PARTNERS_DIR / "electricity-notifications.wsdl",
        schemas=(xsd,),
        schema=load_schema(xsd),
        fault_detail=_fault_maker(MEDC_NS, "medc"),
    )
    medc = ElementMaker(namespace=MEDC_NS, nsmap={"medc": MEDC_NS})

    async def connection_completed(message: SoapMessage, caller: str) -> etree._Element:
        data = {
            "request_no": _text(message, MEDC_NS, "RequestNumber"),
            "permit_no": _text(message, MEDC_NS, "BuildingPermitNumber"),
            "meter_no": _text(message, MEDC_NS, "MeterNumber"),
            "connected_at": _instant(message, MEDC_NS, "ConnectedAt"),
        }
        await _push(pushes, caller, ELECTRICITY_CONNECTION_COMPLETED, data, contract)
        return medc.ConnectionCompletedAcknowledgement(medc.Received("true"))

    operation = SoapOperation(
        "ConnectionCompleted", f"{{{MEDC_NS}}}ConnectionCompletedNotification", connection_completed
    )
    return PartnerSoapService(
        "ElectricityNotifications", contract, [operation], gate, max_body_bytes=max_body_bytes
    )


def rop_notifications(
    pushes: PushService, gate: PartnerGate, *, max_body_bytes: int
) -> PartnerSoapService:
    """RopNotifications: ROP reports a vehicle changed hands."""
    xsd = CONTRACTS_DIR / "agencies" / "rop" / "rop.xsd"
    contract = ServiceContract(
        wsdl=PARTNERS_DIR / "rop-notifications.wsdl",
        schemas=(xsd,),
        schema=load_schema(xsd),
        fault_detail=_fault_maker(ROP_NS, "rop"),
    )
    rop = ElementMaker(namespace=ROP_NS, nsmap={"rop": ROP_NS})

    async def ownership_transferred(message: SoapMessage, caller: str) -> etree._Element:
        data = {
            "plate": {
                "number": _text(message, ROP_NS, "PlateNumber"),
                "code": _text(message, ROP_NS, "PlateCode"),
            },
            "old_owner_civil_id": _text(message, ROP_NS, "PreviousOwnerCivilId"),
            "new_owner_civil_id": _text(message, ROP_NS, "NewOwnerCivilId"),
            "transferred_at": _instant(message, ROP_NS, "TransferredAt"),
        }
        await _push(pushes, caller, ROP_OWNERSHIP_TRANSFERRED, data, contract)
        return rop.OwnershipTransferredAcknowledgement(rop.Received("true"))

    operation = SoapOperation(
        "OwnershipTransferred",
        f"{{{ROP_NS}}}OwnershipTransferredNotification",
        ownership_transferred,
    )
    return PartnerSoapService(
        "RopNotifications", contract, [operation], gate, max_body_bytes=max_body_bytes
    )
