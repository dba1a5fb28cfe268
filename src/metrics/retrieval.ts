/**
 * Retrieval evaluation (the paper's protocol): every query ranks the whole database by similarity;
 * the database items with the query's label are relevant. Reports mean average precision (exact or
 * 11-point interpolated) and precision at k.
 *
 * Fast and exact: similarities are computed for blocks of queries against the whole database (a
 * tfjs `matMul` on accelerated backends, plain JS loops on the tfjs `cpu` backend, where they are
 * faster), and each query's ranking is found without a comparison sort of the database: only its
 * relevant items are sorted, and one pass over the database counts, for each relevant item, the
 * items ordered before it (see `_ranking.ts`) — the same ranks as a full sort with the tie rule
 * below. On large jobs a worker ranks blocks while the main thread computes the next scores.
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
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import type { FeatureTable } from "../api.ts";
import { KtError } from "../errors.ts";
import { BlockRanker, type BlockResult, type RankRequest } from "./_ranking.ts";

/** A feature matrix, one row per sample: a 2-D tensor or a {@linkcode FeatureTable}. */
export type FeatureInput = tf.Tensor2D | FeatureTable;

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
  /** Queries scored per block (default: ≤ 256 and ≤ 2^24 scores): `blockSize × database` floats. */
  blockSize?: number;
  /**
   * Threads that rank: the main thread plus `threads − 1` workers, which rank blocks while the
   * main thread computes the next similarities. Default: 2 on a multi-core machine when there
   * are at least 5·10⁷ query–item pairs, else 1. Results do not depend on it.
   */
  threads?: number;
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

/** Default cut-offs for P@k (the paper's). */
export const DEFAULT_PRECISION_K: readonly number[] = [10, 20, 50, 100, 200];

/**
 * Reads and checks a feature matrix: a 2-D tensor or a {@linkcode FeatureTable} (row-major, `size`
 * rows of `dim`); every value must be finite. `what` names it in errors (e.g. `queries`).
 */
export async function readFeatures(x: FeatureInput, what: string): Promise<FeatureTable> {
  let values: Float32Array;
  let dim: number;
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2) {
      throw new KtError(
        `${what}: expected a 2-D tensor (samples × features), got shape [${x.shape}]`,
      );
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
  const size = x instanceof tf.Tensor ? x.shape[0] : x.size;
  if (!Number.isInteger(size) || size < 0 || values.length !== size * dim) {
    throw new KtError(`${what}: ${values.length} values are not ${size} rows of ${dim}`, {
      hint: "give row-major features: values.length = size × dim",
    });
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new KtError(
        `${what}: feature ${i % dim} of row ${Math.floor(i / dim)} is ${values[i]}`,
        {
          hint: "the model produced non-finite features; check training for divergence",
        },
      );
    }
  }
  return { values, size, dim };
}

/** Throws unless `labels` has one entry per row. */
export function checkLabels(labels: Int32Array, rows: number, what: string): void {
  if (labels.length !== rows) {
    throw new KtError(`${what}: ${labels.length} labels for ${rows} feature rows`, {
      hint: "features and labels must describe the same samples, in the same order",
    });
  }
}

/** Reads and checks queries and database with their labels (see {@linkcode readFeatures}). */
export async function readQueriesAndDatabase(
  queries: FeatureInput,
  queryLabels: Int32Array,
  database: FeatureInput,
  databaseLabels: Int32Array,
): Promise<{ q: FeatureTable; d: FeatureTable }> {
  const q = await readFeatures(queries, "queries");
  const d = await readFeatures(database, "database");
  checkLabels(queryLabels, q.size, "queries");
  checkLabels(databaseLabels, d.size, "database");
  return { q, d };
}

/** Rows scaled to unit length; zero rows stay zero (so their cosine with anything is 0). */
function unitRows(m: FeatureTable): FeatureTable {
  const { values, size, dim } = m;
  const out = new Float32Array(values.length);
  for (let i = 0; i < size; i++) {
    let sq = 0;
    for (let k = i * dim; k < (i + 1) * dim; k++) sq += values[k] * values[k];
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let k = i * dim; k < (i + 1) * dim; k++) out[k] = values[k] * inv;
  }
  return { values: out, size, dim };
}

/** Rows with one column appended: `[scale·x, last(i)]`. */
function appendColumn(
  m: FeatureTable,
  scale: number,
  last: (row: Float32Array) => number,
): FeatureTable {
  const { values, size, dim } = m;
  const out = new Float32Array(size * (dim + 1));
  for (let i = 0; i < size; i++) {
    const row = values.subarray(i * dim, (i + 1) * dim);
    for (let k = 0; k < dim; k++) out[i * (dim + 1) + k] = scale * row[k];
    out[i * (dim + 1) + dim] = last(row);
  }
  return { values: out, size, dim: dim + 1 };
}

function squaredNorm(row: Float32Array): number {
  let s = 0;
  for (let k = 0; k < row.length; k++) s += row[k] * row[k];
  return s;
}

/** Dot products of `count` query rows from `q0` with every database row, into `out` (count × n). */
function dotBlockJs(
  q: FeatureTable,
  d: FeatureTable,
  q0: number,
  count: number,
  out: Float32Array,
): void {
  const { dim } = q;
  const n = d.size;
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

/** The part of the wasm backend that exposes a tensor's memory without a copy. */
interface HeapBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * A float32 tensor's values on the wasm heap, read in place (the copy `data()` makes costs as much
 * as a quarter of the ranking); undefined on other backends. Valid until tfjs next allocates.
 */
function heapView(t: tf.Tensor): Float32Array | undefined {
  if (t.dtype !== "float32" || tf.getBackend() !== "wasm") return undefined;
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  const view = backend.typedArrayFromHeap?.(t);
  return view instanceof Float32Array ? view : undefined;
}

function resolveEngine(engine: ScoreEngine): "tfjs" | "js" {
  if (engine !== "auto") return engine;
  try {
    tf.backend(); // initialises the best registered backend; throws when none is ready
  } catch {
    return "js";
  }
  return tf.getBackend() === "cpu" ? "js" : "tfjs";
}

/**
 * Scores every query against every database item, a block of queries at a time, and hands each
 * block to `visit(firstQuery, count, scores)` where `scores` is `count × database` row-major
 * (higher = more similar; valid until `visit` returns or first awaits). Never holds more than
 * one block.
 *
 * @example
 * ```ts
 * import { scoreBlocks } from "./retrieval.ts";
 * const q = { values: new Float32Array([1, 0]), size: 1, dim: 2 };
 * const d = { values: new Float32Array([1, 0, 0, 1]), size: 2, dim: 2 };
 * await scoreBlocks(q, d, "cosine", (_q0, _n, s) => console.log(s), { engine: "js" }); // [1, 0]
 * ```
 */
export async function scoreBlocks(
  queries: FeatureTable,
  database: FeatureTable,
  similarity: Similarity,
  visit: (firstQuery: number, count: number, scores: Float32Array) => void | Promise<void>,
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
  // Default: up to 256 queries, and at most 2^24 scores (64 MB) per block.
  const blockSize = options.blockSize ??
    Math.max(1, Math.min(256, Math.floor(2 ** 24 / database.size)));
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new KtError(`blockSize must be a positive integer, got ${blockSize}`);
  }
  // Euclidean: [2q, -1]·[d, ‖d‖²] = 2 q·d − ‖d‖², which orders like −‖q − d‖².
  const q = similarity === "cosine" ? unitRows(queries) : appendColumn(queries, 2, () => -1);
  const d = similarity === "cosine" ? unitRows(database) : appendColumn(database, 1, squaredNorm);
  const n = d.size;
  if (n === 0 || q.size === 0) return;
  if (resolveEngine(options.engine ?? "auto") === "js") {
    const out = new Float32Array(Math.min(blockSize, q.size) * n);
    for (let q0 = 0; q0 < q.size; q0 += blockSize) {
      const count = Math.min(blockSize, q.size - q0);
      dotBlockJs(q, d, q0, count, out);
      await visit(q0, count, out.subarray(0, count * n));
    }
    return;
  }
  // Transpose once: matMul with transpose flags is many times slower on wasm (DESIGN.md §3).
  const dT = tf.tidy(() => tf.transpose(tf.tensor2d(d.values, [n, d.dim])));
  try {
    for (let q0 = 0; q0 < q.size; q0 += blockSize) {
      const count = Math.min(blockSize, q.size - q0);
      const s = tf.tidy(() =>
        tf.matMul(
          tf.tensor2d(q.values.subarray(q0 * q.dim, (q0 + count) * q.dim), [count, q.dim]),
          dT,
        )
      );
      try {
        await visit(q0, count, heapView(s) ?? await s.data<"float32">());
      } finally {
        s.dispose();
      }
    }
  } finally {
    dT.dispose();
  }
}

/** Query–item pairs from which ranking is worth a worker (its start-up costs ~0.1 s). */
const PARALLEL_PAIRS = 5e7;

const WORKER_URL = new URL("./_rank_worker.ts", import.meta.url);

/** Whether a rank worker can load: its module is a local file this process may read. */
function workerAllowed(): boolean {
  if (WORKER_URL.protocol !== "file:") return false;
  try {
    return Deno.permissions.querySync({ name: "read", path: fileURLToPath(WORKER_URL) }).state ===
      "granted";
  } catch {
    return false;
  }
}

function defaultThreads(pairs: number): number {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return cores > 1 && pairs >= PARALLEL_PAIRS && workerAllowed() ? 2 : 1;
}

/** Workers that rank blocks (`_rank_worker.ts`); a block goes to the least busy one. */
class RankPool {
  readonly #workers: { worker: Worker; inFlight: number }[];
  readonly #pending = new Map<
    number,
    { resolve: (r: BlockResult) => void; reject: (e: Error) => void; slot: { inFlight: number } }
  >();
  #nextId = 0;

  constructor(count: number, init: RankRequest) {
    if (!workerAllowed()) {
      throw new KtError("retrieval threads > 1 need read access to the rank worker module", {
        where: WORKER_URL.href,
        hint: "run deno with --allow-read, or set threads: 1",
      });
    }
    this.#workers = Array.from({ length: count }, () => {
      const slot = { worker: new Worker(WORKER_URL.href, { type: "module" }), inFlight: 0 };
      slot.worker.onmessage = (event: MessageEvent<BlockResult & { id: number }>) => {
        const job = this.#pending.get(event.data.id);
        this.#pending.delete(event.data.id);
        slot.inFlight--;
        job?.resolve(event.data);
      };
      slot.worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const error = new KtError(`a retrieval ranking worker failed: ${event.message}`, {
          hint: "run the retrieval metric with threads: 1",
        });
        for (const job of this.#pending.values()) job.reject(error);
        this.#pending.clear();
      };
      slot.worker.postMessage(init);
      return slot;
    });
  }

  /** Whether every worker already has two blocks queued. */
  get busy(): boolean {
    return this.#workers.every((w) => w.inFlight >= 2);
  }

  /** Ranks a block on the least busy worker; `scores` is transferred (unusable afterwards). */
  rank(scores: Float32Array, labels: Int32Array): Promise<BlockResult> {
    const slot = this.#workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.#nextId++;
    slot.inFlight++;
    const request: RankRequest = { type: "block", id, scores, labels };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, slot });
      slot.worker.postMessage(request, [scores.buffer as ArrayBuffer]);
    });
  }

  close(): void {
    for (const { worker } of this.#workers) worker.terminate();
  }
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
 * const q = { values: new Float32Array([1, 0]), dim: 2, size: 1 };
 * const db = { values: new Float32Array([0.9, 0.1, 0, 1, 1, 0.2]), dim: 2, size: 3 };
 * const r = await retrievalMetrics(q, new Int32Array([0]), db, new Int32Array([0, 1, 0]), {
 *   k: [1, 2],
 * });
 * console.log(r.mAP, r.precisionAt[2]); // 1, 1
 * ```
 */
export async function retrievalMetrics(
  queries: FeatureInput,
  queryLabels: Int32Array,
  database: FeatureInput,
  databaseLabels: Int32Array,
  options: RetrievalOptions = {},
): Promise<RetrievalResult> {
  const { q, d } = await readQueriesAndDatabase(queries, queryLabels, database, databaseLabels);
  const ks = checkK(options.k ?? [...DEFAULT_PRECISION_K]);
  const interpolation = options.interpolation ?? "exact";
  if (interpolation !== "exact" && interpolation !== "11-point") {
    throw new KtError(`unknown interpolation "${String(interpolation)}"`, {
      hint: "choose exact or 11-point",
    });
  }
  const nk = ks.length;
  const apOf = new Float64Array(q.size); // −1: no relevant item
  const precisionOf = new Float64Array(q.size * nk);
  const store = (q0: number, r: BlockResult) => {
    apOf.set(r.ap, q0);
    precisionOf.set(r.precision, q0 * nk);
  };
  const local = new BlockRanker(databaseLabels, ks, interpolation);
  const threads = options.threads ?? defaultThreads(q.size * d.size);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new KtError(`threads must be a positive integer, got ${threads}`);
  }
  const pool = threads > 1
    ? new RankPool(threads - 1, { type: "init", databaseLabels, ks, interpolation })
    : undefined;
  const offloaded: Promise<void>[] = [];
  try {
    await scoreBlocks(q, d, options.similarity ?? "cosine", async (q0, count, scores) => {
      const labels = queryLabels.subarray(q0, q0 + count);
      if (pool && !pool.busy) {
        const done = pool.rank(scores.slice(), labels.slice()).then((r) => store(q0, r));
        done.catch(() => {}); // reported by Promise.all below
        offloaded.push(done);
      } else {
        store(q0, local.rankBlock(scores, labels));
      }
      if (pool) await new Promise((resolve) => setTimeout(resolve, 0)); // let replies in
    }, options);
    await Promise.all(offloaded);
  } finally {
    pool?.close();
  }
  // Sums in query order, so the result does not depend on which thread ranked what.
  let apSum = 0;
  let evaluated = 0;
  const hitSums = new Float64Array(nk);
  for (let i = 0; i < q.size; i++) {
    if (apOf[i] < 0) continue;
    evaluated++;
    apSum += apOf[i];
    for (let t = 0; t < nk; t++) hitSums[t] += precisionOf[i * nk + t];
  }
  const precisionAt: Record<number, number> = {};
  ks.forEach((k, t) => precisionAt[k] = evaluated ? hitSums[t] / evaluated : 0);
  const result: RetrievalResult = { mAP: evaluated ? apSum / evaluated : 0, precisionAt };
  if (options.perQuery) result.perQueryAP = Float32Array.from(apOf, (ap) => Math.max(ap, 0));
  return result;
}
