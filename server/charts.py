"""Server-side SVG charts for the notice view (pygal), with no scripts and no CDN."""

from __future__ import annotations

import re

import pygal
from pygal.style import Style

from server import clock

CHANNEL_COLOURS = {"digital": "#2457a6", "paper": "#8c6d1f", "voice": "#1f7a4d", "sms": "#6a3d9a",
                   "kiosk": "#c2410c", "in_person": "#475467"}
STYLE = Style(background="white", plot_background="white", font_family="Noto Sans CJK SC, sans-serif",
              colors=tuple(CHANNEL_COLOURS.values()), label_font_size=11, legend_font_size=11)


def _config(colours: tuple[str, ...] | None = None, **extra) -> dict:
    style = STYLE if colours is None else Style(**{**STYLE.to_dict(), "colors": colours})
    return dict(style=style, js=[], disable_xml_declaration=True, explicit_size=True, show_y_guides=False,
                legend_at_bottom=True, legend_at_bottom_columns=6, **extra)


def _svg(chart) -> str:
    """The chart's SVG without pygal's embedded config script (shown as an image, it never runs)."""
    return re.sub(r"<script\b.*?</script>", "", chart.render(is_unicode=True), flags=re.S)


def channels_bar(by_channel: dict[str, int], unread: int, labels: dict[str, str], title: str) -> str:
    """One horizontal stacked bar: families per channel they first read it on (each family once),
    then those not reached yet; each part carries its count."""
    present = [c for c in CHANNEL_COLOURS if by_channel.get(c)]
    colours = tuple(CHANNEL_COLOURS[c] for c in present) + ("#d0d5dd",)
    chart = pygal.HorizontalStackedBar(**_config(colours, width=720, height=200, show_x_labels=False, title=title,
                                                 print_values=True, title_font_size=14, value_font_size=13))
    for channel in present:
        chart.add(labels.get(channel, channel), [by_channel[channel]])
    chart.add(labels.get("unread", "unread"), [unread])
    return _svg(chart)


def confirmation_curve(publish_at: str, times: list[str], families: int, title: str, x_title: str,
                       y_title: str) -> str:
    """Share of families confirmed over the first 72 hours after publishing."""
    start = clock.parse(publish_at)
    hours = sorted((clock.parse(t) - start).total_seconds() / 3600 for t in times)
    points = [(h, 100 * sum(1 for x in hours if x <= h) / max(families, 1)) for h in range(0, 73, 3)]
    chart = pygal.XY(**_config(width=720, height=290, show_legend=False, range=(0, 100), xrange=(0, 72),
                               title=title, x_title=x_title, y_title=y_title, dots_size=2, title_font_size=14,
                               x_labels=list(range(0, 73, 12))))
    chart.add(title, points)
    return _svg(chart)
