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


def share_by_day(days: list[str], shares: list[float], title: str, y_title: str) -> str:
    """The share of families confirmed by the end of each day (a district notice, all schools)."""
    chart = pygal.Line(**_config(width=720, height=290, show_legend=False, range=(0, 100), title=title,
                                 y_title=y_title, dots_size=3, title_font_size=14, x_label_rotation=30,
                                 show_minor_x_labels=False, x_labels_major_every=max(1, len(days) // 10)))
    chart.x_labels = days
    chart.add(title, shares)
    return _svg(chart)


def reading_heat(grid: list[list[int]], days: list[str], title: str) -> str:
    """When families read: a dot per weekday and hour, larger for more families (a punch card)."""
    chart = pygal.Dot(**_config(("#2457a6",) * 7, width=720, height=300, title=title, title_font_size=14,
                                show_legend=False, x_label_rotation=0, x_labels=[str(h) for h in range(24)],
                                x_labels_major_every=3, show_minor_x_labels=False))
    for day, row in zip(days, grid, strict=True):
        chart.add(day, [value or None for value in row])
    return _svg(chart)


def class_comparison(rows: list[dict], labels: tuple[str, str], title: str) -> str:
    """Share of notices confirmed within 24 h and 72 h, one pair of bars per class or grade."""
    chart = pygal.HorizontalBar(**_config(("#1f7a4d", "#7fb8e6"), width=720, height=max(180, 60 + 34 * len(rows)),
                                          title=title, title_font_size=14, range=(0, 100), print_values=True,
                                          value_font_size=10, x_labels=[r["name"] for r in rows],
                                          value_formatter=lambda v: f"{v:.0f}%"))
    chart.add(labels[0], [r["within_24_pct"] or 0 for r in rows])
    chart.add(labels[1], [r["within_72_pct"] or 0 for r in rows])
    return _svg(chart)


def channel_medians(channels: dict[str, dict], labels: dict[str, str], title: str) -> str:
    """Median hours from publishing to a confirmation, per channel it came by."""
    present = [c for c in CHANNEL_COLOURS if channels.get(c, {}).get("median_hours") is not None]
    chart = pygal.HorizontalBar(**_config(tuple(CHANNEL_COLOURS[c] for c in present), width=720,
                                          height=max(160, 60 + 30 * len(present)), title=title, title_font_size=14,
                                          print_values=True, value_font_size=11, show_x_labels=False,
                                          value_formatter=lambda v: f"{v:.1f} h"))
    for channel in present:
        chart.add(labels.get(channel, channel), [channels[channel]["median_hours"]])
    return _svg(chart)
