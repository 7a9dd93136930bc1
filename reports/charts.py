"""Server-rendered SVG charts (no script, nothing fetched): bar charts, histograms and line
charts that scale to the width of a phone or a desktop page through their viewBox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
FONT = "font-family='Noto Sans SC, Noto Sans CJK SC, sans-serif'"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 5:
            return step * 5 if value > step * 4 else step * max(1, -(-value // step))
    magnitude = 10 ** (len(str(int(value))) - 1)
    return -(-value // magnitude) * magnitude


def _fmt(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def bar_chart(
    items: Sequence[tuple[str, float]], *, title: str, unit: str = "", max_value: float | None = None, percent: bool = False
) -> str:
    """Horizontal bars, one per (label, value); long label lists simply grow the chart."""
    row, left, width = 26, 140, 560
    height = 40 + row * max(1, len(items)) + 10
    top = max_value if max_value is not None else _nice_max(max((v for _, v in items), default=0))
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{escape(title)}' class='chart' {FONT}>",
        f"<title>{escape(title)}</title>",
        f"<text x='8' y='20' font-size='15' font-weight='bold'>{escape(title)}</text>",
    ]
    if not items:
        parts.append("<text x='8' y='52' font-size='13' fill='#6b7280'>暂无数据</text>")
    span = width - left - 70
    for i, (label, value) in enumerate(items):
        y = 36 + i * row
        w = 0 if top <= 0 else max(0.0, min(1.0, value / top)) * span
        shown = f"{value * 100:.1f}%" if percent else f"{_fmt(value)}{unit}"
        short = label if len(label) <= 10 else label[:9] + "…"
        parts.append(
            f"<g><title>{escape(label)}：{escape(shown)}</title>"
            f"<text x='{left - 6}' y='{y + 15}' font-size='12' text-anchor='end'>{escape(short)}</text>"
            f"<rect x='{left}' y='{y + 3}' width='{w:.1f}' height='{row - 8}' fill='{PALETTE[i % len(PALETTE)]}' rx='2'/>"
            f"<text x='{left + w + 4:.1f}' y='{y + 15}' font-size='12'>{escape(shown)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(bins: Sequence[tuple[str, int]], *, title: str) -> str:
    """Vertical columns for a score distribution."""
    width, height, left, bottom = 560, 260, 40, 40
    top = _nice_max(max((c for _, c in bins), default=0))
    col = (width - left - 10) / max(1, len(bins))
    plot_h = height - 40 - bottom
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{escape(title)}' class='chart' {FONT}>",
        f"<title>{escape(title)}</title>",
        f"<text x='8' y='20' font-size='15' font-weight='bold'>{escape(title)}</text>",
        f"<line x1='{left}' y1='{height - bottom}' x2='{width - 10}' y2='{height - bottom}' stroke='#9ca3af'/>",
        f"<text x='{left - 4}' y='44' font-size='11' text-anchor='end'>{_fmt(top)}</text>",
    ]
    for i, (label, count) in enumerate(bins):
        h = 0 if top <= 0 else count / top * plot_h
        x = left + i * col
        parts.append(
            f"<g><title>{escape(label)}：{count}</title>"
            f"<rect x='{x + 2:.1f}' y='{height - bottom - h:.1f}' width='{col - 4:.1f}' height='{h:.1f}' fill='{PALETTE[0]}'/>"
            f"<text x='{x + col / 2:.1f}' y='{height - bottom - h - 4:.1f}' font-size='11' text-anchor='middle'>{count}</text>"
            f"<text x='{x + col / 2:.1f}' y='{height - bottom + 16}' font-size='10' text-anchor='middle'>{escape(label)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str) -> str:
    """One line per series over shared x labels (e.g. days of a cycle), with a legend."""
    width, height, left, bottom = 560, 280, 44, 56
    top = _nice_max(max((v for vs in series.values() for v in vs), default=0))
    n = max(1, len(labels) - 1)
    plot_w, plot_h = width - left - 16, height - 40 - bottom
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{escape(title)}' class='chart' {FONT}>",
        f"<title>{escape(title)}</title>",
        f"<text x='8' y='20' font-size='15' font-weight='bold'>{escape(title)}</text>",
        f"<line x1='{left}' y1='{height - bottom}' x2='{width - 16}' y2='{height - bottom}' stroke='#9ca3af'/>",
        f"<text x='{left - 4}' y='44' font-size='11' text-anchor='end'>{_fmt(top)}</text>",
    ]
    if labels:
        for idx in sorted({0, len(labels) // 2, len(labels) - 1}):
            x = left + idx / n * plot_w
            parts.append(f"<text x='{x:.1f}' y='{height - bottom + 16}' font-size='10' text-anchor='middle'>{escape(labels[idx])}</text>")
    for i, (name, values) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        points = " ".join(
            f"{left + j / n * plot_w:.1f},{height - bottom - (0 if top <= 0 else v / top * plot_h):.1f}" for j, v in enumerate(values)
        )
        parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{points}'><title>{escape(name)}</title></polyline>")
        lx = 8 + (i % 4) * 135
        ly = height - 18 + (i // 4) * 14
        parts.append(f"<rect x='{lx}' y='{ly - 9}' width='10' height='10' fill='{color}'/><text x='{lx + 14}' y='{ly}' font-size='11'>{escape(name)}</text>")
    parts.append("</svg>")
    return "".join(parts)
