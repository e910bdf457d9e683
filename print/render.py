"""The bulletin PDF: class-pack cover sheets, one section per family, the slip at the bottom."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from print import fonts, text_runs
from print.batch import Batch, Section
from print.layout import SlipLayout
from print.slip import CUT_BAND, SlipContent, SlipFlowable
from server import notices as notice_texts
from server.i18n import gettext_for, ngettext_for

PAPERS = {"a4": A4, "letter": LETTER}
MARGIN = 12 * mm


@dataclass(frozen=True)
class Options:
    school_name: str
    phone_line: str
    staff_language: str = "zh-Hans"
    paper: str = "a4"
    large_print: bool = False


class _Styles:
    def __init__(self, font: str, large: bool):
        body = 15 if large else 10.5
        base = ParagraphStyle("body", fontName=font, fontSize=body, leading=body * 1.45, wordWrap="CJK")
        self.body = base
        self.title = ParagraphStyle("title", parent=base, fontSize=body + 4, leading=(body + 4) * 1.3, spaceBefore=8)
        self.school = ParagraphStyle("school", parent=base, fontSize=16, leading=20)
        self.small = ParagraphStyle("small", parent=base, fontSize=body - 1.5, leading=(body - 1.5) * 1.4,
                                    textColor="#444444")
        self.boxed = ParagraphStyle("boxed", parent=base, borderColor="#222222", borderWidth=0.8,
                                    borderPadding=6, spaceBefore=10, spaceAfter=10)


class FamilyStart(Flowable):
    """Marks where a family's pages begin, for the page footer and the progress bar."""

    def __init__(self, label: str, progress=None):
        super().__init__()
        self.label, self.progress = label, progress

    def wrap(self, *_args):
        return 0, 0

    def draw(self) -> None:
        doc = self.canv._doctemplate
        doc.family_label, doc.family_first_page = self.label, self.canv.getPageNumber()
        if self.progress:
            self.progress()


def render(batch: Batch, slips: dict[int, list[SlipContent]], out, options: Options, layout: SlipLayout,
           progress=None) -> int:
    """Write the batch PDF to ``out`` (a path or file object). Returns the page count.

    ``progress()`` is called as each family's pages are laid out.
    """
    font = fonts.register()
    styles = _Styles(font, options.large_print)
    doc = BaseDocTemplate(out, pagesize=PAPERS[options.paper], leftMargin=MARGIN, rightMargin=MARGIN,
                          topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm, title=f"{options.school_name} {batch.week}",
                          author="PaperBridge", invariant=True)
    doc.family_label, doc.family_first_page = "", 1
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body", leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate("page", [frame], onPageEnd=lambda c, d: _footer(c, d, font, options, batch))])
    story: list[Flowable] = []
    for pack, sections in batch.packs().items():
        story += _cover_sheet(pack, sections, batch, styles, options)
        for section in sections:
            story += _family_section(section, slips.get(section.family["id"], []), batch.week, styles, options,
                                     layout, font, progress)
    doc.build(story)
    return doc.page


def slip_origin_mm(paper: str, layout: SlipLayout) -> tuple[float, float]:
    """Where a bulletin page's slip has its top-left marker centre, in mm from the page's top-left.

    The slip always ends at the bottom of the frame, so its place is fixed per paper size
    (the scan corpus generator draws marks there)."""
    width, height = PAPERS[paper]
    frame_width, frame_bottom = width - 2 * MARGIN, MARGIN + 4 * mm
    block = CUT_BAND + (layout.height + layout.marker + 2) * mm
    top_marker_from_bottom = frame_bottom + block - CUT_BAND - (layout.marker / 2 + 1) * mm
    return (MARGIN + (frame_width - layout.width * mm) / 2) / mm, (height - top_marker_from_bottom) / mm


def _footer(canvas, doc, font: str, options: Options, batch: Batch) -> None:
    canvas.saveState()
    canvas.setFont(font, 7.5)
    page = canvas.getPageNumber() - doc.family_first_page + 1
    text_runs.draw(canvas, MARGIN, MARGIN, f"{options.school_name} · {batch.week} · {doc.family_label}", 7.5, font)
    canvas.drawRightString(doc.pagesize[0] - MARGIN, MARGIN, f"{page}")
    canvas.restoreState()


def _cover_sheet(pack: str, sections: list[Section], batch: Batch, styles: _Styles, options: Options) -> list[Flowable]:
    _ = gettext_for(options.staff_language)
    rows = [["#", _("Students"), _("Family code"), _("Family"), _("Handed out"), _("Slip back")]]
    for i, section in enumerate(sections, 1):
        students = "、".join(f"{s['name']} ({s['class_id']})" for s in section.students)
        rows.append([str(i), text_runs.Line(students, styles.small.fontName, styles.small.fontSize),
                     section.family["code"],
                     text_runs.Line(section.family["display_name"], styles.small.fontName, styles.small.fontSize),
                     "", ""])
    table = Table(rows, colWidths=[10 * mm, 62 * mm, 24 * mm, 44 * mm, 22 * mm, 22 * mm], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), styles.body.fontName, 9),
                               ("GRID", (0, 0), (-1, -1), 0.4, "#999999"),
                               ("BACKGROUND", (0, 0), (-1, 0), "#e8e8e8"),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    title = _("Class pack %(pack)s · %(week)s · %(count)s bulletins", pack=pack, week=batch.week, count=len(sections))
    return [FamilyStart(f"{_('Class pack')} {pack}"), Paragraph(escape(options.school_name), styles.school),
            Paragraph(escape(title), styles.title),
            Paragraph(escape(_("Hand out in this order; tick each family. Returned slips go to the office for scanning.")),
                      styles.small), Spacer(0, 4 * mm), table, PageBreak()]


def _family_section(section: Section, slips: list[SlipContent], week: str, styles: _Styles, options: Options,
                    layout: SlipLayout, font: str, progress=None) -> list[Flowable]:
    family, language = section.family, section.family["language"]
    _ = gettext_for(language)
    students = student_list(section.students, language)
    story: list[Flowable] = [
        FamilyStart(f"{family['display_name']} {family['code']}", progress),
        Paragraph(escape(options.school_name), styles.school),
        Paragraph(escape(_("Notices for the week %(week)s", week=week)), styles.small),
        text_runs.Line(_("For the family of %(students)s · family code %(code)s", students=students,
                         code=family["code"]), font, styles.body.fontSize, styles.body.leading),
        Paragraph(escape(_("Your phone PIN: %(pin)s. Keep it in the family: the school phone line asks for it "
                           "before private messages and when you answer from another phone.", pin=section.pin)),
                  styles.small),
        Spacer(0, 3 * mm),
    ]
    for notice in section.notices:
        story += _notice(notice, language, styles)
    for answer in section.answers:
        story.append(KeepTogether(_answer(answer, language, styles)))
    if section.private_count:
        story.append(Paragraph(escape(_private_line(section, options, ngettext_for(language))), styles.boxed))
    for slip in slips:
        story += [CondPageBreak(10 * mm), SlipFlowable(slip, layout, font)]
    story.append(PageBreak())
    return story


def student_list(students: list[dict], language: str) -> str:
    """'王小明（3A）、王小红（4B）' or 'Amy Lee (3B), Tom Lee (4A)'."""
    if language == "en":
        return ", ".join(f"{s['name']} ({s['class_id']})" for s in students)
    return "、".join(f"{s['name']}（{s['class_id']}）" for s in students)


def _notice(notice: dict, language: str, styles: _Styles) -> list[Flowable]:
    _ = gettext_for(language)
    title, body, _used = notice_texts.text_for(notice, language)
    parts = [Paragraph(escape(title), styles.title)]
    note = notice_texts.version_note(notice, language)
    if note == "converted":
        parts.append(Paragraph(escape(_("Converted automatically from the Simplified Chinese version.")), styles.small))
    elif note == "nearest":
        parts.append(Paragraph(escape(_("This notice is not available in your language; this is the nearest version.")),
                               styles.small))
    paragraphs = [Paragraph(escape(chunk), styles.body) for chunk in body.splitlines() if chunk.strip()]
    details = []
    if notice["due_date"]:
        details.append(_("Please answer by %(date)s", date=notice["due_date"]))
    if notice["reply_options"]:
        labels = " / ".join(notice_texts.reply_label(notice, o["key"], language) for o in notice["reply_options"])
        details.append(_("Answer on the slip below: %(options)s", options=labels))
    tail = [Paragraph(escape(" · ".join(details)), styles.small)] if details else []
    return [KeepTogether(parts + paragraphs[:1])] + paragraphs[1:] + tail


def _answer(concern: dict, language: str, styles: _Styles) -> list[Flowable]:
    """The school's answer to a question the family asked on a slip or at the help desk."""
    _ = gettext_for(language)
    asked = concern["words"] or _("Please call me (ticked on the slip)")
    return [Paragraph(escape(_("Answer from the school to your message of %(date)s", date=concern["received_at"][:10])),
                      styles.title),
            Paragraph(escape(_("You asked: %(words)s", words=asked)), styles.small),
            Paragraph(escape(concern["answer"]), styles.boxed)]


def _private_line(section: Section, options: Options, ngettext) -> str:
    code, count = section.family["code"], section.private_count
    if options.phone_line:
        return ngettext("You have %(n)s private message from the school. Call %(phone)s and enter your family code "
                        "%(code)s, or ask at the school help desk.",
                        "You have %(n)s private messages from the school. Call %(phone)s and enter your family code "
                        "%(code)s, or ask at the school help desk.", count, phone=options.phone_line, code=code)
    return ngettext("You have %(n)s private message from the school. Please ask at the school help desk "
                    "(family code %(code)s) or ask the class teacher.",
                    "You have %(n)s private messages from the school. Please ask at the school help desk "
                    "(family code %(code)s) or ask the class teacher.", count, code=code)
