/**
 * Classification metrics: accuracy of a classifier head's logits, and k-nearest-neighbour accuracy
 * of a representation (queries classified by a vote of their nearest database items).
 * @module
 */
import { KtError } from "../errors.ts";
import {
  checkLabels,
  type FeatureInput,
  readFeatures,
  readQueriesAndDatabase,
  scoreBlocks,
  type ScoreEngine,
  type Similarity,
} from "./retrieval.ts";

/**
 * Fraction of rows whose largest logit is at the label's index (ties: the lowest index wins).
 *
 * @example
 * ```ts
 * import { accuracy } from "./classification.ts";
 * const logits = { values: new Float32Array([2, 1, 0, 3]), dim: 2, size: 2 };
 * console.log(await accuracy(logits, new Int32Array([0, 0]))); // 0.5
 * ```
 */
export async function accuracy(logits: FeatureInput, labels: Int32Array): Promise<number> {
  const { values, size: rows, dim } = await readFeatures(logits, "logits");
  checkLabels(labels, rows, "logits");
  if (rows === 0) {
    throw new KtError("accuracy of no samples is undefined", { hint: "give samples" });
  }
  let correct = 0;
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let k = 1; k < dim; k++) if (values[i * dim + k] > values[i * dim + best]) best = k;
    if (best === labels[i]) correct++;
  }
  return correct / rows;
}

/** Options of {@linkcode knnAccuracy}. */
export interface KnnOptions {
  /** Neighbours that vote (default 1). */
  k?: number;
  /** `cosine` (default) or `euclidean`. */
  similarity?: Similarity;
  /** How similarities are computed (see {@linkcode scoreBlocks}). */
  engine?: ScoreEngine;
  /** Queries scored per block (default 256). */
  blockSize?: number;
}

/**
 * Fraction of queries whose label wins the vote of their `k` most similar database items.
 * Neighbours with equal scores rank by lower database index; a vote tied between labels goes to
 * the tied label whose first neighbour is nearest. Queries and database should be disjoint sets
 * (e.g. test vs train), or every query finds itself.
 *
 * @example
 * ```ts
 * import { knnAccuracy } from "./classification.ts";
 * const q = { values: new Float32Array([1, 0]), dim: 2, size: 1 };
 * const db = { values: new Float32Array([1, 0.1, 0, 1, 1, -0.1]), dim: 2, size: 3 };
 * const acc = await knnAccuracy(q, new Int32Array([0]), db, new Int32Array([0, 1, 0]), { k: 3 });
 * console.log(acc); // 1
 * ```
 */
export async function knnAccuracy(
  queries: FeatureInput,
  queryLabels: Int32Array,
  database: FeatureInput,
  databaseLabels: Int32Array,
  options: KnnOptions = {},
): Promise<number> {
  const { q, d } = await readQueriesAndDatabase(queries, queryLabels, database, databaseLabels);
  const k = options.k ?? 1;
  if (!Number.isInteger(k) || k < 1) {
    throw new KtError(`k must be a positive integer, got ${k}`, { hint: "e.g. k: 1 or k: 5" });
  }
  if (q.size === 0) throw new KtError("k-NN accuracy of no queries is undefined");
  if (d.size < k) {
    throw new KtError(`k-NN with k = ${k} needs at least ${k} database items, got ${d.size}`);
  }
  const n = d.size;
  const topScore = new Float64Array(k);
  const topIndex = new Int32Array(k);
  const votes = new Map<number, number>();
  let correct = 0;
  await scoreBlocks(q, d, options.similarity ?? "cosine", (q0, count, scores) => {
    for (let i = 0; i < count; i++) {
      const s = scores.subarray(i * n, (i + 1) * n);
      nearest(s, topScore, topIndex);
      votes.clear();
      let most = 0;
      for (let t = 0; t < k; t++) {
        const v = (votes.get(databaseLabels[topIndex[t]]) ?? 0) + 1;
        votes.set(databaseLabels[topIndex[t]], v);
        most = Math.max(most, v);
      }
      // Among the labels with the most votes, the one with the nearest neighbour wins.
      let t = 0;
      while (votes.get(databaseLabels[topIndex[t]]) !== most) t++;
      const winner = databaseLabels[topIndex[t]];
      if (winner === queryLabels[q0 + i]) correct++;
    }
  }, options);
  return correct / q.size;
}

/** The top `topScore.length` items of `s` (score desc, index asc), best first. */
function nearest(s: Float32Array, topScore: Float64Array, topIndex: Int32Array): void {
  const k = topScore.length;
  topScore.fill(-Infinity);
  topIndex.fill(-1);
  for (let j = 0; j < s.length; j++) {
    const v = s[j];
    // A later index with an equal score ranks lower, so only strictly higher scores enter.
    if (v <= topScore[k - 1] && topIndex[k - 1] >= 0) continue;
    let t = k - 1;
    while (t > 0 && (topIndex[t - 1] < 0 || topScore[t - 1] < v)) {
      topScore[t] = topScore[t - 1];
      topIndex[t] = topIndex[t - 1];
      t--;
    }
    topScore[t] = v;
    topIndex[t] = j;
  }
}
