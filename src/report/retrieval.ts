/**
 * The retrieval sections: the mAP dot plot, the precision@k curves and the gallery.
 * @module
 */
import { displayValue } from "../canonical.ts";
import type { ComparisonTable } from "../table.ts";
import type { Gallery } from "../gallery.ts";
import { esc } from "./format.ts";
import { type DotEntry, dotPlot, lineChart, type LineSeries } from "./chart.ts";
import { isFinished, legend, type MethodInfo, methodsOf, note, PALETTE, swatch } from "./parts.ts";

/**
 * Which evaluation's retrieval metrics the charts show: `mAP` / `P@k`, or `<node>.mAP` /
 * `<node>.P@k` when a graph has several evaluate nodes of the method — the one whose mAP differs
 * most between methods (in a results file from before references were rows, a shared baseline's
 * evaluation is a column, the same on every row). Reference rows are not considered.
 */
export function retrievalPrefix(table: ComparisonTable): string | undefined {
  const prefixes = table.metrics
    .map((m) => /^(.*?)mAP$/.exec(m))
    .filter((x): x is RegExpExecArray => x !== null && (x[1] === "" || x[1].endsWith(".")))
    .map((x) => x[1]);
  let best: string | undefined;
  let spread = -1;
  for (const p of prefixes) {
    const means = table.rows.filter((r) => !r.reference).map((r) => r.metrics[`${p}mAP`]?.mean)
      .filter((v) => Number.isFinite(v)) as number[];
    const s = means.length > 0 ? Math.max(...means) - Math.min(...means) : 0;
    if (s > spread) {
      spread = s;
      best = p;
    }
  }
  return best;
}

/**
 * Each gallery query with every method's top-k: thumbnails outlined green (same label: a hit)
 * or red with a × (a miss), and the hits out of k. Each image is embedded once (a CSS class).
 */
export function galleryHtml(gallery: Gallery | undefined, rows: MethodInfo[]): string {
  if (!gallery) {
    return note(
      "Run `kt report <run> --gallery` to add each method's top-10 retrieved images for a few " +
        "test queries (image data only).",
    );
  }
  const ids = Object.keys(gallery.images);
  const cls = new Map(ids.map((id, i) => [id, `g${i}`]));
  const css = ids.map((id) => `.${cls.get(id)}{background-image:url(${gallery.images[id]})}`)
    .join("\n");
  const labelOf = (l: number) => gallery.classNames?.[l] ?? String(l);
  const byName = new Map(rows.map((m) => [m.row.method, m]));
  const blocks = gallery.queries.map((q, qi) => {
    const lines = (gallery.rows[qi] ?? []).map((row) => {
      const m = byName.get(row.method);
      const name = m ? `${swatch(m.color)}${esc(m.name)}` : esc(row.method);
      const hits = row.hits.filter(Boolean).length;
      const thumbs = row.images.map((img, r) => {
        const what = `rank ${r + 1}: ${labelOf(row.labels[r])} — ${row.hits[r] ? "hit" : "miss"}`;
        return `<span class="thumb ${row.hits[r] ? "hit" : "miss"} ${cls.get(img)}" ` +
          `role="img" aria-label="${esc(what)}" title="${esc(what)}"></span>`;
      }).join("");
      return `<tr><td class="left method">${name}</td><td class="hits">${hits}/${row.images.length}` +
        `</td><td class="left thumbs">${thumbs}</td></tr>`;
    });
    return `<div class="gallery-query"><p class="gq-head"><span class="thumb query ${
      cls.get(q.image)
    }" role="img" aria-label="query"></span> query ${q.index} of the test split · label ` +
      `<strong>${esc(labelOf(q.label))}</strong></p>\n<div class="scroll"><table class="gallery">` +
      `<tbody>\n${lines.join("\n")}\n</tbody></table></div></div>`;
  });
  const skipped = gallery.skipped.length > 0
    ? ` Not shown: ${gallery.skipped.map((s) => `${s.method} (${s.reason})`).join("; ")}.`
    : "";
  return `<style>${css}</style>\n${blocks.join("\n")}\n<p class="caption">For the first ` +
    `query of each class, each method's ${gallery.k} nearest training images (cosine similarity ` +
    `of its representation, node <code>${esc(gallery.node)}</code>), best first; green: same ` +
    `label (a hit), red with ×: a miss. Each method is shown by its trial ${
      esc(gallery.methods.map((m) => `"${m.trial}"`).slice(0, 3).join(", "))
    }${gallery.methods.length > 3 ? ", …" : ""} (the lowest seed).${esc(skipped)}</p>`;
}

function fromNode(prefix: string): string {
  return prefix ? ` (node <code>${esc(prefix.slice(0, -1))}</code>)` : "";
}

/** The title of the main chart: `mAP per method`, `mAP per method and student.lr`. */
export function mapChartTitle(table: ComparisonTable): string {
  const [first, ...rest] = table.axes;
  if (!first) return "mAP per method";
  return `mAP per ${first}${rest.length > 0 ? ` and ${rest.join(", ")}` : ""}`;
}

/** The mAP section: every seed as a dot, mean ± std per method, references as lines. */
export function mapChartHtml(table: ComparisonTable, rows: MethodInfo[]): string {
  const prefix = retrievalPrefix(table);
  if (prefix === undefined) return note("No mAP recorded in this run — no chart.");
  const key = `${prefix}mAP`;
  // With two or more sweep axes: the first along x, the others as colours (with a legend).
  const [groupAxis, ...colourAxes] = table.axes;
  const colours = new Map<string, string>();
  const entries: DotEntry[] = methodsOf(rows).map((m) => {
    const c = m.row.metrics[key];
    const series = colourAxes.length > 0
      ? colourAxes.map((a) => `${a}=${displayValue(m.row.params[a] ?? "—")}`).join(", ")
      : undefined;
    if (series !== undefined && !colours.has(series)) {
      colours.set(series, PALETTE[colours.size % PALETTE.length]);
    }
    return {
      name: m.name,
      group: series !== undefined && groupAxis in m.row.params
        ? displayValue(m.row.params[groupAxis])
        : m.name,
      series,
      color: series !== undefined ? colours.get(series)! : m.color,
      mean: c?.mean ?? NaN,
      std: c?.std ?? null,
      points: m.trials.filter((t) => isFinished(t.status) && Number.isFinite(t.metrics[key]))
        .map((t) => ({ seed: t.seed, value: t.metrics[key] })),
      best: c?.best ?? false,
      tie: c?.tie ?? false,
    };
  });
  // A reference's mAP is the unprefixed metric (its own evaluation), whatever the methods use.
  const references = rows.filter((m) => m.row.reference && Number.isFinite(m.row.metrics.mAP?.mean))
    .map((m) => ({
      name: m.name,
      color: m.color,
      mean: m.row.metrics.mAP.mean,
      std: m.row.metrics.mAP.std,
    }));
  const plot = dotPlot({
    id: "chart-map",
    label: mapChartTitle(table),
    metric: "mAP",
    entries,
    references,
  });
  const seriesLegend = colours.size > 0
    ? `<ul class="legend"><li class="legend-title">${esc(colourAxes.join(", "))}:</li>${
      [...colours].map(([name, color]) => `<li>${swatch(color)}${esc(name)}</li>`).join("")
    }</ul>`
    : "";
  const refLegend = references.length > 0 ? legend(rows.filter((m) => m.row.reference)) : "";
  const oneSeed = entries.every((e) => e.points.length <= 1);
  return `<figure>${seriesLegend}${refLegend}${plot.svg}</figure>` +
    `<p class="caption">Small dots: one trial each (a seed); bar: the mean over seeds${
      fromNode(prefix)
    }${oneSeed ? "" : ", whiskers ± one sample std"}; * best, ≈ tied for best (paired test, see ` +
    `Significance).${
      plot.zoomed
        ? ` <strong>The axis is zoomed</strong> to ${
          esc(plot.range)
        } — it does not start at 0, so compare positions, not heights.`
        : ""
    }${
      references.length > 0
        ? " Dashed lines: references (mean over their distinct measurements), not methods" +
          (plot.offAxis.length > 0 ? `; off the axis: ${esc(plot.offAxis.join(", "))}.` : ".")
        : ""
    }</p>`;
}

/** The precision@k section: a curve per method (references dashed) over the k measured. */
export function precisionChartHtml(table: ComparisonTable, rows: MethodInfo[]): string {
  const prefix = retrievalPrefix(table) ?? "";
  const ks = table.metrics
    .map((m) => m.startsWith(prefix) ? /^P@(\d+)$/.exec(m.slice(prefix.length)) : null)
    .filter((x): x is RegExpExecArray => x !== null)
    .map((x) => Number(x[1]))
    .sort((a, b) => a - b);
  if (ks.length === 0) return note("No precision@k recorded in this run — no curves.");
  // References draw their own (unprefixed) P@k, dashed; only when they measured some.
  const shown = rows.filter((m) =>
    !m.row.reference || ks.some((k) => Number.isFinite(m.row.metrics[`P@${k}`]?.mean))
  );
  const series: LineSeries[] = shown.map((m) => ({
    name: m.name,
    color: m.color,
    dashed: m.row.reference,
    points: ks.map((k) => {
      const c = m.row.metrics[`${m.row.reference ? "" : prefix}P@${k}`];
      return { x: k, y: c?.mean ?? NaN, std: c?.std ?? null };
    }),
  }));
  const chart = lineChart({
    id: "chart-pk",
    xLabel: "k",
    yLabel: "precision@k",
    series,
    xTicks: ks,
    xLog: ks[0] > 0 && ks[ks.length - 1] / ks[0] >= 10,
  });
  const dashed = shown.some((m) => m.row.reference) ? " Dashed: references." : "";
  return `<figure>${legend(shown)}${chart}</figure>` +
    `<p class="caption">Mean precision among the top k retrieved items${
      fromNode(prefix)
    }; band: ± one std over seeds.${dashed}</p>`;
}
