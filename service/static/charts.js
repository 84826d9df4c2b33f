// SVG charts drawn from the API's numbers: heatmaps, a scatter plot and a line chart.
// Each returns an <svg> that scales down to its container (CSS: max-width 100%, height auto).

import { h, svg, fmt } from "./dom.js";

// Sequential scale (light to dark blue) for heatmaps.
const STOPS = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];

export function blue(t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const c = STOPS[i].map((a, k) => Math.round(a + f * (STOPS[i + 1][k] - a)));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

// Categorical colours (Okabe-Ito), with the text colour readable on each.
const SENSE_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"];
const DARK_TEXT = new Set(["#E69F00", "#56B4E9", "#999999"]);

export function senseColour(k) {
  return k < 0 ? "#777777" : SENSE_COLOURS[k % SENSE_COLOURS.length];
}

export function textOn(colour) {
  return DARK_TEXT.has(colour) ? "#000" : "#fff";
}

const CHAR_W = 7; // rough width of a 12px label character, in SVG units

/**
 * A heatmap: one row per rowLabels entry, one column per colLabels entry.
 * Values are mapped from [lo, hi] onto the blue scale; every cell has a <title> with its value.
 */
export function heatmap({ matrix, rowLabels, colLabels, lo = 0, hi = 1, label, rowTitles, colTitles,
                          showValues = false, cellTitle, colClass }) {
  const cell = 34;
  const rows = matrix.length;
  const cols = rows ? matrix[0].length : 0;
  const longestRow = Math.max(1, ...rowLabels.map((s) => s.length));
  const longestCol = Math.max(1, ...colLabels.map((s) => s.length));
  const left = Math.min(140, longestRow * CHAR_W + 12);
  const colText = Math.min(120, longestCol * CHAR_W);
  const top = Math.round(colText * 0.77) + 16; // labels rotated by -50 degrees
  const right = Math.max(8, Math.round(colText * 0.64) - cell / 2 + 8);
  const width = left + cols * cell + right;
  const height = top + rows * cell + 4;
  const zoom = 1.25; // drawn a little larger than its units; CSS shrinks it to narrow containers
  const out = svg("svg", { class: "heatmap", viewBox: `0 0 ${width} ${height}`,
                           width: Math.round(width * zoom), height: Math.round(height * zoom),
                           role: "img", "aria-label": label });
  out.append(svg("title", {}, label));
  const span = hi - lo || 1;
  for (let i = 0; i < rows; i++) {
    const y = top + i * cell;
    out.append(svg("text", { class: "row-label", x: left - 6, y: y + cell / 2 + 4, "text-anchor": "end" },
      clip(rowLabels[i], 18), rowTitles ? svg("title", {}, rowTitles[i]) : null));
    for (let j = 0; j < cols; j++) {
      const v = matrix[i][j];
      const t = (v - lo) / span;
      const x = left + j * cell;
      const g = svg("g", { class: "cell", "data-row": i, "data-col": j },
        svg("rect", { x, y, width: cell - 2, height: cell - 2, rx: 2, fill: blue(t) }),
        svg("title", {}, cellTitle ? cellTitle(i, j, v) : `${rowLabels[i]} × ${colLabels[j]}: ${fmt(v, 3)}`));
      if (showValues) {
        g.append(svg("text", { x: x + (cell - 2) / 2, y: y + cell / 2 + 3, "text-anchor": "middle",
                               class: "cell-value", fill: t > 0.55 ? "#fff" : "#111" }, fmt(v, 2)));
      }
      out.append(g);
    }
  }
  for (let j = 0; j < cols; j++) {
    const x = left + j * cell + cell / 2 + 3;
    out.append(svg("text", { class: `col-label ${colClass ? colClass(j) : ""}`.trim(),
                             transform: `translate(${x}, ${top - 6}) rotate(-50)` },
      clip(colLabels[j], 16), colTitles ? svg("title", {}, colTitles[j]) : null));
  }
  return out;
}

/** The colour key under a heatmap: lo … hi on the same blue scale. */
export function scaleKey(lo, hi, what) {
  const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => blue(t)).join(", ");
  return h("p", { class: "scale-key" },
    h("span", {}, fmt(lo, 2)),
    h("span", { class: "scale-bar", style: `background: linear-gradient(to right, ${stops})`, "aria-hidden": "true" }),
    h("span", {}, fmt(hi, 2)),
    what ? h("span", { class: "scale-what" }, what) : null);
}

function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function extent(values) {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.12;
  return [lo - pad, hi + pad];
}

/**
 * A scatter plot of 2-D points. points: [{x, y, group, label, title}] drawn as numbered discs
 * coloured by group; marks: [{x, y, group, label, title}] drawn as hollow diamonds (labelled examples).
 */
export function scatter({ points, marks = [], xLabel, yLabel, label }) {
  const W = 360, H = 260, L = 40, R = 14, T = 14, B = 38;
  const all = [...points, ...marks];
  const [x0, x1] = extent(all.map((p) => p.x));
  const [y0, y1] = extent(all.map((p) => p.y));
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const out = svg("svg", { class: "chart scatter", viewBox: `0 0 ${W} ${H}`, width: W, height: H,
                           role: "img", "aria-label": label });
  out.append(svg("title", {}, label));
  out.append(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "plot-area" }));
  if (x0 < 0 && x1 > 0) out.append(svg("line", { x1: sx(0), x2: sx(0), y1: T, y2: H - B, class: "zero" }));
  if (y0 < 0 && y1 > 0) out.append(svg("line", { x1: L, x2: W - R, y1: sy(0), y2: sy(0), class: "zero" }));
  out.append(svg("text", { x: (L + W - R) / 2, y: H - 10, "text-anchor": "middle", class: "axis-label" }, xLabel));
  out.append(svg("text", { transform: `translate(14, ${(T + H - B) / 2}) rotate(-90)`, "text-anchor": "middle",
                           class: "axis-label" }, yLabel));
  for (const m of marks) {
    const x = sx(m.x), y = sy(m.y), colour = senseColour(m.group);
    out.append(svg("g", { class: "example-point", "data-group": m.group },
      svg("rect", { x: x - 6, y: y - 6, width: 12, height: 12, transform: `rotate(45 ${x} ${y})`,
                    fill: "#fff", stroke: colour, "stroke-width": 2.5 }),
      svg("text", { x: x + 10, y: y + 4, class: "mark-label" }, m.label),
      svg("title", {}, m.title)));
  }
  for (const p of points) {
    const x = sx(p.x), y = sy(p.y), colour = senseColour(p.group);
    out.append(svg("g", { class: "point", "data-group": p.group },
      svg("circle", { cx: x, cy: y, r: 11, fill: colour, stroke: "#fff", "stroke-width": 1.5 }),
      svg("text", { x, y: y + 4, "text-anchor": "middle", class: "point-label", fill: textOn(colour) }, p.label),
      svg("title", {}, p.title)));
  }
  return out;
}

function niceStep(span) {
  const raw = span / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/** A line chart of ys over xs (null ys leave a gap); the point at x === highlight is ringed. */
export function lineChart({ xs, ys, highlight, xLabel, yLabel, label, pointTitle }) {
  const W = 360, H = 230, L = 52, R = 14, T = 14, B = 40;
  const known = ys.filter((y) => y !== null && Number.isFinite(y));
  let lo = Math.min(0, ...known), hi = Math.max(0, ...known);
  if (!(hi > lo)) hi = lo + 1;
  const step = niceStep(hi - lo);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const xlo = Math.min(...xs), xhi = Math.max(...xs);
  const sx = (x) => L + (xhi > xlo ? (x - xlo) / (xhi - xlo) : 0.5) * (W - L - R);
  const sy = (y) => H - B - ((y - lo) / (hi - lo)) * (H - T - B);
  const out = svg("svg", { class: "chart line-chart", viewBox: `0 0 ${W} ${H}`, width: W, height: H,
                           role: "img", "aria-label": label });
  out.append(svg("title", {}, label));
  const digits = step < 0.01 ? 3 : step < 0.1 ? 2 : 1;
  for (let v = lo; v <= hi + step / 2; v += step) {
    out.append(svg("line", { x1: L, x2: W - R, y1: sy(v), y2: sy(v), class: Math.abs(v) < step / 2 ? "zero" : "grid" }));
    out.append(svg("text", { x: L - 6, y: sy(v) + 4, "text-anchor": "end", class: "tick" }, fmt(v, digits)));
  }
  for (const x of xs) {
    out.append(svg("text", { x: sx(x), y: H - B + 16, "text-anchor": "middle", class: "tick" }, String(x)));
  }
  out.append(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, xLabel));
  out.append(svg("text", { transform: `translate(13, ${(T + H - B) / 2}) rotate(-90)`, "text-anchor": "middle",
                           class: "axis-label" }, yLabel));
  let d = "";
  let pen = false;
  xs.forEach((x, i) => {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)} `;
    pen = true;
  });
  out.append(svg("path", { d: d.trim(), class: "line" }));
  xs.forEach((x, i) => {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) return;
    const mine = x === highlight;
    out.append(svg("g", { class: mine ? "pt pt-used" : "pt", "data-x": x },
      mine ? svg("circle", { cx: sx(x), cy: sy(y), r: 9, class: "ring" }) : null,
      svg("circle", { cx: sx(x), cy: sy(y), r: 4.5 }),
      svg("title", {}, pointTitle ? pointTitle(x, y) : `${x}: ${fmt(y, 3)}`)));
  });
  return out;
}
