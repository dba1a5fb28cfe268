/**
 * The statistics behind "best" in a comparison table: a paired t-test over seeds, with the
 * Student t distribution's two-sided tail computed from the regularized incomplete beta function
 * (continued fraction, as in Numerical Recipes §6.4) and a Lanczos log-gamma.
 *
 * ```ts
 * import { pairedTTest } from "./stats.ts";
 * // Differences 0.02, 0.01, 0.03: mean 0.02, sd 0.01, t = 0.02 / (0.01 / √3) = 2√3, df 2
 * const r = pairedTTest([0.80, 0.82, 0.85], [0.78, 0.81, 0.82]);
 * r.t; // 3.4641...
 * r.p; // 0.0742... = 1 − t/√(2 + t²), the closed form for df = 2
 * ```
 * @module
 */

/** Result of {@linkcode pairedTTest}. */
export interface PairedTTest {
  /** Pairs compared. */
  n: number;
  /** Degrees of freedom, n − 1. */
  df: number;
  /** Mean of a − b. */
  meanDiff: number;
  /** Sample std of a − b (divisor n − 1). */
  sdDiff: number;
  /** meanDiff / (sdDiff / √n); ±∞ when every difference is the same non-zero value. */
  t: number;
  /** Two-sided p-value: 0 when t is infinite, 1 when every difference is 0. */
  p: number;
}

/**
 * Paired (dependent-samples) t-test of `a[i]` against `b[i]`, two-sided. Needs n ≥ 2 pairs
 * (the caller decides how many make a test worth stating).
 *
 * @example
 * ```ts
 * import { pairedTTest } from "./stats.ts";
 * pairedTTest([1, 2, 3, 4], [1, 2, 3, 4]).p; // 1
 * ```
 */
export function pairedTTest(a: readonly number[], b: readonly number[]): PairedTTest {
  if (a.length !== b.length || a.length < 2) {
    throw new RangeError(`pairedTTest() needs two equally long samples of ≥ 2 values`);
  }
  const n = a.length;
  const d = a.map((v, i) => v - b[i]);
  const meanDiff = d.reduce((s, v) => s + v, 0) / n;
  const sdDiff = Math.sqrt(d.reduce((s, v) => s + (v - meanDiff) ** 2, 0) / (n - 1));
  const df = n - 1;
  // Differences equal up to rounding (|sd| tiny against |mean|) count as identical.
  if (sdDiff === 0 || sdDiff <= 1e-12 * Math.abs(meanDiff)) {
    return meanDiff === 0
      ? { n, df, meanDiff, sdDiff, t: 0, p: 1 }
      : { n, df, meanDiff, sdDiff, t: Math.sign(meanDiff) * Infinity, p: 0 };
  }
  const t = meanDiff / (sdDiff / Math.sqrt(n));
  return { n, df, meanDiff, sdDiff, t, p: studentTTwoSided(t, df) };
}

/**
 * P(|T| ≥ |t|) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
 *
 * @example
 * ```ts
 * import { studentTTwoSided } from "./stats.ts";
 * studentTTwoSided(4.303, 2); // ≈ 0.05 (the tabulated 97.5 % quantile for df 2)
 * ```
 */
export function studentTTwoSided(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/**
 * The regularized incomplete beta function I_x(a, b) for 0 ≤ x ≤ 1, a, b > 0.
 *
 * @example
 * ```ts
 * import { regularizedBeta } from "./stats.ts";
 * regularizedBeta(0.5, 2, 2); // 0.5 (symmetric)
 * ```
 */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x),
  );
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); else use symmetry.
  if (x < (a + 1) / (a + b + 2)) return front * betaFraction(x, a, b) / a;
  return 1 - front * betaFraction(1 - x, b, a) / b;
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - (a + b) * x / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-15) return h;
  }
  return h;
}

const LANCZOS = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/**
 * ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits).
 *
 * @example
 * ```ts
 * import { lnGamma } from "./stats.ts";
 * Math.exp(lnGamma(5)); // 24 (= 4!)
 * ```
 */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}
