"""Server-rendered charts as inline SVG: no JavaScript, no front-end build,
nothing fetched from a CDN (a crisis team's laptop may be offline).

`bar_chart_layout` is the geometry (pure); the SVG itself is the Jinja2
template reports/bar_chart.svg (autoescaped), so no markup is built by hand."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from app.reports.pages import templates

PALETTE = [
    "#2b6cb0",
    "#c05621",
    "#2f855a",
    "#b83280",
    "#6b46c1",
    "#b7791f",
    "#319795",
    "#c53030",
    "#4a5568",
    "#718096",
    "#9c4221",
]


def bar_chart_layout(
    title: str,
    labels: list[str],
    series: dict[str, list[float]],
    *,
    width: int = 640,
    height: int = 260,
    unit: str = "",
) -> dict[str, Any]:
    """Stacked bars: one bar per label, one colour per series."""
    left, bottom, top = 48, 40, 28
    plot_w, plot_h = width - left - 12, height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(totals + [1])
    step = plot_w / max(1, len(labels))
    bar_w = min(56.0, max(2.0, step * 0.7))  # one month must not fill the whole plot
    # The legend wraps onto as many rows as it needs below the plot.
    legend, legend_x, row = [], left, 0
    for colour, name in zip(PALETTE * 3, series, strict=False):
        item_w = 14 + 6 * len(name) + 12
        if legend_x + item_w > width and legend_x > left:
            legend_x, row = left, row + 1
        legend.append({"x": legend_x, "y": height - 14 + 14 * row, "name": name, "colour": colour})
        legend_x += item_w
    bars, ticks = [], []
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        y: float = top + plot_h
        for colour, (name, values) in zip(PALETTE * 3, series.items(), strict=False):
            h = plot_h * values[i] / peak
            if h > 0:
                y -= h
                bars.append(
                    {
                        "x": f"{x:.1f}",
                        "y": f"{y:.1f}",
                        "w": f"{bar_w:.1f}",
                        "h": f"{h:.1f}",
                        "colour": colour,
                        "title": f"{name}: {values[i]:g}",
                    }
                )
        if len(labels) <= 16 or i % max(1, len(labels) // 12) == 0:
            ticks.append({"x": f"{x + bar_w / 2:.1f}", "y": top + plot_h + 14, "label": label})
    return {
        "title": title,
        "width": width,
        "height": height + 14 * row,
        "left": left,
        "top": top,
        "axis_y": top + plot_h,
        "axis_end": left + plot_w,
        "peak": f"{peak:g}{unit}",
        "bars": bars,
        "ticks": ticks,
        "legend": legend,
    }


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]]) -> Markup:
    """The chart as inline SVG, at the layout's default size."""
    chart = bar_chart_layout(title, labels, series)
    return Markup(templates.get_template("reports/bar_chart.svg").render(chart=chart))
