"""Small inline-SVG charts for the reports: horizontal bars, monthly lines and a tile
grid of the 27 UFs.

Inline SVG keeps a report self-contained (no script, no library from a CDN, no image
files), stays sharp when a phone zooms and weighs a few kilobytes. Each function returns
an ``<svg>`` string that scales to its container (``viewBox`` + ``width="100%"``);
in a notebook, show it with ``IPython.display.SVG(data=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

from flows.reports.formatting import compacto

PALETTE = ("#1b6ca8", "#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#16a085")
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"

# Column and row of each UF in a 7 x 8 grid that keeps Brazil's rough shape.
UF_TILES: dict[str, tuple[int, int]] = {
    "RR": (2, 0), "AP": (4, 0),
    "AM": (1, 1), "PA": (3, 1), "MA": (4, 1), "CE": (5, 1), "RN": (6, 1),
    "AC": (0, 2), "RO": (1, 2), "TO": (3, 2), "PI": (4, 2), "PB": (6, 2), "PE": (5, 2),
    "MT": (2, 3), "BA": (4, 3), "AL": (6, 3), "SE": (5, 3),
    "MS": (2, 4), "GO": (3, 4), "DF": (4, 4), "MG": (5, 4),
    "SP": (3, 5), "RJ": (5, 5), "ES": (6, 4),
    "PR": (3, 6),
    "SC": (3, 7), "RS": (2, 7),
}  # fmt: skip


def _svg(width: int, height: int, title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px;{FONT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="0" y="18" font-size="16" font-weight="600" fill="#222">{escape(title)}</text>'
        f"{body}</svg>"
    )


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    fmt: Callable[[float], str] = compacto,
    color: str = PALETTE[0],
    width: int = 480,
) -> str:
    """Horizontal bars, largest first as given; each bar carries its formatted value.
    480 units wide so that on a phone (about 360 px) the text stays about 11 px."""
    longest = max((len(str(label)) for label in labels), default=4)
    row, top, label_width = 28, 32, min(240, 16 + 8 * longest)
    height = top + row * len(labels) + 8
    peak = max((v for v in values if v is not None), default=0) or 1
    plot = width - label_width - 80
    parts = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * row
        length = 0 if value is None else max(1.0, plot * float(value) / peak)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 17}" font-size="13" text-anchor="end" '
            f'fill="#333">{escape(str(label))}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
            f'rx="3" fill="{color}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 17}" font-size="12" '
            f'fill="#333">{escape(fmt(value))}</text>'
        )
    return _svg(width, height, title, "".join(parts))


def line_chart(
    periods: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    fmt: Callable[[float], str] = compacto,
    width: int = 480,
    height: int = 280,
) -> str:
    """One line per series over the same periods (e.g. months), with a legend."""
    left, right, top, bottom = 90, 24, 56, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for points in series.values() for v in points if v is not None]
    peak = max(values, default=0) or 1
    step = plot_w / max(len(periods) - 1, 1)
    parts = []
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#555">{escape(fmt(peak * fraction))}</text>'
        )
    label_every = max(1, len(periods) // 6)
    for index, period in enumerate(periods):
        if index % label_every == 0:
            parts.append(
                f'<text x="{left + index * step:.1f}" y="{height - bottom + 18}" font-size="11" '
                f'text-anchor="middle" fill="#555">{escape(str(period))}</text>'
            )
    legend_x = float(left)  # each entry as wide as its name: long names never overlap
    for number, (name, points) in enumerate(series.items()):
        color = PALETTE[number % len(PALETTE)]
        coords = [
            f"{left + index * step:.1f},{top + plot_h * (1 - float(value) / peak):.1f}"
            for index, value in enumerate(points)
            if value is not None
        ]
        if coords:
            parts.append(
                f'<polyline points="{" ".join(coords)}" fill="none" stroke="{color}" '
                f'stroke-width="2.5"/>'
            )
        parts.append(
            f'<rect x="{legend_x:.0f}" y="30" width="12" height="12" fill="{color}"/>'
            f'<text x="{legend_x + 16:.0f}" y="40" font-size="13" fill="#333">'
            f"{escape(str(name))}</text>"
        )
        legend_x += 16 + 7.5 * len(str(name)) + 14
    return _svg(width, height, title, "".join(parts))


def _shade(fraction: float) -> str:
    """From a pale to a deep blue."""
    low, high = (230, 240, 250), (16, 78, 139)
    rgb = (round(a + (b - a) * fraction) for a, b in zip(low, high, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def uf_tile_grid(
    values: Mapping[str, float | None],
    title: str,
    fmt: Callable[[float | None], str] = compacto,
) -> str:
    """The 27 UFs as tiles in Brazil's rough shape, shaded by value, each labelled."""
    tile, gap, top = 64, 4, 30
    width, height = 7 * (tile + gap), top + 8 * (tile + gap)
    known = [v for v in values.values() if v is not None]
    peak = max(known, default=0) or 1
    parts = []
    for uf, (column, row) in UF_TILES.items():
        value = values.get(uf)
        fraction = 0.0 if value is None else max(0.0, float(value) / peak)
        x, y = column * (tile + gap), top + row * (tile + gap)
        ink = "#fff" if fraction > 0.55 else "#1a1a1a"
        parts.append(
            f'<rect x="{x}" y="{y}" width="{tile}" height="{tile}" rx="6" '
            f'fill="{_shade(fraction) if value is not None else "#eeeeee"}"/>'
            f'<text x="{x + tile / 2}" y="{y + 28}" font-size="18" font-weight="700" '
            f'text-anchor="middle" fill="{ink}">{uf}</text>'
            f'<text x="{x + tile / 2}" y="{y + 50}" font-size="11" text-anchor="middle" '
            f'fill="{ink}">{escape(fmt(value))}</text>'
        )
    return _svg(width, height, title, "".join(parts))
