"""A record as a bilingual one-page PDF: English on the left, Arabic on the right.

fpdf2 lays the page out; HarfBuzz (uharfbuzz) shapes the Arabic (joining forms, ligatures)
and fpdf2's bidi pass orders it right to left. The font is DejaVu Sans, shipped inside the
package (its licence beside it), so a fresh machine with only Python and pip renders the
same page. docs/PKI.md compares the alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_FILE = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
FONT = "DejaVuSans"
PAGE_WIDTH_MM = 190.0


@dataclass(frozen=True)
class Line:
    """One row of the document: the label in both languages and the value (either script)."""

    label_en: str
    label_ar: str
    value: str


@dataclass(frozen=True)
class DocumentContent:
    """What a delivered document says; `reference` is its id (e.g. the licence number)."""

    kind: str
    title_en: str
    title_ar: str
    reference: str
    lines: list[Line] = field(default_factory=list)


def render_pdf(content: DocumentContent) -> bytes:
    """The unsigned PDF of `content`."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"{content.title_en} {content.reference}")
    pdf.set_author("Muscat Municipality / بلدية مسقط")
    pdf.set_creator("Muscat integration hub")
    pdf.add_font(FONT, fname=str(FONT_FILE))
    pdf.set_text_shaping(True)
    pdf.add_page()
    pdf.set_font(FONT, size=16)
    _pair(pdf, "Muscat Municipality", "بلدية مسقط", height=10)
    _pair(pdf, content.title_en, content.title_ar, height=10)
    pdf.set_font(FONT, size=11)
    pdf.ln(4)
    for line in content.lines:
        third = PAGE_WIDTH_MM / 3
        pdf.cell(third, 8, line.label_en, border="B")
        pdf.cell(third, 8, line.value, border="B", align="C")
        pdf.cell(
            third, 8, line.label_ar, border="B", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    pdf.ln(6)
    pdf.set_font(FONT, size=9)
    _pair(
        pdf,
        "Digitally signed by Muscat Municipality.",
        "موقعة رقمياً من بلدية مسقط.",
        height=6,
    )
    return bytes(pdf.output())


def _pair(pdf: FPDF, english: str, arabic: str, *, height: float) -> None:
    half = PAGE_WIDTH_MM / 2
    pdf.cell(half, height, english)
    pdf.cell(half, height, arabic, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
