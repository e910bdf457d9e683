"""A family's own record (server.family_record) as a readable PDF: one section per kind of data,
names in any script through the same font chain as the bulletins."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from print import fonts, text_runs

SECTIONS = [  # (key, heading, columns)
    ("students", "Students / 学生", ["name", "class_id", "student_id", "active"]),
    ("guardians", "Guardians and phones / 监护人及电话", ["name", "phone", "language", "active"]),
    ("consent", "Consent to calls, opt-outs / 来电同意与退订", ["phone", "consent_calls", "consent_note", "do_not_call",
                                                       "sms_opt_out", "updated_at"]),
    ("receipts", "Receipts and their evidence / 回执及凭据", ["occurred_at", "notice", "channel", "kind", "source",
                                                      "actor", "payload"]),
    ("concerns", "Questions and answers / 问题与答复", ["received_at", "channel", "words", "status", "answer",
                                                   "answered_by"]),
    ("reminders", "Reminder calls and texts / 提醒电话和短信", ["at", "channel", "phone", "outcome", "notice_id"]),
    ("calls", "Calls to the school line / 来电", ["started_at", "direction", "from_number", "status"]),
    ("slips", "Printed return slips / 打印的回执单", ["week", "serial", "printed_at"]),
]


def _cell(value, style: ParagraphStyle, name: bool = False) -> Flowable:
    if name and value:  # a name in any script: the bulletins' font chain
        return text_runs.Line(str(value), style.fontName, style.fontSize, style.leading)
    if isinstance(value, dict):
        value = ", ".join(f"{k}: {v}" for k, v in value.items())
    return Paragraph(escape("" if value is None else str(value)), style)


def pdf_bytes(record: dict) -> bytes:
    font = fonts.register()
    small = ParagraphStyle("small", fontName=font, fontSize=7.5, leading=9.5, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName=font, fontSize=12, leading=16, spaceBefore=4 * mm)
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20)
    family = record["family"]
    story: list[Flowable] = [
        Paragraph(escape(f"{record['school']} · Family record / 家庭资料"), title),
        text_runs.Line(f"{family['display_name']} · {family['code']}", font, 12, 16),
        Paragraph(escape(f"Made {record['made_at'][:16].replace('T', ' ')} UTC for the family, on request. "
                         "Everything the school's PaperBridge holds on this family. / 应家长要求生成，包含学校在 "
                         "PaperBridge 中保存的此家庭全部资料。"), small),
        Paragraph(escape(f"Language / 语言: {family['language']} · Channel / 渠道: {family['preferred_channel'] or '-'}"
                         f" · Current / 在读: {'yes' if family['active'] else 'no'}"), small),
    ]
    for key, label, columns in SECTIONS:
        rows = record[key]
        story.append(Paragraph(escape(f"{label} ({len(rows)})"), heading))
        if not rows:
            story.append(Paragraph("—", small))
            continue
        table = Table([[_cell(c, small) for c in columns]] + [[_cell(r.get(c), small, c == "name") for c in columns] for r in rows],
                      repeatRows=1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, "#999999"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("BACKGROUND", (0, 0), (-1, 0), "#e8e8e8")]))
        story.append(table)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                      bottomMargin=12 * mm, title=f"Family record {family['code']}").build(story)
    return out.getvalue()
