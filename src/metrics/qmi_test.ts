import assert from "node:assert/strict";
import { createRng } from "../rng.ts";
import { KtError } from "../errors.ts";
import { quadraticMutualInformation } from "./qmi.ts";

/** The information potentials straight from their O(N²) definitions. */
function naiveQmi(values: Float32Array, dim: number, labels: Int32Array): number {
  const n = labels.length;
  const row = (i: number) => values.subarray(i * dim, (i + 1) * dim);
  const kernel = (a: Float32Array, b: Float32Array) => {
    let dot = 0, na = 0, nb = 0;
    for (let k = 0; k < dim; k++) {
      dot += a[k] * b[k];
      na += a[k] ** 2;
      nb += b[k] ** 2;
    }
    const cos = na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
    return (cos + 1) / 2;
  };
  const classes = [...new Set(labels)];
  const prior = (c: number) => labels.filter((l) => l === c).length / n;
  let vIn = 0, all = 0, vBtw = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const k = kernel(row(i), row(j));
      all += k;
      if (labels[i] === labels[j]) vIn += k;
      vBtw += prior(labels[i]) * k;
    }
  }
  const vAll = classes.reduce((s, c) => s + prior(c) ** 2, 0) * all;
  return (vIn + vAll - 2 * vBtw) / (n * n);
}

Deno.test("quadraticMutualInformation() equals the O(N²) information potentials", () => {
  const rng = createRng(11);
  const n = 60, dim = 5;
  const labels = Int32Array.from({ length: n }, () => rng.int(3));
  const values = Float32Array.from({ length: n * dim }, () => rng.normal() + 0.3);
  values.fill(0, 7 * dim, 8 * dim); // a zero row
  const fast = quadraticMutualInformation({ values, dim, size: n }, labels);
  const slow = naiveQmi(values, dim, labels);
  assert.ok(Math.abs(fast - slow) < 1e-9, `${fast} vs ${slow}`);
});

Deno.test("quadraticMutualInformation() is higher for label-aligned features than for noise", () => {
  const rng = createRng(5);
  const n = 200, dim = 8, classes = 4;
  const labels = Int32Array.from({ length: n }, () => rng.int(classes));
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, rng.normal));
  const aligned = Float32Array.from(
    { length: n * dim },
    (_, i) => centres[labels[Math.floor(i / dim)]][i % dim] + 0.3 * rng.normal(),
  );
  const noise = Float32Array.from({ length: n * dim }, () => rng.normal());
  const qAligned = quadraticMutualInformation({ values: aligned, dim, size: n }, labels);
  const qNoise = quadraticMutualInformation({ values: noise, dim, size: n }, labels);
  assert.ok(qAligned > 5 * qNoise, `aligned ${qAligned} vs noise ${qNoise}`);
  assert.ok(qNoise >= 0);
});

Deno.test("quadraticMutualInformation() is 0 when every sample has the same direction", () => {
  // All K_ij = 1: V_IN = Σ p_c², V_ALL = Σ p_c², V_BTW = Σ p_c² → QMI = 0.
  const values = new Float32Array([1, 2, 2, 4, 0.5, 1, 3, 6]);
  const q = quadraticMutualInformation({ values, dim: 2, size: 4 }, new Int32Array([0, 1, 1, 2]));
  assert.ok(Math.abs(q) < 1e-12);
});

Deno.test("quadraticMutualInformation() gives a number, not NaN, for all-zero features", () => {
  const q = quadraticMutualInformation(
    { values: new Float32Array(6), dim: 2, size: 3 },
    new Int32Array([0, 1, 0]),
  );
  assert.ok(Number.isFinite(q));
  assert.ok(Math.abs(q) < 1e-12);
});

Deno.test("quadraticMutualInformation() rejects features that do not match the labels", () => {
  const rows = (values: number, size: number) => ({
    values: new Float32Array(values),
    dim: 2,
    size,
  });
  assert.throws(() => quadraticMutualInformation(rows(5, 3), new Int32Array(3)), KtError);
  assert.throws(() => quadraticMutualInformation(rows(6, 3), new Int32Array(2)), KtError);
  assert.throws(() => quadraticMutualInformation(rows(6, 2), new Int32Array(3)), KtError);
});
