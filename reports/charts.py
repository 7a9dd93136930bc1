"""Server-rendered SVG charts (no script, nothing fetched): bar charts, histograms and line
charts that scale to the width of a phone or a desktop page through their viewBox.

Drawn at WIDTH user units, a little narrower than a phone's content box (about 330 CSS px at
375 px), so the viewBox never scales down there and wider boxes only scale up: every label is
painted at least at its font size, and no font size is below MIN_FONT."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
FONT = "font-family='Noto Sans SC, Noto Sans CJK SC, sans-serif'"
WIDTH = 320
MIN_FONT = 12
TITLE_FONT = 15
MUTED = "#4b5563"
GRID = "#e5e7eb"


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


def _open(width: float, height: float, title: str) -> list[str]:
    return [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height:.0f}' role='img' "
        f"aria-label='{escape(title)}' class='chart' {FONT}>",
        f"<title>{escape(title)}</title>",
        f"<text x='4' y='18' font-size='{TITLE_FONT}' font-weight='bold'>{escape(title)}</text>",
    ]


def _text_width(text: str, size: float = MIN_FONT) -> float:
    """Roughly how wide ``text`` is painted: a CJK character is one em, anything else about half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _ticks(top: float) -> list[float]:
    """0, the middle (when it is a whole number: counts of people) and the top of the value axis."""
    return [0.0, top / 2, top] if float(top / 2).is_integer() or top < 1 else [0.0, top]


def bar_chart(
    items: Sequence[tuple[str, float]], *, title: str, unit: str = "", max_value: float | None = None, percent: bool = False
) -> str:
    """Horizontal bars, one per (label, value); long label lists simply grow the chart."""
    row, left, width = 28, 100, WIDTH
    height = 34 + row * max(1, len(items)) + 6
    top = max_value if max_value is not None else _nice_max(max((v for _, v in items), default=0))
    parts = _open(width, height, title)
    if not items:
        parts.append(f"<text x='4' y='50' font-size='{MIN_FONT + 1}' fill='{MUTED}'>暂无数据</text>")
    span = width - left - 62
    for i, (label, value) in enumerate(items):
        y = 30 + i * row
        w = 0 if top <= 0 else max(0.0, min(1.0, value / top)) * span
        shown = f"{value * 100:.1f}%" if percent else f"{_fmt(value)}{unit}"
        short = label
        while _text_width(short) > left - 8 and len(short) > 1:
            short = short[:-2] + "…"
        parts.append(
            f"<g><title>{escape(label)}：{escape(shown)}</title>"
            f"<text x='{left - 6}' y='{y + 17}' font-size='{MIN_FONT}' text-anchor='end'>{escape(short)}</text>"
            f"<rect x='{left}' y='{y + 4}' width='{w:.1f}' height='{row - 8}' fill='{PALETTE[i % len(PALETTE)]}' rx='2'/>"
            f"<text x='{left + w + 4:.1f}' y='{y + 17}' font-size='{MIN_FONT}'>{escape(shown)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _range_labels(labels: Sequence[str]) -> tuple[list[str], bool]:
    """Labels like "0-10", "10-20": their bounds, to stand at the column edges (short enough to fit
    a narrow column); otherwise the labels themselves, under the columns."""
    bounds: list[str] = []
    for label in labels:
        parts = label.split("-")
        if len(parts) != 2 or (bounds and bounds[-1] != parts[0]):
            return list(labels), False
        if not bounds:
            bounds.append(parts[0])
        bounds.append(parts[1])
    return bounds, bool(bounds)


def histogram(bins: Sequence[tuple[str, int]], *, title: str, x_title: str = "分数", y_title: str = "人数") -> str:
    """Vertical columns for a score distribution, with a value axis (gridlines) and the bin bounds."""
    width, height, left, bottom, top_margin = WIDTH, 250, 34, 44, 54
    top = _nice_max(max((c for _, c in bins), default=0))
    col = (width - left - 10) / max(1, len(bins))
    plot_h = height - top_margin - bottom
    base = height - bottom
    parts = _open(width, height, title)
    for tick in _ticks(top):
        y = base - tick / top * plot_h
        parts.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - 10}' y2='{y:.1f}' stroke='{GRID if tick else '#9ca3af'}'/>"
                     f"<text x='{left - 4}' y='{y + 4:.1f}' font-size='{MIN_FONT}' text-anchor='end' fill='{MUTED}'>{_fmt(tick)}</text>")
    if not any(count for _, count in bins):
        parts.append(f"<text x='{left + 8}' y='{base - plot_h / 2:.1f}' font-size='{MIN_FONT + 1}' fill='{MUTED}'>暂无成绩</text>")
    labels, edges = _range_labels([label for label, _ in bins])
    for i, (label, count) in enumerate(bins):
        h = 0 if top <= 0 else count / top * plot_h
        x = left + i * col
        parts.append(
            f"<g><title>{escape(label)}：{count}</title>"
            f"<rect x='{x + 1:.1f}' y='{base - h:.1f}' width='{max(0.0, col - 2):.1f}' height='{h:.1f}' fill='{PALETTE[0]}'/>"
            + (f"<text x='{x + col / 2:.1f}' y='{base - h - 4:.1f}' font-size='{MIN_FONT}' text-anchor='middle'>{count}</text>"
               if count else "") + "</g>")
    # Axis labels: every one that fits beside its neighbours (the first and last always).
    slots = len(labels)
    every = max(1, -(-int(max((_text_width(t) for t in labels), default=0) + 4) // max(1, int(col))))
    for i, text in enumerate(labels):
        if i % every and i != slots - 1:
            continue
        x = left + i * col if edges else left + i * col + col / 2
        parts.append(f"<text x='{x:.1f}' y='{base + 16}' font-size='{MIN_FONT}' text-anchor='middle' fill='{MUTED}'>{escape(text)}</text>")
    parts.append(f"<text x='{(left + width - 10) / 2:.1f}' y='{height - 6}' font-size='{MIN_FONT}' text-anchor='middle' fill='{MUTED}'>{escape(x_title)}</text>"
                 f"<text x='{left - 4}' y='{top_margin - 14}' font-size='{MIN_FONT}' text-anchor='end' fill='{MUTED}'>{escape(y_title)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, y_title: str = "人数") -> str:
    """One line per series over shared x labels (e.g. days), with a value axis, gridlines, the
    first, middle and last x labels, a dot on each point when there are few, and a legend."""
    width, left, top_margin = WIDTH, 34, 54
    rows = -(-len(series) // 3) if series else 0
    bottom = 30 + 18 * max(1, rows)
    height = 244 + 18 * max(0, rows - 1)
    top = _nice_max(max((v for vs in series.values() for v in vs), default=0))
    n = max(1, len(labels) - 1)
    plot_w, plot_h = width - left - 18, height - top_margin - bottom
    base = height - bottom
    parts = _open(width, height, title)
    for tick in _ticks(top):
        y = base - tick / top * plot_h
        parts.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - 18}' y2='{y:.1f}' stroke='{GRID if tick else '#9ca3af'}'/>"
                     f"<text x='{left - 4}' y='{y + 4:.1f}' font-size='{MIN_FONT}' text-anchor='end' fill='{MUTED}'>{_fmt(tick)}</text>")
    parts.append(f"<text x='{left - 4}' y='{top_margin - 14}' font-size='{MIN_FONT}' text-anchor='end' fill='{MUTED}'>{escape(y_title)}</text>")
    if not labels:
        parts.append(f"<text x='{left + 8}' y='{base - plot_h / 2:.1f}' font-size='{MIN_FONT + 1}' fill='{MUTED}'>暂无数据</text>")
    else:
        for idx in sorted({0, len(labels) // 2, len(labels) - 1}):
            x = left + (idx / n * plot_w if len(labels) > 1 else plot_w / 2)
            anchor = "start" if idx == 0 and len(labels) > 1 else "end" if idx == len(labels) - 1 and len(labels) > 1 else "middle"
            parts.append(f"<text x='{x:.1f}' y='{base + 16}' font-size='{MIN_FONT}' text-anchor='{anchor}' fill='{MUTED}'>{escape(labels[idx])}</text>")
    for i, (name, values) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        xy = [(left + (j / n * plot_w if len(labels) > 1 else plot_w / 2),
               base - (0 if top <= 0 else v / top * plot_h)) for j, v in enumerate(values)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{points}'><title>{escape(name)}</title></polyline>")
        if len(xy) <= 31:
            parts.extend(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='{color}'/>" for x, y in xy)
        lx = 4 + (i % 3) * 104
        ly = base + 38 + (i // 3) * 18
        parts.append(f"<rect x='{lx}' y='{ly - 10}' width='10' height='10' fill='{color}'/>"
                     f"<text x='{lx + 14}' y='{ly}' font-size='{MIN_FONT}'>{escape(name)}</text>")
    parts.append("</svg>")
    return "".join(parts)
