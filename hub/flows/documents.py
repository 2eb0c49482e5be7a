"""The one way a flow delivers a document: what the page shows is taken from the record
(`trade_licence`, `parking_permit`, `building_permit`), the desk signs it, and `deliver` keeps
it with the case and audits its digest, inside the flow's unit of work (nothing when no
signing certificate is configured)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.documents.desk import DocumentDesk, SignedDocument
from hub.messages.unit_of_work import UnitOfWork
from hub.store.tables import BuildingPermit, IssuedDocument, TradeLicence

Make = Callable[[DocumentDesk], SignedDocument]


def deliver(documents: DocumentDesk | None, uow: UnitOfWork, make: Make) -> None:
    """The document `make` draws, signed, kept with the case and audited by its digest."""
    if documents is None:
        return
    document = make(documents)
    uow.records.deliver(
        IssuedDocument(
            kind=document.kind,
            reference=document.reference,
            correlationid=uow.correlationid,
            sha256=document.sha256,
            pdf=document.pdf,
        )
    )
    uow.audit(
        "document.issued",
        document=document.kind,
        reference=document.reference,
        sha256=document.sha256,
    )


def trade_licence(licence: TradeLicence, *, renewed: bool) -> Make:
    return lambda desk: desk.trade_licence(
        licence_no=licence.licence_no,
        cr_no=licence.cr_no,
        name_en=licence.name_en,
        name_ar=licence.name_ar,
        activities=list(licence.activities or []),
        expiry=licence.expiry,
        renewed=renewed,
    )


def parking_permit(values: Mapping[str, Any]) -> Make:
    """From the permit's column values as written (a Core write: `permit_no` included)."""
    return lambda desk: desk.parking_permit(
        permit_no=str(values["permit_no"]),
        plate=f"{values['plate_number']} {values['plate_code']}",
        zone=values["zone"],
        owner_en=values.get("owner_name_en") or "",
        owner_ar=values.get("owner_name_ar") or "",
        valid_from=values["valid_from"],
        valid_until=values["valid_until"],
    )


def building_permit(permit: BuildingPermit) -> Make:
    return lambda desk: desk.building_permit(
        permit_no=permit.permit_no,
        owner_en=permit.owner_name_en or "",
        owner_ar=permit.owner_name_ar or "",
        plot_no=permit.plot_no,
        wilayat=permit.wilayat,
        load_kva=permit.load_kva,
    )
