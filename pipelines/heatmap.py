"""A dependency-free SVG heatmap of an attention matrix (target rows x source columns).

The drawing is plain SVG 1.1 text: every cell is a ``<rect>`` whose fill goes from white (0) to
dark blue (the row's weight 1), with a ``<title>`` tooltip giving the exact weight; source tokens
label the columns (rotated), target tokens the rows. All text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from pipelines.errors import InputError

CELL = 28
FONT = 12
MAX_CELLS = 200 * 200


def _shade(w: float) -> str:
    """White -> #08306b (dark blue) by weight in [0, 1]."""
    w = min(1.0, max(0.0, float(w)))
    r = round(255 + (8 - 255) * w)
    g = round(255 + (48 - 255) * w)
    b = round(255 + (107 - 255) * w)
    return f"#{r:02x}{g:02x}{b:02x}"


def _label_width(labels: Sequence[str]) -> int:
    return 10 + int(0.62 * FONT * max((len(t) for t in labels), default=1))


def attention_svg(source: Sequence[str], target: Sequence[str], weights: Sequence[Sequence[float]],
                  *, title: str | None = None) -> str:
    """SVG text for ``weights`` (len(target) rows x len(source) columns)."""
    if len(weights) != len(target) or any(len(row) != len(source) for row in weights):
        raise InputError(f"the attention matrix must be {len(target)} x {len(source)} (target x source)")
    if len(source) * len(target) > MAX_CELLS:
        raise InputError("the attention matrix is too large to draw", limit=MAX_CELLS, given=len(source) * len(target))
    left = _label_width(target)
    top = _label_width(source) + (24 if title else 4)
    width = left + CELL * max(1, len(source)) + 10
    height = top + CELL * max(1, len(target)) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="{FONT}" role="img">']
    label = title or "attention"
    out.append(f"<title>{escape(label)}</title>")
    out.append(f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    if title:
        out.append(f'<text x="4" y="16" font-weight="bold">{escape(title)}</text>')
    for j, tok in enumerate(source):  # column labels, rotated, bottom-aligned to the grid
        x = left + j * CELL + CELL // 2 + FONT // 3
        out.append(f'<text transform="translate({x},{top - 6}) rotate(-60)">{escape(tok)}</text>')
    for i, tok in enumerate(target):
        y = top + i * CELL + CELL // 2 + FONT // 3
        out.append(f'<text x="{left - 6}" y="{y}" text-anchor="end">{escape(tok)}</text>')
        for j, w in enumerate(weights[i]):
            x, yy = left + j * CELL, top + i * CELL
            out.append(f'<rect x="{x}" y="{yy}" width="{CELL}" height="{CELL}" fill="{_shade(w)}" '
                       f'stroke="#dddddd"><title>{escape(tok)} \u2190 {escape(source[j])}: {float(w):.3f}</title></rect>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
