/**
 * Private: exact per-query ranking for {@linkcode retrievalMetrics}, free of tfjs so the rank
 * worker (`_rank_worker.ts`) loads it quickly. See `retrieval.ts` for the conventions.
 * @module
 */

/** How AP is computed. */
export type Interpolation = "exact" | "11-point";

/** What the main thread sends a rank worker (`_rank_worker.ts`): one `init`, then blocks. */
export type RankRequest =
  | { type: "init"; databaseLabels: Int32Array; ks: number[]; interpolation: Interpolation }
  | { type: "block"; id: number; scores: Float32Array; labels: Int32Array };

/** Per-query results of one block: AP (−1 without relevant items) and P@k (query-major). */
export interface BlockResult {
  ap: Float64Array;
  precision: Float64Array;
}

/**
 * Ranks blocks of queries against a fixed database: for each query, its AP and P@k at every
 * cut-off in `ks` (ascending). Reuses its buffers across blocks.
 */
export class BlockRanker {
  readonly #labels: Int32Array;
  readonly #ks: number[];
  readonly #interpolation: Interpolation;
  readonly #relevantOf: Map<number, Int32Array>;
  readonly #ranker: RelevantRanker;
  readonly #best: Float64Array;

  constructor(databaseLabels: Int32Array, ks: number[], interpolation: Interpolation) {
    this.#labels = databaseLabels;
    this.#ks = ks;
    this.#interpolation = interpolation;
    this.#relevantOf = indicesByLabel(databaseLabels);
    this.#ranker = new RelevantRanker(databaseLabels.length);
    this.#best = new Float64Array(databaseLabels.length);
  }

  /** Scores of `labels.length` queries (row-major, one database-length row each). */
  rankBlock(scores: Float32Array, labels: Int32Array): BlockResult {
    const n = this.#labels.length, ks = this.#ks;
    const ap = new Float64Array(labels.length).fill(-1);
    const precision = new Float64Array(labels.length * ks.length);
    for (let i = 0; i < labels.length; i++) {
      const members = this.#relevantOf.get(labels[i]);
      if (!members) continue;
      const relevant = members.length;
      this.#ranker.rank(scores.subarray(i * n, (i + 1) * n), members);
      const ranks = this.#ranker.ranks;
      ap[i] = this.#interpolation === "exact"
        ? exactAP(ranks, relevant)
        : elevenPointAP(ranks, relevant, this.#best);
      let hits = 0;
      for (let t = 0; t < ks.length; t++) {
        while (hits < relevant && ranks[hits] <= ks[t]) hits++;
        precision[i * ks.length + t] = hits / ks[t];
      }
    }
    return { ap, precision };
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
export class RelevantRanker {
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
