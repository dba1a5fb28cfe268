/**
 * The chart kit: inline SVG dot plots and line charts with their axes and ticks, drawn
 * here so the page loads nothing.
 * @module
 */
import { esc, formatNumber, formatTick } from "./format.ts";

const CHART_WIDTH = 860;
const FONT_PX = 12;
/** Rough width of one character of the chart font, for label layout. */
const CHAR_PX = 6.6;

/** One method in a dot plot: its seeds' values and their mean ± std. */
export interface DotEntry {
  name: string;
  /** The x position's label (entries sharing it sit side by side). */
  group: string;
  /** The colour's meaning when colours encode further sweep axes. */
  series?: string;
  color: string;
  mean: number;
  std: number | null;
  points: { seed: number; value: number }[];
  best: boolean;
  tie: boolean;
}

interface DotPlotSpec {
  id: string;
  /** The chart's accessible name. */
  label: string;
  /** The y-axis quantity. */
  metric: string;
  entries: DotEntry[];
  /** Horizontal dashed lines (references). */
  references: { name: string; color: string; mean: number; std: number | null }[];
}

/**
 * A dot plot: per entry, every seed's value as a small dot, the mean as a bar with ± std
 * whiskers; entries of one group side by side. The y-axis spans the data (not 0): a zoomed axis
 * is said in its title and marked with a break at its foot. References lie across as dashed
 * lines when they fit the range without stretching it more than twice, else they are named at
 * the plot's edge (`offAxis`).
 */
export function dotPlot(spec: DotPlotSpec): {
  svg: string;
  zoomed: boolean;
  range: string;
  offAxis: string[];
} {
  const groups = [...new Set(spec.entries.map((e) => e.group))];
  const slot = (CHART_WIDTH - 64 - 16) / Math.max(groups.length, 1);
  const longest = Math.max(...groups.map((g) => g.length), 1);
  const rotate = longest * CHAR_PX > slot - 6;
  const maxChars = rotate ? 28 : longest;
  const labelPx = rotate ? Math.min(longest, maxChars) * CHAR_PX * 0.71 + 16 : 22;
  const m = { left: 64, right: 16, top: 24, bottom: 28 + labelPx };
  const height = 260 + m.top + m.bottom;
  const plotH = height - m.top - m.bottom;
  const values = spec.entries.flatMap((e) => [
    ...e.points.map((p) => p.value),
    ...(Number.isFinite(e.mean)
      ? [e.mean - (finite(e.std) ?? 0), e.mean + (finite(e.std) ?? 0)]
      : []),
  ]);
  let lo = values.length > 0 ? Math.min(...values) : 0;
  let hi = values.length > 0 ? Math.max(...values) : 1;
  const span = Math.max(hi - lo, Math.abs(hi) * 0.02, 1e-9);
  const shown = spec.references.filter((r) =>
    Number.isFinite(r.mean) && Math.max(hi, r.mean) - Math.min(lo, r.mean) <= 2 * span
  );
  for (const r of shown) {
    lo = Math.min(lo, r.mean);
    hi = Math.max(hi, r.mean);
  }
  const pad = Math.max(hi - lo, span) * 0.08;
  const ticks = niceTicks(lo - pad, hi + pad);
  const y0 = ticks[0];
  const y1 = ticks[ticks.length - 1];
  const zoomed = y0 > 0 || y1 < 0;
  const y = (v: number) => m.top + (y1 - v) / (y1 - y0) * plotH;
  const parts: string[] = [];
  parts.push(...yGrid(ticks, y, m.left, CHART_WIDTH - m.right, (v) => formatTick(v)));
  parts.push(
    axisTitle(`${spec.metric}${zoomed ? " (zoomed, not from 0)" : ""}`, m.top + plotH / 2),
    `<line class="axis" x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}"/>`,
    `<line class="axis" x1="${m.left}" y1="${m.top + plotH}" x2="${CHART_WIDTH - m.right}" ` +
      `y2="${m.top + plotH}"/>`,
  );
  if (zoomed) {
    // An axis break at the foot: two slanted strokes across the y-axis.
    const by = m.top + plotH - 10;
    parts.push(
      `<g class="axis-break"><rect x="${m.left - 6}" y="${by - 4}" width="12" height="8" ` +
        `fill="#fff"/><line x1="${m.left - 6}" y1="${by + 1}" x2="${m.left + 6}" y2="${by - 3}"/>` +
        `<line x1="${m.left - 6}" y1="${by + 5}" x2="${m.left + 6}" y2="${by + 1}"/></g>`,
    );
  }
  groups.forEach((g, gi) => {
    const members = spec.entries.filter((e) => e.group === g);
    const cx = m.left + slot * (gi + 0.5);
    const label = g.length > maxChars ? `${g.slice(0, maxChars - 1)}…` : g;
    const ly = m.top + plotH + 16;
    parts.push(
      rotate
        ? `<text class="xlabel" x="${r(cx)}" y="${r(ly)}" text-anchor="end" ` +
          `transform="rotate(-45 ${r(cx)} ${r(ly)})">${esc(label)}<title>${esc(g)}</title></text>`
        : `<text class="xlabel" x="${r(cx)}" y="${r(ly)}" text-anchor="middle">${esc(label)}` +
          `<title>${esc(g)}</title></text>`,
    );
    const width = slot * 0.8;
    members.forEach((e, k) => {
      const ex = cx - width / 2 + width * (k + 0.5) / members.length;
      const half = Math.min(width / members.length * 0.35, 16);
      const what = e.series ? `${e.group}, ${e.series}` : e.name;
      if (!Number.isFinite(e.mean)) {
        parts.push(
          `<text class="value" x="${r(ex)}" y="${r(m.top + plotH - 6)}" text-anchor="middle">` +
            `n/a</text>`,
        );
        return;
      }
      const std = finite(e.std);
      if (std !== null) {
        const [t, b] = [y(e.mean + std), y(e.mean - std)];
        parts.push(
          `<line class="err" x1="${r(ex)}" y1="${r(t)}" x2="${r(ex)}" y2="${r(b)}"/>`,
          `<line class="cap" x1="${r(ex - 4)}" y1="${r(t)}" x2="${r(ex + 4)}" y2="${r(t)}"/>`,
          `<line class="cap" x1="${r(ex - 4)}" y1="${r(b)}" x2="${r(ex + 4)}" y2="${r(b)}"/>`,
        );
      }
      e.points.forEach((p, i) => {
        const dx = e.points.length > 1 ? (i / (e.points.length - 1) - 0.5) * half * 1.4 : 0;
        parts.push(
          `<circle class="seed-point" data-method="${esc(what)}" cx="${r(ex + dx)}" ` +
            `cy="${r(y(p.value))}" r="3.2" fill="${e.color}"><title>${
              esc(`${what}, seed ${p.seed}: ${formatNumber(p.value)}`)
            }</title></circle>`,
        );
      });
      const tip = `${what}: mean ${formatNumber(e.mean)}${
        std === null ? "" : ` ± ${formatNumber(std)}`
      } over ${e.points.length} seed${e.points.length === 1 ? "" : "s"}`;
      parts.push(
        `<line class="mean${e.best ? " best" : ""}" data-method="${esc(what)}" x1="${
          r(ex - half)
        }" y1="${r(y(e.mean))}" x2="${r(ex + half)}" y2="${r(y(e.mean))}" stroke="${e.color}">` +
          `<title>${esc(tip)}</title></line>`,
      );
      const top = Math.min(y(e.mean + (std ?? 0)), ...e.points.map((p) => y(p.value)));
      parts.push(
        `<text class="value${e.best ? " best" : ""}" x="${r(ex)}" y="${r(top - 6)}" ` +
          `text-anchor="middle">${esc(formatNumber(e.mean))}${
            e.best ? " *" : e.tie ? " ≈" : ""
          }</text>`,
      );
    });
  });
  // References, top to bottom; a label too close to the one above goes under its line.
  let lastLabel = -Infinity;
  for (const l of [...shown].sort((a, b) => b.mean - a.mean)) {
    const ly = y(l.mean);
    const std = finite(l.std);
    const text = `${l.name}: ${formatNumber(l.mean)}${
      std === null ? "" : ` ± ${formatNumber(std)}`
    }`;
    const labelY = ly - 4 - lastLabel < 13 ? ly + 13 : ly - 4;
    lastLabel = labelY;
    parts.push(
      `<line class="refline" data-method="${esc(l.name)}" x1="${m.left}" y1="${r(ly)}" ` +
        `x2="${CHART_WIDTH - m.right}" y2="${r(ly)}" stroke="${l.color}"><title>${
          esc(`reference ${text}`)
        }</title></line>`,
      `<text class="reflabel" x="${CHART_WIDTH - m.right - 4}" y="${r(labelY)}" ` +
        `text-anchor="end" fill="${l.color}" stroke="#fff" stroke-width="3" ` +
        `paint-order="stroke">${esc(text)}</text>`,
    );
  }
  const offAxis = spec.references.filter((l) => !shown.includes(l) && Number.isFinite(l.mean));
  offAxis.forEach((l, i) => {
    const above = l.mean > y1;
    parts.push(
      `<text class="reflabel off-axis" x="${CHART_WIDTH - m.right - 4}" y="${
        r(above ? m.top + 12 + 13 * i : m.top + plotH - 6 - 13 * i)
      }" text-anchor="end" fill="${l.color}">${
        esc(`${above ? "↑" : "↓"} ${l.name}: ${formatNumber(l.mean)}`)
      }</text>`,
    );
  });
  return {
    svg: svg(spec.id, height, spec.label, parts),
    zoomed,
    range: `${formatTick(y0)}–${formatTick(y1)}`,
    offAxis: offAxis.map((l) =>
      `${l.name} ${formatNumber(l.mean)} (${l.mean > y1 ? "above" : "below"})`
    ),
  };
}

interface LinePoint {
  x: number;
  y: number;
  std: number | null;
}

/** One line of a line chart. */
export interface LineSeries {
  name: string;
  color: string;
  /** Drawn dashed, without a band (a reference). */
  dashed?: boolean;
  points: LinePoint[];
}

interface LineChartSpec {
  id: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** x positions with a tick label. */
  xTicks: number[];
  xLog?: boolean;
  yLog?: boolean;
}

/** Lines with markers and a ± std band per series; NaN points break the line. */
export function lineChart(spec: LineChartSpec): string {
  const m = { left: 64, right: 20, top: 16, bottom: 44 };
  const height = 300;
  const plotW = CHART_WIDTH - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const points = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  const xs = spec.xTicks.length > 0 ? spec.xTicks : points.map((p) => p.x);
  const parts: string[] = [];
  if (points.length === 0) {
    parts.push(
      `<text class="value" x="${CHART_WIDTH / 2}" y="${height / 2}" text-anchor="middle">` +
        `no finite values</text>`,
    );
    return svg(spec.id, height, spec.yLabel, parts);
  }
  const xScale = axisScale(Math.min(...xs), Math.max(...xs), m.left, m.left + plotW, !!spec.xLog);
  const spread = points.flatMap((p) => {
    const s = finite(p.std) ?? 0;
    return spec.yLog ? [p.y] : [p.y - s, p.y + s];
  });
  let yTicks: number[];
  if (spec.yLog) {
    yTicks = logTicks(Math.min(...spread), Math.max(...spread));
  } else {
    const lo = Math.min(...spread);
    const hi = Math.max(...spread);
    const pad = hi > lo ? 0.05 * (hi - lo) : Math.abs(lo) * 0.1 || 1;
    yTicks = niceTicks(lo - pad, hi + pad);
  }
  const yScale = axisScale(yTicks[0], yTicks[yTicks.length - 1], m.top + plotH, m.top, !!spec.yLog);
  parts.push(...yGrid(yTicks, yScale, m.left, m.left + plotW, formatTick));
  for (const t of spec.xTicks) {
    parts.push(
      `<line class="tick" x1="${r(xScale(t))}" y1="${m.top + plotH}" x2="${r(xScale(t))}" ` +
        `y2="${m.top + plotH + 4}"/>`,
      `<text class="tick" x="${r(xScale(t))}" y="${m.top + plotH + 17}" text-anchor="middle">` +
        `${esc(formatTick(t))}</text>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" ` +
      `y2="${m.top + plotH}"/>`,
    `<text class="axis-title" x="${m.left + plotW / 2}" y="${height - 6}" text-anchor="middle">` +
      `${esc(spec.xLabel)}${spec.xLog ? " (log scale)" : ""}</text>`,
    axisTitle(spec.yLabel, m.top + plotH / 2),
  );
  const [yMin, yMax] = [yTicks[0], yTicks[yTicks.length - 1]];
  const clampY = (v: number) => yScale(Math.min(Math.max(v, yMin), yMax));
  for (const s of spec.series) {
    const segments = splitFinite(s.points);
    for (const seg of segments) {
      const withStd = seg.filter((p) => finite(p.std) !== null);
      if (!s.dashed && withStd.length === seg.length && seg.length > 1) {
        const upper = seg.map((p) => `${r(xScale(p.x))},${r(clampY(p.y + p.std!))}`);
        const lower = seg.map((p) => `${r(xScale(p.x))},${r(clampY(p.y - p.std!))}`).reverse();
        parts.push(
          `<polygon class="band" fill="${s.color}" points="${[...upper, ...lower].join(" ")}"/>`,
        );
      }
      parts.push(
        `<polyline class="series${s.dashed ? " reference" : ""}" data-method="${
          esc(s.name)
        }" stroke="${s.color}" points="${
          seg.map((p) => `${r(xScale(p.x))},${r(yScale(p.y))}`).join(" ")
        }"/>`,
      );
    }
    for (const p of s.points.filter((p) => Number.isFinite(p.y))) {
      const std = finite(p.std);
      const tip = `${s.name}: ${spec.xLabel} ${formatTick(p.x)} → ${formatNumber(p.y)}` +
        (std === null ? "" : ` ± ${formatNumber(std)}`);
      parts.push(
        `<circle class="marker" cx="${r(xScale(p.x))}" cy="${r(yScale(p.y))}" r="3.5" ` +
          `fill="${s.color}"><title>${esc(tip)}</title></circle>`,
      );
    }
  }
  return svg(spec.id, height, spec.yLabel, parts);
}

function svg(id: string, height: number, label: string, parts: string[]): string {
  return `<svg class="chart" id="${id}" xmlns="http://www.w3.org/2000/svg" role="img" ` +
    `aria-label="${esc(label)}" width="${CHART_WIDTH}" height="${r(height)}" ` +
    `viewBox="0 0 ${CHART_WIDTH} ${r(height)}" font-size="${FONT_PX}">\n` +
    `${parts.join("\n")}\n</svg>`;
}

function yGrid(
  ticks: number[],
  y: (v: number) => number,
  x0: number,
  x1: number,
  label: (v: number) => string,
): string[] {
  return ticks.flatMap((t) => [
    `<line class="grid" x1="${x0}" y1="${r(y(t))}" x2="${x1}" y2="${r(y(t))}"/>`,
    `<text class="tick" x="${x0 - 6}" y="${r(y(t) + 4)}" text-anchor="end">${esc(label(t))}</text>`,
  ]);
}

function axisTitle(text: string, yMid: number): string {
  return `<text class="axis-title" x="14" y="${r(yMid)}" text-anchor="middle" ` +
    `transform="rotate(-90 14 ${r(yMid)})">${esc(text)}</text>`;
}

/** Maps [d0, d1] onto [r0, r1], linearly or in log10; a zero-width domain maps to the middle. */
function axisScale(d0: number, d1: number, r0: number, r1: number, log: boolean) {
  const f = log ? Math.log10 : (v: number) => v;
  const [a, b] = [f(d0), f(d1)];
  return (v: number) => (b === a ? (r0 + r1) / 2 : r0 + (f(v) - a) / (b - a) * (r1 - r0));
}

/** About five evenly spaced round ticks (steps of 1, 2 or 5 × 10ⁿ) covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((s) => s * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step + 1e-9);
  const end = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = start; i <= end; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/**
 * Powers of ten covering [lo, hi] (lo > 0): every k-th decade for at most ~8 ticks, the top
 * extended to a whole step; 2 and 5 in between when the range is at most 2 decades.
 */
function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const decades = Math.max(Math.ceil(Math.log10(hi)) - a, 1);
  const step = Math.ceil(decades / 8);
  const b = a + Math.ceil(decades / step) * step;
  const ticks: number[] = [];
  for (let e = a; e <= b; e += step) {
    ticks.push(Number((10 ** e).toPrecision(12)));
    if (decades <= 2 && e < b) ticks.push(Number((2 * 10 ** e).toPrecision(12)));
    if (decades <= 2 && e < b) ticks.push(Number((5 * 10 ** e).toPrecision(12)));
  }
  return ticks;
}

/** Integer ticks (at most ~10) from lo to hi. */
export function integerTicks(lo: number, hi: number): number[] {
  const step = Math.max(1, Math.ceil((hi - lo) / 10));
  const ticks: number[] = [];
  for (let v = lo; v <= hi; v += step) ticks.push(v);
  return ticks;
}

function splitFinite(points: LinePoint[]): LinePoint[][] {
  const segments: LinePoint[][] = [[]];
  for (const p of points) {
    if (Number.isFinite(p.y)) segments[segments.length - 1].push(p);
    else if (segments[segments.length - 1].length > 0) segments.push([]);
  }
  return segments.filter((s) => s.length > 0);
}

function finite(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

/** Rounds a pixel coordinate to 2 decimals for compact SVG. */
function r(v: number): string {
  return String(Math.round(v * 100) / 100);
}
