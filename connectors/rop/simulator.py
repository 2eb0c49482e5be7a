"""A stand-in for the ROP web services: a real SOAP 1.1 server on loopback with switchable faults.

Vehicles come from the ROP register (`connectors.rop.data`), civil defence certificates from
the shared world of establishments (`connectors.world`) so they agree with the other agencies,
parking violations from `connectors.rop.violations`. Settlements are kept in memory: telling
ROP twice that the same violation was paid with the same reference settles it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree
from lxml.builder import ElementMaker

from connectors import world
from connectors.rop.contract import (
    CIVIL_DEFENCE_CERTIFICATE_REQUEST,
    NAMESPACE,
    PARKING_VIOLATION_SETTLED_REQUEST,
    VEHICLE_INQUIRY_REQUEST,
    WSDL_PATH,
    XSD_PATH,
)
from connectors.rop.data import Vehicle, find_vehicle
from connectors.rop.violations import find_violation
from connectors.soap.simulator import SoapAgencySimulator
from hub.plugin import Handler, SoapMessage

DEFAULT_CREDENTIALS = {"username": "hub", "password": "rop-sim-secret"}

E = ElementMaker(namespace=NAMESPACE, nsmap={"rop": NAMESPACE})


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


def certificate_number(premises_id: str) -> str:
    """ROP numbers a premises' certificate after the premises: MCT-PR-00123 -> CD-MCT-00123."""
    return f"CD-{premises_id[:3]}-{premises_id[-5:]}"


@dataclass(frozen=True)
class Settlement:
    """What ROP recorded when told a violation was paid."""

    payment_reference: str
    reference: str
    settled_at: datetime


class RopSimulator(SoapAgencySimulator):
    """The ROP services on loopback, answering from the seeded data sets."""

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
        # Violation number -> its settlement; the simulator's own memory of what it was told.
        self.settlements: dict[str, Settlement] = {}
        super().__init__(
            namespace=NAMESPACE,
            prefix="rop",
            wsdl_path=WSDL_PATH,
            xsd_path=XSD_PATH,
            service_name="RopServices",
            credentials=credentials or DEFAULT_CREDENTIALS,
            unavailable="ROP web services",
            latency_s=latency_s,
            stall_s=stall_s,
        )

    def operations(self) -> Mapping[str, Handler]:
        return {
            VEHICLE_INQUIRY_REQUEST: self._vehicle_inquiry,
            CIVIL_DEFENCE_CERTIFICATE_REQUEST: self._civil_defence_certificate,
            PARKING_VIOLATION_SETTLED_REQUEST: self._parking_violation_settled,
        }

    async def _vehicle_inquiry(self, message: SoapMessage, caller: str) -> etree._Element:
        self.check_request(message)
        number, code = self.text(message, "PlateNumber"), self.text(message, "PlateCode")
        vehicle = find_vehicle(number, code, self.seed, self.today)
        if self.fault == "contract-break":
            return broken_vehicle_inquiry_response(vehicle)
        if vehicle is None:
            return E.VehicleInquiryResponse(E.Found("false"))
        return E.VehicleInquiryResponse(E.Found("true"), vehicle_element(vehicle))

    async def _civil_defence_certificate(self, message: SoapMessage, caller: str) -> etree._Element:
        """Found only when the premises exists and has a certificate, valid or expired."""
        self.check_request(message)
        premises_id = self.text(message, "PremisesId")
        establishment = world.by_premises(premises_id, self.seed, self.today)
        valid_until = establishment.civil_defence_valid_until if establishment else None
        if valid_until is None:
            found = "no" if self.fault == "contract-break" else "false"
            return E.CivilDefenceCertificateResponse(E.Found(found))
        number = certificate_number(premises_id)
        if self.fault == "contract-break":
            # No certificate number, and the expiry in the local dd/mm/yyyy form.
            return E.CivilDefenceCertificateResponse(
                E.Found("true"),
                E.Certificate(
                    E.PremisesId(premises_id), E.ValidUntil(valid_until.strftime("%d/%m/%Y"))
                ),
            )
        return E.CivilDefenceCertificateResponse(
            E.Found("true"),
            E.Certificate(
                E.CertificateNumber(number),
                E.PremisesId(premises_id),
                E.IssuedOn((valid_until - timedelta(days=365)).isoformat()),
                E.ValidUntil(valid_until.isoformat()),
            ),
        )

    async def _parking_violation_settled(self, message: SoapMessage, caller: str) -> etree._Element:
        """Settle a violation once; the same payment reference again gets the same settlement."""
        self.check_request(message)
        violation_no = self.text(message, "ViolationNumber")
        violation = find_violation(violation_no, self.seed)
        if violation is None:
            found = "no" if self.fault == "contract-break" else "false"
            return E.ParkingViolationSettledResponse(E.Found(found))
        plate = (self.text(message, "PlateNumber"), self.text(message, "PlateCode"))
        if plate != (violation.plate_number, violation.plate_code):
            asked = " ".join(plate)
            raise self.client_fault(
                "PLATE_MISMATCH", f"violation {violation_no} was not issued to plate {asked}"
            )
        try:
            amount = Decimal(self.text(message, "AmountOmr"))
        except InvalidOperation:
            amount = Decimal(-1)
        if amount != Decimal(violation.amount_omr):
            raise self.client_fault(
                "AMOUNT_MISMATCH",
                f"violation {violation_no} is {violation.amount_omr} OMR, not {amount:.3f}",
            )
        settlement = self._settle(violation_no, self.text(message, "PaymentReference"))
        settled_at = settlement.settled_at.isoformat(timespec="seconds")
        if self.fault == "contract-break":
            settled_at = settlement.settled_at.strftime("%d/%m/%Y %H:%M")
        return E.ParkingViolationSettledResponse(
            E.Found("true"), E.SettlementReference(settlement.reference), E.SettledAt(settled_at)
        )

    def _settle(self, violation_no: str, payment_reference: str) -> Settlement:
        earlier = self.settlements.get(violation_no)
        if earlier is not None:
            if earlier.payment_reference != payment_reference:
                raise self.client_fault(
                    "ALREADY_SETTLED",
                    f"violation {violation_no} was settled under payment reference "
                    f"{earlier.payment_reference}",
                )
            return earlier
        settlement = Settlement(
            payment_reference,
            f"ROP-STL-{len(self.settlements) + 1:06d}",
            datetime.now(UTC).replace(microsecond=0),
        )
        self.settlements[violation_no] = settlement
        return settlement
