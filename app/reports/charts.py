"""Server-rendered charts as inline SVG: no JavaScript, no front-end build,
nothing fetched from a CDN (a crisis team's laptop may be offline)."""

from __future__ import annotations

from html import escape

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


def bar_chart(
    title: str,
    labels: list[str],
    series: dict[str, list[float]],
    *,
    width: int = 640,
    height: int = 260,
    unit: str = "",
) -> str:
    """Stacked bars: one bar per label, one colour per series."""
    left, bottom, top = 48, 40, 28
    plot_w, plot_h = width - left - 12, height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(totals + [1])
    step = plot_w / max(1, len(labels))
    bar_w = min(56.0, max(2.0, step * 0.7))  # one month must not fill the whole plot
    # The legend wraps onto as many rows as it needs below the plot.
    legend, legend_x, row = [], left, 0
    for name in series:
        item_w = 14 + 6 * len(name) + 12
        if legend_x + item_w > width and legend_x > left:
            legend_x, row = left, row + 1
        legend.append((legend_x, row, name))
        legend_x += item_w
    total_h = height + 14 * row
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {total_h}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="10" text-anchor="end">{peak:g}{escape(unit)}</text>',
    ]
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for colour, (name, values) in zip(PALETTE * 3, series.items()):
            h = plot_h * values[i] / peak
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{escape(name)}: {values[i]:g}</title></rect>"
                )
        if len(labels) <= 16 or i % max(1, len(labels) // 12) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" font-size="9" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for colour, (x, row, name) in zip(PALETTE * 3, legend):
        y = height - 14 + 14 * row
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 13}" y="{y + 9}" font-size="10">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
