/**
 * `kt compare`: one table across runs or experiments — the same methods on MNIST and
 * Fashion-MNIST, or one experiment before and after a change. Rows are the methods (and
 * references) of all sources, matched by their parameters; each metric has one column per source
 * (`mAP · mnist-pkt`), with that source's own significance marks (best / tied, see `table.ts`).
 *
 * Two runs of the same experiment (or `diff: true`) also get, per metric, the change of each
 * method from the first to the second: `Δ mAP` (mean ± std of the per-seed differences, seeds
 * matched, and the two-sided paired t-test of that change as the cell's `p`; no test with fewer
 * than 3 common seeds).
 *
 * The result is a {@linkcode ComparisonTable}, so every table format applies.
 *
 * ```ts
 * import { compareRuns } from "./compare.ts";
 * const trial = (method: string, seed: number, mAP: number) =>
 *   ({ params: { method }, seed, status: "done", metrics: { mAP } });
 * const table = compareRuns([
 *   { label: "mnist", experiment: "mnist", trials: [trial("pkt", 0, 0.9), trial("none", 0, 0.8)] },
 *   { label: "fashion", experiment: "fashion", trials: [trial("pkt", 0, 0.6)] },
 * ]);
 * table.metrics; // ["mAP · mnist", "mAP · fashion"]
 * table.rows.map((r) => r.method); // ["method=pkt", "method=none"]
 * ```
 * @module
 */
import { canonicalJson } from "./canonical.ts";
import { KtError } from "./errors.ts";
import { pairedTTest } from "./stats.ts";
import {
  type ColumnTest,
  type ComparisonTable,
  comparisonTable,
  isFinished,
  type MethodRow,
  type MetricStats,
  MIN_TEST_SEEDS,
  trialKeys,
  type TrialResult,
} from "./table.ts";

/** One run to compare. */
export interface CompareSource {
  /** Its name in column headers (unique among the sources). */
  label: string;
  /** The experiment's name (two sources of the same experiment get the change columns). */
  experiment: string;
  /** The run's trials, as {@linkcode comparisonTable} reads them. */
  trials: readonly TrialResult[];
}

/** Options of {@linkcode compareRuns}. */
export interface CompareOptions {
  /**
   * Metrics to show. Default: `mAP` when every source has it, else the metrics all sources share
   * (else every metric).
   */
  metrics?: readonly string[];
  /** Add the change columns for two sources even when their experiments differ. */
  diff?: boolean;
}

/**
 * The table across `sources` (see the module doc). Throws {@linkcode KtError} for fewer than two
 * sources or a metric no source has.
 */
export function compareRuns(
  sources: readonly CompareSource[],
  options: CompareOptions = {},
): ComparisonTable {
  if (sources.length < 2) {
    throw new KtError(`kt compare needs at least two runs, got ${sources.length}`, {
      hint: "e.g. kt compare runs/mnist-pkt runs/fashion-mnist-pkt",
    });
  }
  const tables = sources.map((s) => comparisonTable(s.trials));
  const all = [...new Set(tables.flatMap((t) => t.metrics))];
  const shared = all.filter((m) => tables.every((t) => t.metrics.includes(m)));
  const metrics = options.metrics ??
    (shared.includes("mAP") ? ["mAP"] : shared.length ? shared : all);
  for (const m of metrics) {
    if (!all.includes(m)) {
      throw new KtError(`no run has a metric "${m}"`, {
        where: "--metrics",
        hint: `metrics: ${all.join(", ")}`,
      });
    }
  }

  // Rows: references first, then methods, each in order of first appearance.
  const rowKey = (r: MethodRow) => r.reference ? `ref:${r.method}` : canonicalJson(r.params);
  const keys: string[] = [];
  const first = new Map<string, MethodRow>();
  for (const reference of [true, false]) {
    for (const t of tables) {
      for (const r of t.rows.filter((r) => r.reference === reference)) {
        const k = rowKey(r);
        if (!first.has(k)) {
          first.set(k, r);
          keys.push(k);
        }
      }
    }
  }
  const column = (m: string, s: CompareSource) => `${m} · ${s.label}`;
  const rows: MethodRow[] = keys.map((k) => {
    const own = tables.map((t) => t.rows.find((r) => rowKey(r) === k));
    const metricsOf: Record<string, MetricStats> = {};
    for (const m of metrics) {
      sources.forEach((s, i) => {
        const cell = own[i]?.metrics[m];
        if (cell) metricsOf[column(m, s)] = { ...cell };
      });
    }
    const base = first.get(k)!;
    return {
      method: base.method,
      reference: base.reference,
      params: base.params,
      seeds: Math.max(...own.map((r) => r?.seeds ?? 0)),
      failed: own.reduce((n, r) => n + (r?.failed ?? 0), 0),
      metrics: metricsOf,
    };
  });
  const diff = sources.length === 2 &&
    (options.diff || sources[0].experiment === sources[1].experiment);
  const delta = (m: string) => `Δ ${m} (${sources[1].label} − ${sources[0].label})`;
  // Per metric: a column per source, then the change (when two runs of one experiment).
  const columns = metrics.flatMap((m) => [
    ...sources.map((s) => column(m, s)),
    ...(diff ? [delta(m)] : []),
  ]);
  const tests: Record<string, ColumnTest> = {};
  const lowerIsBetter: string[] = [];
  for (const m of metrics) {
    sources.forEach((s, i) => {
      if (tables[i].tests[m]) tests[column(m, s)] = tables[i].tests[m];
      if (tables[i].lowerIsBetter.includes(m)) lowerIsBetter.push(column(m, s));
    });
  }
  const axes = [...new Set(tables.flatMap((t) => t.axes))];

  const pColumns = diff ? metrics.map(delta) : [];
  if (diff) {
    for (const m of metrics) {
      for (const row of rows) {
        if (row.reference) continue;
        const change = seedChange(sources[0].trials, sources[1].trials, row, m);
        if (change) row.metrics[delta(m)] = change;
      }
    }
  }
  return { axes, metrics: columns, lowerIsBetter, rows, tests, pColumns };
}

/**
 * The change of `metric` for the method of `row` from trials `a` to trials `b`, seeds matched:
 * mean ± std of b − a, and the paired t-test's p (null below {@linkcode MIN_TEST_SEEDS} pairs).
 */
function seedChange(
  a: readonly TrialResult[],
  b: readonly TrialResult[],
  row: MethodRow,
  metric: string,
): MetricStats | undefined {
  const method = canonicalJson(row.params);
  const bySeed = (trials: readonly TrialResult[]) => {
    const out = new Map<string, number>();
    for (const t of trials) {
      if (!isFinished(t.status)) continue;
      const k = trialKeys(t);
      const v = t.metrics[metric];
      if (k.method === method && k.seed !== undefined && Number.isFinite(v) && !out.has(k.seed)) {
        out.set(k.seed, v);
      }
    }
    return out;
  };
  const before = bySeed(a);
  const after = bySeed(b);
  const pairs = [...before].filter(([seed]) => after.has(seed)).map((
    [seed, v],
  ) => [v, after.get(seed)!]);
  if (pairs.length === 0) return undefined;
  const d = pairs.map(([x, y]) => y - x);
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  const std = d.length < 2
    ? null
    : Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1));
  const p = pairs.length >= MIN_TEST_SEEDS
    ? pairedTTest(pairs.map(([, y]) => y), pairs.map(([x]) => x)).p
    : null;
  return { mean, std, n: pairs.length, best: false, tie: false, p };
}

/**
 * Unique column labels for sources: the experiment's name, `name#run` when two share it, the run
 * directory's name too when that is not enough.
 *
 * @example
 * ```ts
 * import { sourceLabels } from "./compare.ts";
 * sourceLabels([
 *   { experiment: "q", runDir: "runs/q", runId: 1 },
 *   { experiment: "q", runDir: "runs/q", runId: 2 },
 * ]); // ["q#1", "q#2"]
 * ```
 */
export function sourceLabels(
  sources: readonly { experiment: string; runDir: string; runId: number }[],
): string[] {
  const count = <T>(xs: T[], x: T) => xs.filter((y) => y === x).length;
  const names = sources.map((s) => s.experiment);
  const withRun = sources.map((s, i) =>
    count(names, names[i]) > 1 ? `${s.experiment}#${s.runId}` : names[i]
  );
  const withDir = sources.map((s, i) =>
    count(withRun, withRun[i]) > 1
      ? `${s.runDir.replace(/\/+$/, "").split("/").pop()}#${s.runId}`
      : withRun[i]
  );
  return withDir.map((l, i) => count(withDir, l) > 1 ? `${l} (${i + 1})` : l);
}
