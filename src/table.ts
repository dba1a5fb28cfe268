/**
 * The comparison table of a sweep: one row per *method* (a trial's parameters minus its seed),
 * each metric as mean ± sample standard deviation over the seeds, after one row per *reference*
 * (the teacher, the plain student) that the trials measured alongside.
 *
 * Conventions:
 * - Trials count toward a row's `seeds` when their status is `done` or `cached`; `failed` and
 *   `diverged` ones are counted in `failed`; `queued`, `running` and `interrupted` ones are left
 *   out (`kt results` says which are missing).
 * - Seed parameters are the keys `seed` and any key ending in `.seed` (configurable).
 * - std is the sample standard deviation (divisor n − 1). With one value it is undefined: `null`
 *   in the data and JSON, `—` in markdown, an empty cell in CSV.
 * - Columns: `mAP` first, then `P@k` by ascending k, then every other metric alphabetically
 *   (by UTF-16 code units, so the order never depends on the locale).
 * - Higher is better, except for metrics whose name contains a word from
 *   {@linkcode LOWER_IS_BETTER} (`loss`, `train_loss`, `timeMs`, ...). The best mean of each
 *   column is marked when at least two method rows have a value for it; ties are all marked.
 * - Rows keep the order in which their method first appears among the trials.
 * - References come first, labelled `reference: <label>` ({@linkcode REFERENCE_PREFIX}), in the
 *   order they first appear. A reference row aggregates the *distinct* measurements of its label
 *   (distinct `key`s: the evaluate node's cache key), not the trials: a teacher shared by 18
 *   trials counts once (n = 1), a plain student trained per seed gives mean ± std over its seeds.
 *   Its `seeds` is that count, `failed` is 0. Reference rows are never best: only method rows are
 *   compared.
 *
 * Formatting (terminal text, Markdown, CSV, JSON) is `table_format.ts`.
 *
 * ```ts
 * import { comparisonTable } from "./table.ts";
 * const table = comparisonTable([
 *   { params: { method: "pkt" }, seed: 0, status: "done", metrics: { mAP: 0.52 } },
 *   { params: { method: "pkt" }, seed: 1, status: "done", metrics: { mAP: 0.50 } },
 *   { params: { method: "hinton" }, seed: 0, status: "done", metrics: { mAP: 0.49 } },
 * ]);
 * table.axes; // ["method"]
 * ```
 * @module
 */
import { canonicalJson, displayValue, type JsonValue } from "./canonical.ts";
import { KtError } from "./errors.ts";

/** What the table needs from a trial (a results-database `TrialRow` fits). */
export interface TrialResult {
  params: Record<string, JsonValue>;
  seed?: number;
  status: string;
  metrics: Record<string, number>;
  /** References measured in this trial (teacher, plain student): rows of their own. */
  references?: readonly ReferenceResult[];
}

/** The metrics of one reference in one trial. */
export interface ReferenceResult {
  /** Row label (e.g. `teacher`); references with the same label share a row. */
  label: string;
  /** Identity of the measurement (the evaluate node's cache key): trials sharing it count once. */
  key: string;
  metrics: Record<string, number>;
}

/** One metric of one method. */
export interface MetricStats {
  mean: number;
  /** Sample std (n − 1); `null` when n < 2. */
  std: number | null;
  /** How many trials had this metric. */
  n: number;
  /** Best mean of its column (among method rows; never on a reference row). */
  best: boolean;
}

/** One method (parameters minus seed) aggregated over its seeds, or one reference. */
export interface MethodRow {
  /**
   * `k=v, k=v` from the parameters, or `default` when there are none; `reference: <label>` for
   * a reference.
   */
  method: string;
  /** Whether the row is a reference (teacher, plain student) rather than a swept method. */
  reference: boolean;
  /** The method's parameters; `{}` for a reference. */
  params: Record<string, JsonValue>;
  /** Finished trials (`done` or `cached`); for a reference, its distinct measurements. */
  seeds: number;
  failed: number;
  metrics: Record<string, MetricStats>;
}

/** A comparison table ready to format. */
export interface ComparisonTable {
  /**
   * The sweep axes: the parameter names of the method rows (seed parameters excluded), in the
   * order they first appear. Each is one column of every format.
   */
  axes: string[];
  /** Metric columns in display order. */
  metrics: string[];
  /** Those of `metrics` where lower is better. */
  lowerIsBetter: string[];
  rows: MethodRow[];
}

/** Options of {@linkcode comparisonTable}. */
export interface TableOptions {
  /** Is this parameter a seed? Default: `seed` or a path ending in `.seed`. */
  isSeedParam?: (key: string) => boolean;
  /** Words that make a metric lower-is-better. Default {@linkcode LOWER_IS_BETTER}. */
  lowerIsBetter?: readonly string[];
}

/** Words marking a metric as lower-is-better when they appear in its name. */
export const LOWER_IS_BETTER: readonly string[] = ["loss", "time", "seconds", "ms", "error", "err"];

/** How the method column of a reference row begins: `reference: teacher`. */
export const REFERENCE_PREFIX = "reference: ";

const FINISHED = new Set(["done", "cached"]);

/**
 * Groups trials by method and aggregates every metric over seeds.
 *
 * @example
 * ```ts
 * import { comparisonTable } from "./table.ts";
 * const t = comparisonTable([
 *   { params: { m: "a" }, seed: 0, status: "done", metrics: { mAP: 1 } },
 *   { params: { m: "a" }, seed: 1, status: "done", metrics: { mAP: 3 } },
 * ]);
 * t.rows[0].metrics.mAP; // { mean: 2, std: 1.414..., n: 2, best: false }
 * ```
 */
export function comparisonTable(
  trials: readonly TrialResult[],
  options: TableOptions = {},
): ComparisonTable {
  const isSeed = options.isSeedParam ?? ((k: string) => k === "seed" || k.endsWith(".seed"));
  const lowerWords = options.lowerIsBetter ?? LOWER_IS_BETTER;
  const groups = new Map<string, { params: Record<string, JsonValue>; trials: TrialResult[] }>();
  // Reference label → measurement key → its metrics (the first trial reporting a key wins).
  const references = new Map<string, Map<string, Record<string, number>>>();
  const names = new Set<string>();
  const axes = new Set<string>();
  for (const trial of trials) {
    const params = Object.fromEntries(Object.entries(trial.params).filter(([k]) => !isSeed(k)));
    for (const k of Object.keys(params)) axes.add(k);
    const id = canonicalJson(params);
    const group = groups.get(id) ?? { params, trials: [] };
    group.trials.push(trial);
    groups.set(id, group);
    if (!FINISHED.has(trial.status)) continue;
    for (const m of Object.keys(trial.metrics)) names.add(m);
    for (const ref of trial.references ?? []) {
      const measured = references.get(ref.label) ?? new Map<string, Record<string, number>>();
      measured.set(ref.key, { ...ref.metrics, ...measured.get(ref.key) });
      references.set(ref.label, measured);
      for (const m of Object.keys(ref.metrics)) names.add(m);
    }
  }
  const metrics = [...names].sort(compareMetricNames);
  const aggregate = (values: Record<string, number>[]) => {
    const stats: Record<string, MetricStats> = {};
    for (const m of metrics) {
      const column = values.map((v) => v[m]).filter((v) => v !== undefined);
      if (column.length > 0) stats[m] = { ...meanStd(column), n: column.length, best: false };
    }
    return stats;
  };
  const referenceRows: MethodRow[] = [...references].map(([label, measured]) => ({
    method: `${REFERENCE_PREFIX}${label}`,
    reference: true,
    params: {},
    seeds: measured.size,
    failed: 0,
    metrics: aggregate([...measured.values()]),
  }));
  const methodRows: MethodRow[] = [...groups.values()].map(({ params, trials }) => {
    const finished = trials.filter((t) => FINISHED.has(t.status));
    return {
      method: methodLabel(params),
      reference: false,
      params,
      seeds: finished.length,
      failed: trials.filter((t) => t.status === "failed" || t.status === "diverged").length,
      metrics: aggregate(finished.map((t) => t.metrics)),
    };
  });
  const rows = [...referenceRows, ...methodRows];
  const lowerIsBetter = metrics.filter((m) => isLowerBetter(m, lowerWords));
  for (const m of metrics) {
    const cells = methodRows.map((r) => r.metrics[m]).filter((c) => c && !Number.isNaN(c.mean));
    if (cells.length < 2) continue;
    const means = cells.map((c) => c.mean);
    const best = lowerIsBetter.includes(m) ? Math.min(...means) : Math.max(...means);
    for (const c of cells) c.best = c.mean === best;
  }
  return { axes: [...axes], metrics, lowerIsBetter, rows };
}

/**
 * Mean and sample standard deviation (divisor n − 1; `null` for a single value).
 *
 * @example
 * ```ts
 * import { meanStd } from "./table.ts";
 * meanStd([1, 2, 3]); // { mean: 2, std: 1 }
 * ```
 */
export function meanStd(values: readonly number[]): { mean: number; std: number | null } {
  if (values.length === 0) {
    throw new KtError("meanStd() needs at least one value", { hint: "skip empty groups" });
  }
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  if (values.length < 2) return { mean, std: null };
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (values.length - 1)) };
}

/**
 * Column order: grouped by node prefix (`eval.mAP` → prefix `eval`; unprefixed first), and
 * within a group `mAP`, then `P@k` by ascending k, then the rest by code units.
 */
export function compareMetricNames(a: string, b: string): number {
  const split = (name: string): [string, string] => {
    const dot = name.lastIndexOf(".");
    return dot < 0 ? ["", name] : [name.slice(0, dot), name.slice(dot + 1)];
  };
  const rank = (name: string): [number, number] => {
    if (name === "mAP") return [0, 0];
    const k = /^P@(\d+)$/.exec(name);
    return k ? [1, Number(k[1])] : [2, 0];
  };
  const [pa, na] = split(a);
  const [pb, nb] = split(b);
  if (pa !== pb) return pa < pb ? -1 : 1;
  const [ra, ka] = rank(na);
  const [rb, kb] = rank(nb);
  if (ra !== rb) return ra - rb;
  if (ka !== kb) return ka - kb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether lower values of a metric are better: its name, split into words at `_`, `-`, `.`,
 * `/`, spaces and camelCase boundaries, contains one of `words`.
 *
 * @example
 * ```ts
 * import { isLowerBetter } from "./table.ts";
 * isLowerBetter("train_loss"); // true
 * isLowerBetter("mAP"); // false
 * ```
 */
export function isLowerBetter(name: string, words: readonly string[] = LOWER_IS_BETTER): boolean {
  const parts = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/);
  return parts.some((p) => words.includes(p));
}

function methodLabel(params: Record<string, JsonValue>): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${displayValue(v)}`);
  return parts.length > 0 ? parts.join(", ") : "default";
}
