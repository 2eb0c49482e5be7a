"""Where the municipality's documents are made: a record's content, rendered bilingual,
signed with the municipality's certificate. Flows call it inside their unit of work, so a
licence and its signed document commit together or not at all."""

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
        pdf = sign_document(render_pdf(content), self._identity, reason=reason)
        return SignedDocument(TRADE_LICENCE, licence_no, pdf)


def _activity(activity: Any) -> str:
    if isinstance(activity, dict):
        return str(activity.get("name_en") or activity.get("code") or "")
    return str(activity)
