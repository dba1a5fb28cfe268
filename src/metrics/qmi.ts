/**
 * Quadratic mutual information (QMI) between a representation and the labels, from information
 * potentials with the cosine kernel shifted to [0, 1] as in PKT: K_ij = (cos(x_i, x_j) + 1) / 2.
 *
 * With N samples, N_c of class c:
 * - V_IN  = (1/N²) Σ_c Σ_{i,j∈c} K_ij
 * - V_ALL = (1/N²) (Σ_c (N_c/N)²) Σ_{i,j} K_ij
 * - V_BTW = (1/N²) Σ_c (N_c/N) Σ_{i∈c} Σ_j K_ij
 * - QMI = V_IN + V_ALL − 2·V_BTW
 *
 * Computed in O(N·d), never forming the N×N kernel: with unit rows x̂ and class sums S_c = Σ_{i∈c} x̂_i,
 * S = Σ_c S_c, a kernel block sum is Σ_{i∈A, j∈B} K_ij = (|A|·|B| + S_A·S_B) / 2. The cosine of a
 * zero row is 0 (its kernel value with anything is 1/2).
 * @module
 */
import type { FeatureTable } from "../api.ts";
import { KtError } from "../errors.ts";

/** Options of {@linkcode quadraticMutualInformation}. */
export interface QmiOptions {
  /** The kernel; only `cosine` (shifted to [0, 1]) is defined. */
  kernel?: "cosine";
}

/**
 * QMI of `features` (one row per label) with `labels`; 0 when the representation
 * carries no label information, larger when same-class samples point the same way.
 *
 * @example
 * ```ts
 * import { quadraticMutualInformation } from "./qmi.ts";
 * const aligned = { values: new Float32Array([1, 0, 1, 0, 0, 1, 0, 1]), dim: 2, size: 4 };
 * const qmi = quadraticMutualInformation(aligned, new Int32Array([0, 0, 1, 1]));
 * console.log(qmi > 0); // true
 * ```
 */
export function quadraticMutualInformation(
  features: FeatureTable,
  labels: Int32Array,
  options: QmiOptions = {},
): number {
  const kernel = options.kernel ?? "cosine";
  if (kernel !== "cosine") {
    throw new KtError(`unknown QMI kernel "${String(kernel)}"`, { hint: "use kernel: cosine" });
  }
  const { values, dim, size } = features;
  const n = labels.length;
  if (!Number.isInteger(dim) || dim < 1 || size !== n || values.length !== n * dim) {
    throw new KtError(
      `QMI: ${size} rows of ${values.length} feature values do not make ${n} rows (one per label) of ${dim}`,
      { hint: "give row-major features with one row per label" },
    );
  }
  if (n === 0) throw new KtError("QMI of an empty set is undefined", { hint: "give samples" });

  const sums = new Map<number, { count: number; sum: Float64Array }>();
  const total = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let k = i * dim; k < (i + 1) * dim; k++) sq += values[k] * values[k];
    if (!Number.isFinite(sq)) {
      throw new KtError(`QMI: row ${i} has non-finite features`, {
        hint: "the model produced NaN/Infinity; check training for divergence",
      });
    }
    let cls = sums.get(labels[i]);
    if (!cls) sums.set(labels[i], cls = { count: 0, sum: new Float64Array(dim) });
    cls.count++;
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let k = 0; k < dim; k++) {
      const x = values[i * dim + k] * inv;
      cls.sum[k] += x;
      total[k] += x;
    }
  }
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += a[k] * b[k];
    return s;
  };
  // Σ_{i∈A, j∈B} K_ij = (|A||B| + S_A·S_B) / 2
  const blockSum = (na: number, sa: Float64Array, nb: number, sb: Float64Array) =>
    (na * nb + dot(sa, sb)) / 2;

  let inSum = 0, priorSq = 0, btwSum = 0;
  for (const { count, sum } of sums.values()) {
    const prior = count / n;
    inSum += blockSum(count, sum, count, sum);
    priorSq += prior * prior;
    btwSum += prior * blockSum(count, sum, n, total);
  }
  const n2 = n * n;
  const vIn = inSum / n2;
  const vAll = (priorSq * blockSum(n, total, n, total)) / n2;
  const vBtw = btwSum / n2;
  return vIn + vAll - 2 * vBtw;
}
