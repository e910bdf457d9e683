"""Drawing the tear-off return slip from the layout definition (ReportLab canvas)."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from print import text_runs
from print.layout import Box, SlipLayout
from print.qr_symbol import qr_matrix
from server import notices as notice_texts
from server.i18n import gettext_for

CUT_BAND = 9 * mm  # the dashed cut line and its label, above the slip


@dataclass
class SlipContent:
    """Everything printed on one slip."""

    qr_text: str
    serial: int
    family_code: str
    family_name: str
    students: str
    language: str
    notices: list[dict]  # one row each, at most layout.max_rows


def fit(text: str, font: str, size: float, width: float) -> str:
    """Cut ``text`` with an ellipsis so that it fits ``width`` points (with the font chain's widths)."""
    if text_runs.width(text, size, font) <= width:
        return text
    while text and text_runs.width(text + "…", size, font) > width:
        text = text[:-1]
    return text + "…"


class SlipFlowable(Flowable):
    """Takes the rest of the page and draws the slip at its bottom, so it is always whole."""

    def __init__(self, content: SlipContent, layout: SlipLayout, font: str):
        super().__init__()
        self.content, self.layout, self.font = content, layout, font
        self.block = CUT_BAND + (layout.height + layout.marker + 2) * mm

    def wrap(self, avail_width: float, avail_height: float):
        # Asking for more than is left moves the slip to the next page; otherwise fill the page.
        self.width = avail_width
        self.height = avail_height if avail_height >= self.block else self.block
        return self.width, self.height

    def draw(self) -> None:
        c, lay = self.canv, self.layout
        self.x0 = (self.width - lay.width * mm) / 2
        self.y0 = self.block - CUT_BAND - (lay.marker / 2 + 1) * mm
        _ = gettext_for(self.content.language)
        self._cut_line(_)
        for x, y in lay.markers():
            s = lay.marker * mm
            c.rect(self.x0 + x * mm - s / 2, self.y0 - y * mm - s / 2, s, s, stroke=0, fill=1)
        self._qr()
        self._header(_)
        for row, notice in enumerate(self.content.notices):
            self._row(row, notice)
        self._footer(_)

    def p(self, x: float, y: float) -> tuple[float, float]:
        """Layout millimetres -> canvas points."""
        return self.x0 + x * mm, self.y0 - y * mm

    def _text(self, x: float, y: float, text: str, size: float, width: float | None = None) -> None:
        text_runs.draw(self.canv, *self.p(x, y), fit(text, self.font, size, width * mm) if width else text, size,
                       self.font)

    def _box(self, box: Box) -> None:
        x, y = self.p(box.x, box.y + box.h)
        self.canv.setLineWidth(0.9)
        self.canv.rect(x, y, box.w * mm, box.h * mm, stroke=1, fill=0)

    def _cut_line(self, _) -> None:
        c = self.canv
        y = self.block - CUT_BAND / 2
        c.saveState()
        c.setDash(4, 3)
        c.setLineWidth(0.6)
        c.line(0, y, self.width, y)
        c.restoreState()
        label = _("Cut along the line and return this slip to the class teacher")
        c.setFont(self.font, 8)
        width = stringWidth(label, self.font, 8)
        c.setFillColorRGB(1, 1, 1)
        c.rect((self.width - width) / 2 - 4, y - 5, width + 8, 11, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.drawCentredString(self.width / 2, y - 2.5, label)

    def _qr(self) -> None:
        lay, matrix = self.layout, qr_matrix(self.content.qr_text)
        if (len(matrix) + 8) * lay.qr_module > lay.qr.w + 1e-6:
            raise ValueError(f"QR payload too long for the slip layout: {self.content.qr_text!r}")
        m = lay.qr_module
        left, top = lay.qr.x + 4 * m, lay.qr.y + 4 * m
        for r, line in enumerate(matrix):
            c = 0
            while c < len(line):
                if not line[c]:
                    c += 1
                    continue
                start = c
                while c < len(line) and line[c]:
                    c += 1
                x, y = self.p(left + start * m, top + (r + 1) * m)
                self.canv.rect(x, y, (c - start) * m * mm, m * mm, stroke=0, fill=1)

    def _header(self, _) -> None:
        lay, content = self.layout, self.content
        x, y = lay.code_at
        self._text(x, y - 6.5, _("Family code"), 7.5)
        self._text(x, y, " ".join(content.family_code), 20)
        nx, ny = lay.names_at
        self._text(nx, ny, content.family_name, 10, 135)
        self._text(nx, ny + 5, content.students, 9, 135)
        self._text(nx, ny + 11, _("Tick ✓ the boxes. Even with no box ticked, a returned slip tells us you read it."), 7.5, 135)
        self._text(lay.read_x - 1, lay.rows_top - 2.5, _("Read"), 7.5)
        self._text(lay.reply_x[0], lay.rows_top - 2.5, _("Your answer"), 7.5)

    def _row(self, row: int, notice: dict) -> None:
        lay, language = self.layout, self.content.language
        y = lay.row_y(row)
        title = notice_texts.title_for(notice, language)
        self._text(0.5, y + lay.tick - 1, f"{row + 1}. {title}", 9, lay.title_width)
        self._box(lay.read_box(row))
        for i, option in enumerate(notice["reply_options"][:len(lay.reply_x)]):
            box = lay.reply_box(row, i)
            self._box(box)
            label = notice_texts.reply_label(notice, option["key"], language)
            self._text(box.x + box.w + 1, y + lay.tick - 1, label, 8, 25 - box.w - 1.5)

    def _footer(self, _) -> None:
        lay = self.layout
        self._box(lay.call_me)
        self._text(lay.call_me.x + lay.call_me.w + 1.5, lay.call_me.y + lay.call_me.h - 1, _("Please call me"), 8.5)
        for (start, end), label in ((lay.signature_x, _("Signature")), (lay.date_x, _("Date"))):
            self.canv.setLineWidth(0.6)
            self.canv.line(*self.p(start, lay.footer_y), *self.p(end, lay.footer_y))
            self.canv.setFont(self.font, 7.5)
            self.canv.drawRightString(*self.p(start - 1, lay.footer_y), label)
        self._text(lay.width - 25, lay.height - 1.5, f"v{lay.version} · #{self.content.serial}", 6)
