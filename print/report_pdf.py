"""The class week report (server.reports) as an A4 landscape PDF for the staff room wall."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from print import fonts
from server.reports import STATE_MARK

FALLBACK_MARKS = {"✓": "√", "○": "o", "✗": "×"}  # for a font without the first choice (WenQuanYi has no ✗)


def marks_for(font: str) -> dict[str, str]:
    """The marks this embedded font can draw: a missing glyph would print as nothing, and an
    unread family would look like a blank cell."""
    covered = getattr(pdfmetrics.getFont(font), "face", None)
    has = (lambda ch: ord(ch) in covered.charToGlyph) if covered is not None else (lambda ch: True)
    return {mark: mark if has(mark) else FALLBACK_MARKS[mark] for mark in FALLBACK_MARKS}


def pdf_bytes(report: dict, school: str) -> bytes:
    """The report as an A4 landscape PDF (ReportLab, the same embedded CJK font as the bulletins)."""
    font = fonts.register()
    mark = marks_for(font)
    state_mark = {state: mark[symbol] for state, symbol in STATE_MARK.items()}
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=10, wordWrap="CJK")
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=19)
    header = [Paragraph(escape(t), small) for t in ["Students / 学生", "Family / 家庭", "Code"]]
    header += [Paragraph(escape(c["title"]), small) for c in report["notices"]] + [Paragraph(mark["✓"], small)]
    body = [[Paragraph(escape(f["students"]), small), Paragraph(escape(f["family"]), small), f["code"]]
            + [state_mark[f["states"][c["notice"]["id"]].state] for c in report["notices"]] + [str(f["done"])]
            for f in report["families"]]
    totals = ["", "", ""] + [f"{c['confirmed']}{mark['✓']} {c['read']}{mark['○']} {c['unread']}{mark['✗']}" for c in report["notices"]] + [""]
    table = Table([header] + body + [totals], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 8), ("GRID", (0, 0), (-1, -1), 0.3, "#999999"),
                               ("BACKGROUND", (0, 0), (-1, 0), "#e8e8e8"), ("ALIGN", (3, 1), (-1, -1), "CENTER")]))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"{report['class_id']} {report['week']}")
    doc.build([Paragraph(escape(f"{school} · {report['class_id']} · {report['week']}"), title), Spacer(0, 4 * mm),
               Paragraph(f"{mark['✓']} confirmed / 已确认   {mark['○']} read / 已读   {mark['✗']} not yet / 未读", small), Spacer(0, 3 * mm), table])
    return out.getvalue()
