import assert from "node:assert/strict";
import { lnGamma, pairedTTest, regularizedBeta, studentTTwoSided } from "./stats.ts";

function close(actual: number, expected: number, tol: number, what = "") {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual} vs ${expected} (|Δ| ${Math.abs(actual - expected)} > ${tol})`,
  );
}

Deno.test("pairedTTest() matches a hand-worked t statistic and the closed-form df = 2 tail", () => {
  // d = 0.80−0.78, 0.82−0.81, 0.85−0.82 = 0.02, 0.01, 0.03; mean 0.02;
  // sd = √((0² + 0.01² + 0.01²) / 2) = 0.01; t = 0.02 / (0.01/√3) = 2√3 ≈ 3.4641, df = 2.
  // Student t with 2 df: P(|T| ≥ t) = 1 − t/√(2 + t²) = 1 − 2√3/√14 ≈ 0.074180.
  const r = pairedTTest([0.80, 0.82, 0.85], [0.78, 0.81, 0.82]);
  assert.equal(r.n, 3);
  assert.equal(r.df, 2);
  close(r.meanDiff, 0.02, 1e-15, "mean");
  close(r.sdDiff, 0.01, 1e-15, "sd");
  close(r.t, 2 * Math.sqrt(3), 1e-12, "t");
  close(r.p, 1 - 2 * Math.sqrt(3) / Math.sqrt(14), 1e-12, "p");
  // Swapping the samples flips t, not p.
  const s = pairedTTest([0.78, 0.81, 0.82], [0.80, 0.82, 0.85]);
  close(s.t, -r.t, 1e-12, "−t");
  close(s.p, r.p, 1e-15, "p");
});

Deno.test("studentTTwoSided() equals the closed forms for df = 1 (Cauchy) and df = 2", () => {
  for (const t of [0, 0.1, 0.5, 1, 2, 4.303, 10, 63.657, 1000]) {
    close(studentTTwoSided(t, 1), 1 - 2 / Math.PI * Math.atan(t), 1e-13, `df 1, t ${t}`);
    close(studentTTwoSided(-t, 2), 1 - t / Math.sqrt(2 + t * t), 1e-13, `df 2, t ${t}`);
  }
});

Deno.test("studentTTwoSided() gives 0.05 and 0.01 at the tabulated two-sided critical values", () => {
  // Critical values t(1 − α/2, df) of a standard t table (3 decimals), α = 0.05 and 0.01.
  const table: [number, number, number][] = [
    [1, 12.706, 63.657],
    [2, 4.303, 9.925],
    [3, 3.182, 5.841],
    [4, 2.776, 4.604],
    [5, 2.571, 4.032],
    [9, 2.262, 3.25],
    [10, 2.228, 3.169],
    [29, 2.045, 2.756],
    [120, 1.98, 2.617],
  ];
  for (const [df, t05, t01] of table) {
    // Rounding the quantile to 3 decimals moves p by at most |dp/dt| · 0.0005.
    close(studentTTwoSided(t05, df), 0.05, 2.5e-4, `df ${df}, α 0.05`);
    close(studentTTwoSided(t01, df), 0.01, 6e-5, `df ${df}, α 0.01`);
  }
  // Large df: the normal's 1.96.
  close(studentTTwoSided(1.959964, 1e7), 0.05, 1e-6, "df 1e7");
});

/** Γ((ν+1)/2) / (√(νπ) Γ(ν/2)) for integer ν, by the recurrence Γ(x+1) = xΓ(x) (no lnGamma). */
function tDensityConstant(nu: number): number {
  // Ratio Γ((ν+1)/2)/Γ(ν/2) starting from ν = 1: Γ(1)/Γ(1/2) = 1/√π, ν = 2: Γ(3/2)/Γ(1) = √π/2.
  let ratio = nu % 2 === 1 ? 1 / Math.sqrt(Math.PI) : Math.sqrt(Math.PI) / 2;
  for (let k = nu % 2 === 1 ? 1 : 2; k < nu; k += 2) ratio *= (k + 1) / 2 / (k / 2);
  return ratio / Math.sqrt(nu * Math.PI);
}

Deno.test("studentTTwoSided() agrees with Simpson integration of the t density", () => {
  for (const nu of [1, 2, 3, 5, 9, 20]) {
    const c = tDensityConstant(nu);
    const f = (x: number) => c * (1 + x * x / nu) ** (-(nu + 1) / 2);
    for (const t of [0.5, 1.5, 2.5, 4]) {
      const n = 20_000;
      const h = t / n;
      let s = f(0) + f(t);
      for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * f(i * h);
      const inner = s * h / 3; // ∫₀ᵗ f
      close(studentTTwoSided(t, nu), 1 - 2 * inner, 1e-10, `ν ${nu}, t ${t}`);
    }
  }
});

Deno.test("pairedTTest() reproduces scipy.stats.ttest_rel", () => {
  // Values printed by scipy 1.17.1: ttest_rel(a, b).statistic, .pvalue
  const cases: [number[], number[], number, number][] = [
    [
      [0.7652, 0.7774, 0.7530, 0.7701, 0.7688],
      [0.8084, 0.7963, 0.8205, 0.8011, 0.8150],
      -5.087419388552168,
      0.0070441310092167995,
    ],
    [[0.9, 0.91, 0.92, 0.905], [0.89, 0.905, 0.9, 0.91], 1.4411533842457844, 0.24519388179494764],
    [
      [1.2, 3.4, 2.2, 5.1, 4.4, 3.3, 2.9, 4.0, 3.8, 2.5],
      [1.0, 3.0, 2.5, 4.6, 4.0, 3.1, 2.2, 4.1, 3.0, 2.4],
      2.6861577167608077,
      0.02495307589598374,
    ],
  ];
  for (const [a, b, t, p] of cases) {
    const r = pairedTTest(a, b);
    close(r.t, t, 1e-10, "t");
    close(r.p, p, 1e-12, "p");
  }
  // Two-sided tails printed by scipy: 2 · t.sf(t, df)
  for (
    const [t, df, p] of [
      [2, 3, 0.13932596855884305],
      [1, 7, 0.3506166628202074],
      [3, 30, 0.005389964065651945],
      [10, 2, 0.00985245702332569],
      [6, 5, 0.0018461382895940143],
    ]
  ) close(studentTTwoSided(t, df), p, 1e-13, `t ${t}, df ${df}`);
});

Deno.test("pairedTTest() edge cases: identical samples, constant differences, too few pairs", () => {
  assert.deepEqual(pairedTTest([1, 2, 3], [1, 2, 3]), {
    n: 3,
    df: 2,
    meanDiff: 0,
    sdDiff: 0,
    t: 0,
    p: 1,
  });
  const shifted = pairedTTest([0.5, 0.6, 0.7], [0.4, 0.5, 0.6]);
  assert.equal(shifted.t, Infinity);
  assert.equal(shifted.p, 0);
  assert.throws(() => pairedTTest([1], [2]), RangeError);
  assert.throws(() => pairedTTest([1, 2], [2]), RangeError);
  assert.throws(() => studentTTwoSided(1, 0), RangeError);
});

Deno.test("lnGamma() and regularizedBeta() on known values", () => {
  for (let n = 1; n <= 20; n++) {
    let factorial = 1;
    for (let k = 2; k < n; k++) factorial *= k;
    close(Math.exp(lnGamma(n)), factorial, factorial * 1e-13, `Γ(${n})`);
  }
  close(Math.exp(lnGamma(0.5)), Math.sqrt(Math.PI), 1e-14, "Γ(1/2)");
  close(regularizedBeta(0.5, 2, 2), 0.5, 1e-15, "I_0.5(2,2)");
  // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b
  for (const x of [0.1, 0.37, 0.9]) {
    close(regularizedBeta(x, 1, 1), x, 1e-14, "I(1,1)");
    close(regularizedBeta(x, 3.5, 1), x ** 3.5, 1e-14, "I(a,1)");
    close(regularizedBeta(x, 1, 4), 1 - (1 - x) ** 4, 1e-14, "I(1,b)");
  }
  assert.equal(regularizedBeta(0, 2, 3), 0);
  assert.equal(regularizedBeta(1, 2, 3), 1);
});
