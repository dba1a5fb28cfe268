/**
 * Retrieval evaluation (the paper's protocol): every query ranks the whole database by similarity;
 * the database items with the query's label are relevant. Reports mean average precision (exact or
 * 11-point interpolated) and precision at k.
 *
 * Fast and exact: similarities are computed for blocks of queries against the whole database (a
 * tfjs `matMul` on accelerated backends, plain JS loops on the tfjs `cpu` backend, where they are
 * faster), and each query's ranking is found without a comparison sort of the database. Scores are
 * spread into value buckets (a counting pass); only buckets holding relevant items are ordered,
 * which yields every relevant item's exact rank, the same as a full sort with the tie rule below.
 *
 * Conventions:
 * - **Ties**: items with equal (float32) scores rank by database index, lower index first.
 * - **Cosine** of a zero vector is 0 (no NaN). **Euclidean** ranks by smallest squared distance,
 *   scored as `2 q·d − ‖d‖²` (the query's own norm does not change its ranking).
 * - **No relevant item**: a query whose label never occurs in the database has AP 0 in
 *   `perQueryAP` and is left out of every mean (mAP and P@k), as trec_eval leaves out queries
 *   without relevant documents. When no query has a relevant item, mAP and P@k are 0.
 * - **P@k** = relevant items among the top k, divided by k (also when the database has fewer than
 *   k items).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError } from "../errors.ts";

/** Feature rows as a typed array: row `i` is `values[i*dim .. (i+1)*dim)` (row-major). */
export interface FeatureRows {
  values: Float32Array;
  dim: number;
}

/** A feature matrix, one row per sample: a 2-D tensor or {@linkcode FeatureRows}. */
export type Features = tf.Tensor2D | FeatureRows;

/** How two feature vectors are compared. */
export type Similarity = "cosine" | "euclidean";

/** How similarities are computed: `auto` picks tfjs `matMul` unless the backend is `cpu`. */
export type ScoreEngine = "auto" | "tfjs" | "js";

/** Options of {@linkcode retrievalMetrics}. */
export interface RetrievalOptions {
  /** `cosine` (the paper's default) or `euclidean`. */
  similarity?: Similarity;
  /** Cut-offs for precision at k; default `[10, 20, 50, 100, 200]`. */
  k?: number[];
  /** `exact` AP (default) or the official evaluator's `11-point` interpolated AP. */
  interpolation?: "exact" | "11-point";
  /** Also return each query's AP. */
  perQuery?: boolean;
  /** How similarities are computed (default `auto`). */
  engine?: ScoreEngine;
  /** Queries scored per block (default 256): memory is `blockSize × database` floats. */
  blockSize?: number;
}

/** What {@linkcode retrievalMetrics} returns; values are fractions in [0, 1]. */
export interface RetrievalResult {
  /** Mean over queries (with at least one relevant item) of their AP. */
  mAP: number;
  /** Mean precision at each requested k, keyed by k. */
  precisionAt: Record<number, number>;
  /** AP of every query, in query order (when `perQuery` is set). */
  perQueryAP?: Float32Array;
}

/** Feature rows with their row count, checked. */
export interface FeatureMatrix {
  values: Float32Array;
  rows: number;
  dim: number;
}

/** Default cut-offs for P@k (the paper's). */
export const DEFAULT_PRECISION_K: readonly number[] = [10, 20, 50, 100, 200];

/**
 * Reads and checks a feature matrix: a 2-D tensor or row-major rows; every value must be finite.
 * `what` names it in errors (e.g. `queries`).
 */
export async function readFeatures(x: Features, what: string): Promise<FeatureMatrix> {
  let values: Float32Array;
  let dim: number;
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) {
      throw new KtError(`${what}: expected a 2-D tensor (samples × features), got shape [${x.shape}]`);
    }
    dim = x.shape[1];
    const data = await x.data();
    values = data instanceof Float32Array ? data : Float32Array.from(data);
  } else {
    values = x.values;
    dim = x.dim;
  }
  if (!Number.isInteger(dim) || dim < 1) {
    throw new KtError(`${what}: feature dimension must be a positive integer, got ${dim}`);
  }
  if (values.length % dim !== 0) {
    throw new KtError(`${what}: ${values.length} values are not a whole number of rows of ${dim}`, {
      hint: "give row-major features: values.length = rows × dim",
    });
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new KtError(`${what}: feature ${i % dim} of row ${Math.floor(i / dim)} is ${values[i]}`, {
        hint: "the model produced non-finite features; check training for divergence",
      });
    }
  }
  return { values, rows: values.length / dim, dim };
}

/** Throws unless `labels` has one entry per row. */
export function checkLabels(labels: Int32Array, rows: number, what: string): void {
  if (labels.length !== rows) {
    throw new KtError(`${what}: ${labels.length} labels for ${rows} feature rows`, {
      hint: "features and labels must describe the same samples, in the same order",
    });
  }
}

/** Rows scaled to unit length; zero rows stay zero (so their cosine with anything is 0). */
function unitRows(m: FeatureMatrix): FeatureMatrix {
  const { values, rows, dim } = m;
  const out = new Float32Array(values.length);
  for (let i = 0; i < rows; i++) {
    let sq = 0;
    for (let k = i * dim; k < (i + 1) * dim; k++) sq += values[k] * values[k];
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let k = i * dim; k < (i + 1) * dim; k++) out[k] = values[k] * inv;
  }
  return { values: out, rows, dim };
}

/** Rows with one column appended: `[scale·x, last(i)]`. */
function appendColumn(
  m: FeatureMatrix,
  scale: number,
  last: (row: Float32Array) => number,
): FeatureMatrix {
  const { values, rows, dim } = m;
  const out = new Float32Array(rows * (dim + 1));
  for (let i = 0; i < rows; i++) {
    const row = values.subarray(i * dim, (i + 1) * dim);
    for (let k = 0; k < dim; k++) out[i * (dim + 1) + k] = scale * row[k];
    out[i * (dim + 1) + dim] = last(row);
  }
  return { values: out, rows, dim: dim + 1 };
}

function squaredNorm(row: Float32Array): number {
  let s = 0;
  for (let k = 0; k < row.length; k++) s += row[k] * row[k];
  return s;
}

/** Dot products of `count` query rows from `q0` with every database row, into `out` (count × n). */
function dotBlockJs(
  q: FeatureMatrix,
  d: FeatureMatrix,
  q0: number,
  count: number,
  out: Float32Array,
): void {
  const { dim } = q;
  const n = d.rows;
  const qv = q.values;
  const dv = d.values;
  let i = 0;
  // Four queries share each database row load.
  for (; i + 4 <= count; i += 4) {
    const o0 = (q0 + i) * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
    const r0 = i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    for (let j = 0; j < n; j++) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      const dj = j * dim;
      for (let k = 0; k < dim; k++) {
        const x = dv[dj + k];
        a0 += qv[o0 + k] * x;
        a1 += qv[o1 + k] * x;
        a2 += qv[o2 + k] * x;
        a3 += qv[o3 + k] * x;
      }
      out[r0 + j] = a0;
      out[r1 + j] = a1;
      out[r2 + j] = a2;
      out[r3 + j] = a3;
    }
  }
  for (; i < count; i++) {
    const o = (q0 + i) * dim;
    for (let j = 0; j < n; j++) {
      let a = 0;
      const dj = j * dim;
      for (let k = 0; k < dim; k++) a += qv[o + k] * dv[dj + k];
      out[i * n + j] = a;
    }
  }
}

function resolveEngine(engine: ScoreEngine): "tfjs" | "js" {
  if (engine !== "auto") return engine;
  try {
    return tf.getBackend() === "cpu" ? "js" : "tfjs";
  } catch {
    return "js"; // no tfjs backend registered at all
  }
}

/**
 * Scores every query against every database item, a block of queries at a time, and hands each
 * block to `visit(firstQuery, count, scores)` where `scores` is `count × database` row-major
 * (higher = more similar; only valid during the call). Never holds more than one block.
 *
 * @example
 * ```ts
 * import { scoreBlocks } from "./retrieval.ts";
 * const q = { values: new Float32Array([1, 0]), rows: 1, dim: 2 };
 * const d = { values: new Float32Array([1, 0, 0, 1]), rows: 2, dim: 2 };
 * await scoreBlocks(q, d, "cosine", (_q0, _n, s) => console.log(s), { engine: "js" }); // [1, 0]
 * ```
 */
export async function scoreBlocks(
  queries: FeatureMatrix,
  database: FeatureMatrix,
  similarity: Similarity,
  visit: (firstQuery: number, count: number, scores: Float32Array) => void,
  options: { engine?: ScoreEngine; blockSize?: number } = {},
): Promise<void> {
  if (queries.dim !== database.dim) {
    throw new KtError(
      `queries have ${queries.dim} features but the database has ${database.dim}`,
      { hint: "compare features from the same layer of the same kind of model" },
    );
  }
  if (similarity !== "cosine" && similarity !== "euclidean") {
    throw new KtError(`unknown similarity "${String(similarity)}"`, {
      hint: "choose cosine or euclidean",
    });
  }
  const blockSize = options.blockSize ?? 256;
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new KtError(`blockSize must be a positive integer, got ${blockSize}`);
  }
  // Euclidean: [2q, -1]·[d, ‖d‖²] = 2 q·d − ‖d‖², which orders like −‖q − d‖².
  const q = similarity === "cosine" ? unitRows(queries) : appendColumn(queries, 2, () => -1);
  const d = similarity === "cosine" ? unitRows(database) : appendColumn(database, 1, squaredNorm);
  const n = d.rows;
  if (n === 0 || q.rows === 0) return;
  if (resolveEngine(options.engine ?? "auto") === "js") {
    const out = new Float32Array(Math.min(blockSize, q.rows) * n);
    for (let q0 = 0; q0 < q.rows; q0 += blockSize) {
      const count = Math.min(blockSize, q.rows - q0);
      dotBlockJs(q, d, q0, count, out);
      visit(q0, count, out.subarray(0, count * n));
    }
    return;
  }
  // Transpose once: matMul with transpose flags is many times slower on wasm (DESIGN.md §3).
  const dT = tf.tidy(() => tf.transpose(tf.tensor2d(d.values, [n, d.dim])));
  try {
    for (let q0 = 0; q0 < q.rows; q0 += blockSize) {
      const count = Math.min(blockSize, q.rows - q0);
      const s = tf.tidy(() =>
        tf.matMul(tf.tensor2d(q.values.subarray(q0 * q.dim, (q0 + count) * q.dim), [count, q.dim]), dT)
      );
      const scores = await s.data<"float32">();
      s.dispose();
      visit(q0, count, scores);
    }
  } finally {
    dT.dispose();
  }
}

/**
 * Finds the exact 1-based ranks of one query's relevant items without sorting the database;
 * reuses its buffers across queries. Items are ordered by score (descending), then index.
 *
 * 1. The R relevant items are sorted: a counting sort into about 4R value buckets spanning their
 *    scores, then (small) buckets ordered by score and index. The map from score to bucket is
 *    monotone, so any item in an earlier bucket has a strictly higher score.
 * 2. One pass over the database finds, for every item j, p(j) = the number of relevant items
 *    ordered before it: the relevant items in earlier buckets, plus (only where j's bucket holds
 *    relevant items) those of its own bucket that beat it. It counts the items per p.
 * 3. The i-th relevant item (0-based) has rank = #items with p ≤ i: the i+1 relevant items up to
 *    and including itself, plus every other item ordered before it.
 */
class RelevantRanker {
  readonly #n: number;
  #score = new Float32Array(0);
  #index = new Int32Array(0);
  #bucket = new Int32Array(0);
  #guide = new Int32Array(0);
  #perP = new Int32Array(0);
  /** After {@linkcode rank}: ranks of the relevant items, increasing. */
  ranks = new Int32Array(0);

  constructor(n: number) {
    this.#n = n;
  }

  #reserve(r: number): void {
    if (this.#bucket.length >= r) return;
    this.#score = new Float32Array(r + SCAN);
    this.#index = new Int32Array(r + SCAN);
    this.#bucket = new Int32Array(r);
    this.#guide = new Int32Array(BUCKETS_PER_RELEVANT * r + 2);
    this.#perP = new Int32Array(r + 1);
    this.ranks = new Int32Array(r);
  }

  /**
   * Fills `ranks[0..relevant.length)`: `s` holds the query's n scores and `relevant` the
   * ascending indices of the database items with the query's label.
   */
  rank(s: Float32Array, relevant: Int32Array): void {
    const n = this.#n, r = relevant.length;
    this.#reserve(r);
    const score = this.#score, index = this.#index, bucket = this.#bucket;
    const guide = this.#guide, perP = this.#perP, ranks = this.ranks;
    let lo = Infinity, hi = -Infinity;
    for (let t = 0; t < r; t++) {
      const v = s[relevant[t]];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    const nb = BUCKETS_PER_RELEVANT * r;
    const scale = hi > lo ? nb / (hi - lo) : 0;
    // Counting sort of the relevant items by bucket; guide[b] = relevant items before bucket b.
    guide.fill(0, 0, nb + 2);
    for (let t = 0; t < r; t++) {
      const x = (hi - s[relevant[t]]) * scale;
      const b = x < nb ? (x > 0 ? x | 0 : 0) : nb - 1;
      bucket[t] = b;
      guide[b + 2]++;
    }
    for (let b = 2; b <= nb + 1; b++) guide[b] += guide[b - 1];
    for (let t = 0; t < r; t++) { // guide[b + 1] serves as bucket b's cursor
      const at = guide[bucket[t] + 1]++;
      index[at] = relevant[t];
      score[at] = s[relevant[t]];
    }
    // guide[b] is now bucket b's start; order each bucket (items arrived in index order).
    for (let b = 0; b < nb; b++) {
      if (guide[b + 1] - guide[b] > 1) sortRelevantRange(score, index, guide[b], guide[b + 1]);
    }
    score.fill(-Infinity, r, r + SCAN); // sentinels: never ordered before anything
    perP.fill(0, 0, r + 1);
    // p starts at the relevant items of earlier buckets; then each of the next SCAN relevant
    // items adds one if it beats j. Sorted, they beat j in a prefix, and items of later buckets
    // (or the −∞ sentinels past the end) never do, so this is exact whenever j's bucket holds at
    // most SCAN relevant items; longer buckets take a search. Branch-free on the common path.
    for (let j = 0; j < n; j++) {
      const v = s[j];
      const x = (hi - v) * scale;
      const b = x < nb ? (x > 0 ? x | 0 : 0) : nb - 1;
      let p = guide[b];
      if (guide[b + 1] - p > SCAN) {
        p = firstAfter(score, index, p, guide[b + 1], v, j);
      } else {
        p += beats(score[p], index[p], v, j) + beats(score[p + 1], index[p + 1], v, j);
      }
      perP[p]++;
    }
    let atOrAbove = 0;
    for (let i = 0; i < r; i++) {
      atOrAbove += perP[i];
      ranks[i] = atOrAbove;
    }
  }
}

/** Value buckets per relevant item in {@linkcode RelevantRanker}. */
const BUCKETS_PER_RELEVANT = 2;
/** Relevant items of one bucket compared without a branch (the code unrolls exactly this many). */
const SCAN = 2;

/** 1 when the relevant item (score w, index ix) is ordered before item (v, j), else 0. */
function beats(w: number, ix: number, v: number, j: number): number {
  return +(w > v) | (+(w === v) & +(ix < j));
}

/** First position in `[p, end)` of sorted relevant items whose (score, index) comes after (v, j). */
function firstAfter(
  score: Float32Array,
  index: Int32Array,
  p: number,
  end: number,
  v: number,
  j: number,
): number {
  while (end - p > 8) { // binary search while the range is long (many tied or close scores)
    const mid = (p + end) >> 1;
    if (score[mid] > v || (score[mid] === v && index[mid] < j)) p = mid + 1;
    else end = mid;
  }
  while (p < end && (score[p] > v || (score[p] === v && index[p] < j))) p++;
  return p;
}

/**
 * Sorts relevant items `[start, stop)` (indices ascending) by score desc, index asc: a stable
 * insertion sort for short ranges, a comparison sort otherwise.
 */
function sortRelevantRange(
  score: Float32Array,
  index: Int32Array,
  start: number,
  stop: number,
): void {
  if (stop - start > 32) {
    const order = Array.from({ length: stop - start }, (_, t) => start + t);
    order.sort((a, b) => score[b] - score[a] || index[a] - index[b]);
    const s = order.map((t) => score[t]), ix = order.map((t) => index[t]);
    score.set(s, start);
    index.set(ix, start);
    return;
  }
  for (let t = start + 1; t < stop; t++) {
    const v = score[t], j = index[t];
    let u = t - 1;
    while (u >= start && score[u] < v) { // only strictly lower scores move: stable
      score[u + 1] = score[u];
      index[u + 1] = index[u];
      u--;
    }
    score[u + 1] = v;
    index[u + 1] = j;
  }
}

/** Exact AP from the increasing 1-based ranks of all `relevant` items. */
function exactAP(ranks: Int32Array, relevant: number): number {
  let sum = 0;
  for (let i = 0; i < relevant; i++) sum += (i + 1) / ranks[i];
  return sum / relevant;
}

/** 11-point interpolated AP: mean over recall r ∈ {0, .1, …, 1} of max precision at recall ≥ r. */
function elevenPointAP(ranks: Int32Array, relevant: number, best: Float64Array): number {
  // best[i] = max precision over relevant hits i..relevant-1 (0-based).
  let m = 0;
  for (let i = relevant - 1; i >= 0; i--) {
    m = Math.max(m, (i + 1) / ranks[i]);
    best[i] = m;
  }
  let sum = 0;
  for (let level = 0; level <= 10; level++) {
    // Fewest hits i with recall i/relevant ≥ level/10, in integers.
    const hits = Math.max(1, Math.ceil((level * relevant) / 10));
    sum += best[hits - 1];
  }
  return sum / 11;
}

/** Database indices of each label, ascending. */
function indicesByLabel(labels: Int32Array): Map<number, Int32Array> {
  const lists = new Map<number, number[]>();
  labels.forEach((label, j) => {
    const list = lists.get(label);
    if (list) list.push(j);
    else lists.set(label, [j]);
  });
  return new Map([...lists].map(([label, list]) => [label, Int32Array.from(list)]));
}

function checkK(ks: number[]): number[] {
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1) {
      throw new KtError(`precision cut-off k must be a positive integer, got ${k}`, {
        hint: "e.g. k: [10, 20, 50, 100, 200]",
      });
    }
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

/**
 * Mean average precision and precision at k of ranking `database` for each of `queries`.
 * See the module notes for ties, zero vectors and queries without relevant items.
 *
 * @example
 * ```ts
 * import { retrievalMetrics } from "./retrieval.ts";
 * const q = { values: new Float32Array([1, 0]), dim: 2 };
 * const db = { values: new Float32Array([0.9, 0.1, 0, 1, 1, 0.2]), dim: 2 };
 * const r = await retrievalMetrics(q, new Int32Array([0]), db, new Int32Array([0, 1, 0]), {
 *   k: [1, 2],
 * });
 * console.log(r.mAP, r.precisionAt[2]); // 1, 1
 * ```
 */
export async function retrievalMetrics(
  queries: Features,
  queryLabels: Int32Array,
  database: Features,
  databaseLabels: Int32Array,
  options: RetrievalOptions = {},
): Promise<RetrievalResult> {
  const q = await readFeatures(queries, "queries");
  const d = await readFeatures(database, "database");
  checkLabels(queryLabels, q.rows, "queries");
  checkLabels(databaseLabels, d.rows, "database");
  const ks = checkK(options.k ?? [...DEFAULT_PRECISION_K]);
  const interpolation = options.interpolation ?? "exact";
  if (interpolation !== "exact" && interpolation !== "11-point") {
    throw new KtError(`unknown interpolation "${String(interpolation)}"`, {
      hint: "choose exact or 11-point",
    });
  }
  const relevantOf = indicesByLabel(databaseLabels);

  const perQuery = new Float32Array(q.rows);
  const hitSums = new Float64Array(ks.length);
  let apSum = 0;
  let evaluated = 0;
  const ranker = new RelevantRanker(d.rows);
  const best = new Float64Array(d.rows);
  const n = d.rows;
  await scoreBlocks(q, d, options.similarity ?? "cosine", (q0, count, scores) => {
    for (let i = 0; i < count; i++) {
      const label = queryLabels[q0 + i];
      const members = relevantOf.get(label);
      if (!members) continue;
      const relevant = members.length;
      ranker.rank(scores.subarray(i * n, (i + 1) * n), members);
      const ranks = ranker.ranks;
      const ap = interpolation === "exact"
        ? exactAP(ranks, relevant)
        : elevenPointAP(ranks, relevant, best);
      perQuery[q0 + i] = ap;
      apSum += ap;
      evaluated++;
      let hits = 0;
      for (let t = 0; t < ks.length; t++) {
        while (hits < relevant && ranks[hits] <= ks[t]) hits++;
        hitSums[t] += hits / ks[t];
      }
    }
  }, options);
  const precisionAt: Record<number, number> = {};
  ks.forEach((k, t) => precisionAt[k] = evaluated ? hitSums[t] / evaluated : 0);
  const result: RetrievalResult = { mAP: evaluated ? apSum / evaluated : 0, precisionAt };
  if (options.perQuery) result.perQueryAP = perQuery;
  return result;
}
