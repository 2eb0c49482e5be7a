"""Where the municipality's documents are made: a record's content, rendered bilingual,
signed with the municipality's certificate. Flows call it inside their unit of work, so a
licence or permit and its signed document commit together or not at all. Each kind only
says what its page shows; `sign` is the one way a document is made."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.config import Settings
from hub.documents.render import DocumentContent, Line, render_pdf
from hub.documents.signing import sign_document
from hub.pki.material import PkiFiles, SigningIdentity

TRADE_LICENCE = "trade-licence"
PARKING_PERMIT = "parking-permit"
BUILDING_PERMIT = "building-permit"


@dataclass(frozen=True)
class SignedDocument:
    kind: str
    reference: str
    pdf: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


class DocumentDesk:
    """Renders and signs documents with one signing identity."""

    def __init__(self, identity: SigningIdentity) -> None:
        self._identity = identity

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentDesk | None:
        """The desk when a signing certificate is configured; None: documents are not made."""
        files = PkiFiles.from_settings(settings)
        if files.signing_cert is None or files.signing_key is None:
            return None
        return cls(files.signing_identity())

    def trade_licence(
        self,
        *,
        licence_no: str,
        cr_no: str,
        name_en: str,
        name_ar: str,
        activities: list[Any],
        expiry: date | None,
        renewed: bool,
    ) -> SignedDocument:
        content = DocumentContent(
            kind=TRADE_LICENCE,
            title_en="Trade Licence" + (" (renewed)" if renewed else ""),
            title_ar="رخصة تجارية" + (" (مجددة)" if renewed else ""),
            reference=licence_no,
            lines=[
                Line("Licence number", "رقم الرخصة", licence_no),
                Line("Commercial registration", "السجل التجاري", cr_no),
                Line("Establishment", "اسم المنشأة", name_en),
                Line("Establishment (Arabic)", "الاسم بالعربية", name_ar),
                *[Line("Activity", "النشاط", _activity(a)) for a in activities[:8]],
                Line("Valid until", "صالحة حتى", expiry.isoformat() if expiry else "-"),
            ],
        )
        reason = "Trade licence renewed" if renewed else "Trade licence issued"
        return self.sign(content, reason=reason)

    def parking_permit(
        self,
        *,
        permit_no: str,
        plate: str,
        zone: str,
        owner_en: str,
        owner_ar: str,
        valid_from: date | None,
        valid_until: date | None,
    ) -> SignedDocument:
        """The resident's permit: no civil id on it (the plate identifies the vehicle)."""
        content = DocumentContent(
            kind=PARKING_PERMIT,
            title_en="Residential Parking Permit",
            title_ar="تصريح مواقف سكني",
            reference=permit_no,
            lines=[
                Line("Permit number", "رقم التصريح", permit_no),
                Line("Vehicle plate", "رقم اللوحة", plate),
                Line("Zone", "المنطقة", zone),
                Line("Holder", "حامل التصريح", owner_en or "-"),
                Line("Holder (Arabic)", "الاسم بالعربية", owner_ar or "-"),
                Line("Valid from", "صالح من", _day(valid_from)),
                Line("Valid until", "صالح حتى", _day(valid_until)),
            ],
        )
        return self.sign(content, reason="Parking permit issued")

    def building_permit(
        self,
        *,
        permit_no: str,
        owner_en: str,
        owner_ar: str,
        plot_no: str,
        wilayat: str,
        load_kva: int,
    ) -> SignedDocument:
        """The owner's building permit: no civil id on it (the plot identifies the site)."""
        content = DocumentContent(
            kind=BUILDING_PERMIT,
            title_en="Building Permit",
            title_ar="رخصة بناء",
            reference=permit_no,
            lines=[
                Line("Permit number", "رقم الرخصة", permit_no),
                Line("Owner", "المالك", owner_en or "-"),
                Line("Owner (Arabic)", "اسم المالك بالعربية", owner_ar or "-"),
                Line("Plot", "رقم القطعة", plot_no),
                Line("Wilayat", "الولاية", wilayat),
                Line("Electrical load", "الحمل الكهربائي", f"{load_kva} kVA"),
            ],
        )
        return self.sign(content, reason="Building permit issued")

    def sign(self, content: DocumentContent, *, reason: str) -> SignedDocument:
        """`content` rendered bilingual and signed (PAdES) with the municipality's key."""
        pdf = sign_document(render_pdf(content), self._identity, reason=reason)
        return SignedDocument(content.kind, content.reference, pdf)


def _day(day: date | None) -> str:
    return day.isoformat() if day else "-"


def _activity(activity: Any) -> str:
    if isinstance(activity, dict):
        return str(activity.get("name_en") or activity.get("code") or "")
    return str(activity)
