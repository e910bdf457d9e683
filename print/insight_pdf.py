"""Reading-time insight (server.insight) as an A4 PDF: the figures, the weekday × hour grid as
shaded cells, the channels and the level below."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from print import fonts

HEADINGS = ["Name / 名称", "Notices × families / 通知×家庭", "Confirmed / 已确认", "24 h %", "72 h %",
            "Median h / 中位数(小时)"]


def _figures(row: dict) -> list:
    def pct(v):
        return "–" if v is None else f"{v:.0f}%"
    return [row["name"], row["pairs"], row["confirmed"], pct(row["within_24_pct"]), pct(row["within_72_pct"]),
            "–" if row["median_hours"] is None else f"{row['median_hours']:.1f}"]


def _grid(grid: list[list[int]], weekdays: list[str], font: str) -> Table:
    peak = max(max(r) for r in grid) or 1
    cells: list[list[str]] = [[""] + [str(h) for h in range(24)]]
    cells += [[day] + [str(n or "") for n in row] for day, row in zip(weekdays, grid, strict=True)]
    table = Table(cells, colWidths=[14 * mm] + [7 * mm] * 24)
    style = [("FONT", (0, 0), (-1, -1), font, 6.5), ("ALIGN", (1, 0), (-1, -1), "CENTER"),
             ("GRID", (0, 0), (-1, -1), 0.2, "#dddddd")]
    for d, row in enumerate(grid, 1):
        for h, n in enumerate(row, 1):
            if n:
                shade = 1 - 0.75 * n / peak
                style.append(("BACKGROUND", (h, d), (h, d), colors.Color(shade, shade + 0.1 * (1 - shade), 1)))
    table.setStyle(TableStyle(style))
    return table


def _table(rows: list[list], font: str) -> Table:
    table = Table(rows, repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font, 8), ("GRID", (0, 0), (-1, -1), 0.3, "#999999"),
                               ("BACKGROUND", (0, 0), (-1, 0), "#e8e8e8"), ("ALIGN", (1, 1), (-1, -1), "RIGHT")]))
    return table


def pdf_bytes(report: dict, rows: list[dict], school: str, weekdays: list[str], channel_word=str) -> bytes:
    font = fonts.register()
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=19)
    heading = ParagraphStyle("heading", fontName=font, fontSize=11, leading=15, spaceBefore=4 * mm)
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=10)
    hour = report["suggested_hour"]
    story: list[Flowable] = [
        Paragraph(escape(f"{school} · {report['name']} · Reading times / 阅读时间"), title),
        Paragraph(escape(f"{report['start'][:10]} – {report['end'][:10]} ({report['weeks']} weeks / 周)"), small),
        Spacer(0, 3 * mm), _table([HEADINGS, _figures(report["total"])], font),
        Paragraph(escape("Suggested sending time / 建议发送时间: " + (f"{hour:02d}:00" if hour is not None else "–")),
                  heading),
        Paragraph("When families first read / 家长首次阅读的时间", heading), _grid(report["heat"]["read"], weekdays, font),
        Paragraph("By channel / 按渠道", heading),
        _table([["Channel / 渠道", "Confirmed / 已确认", "Median h / 中位数(小时)"]]
               + [[channel_word(c), r["confirmed"], "–" if r["median_hours"] is None else f"{r['median_hours']:.1f}"]
                  for c, r in report["channels"].items()], font),
    ]
    if rows:
        story += [Paragraph("One level down / 下一级", heading), _table([HEADINGS] + [_figures(r) for r in rows], font)]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=10 * mm, rightMargin=10 * mm, topMargin=12 * mm,
                      bottomMargin=12 * mm, title=f"Reading times {report['name']}").build(story)
    return out.getvalue()
