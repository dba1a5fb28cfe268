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
 *   {@linkcode LOWER_IS_BETTER} (`loss`, `train_loss`, `timeMs`, ...).
 * - Significance ({@linkcode ColumnTest}): in each column with at least two method rows, the
 *   method with the best mean (the *top*) is compared with every other method by a two-sided
 *   paired t-test over seeds, its values matched to the other's by seed (the seed parameters'
 *   values). The top is marked `best` only when every comparison gives p < 0.05 (so it beats the
 *   runner-up, and no method is within its seed noise); otherwise the top and every method with
 *   p ≥ 0.05 are marked `tie` (tied for best). A comparison needs at least 3 seeds common to
 *   both methods; when one has fewer, the column's verdict is `n/a` and nothing is marked. No
 *   correction for multiple comparisons is applied: requiring *every* comparison to pass is
 *   already stricter than testing the runner-up alone.
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
import { pairedTTest } from "./stats.ts";

/** What the table needs from a trial (a results-database `TrialRow` fits). */
export interface TrialResult {
  /** The sweep parameters of the trial. */
  params: Record<string, JsonValue>;
  /** The trial's seed. */
  seed?: number;
  /** Its status (`done` and `cached` count). */
  status: string;
  /** The method's metrics, by name. */
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
  /** The reference's metrics, by name. */
  metrics: Record<string, number>;
}

/** One metric of one method. */
export interface MetricStats {
  /** Mean over the trials. */
  mean: number;
  /** Sample std (n − 1); `null` when n < 2. */
  std: number | null;
  /** How many trials had this metric. */
  n: number;
  /**
   * Best of its column: the top mean, significantly better than every other method row (see
   * {@linkcode ColumnTest}). Never on a reference row.
   */
  best: boolean;
  /** Tied for best: the top mean or not significantly different from it, without a `best`. */
  tie: boolean;
  /**
   * Two-sided p-value of the paired t-test against the column's top; `null` for the top itself,
   * a reference, or where no test was possible (fewer than 3 common seeds).
   */
  p: number | null;
}

/** The test of one comparison: the column's top against one other method. */
export interface Comparison {
  /** The other method's label. */
  method: string;
  /** Seeds common to both (the pairs). */
  n: number;
  /** Mean of top − other over the pairs. */
  meanDiff: number;
  /** The t statistic; `null` when n < 3 (no test). */
  t: number | null;
  /** Degrees of freedom (n − 1); `null` when no test. */
  df: number | null;
  /** Two-sided p-value; `null` when no test. */
  p: number | null;
}

/** The significance test of one metric column (see the module doc). */
export interface ColumnTest {
  /** What was tested. */
  test: string;
  /** The level a comparison must beat. */
  alpha: number;
  /** The method with the best mean. */
  top: string;
  /**
   * `best`: the top beats every other method (p < alpha); `tie`: some method is not
   * significantly different from the top; `n/a`: some comparison had fewer than 3 common seeds.
   */
  verdict: "best" | "tie" | "n/a";
  /** The top against each other method row with a value, in row order. */
  comparisons: Comparison[];
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
  /** Failed or diverged trials. */
  failed: number;
  /** Each metric's statistics, by name. */
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
  /** One row per method (and reference), in display order. */
  rows: MethodRow[];
  /** The significance test of each metric column with at least two method rows. */
  tests: Record<string, ColumnTest>;
  /**
   * Columns of changes (`kt compare`'s `Δ mAP`) whose cells show their own `p` (a paired test
   * of the change) beside the signed mean.
   */
  pColumns?: string[];
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

/** The p-value a comparison must be below for the top to count as better. */
export const SIGNIFICANCE_ALPHA = 0.05;

/** Common seeds a paired test needs; with fewer, a column's verdict is `n/a`. */
export const MIN_TEST_SEEDS = 3;

/** What {@linkcode ColumnTest.test} says. */
export const TEST_NAME = "paired t-test over seeds (two-sided, matched by seed)";

/** How the method column of a reference row begins: `reference: teacher`. */
export const REFERENCE_PREFIX = "reference: ";

/**
 * Whether a trial with this status has results to show: it ran to the end (`done`) or came whole
 * from the cache (`cached`). Tables, comparisons and the report count only these.
 */
export function isFinished(status: string): boolean {
  return status === "done" || status === "cached";
}

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
 * t.rows[0].metrics.mAP; // { mean: 2, std: 1.414..., n: 2, best: false, tie: false, p: null }
 * ```
 */
export function comparisonTable(
  trials: readonly TrialResult[],
  options: TableOptions = {},
): ComparisonTable {
  const isSeed = options.isSeedParam ?? isSeedParam;
  const lowerWords = options.lowerIsBetter ?? LOWER_IS_BETTER;
  const groups = new Map<string, { params: Record<string, JsonValue>; trials: TrialResult[] }>();
  // Which seed a trial ran with: its seed parameters' values (or its `seed`), for pairing.
  const seedOf = new Map<TrialResult, string>();
  // Reference label → measurement key → its metrics (the first trial reporting a key wins).
  const references = new Map<string, Map<string, Record<string, number>>>();
  const names = new Set<string>();
  const axes = new Set<string>();
  for (const trial of trials) {
    const { params, method: id, seed } = trialKeys(trial, isSeed);
    if (seed !== undefined) seedOf.set(trial, seed);
    for (const k of Object.keys(params)) axes.add(k);
    const group = groups.get(id) ?? { params, trials: [] };
    group.trials.push(trial);
    groups.set(id, group);
    if (!isFinished(trial.status)) continue;
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
      if (column.length > 0) {
        stats[m] = { ...meanStd(column), n: column.length, best: false, tie: false, p: null };
      }
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
  // Per method row: seed → that trial's metrics (the first finished trial of a seed wins).
  const bySeed: Map<string, Record<string, number>>[] = [];
  const methodRows: MethodRow[] = [...groups.values()].map(({ params, trials }) => {
    const finished = trials.filter((t) => isFinished(t.status));
    const seeds = new Map<string, Record<string, number>>();
    for (const t of finished) {
      const seed = seedOf.get(t);
      if (seed !== undefined && !seeds.has(seed)) seeds.set(seed, t.metrics);
    }
    bySeed.push(seeds);
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
  const tests: Record<string, ColumnTest> = {};
  for (const m of metrics) {
    const test = columnTest(methodRows, bySeed, m, lowerIsBetter.includes(m));
    if (test) tests[m] = test;
  }
  return { axes: [...axes], metrics, lowerIsBetter, rows, tests };
}

/** The default seed parameters: `seed` and any path ending in `.seed`. */
export function isSeedParam(key: string): boolean {
  return key === "seed" || key.endsWith(".seed");
}

/**
 * How a trial is grouped and paired: its parameters without the seed ones, the method's identity
 * (their canonical JSON) and its seed's (the seed parameters' values, else `trial.seed`).
 *
 * @example
 * ```ts
 * import { trialKeys } from "./table.ts";
 * trialKeys({ params: { method: "pkt", seed: 1 } });
 * // { params: { method: "pkt" }, method: '{"method":"pkt"}', seed: '{"seed":1}' }
 * ```
 */
export function trialKeys(
  trial: Pick<TrialResult, "params" | "seed">,
  isSeed: (key: string) => boolean = isSeedParam,
): { params: Record<string, JsonValue>; method: string; seed?: string } {
  const params = Object.fromEntries(Object.entries(trial.params).filter(([k]) => !isSeed(k)));
  const seeds = Object.entries(trial.params).filter(([k]) => isSeed(k));
  const seed = seeds.length > 0
    ? canonicalJson(Object.fromEntries(seeds))
    : trial.seed === undefined
    ? undefined
    : String(trial.seed);
  return { params, method: canonicalJson(params), seed };
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

/**
 * Tests one metric column and marks its cells (`best`, `tie`, `p`): the top mean against every
 * other method row with a finite mean, paired by seed. `undefined` with fewer than two rows.
 */
function columnTest(
  rows: readonly MethodRow[],
  bySeed: readonly Map<string, Record<string, number>>[],
  metric: string,
  lowerIsBetter: boolean,
): ColumnTest | undefined {
  const candidates = rows.map((row, i) => ({ row, seeds: bySeed[i], cell: row.metrics[metric] }))
    .filter((c) => c.cell && Number.isFinite(c.cell.mean));
  if (candidates.length < 2) return undefined;
  const sign = lowerIsBetter ? -1 : 1;
  const top = candidates.reduce((a, b) => (sign * b.cell.mean > sign * a.cell.mean ? b : a));
  const comparisons = candidates.filter((c) => c !== top).map((other): Comparison => {
    const a: number[] = [];
    const b: number[] = [];
    for (const [seed, values] of top.seeds) {
      const x = values[metric];
      const y = other.seeds.get(seed)?.[metric];
      if (Number.isFinite(x) && y !== undefined && Number.isFinite(y)) {
        a.push(x);
        b.push(y);
      }
    }
    const meanDiff = a.length > 0 ? a.reduce((s, v, i) => s + v - b[i], 0) / a.length : NaN;
    if (a.length < MIN_TEST_SEEDS) {
      return { method: other.row.method, n: a.length, meanDiff, t: null, df: null, p: null };
    }
    const r = pairedTTest(a, b);
    other.cell.p = r.p;
    return { method: other.row.method, n: r.n, meanDiff: r.meanDiff, t: r.t, df: r.df, p: r.p };
  });
  let verdict: ColumnTest["verdict"];
  if (comparisons.some((c) => c.p === null)) verdict = "n/a";
  else if (comparisons.every((c) => c.p! < SIGNIFICANCE_ALPHA)) verdict = "best";
  else verdict = "tie";
  if (verdict === "best") top.cell.best = true;
  if (verdict === "tie") {
    top.cell.tie = true;
    for (const c of candidates) {
      if (c.cell.p !== null && c.cell.p >= SIGNIFICANCE_ALPHA) c.cell.tie = true;
    }
  }
  return {
    test: TEST_NAME,
    alpha: SIGNIFICANCE_ALPHA,
    top: top.row.method,
    verdict,
    comparisons,
  };
}
