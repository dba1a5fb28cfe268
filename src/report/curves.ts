/**
 * The curves over epochs: training loss per node and evaluation during training.
 * @module
 */
import { meanStd } from "../table.ts";
import { EVAL_PHASE_PREFIX } from "../eval_curve.ts";
import type { ReportTrial } from "./types.ts";
import { esc } from "./format.ts";
import { integerTicks, lineChart, type LineSeries } from "./chart.ts";
import { isFinished, legend, type MethodInfo, note, section } from "./parts.ts";

/** A training-loss series: node name plus phase. */
interface CurveKey {
  node: string;
  phase?: string;
  id: string;
}

/** The training-loss section: a chart per node (and phase) whose curves differ between methods. */
export function lossChartsHtml(methods: MethodInfo[], trials: readonly ReportTrial[]): string {
  const keys: CurveKey[] = [];
  for (const t of trials) {
    for (const p of t.curves ?? []) {
      if (p.phase?.startsWith(EVAL_PHASE_PREFIX)) continue; // evaluations: their own section
      const id = p.phase === undefined ? p.node : `${p.node}\u0000${p.phase}`;
      if (!keys.some((k) => k.id === id)) keys.push({ node: p.node, phase: p.phase, id });
    }
  }
  if (keys.length === 0) return note("No training curves recorded in this run.");
  const means = keys.map((key) =>
    methods.map((m) => meanCurve(m.trials.filter((t) => isFinished(t.status)), key))
  );
  // Nodes whose curves are the same for every method (a shared teacher, a shared baseline) say
  // nothing about the comparison: show the nodes that differ, or all when none do.
  const differs = keys.map((_, i) => {
    const curves = means[i];
    if (methods.length < 2) return true;
    if (curves.some((c) => c.length === 0)) return true;
    return curves.some((c) => !sameCurve(c, curves[0]));
  });
  const shown = keys.map((_, i) => i).filter((i) => differs.every((d) => !d) || differs[i]);
  const hidden = keys.filter((_, i) => !shown.includes(i)).map(curveName);
  const borrowed = [...new Set(trials.flatMap((t) => t.curvesFromRun ?? []))];
  const charts = shown.map((i, n) => {
    const series: LineSeries[] = methods.map((m, j) => ({
      name: m.name,
      color: m.color,
      points: means[i][j].map((p) => ({ x: p.epoch + 1, y: p.mean, std: p.std })),
    }));
    const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite);
    const yLog = ys.length > 0 && ys.every((y) => y > 0) && Math.max(...ys) / Math.min(...ys) > 50;
    const epochs = series.flatMap((s) => s.points.map((p) => p.x));
    const chart = lineChart({
      id: `chart-loss-${n + 1}`,
      xLabel: "epoch",
      yLabel: yLog ? "loss (log scale)" : "loss",
      series,
      xTicks: integerTicks(Math.min(...epochs), Math.max(...epochs)),
      yLog,
    });
    return `<figure><figcaption>node <code>${esc(curveName(keys[i]))}</code></figcaption>` +
      `${legend(methods)}${chart}</figure>`;
  });
  return charts.join("\n") +
    `<p class="caption">Per-epoch training loss, mean over finished seeds (band: ± one std). ` +
    `Methods optimise different losses: compare shapes, not levels.` +
    (hidden.length ? ` Same for every method, not shown: ${hidden.map(esc).join(", ")}.` : "") +
    (borrowed.length
      ? ` Curves of cached trials come from run${borrowed.length > 1 ? "s" : ""} ` +
        `#${borrowed.join(", #")}.`
      : "") +
    `</p>`;
}

/**
 * Evaluation during training (`evalEvery` on a transfer node): one chart per node and metric,
 * a line per method (mean over seeds, ± std band) over the epochs evaluated. No section when no
 * node asked for it.
 */
export function evalSection(methods: MethodInfo[], trials: readonly ReportTrial[]): string[] {
  const keys: CurveKey[] = [];
  for (const t of trials) {
    for (const p of t.curves ?? []) {
      if (!p.phase?.startsWith(EVAL_PHASE_PREFIX)) continue;
      const id = `${p.node}\u0000${p.phase}`;
      if (!keys.some((k) => k.id === id)) keys.push({ node: p.node, phase: p.phase, id });
    }
  }
  if (keys.length === 0) return [];
  const charts = keys.map((key, n) => {
    const metric = key.phase!.slice(EVAL_PHASE_PREFIX.length);
    const series: LineSeries[] = methods.map((m) => ({
      name: m.name,
      color: m.color,
      points: meanCurve(m.trials.filter((t) => isFinished(t.status)), key)
        .map((p) => ({ x: p.epoch + 1, y: p.mean, std: p.std })),
    }));
    const epochs = series.flatMap((s) => s.points.map((p) => p.x));
    const chart = lineChart({
      id: `chart-eval-${n + 1}`,
      xLabel: "epoch",
      yLabel: metric,
      series,
      xTicks: integerTicks(Math.min(...epochs), Math.max(...epochs)),
    });
    return `<figure><figcaption>${esc(metric)} of node <code>${esc(key.node)}</code></figcaption>` +
      `${legend(methods)}${chart}</figure>`;
  });
  return [
    section(
      "Evaluation during training",
      "eval",
      charts.join("\n") +
        `<p class="caption">The students evaluated every few epochs (<code>evalEvery</code>): ` +
        `retrieval mAP and P@10 of the representation and the head's accuracy on the ` +
        `evaluation queries, mean over finished seeds (band: ± one std). The y-axis spans the ` +
        `values shown.</p>`,
    ),
  ];
}

function curveName(key: CurveKey): string {
  return key.phase === undefined ? key.node : `${key.node} (${key.phase})`;
}

interface CurvePoint {
  epoch: number;
  mean: number;
  std: number | null;
}

function meanCurve(trials: readonly ReportTrial[], key: CurveKey): CurvePoint[] {
  const byEpoch = new Map<number, number[]>();
  for (const t of trials) {
    for (const p of t.curves ?? []) {
      if (p.node !== key.node || p.phase !== key.phase) continue;
      const values = byEpoch.get(p.epoch) ?? [];
      if (Number.isFinite(p.loss)) values.push(p.loss);
      byEpoch.set(p.epoch, values);
    }
  }
  return [...byEpoch].sort(([a], [b]) => a - b).map(([epoch, values]) =>
    values.length === 0 ? { epoch, mean: NaN, std: null } : { epoch, ...meanStd(values) }
  );
}

function sameCurve(a: CurvePoint[], b: CurvePoint[]): boolean {
  return a.length === b.length && a.every((p, i) =>
    p.epoch === b[i].epoch &&
    (p.mean === b[i].mean || Math.abs(p.mean - b[i].mean) <= 1e-9 * Math.abs(p.mean))
  );
}
