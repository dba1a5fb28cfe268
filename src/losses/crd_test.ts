import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { createRng } from "../rng.ts";
import {
  contrastSample,
  contrastSampler,
  crdContrastLoss,
  crdEmbed,
  crdNormalizer,
  crdUpdateMemory,
} from "./crd.ts";
import {
  assertAllClose,
  assertClose,
  assertFinite,
  assertNoLeak,
  dot,
  type M,
  matrixFiniteDifference,
  normalize,
  randomMatrix,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

// ---------------------- float64 reference: RepDistiller's ContrastMemory scores + ContrastLoss

/** out[i][j] = exp(⟨memory[idx[i][j]], v_i⟩ / T), the scores before dividing by Z. */
function refScores(v: M, memory: M, idx: number[][], T: number): M {
  return idx.map((r, i) => r.map((j) => Math.exp(dot(memory[j], v[i]) / T)));
}

function refNormalizer(v: M, memory: M, idx: number[][], T: number): number {
  const out = refScores(v, memory, idx, T).flat();
  return (out.reduce((a, x) => a + x, 0) / out.length) * memory.length;
}

function refContrast(v: M, memory: M, idx: number[][], T: number, Z: number): number {
  const out = refScores(v, memory, idx, T).map((r) => r.map((x) => x / Z));
  const m = idx[0].length - 1;
  const pn = 1 / memory.length;
  const eps = 1e-7;
  let total = 0;
  for (const r of out) {
    total += Math.log(r[0] / (r[0] + m * pn + eps));
    for (const x of r.slice(1)) total += Math.log((m * pn) / (x + m * pn + eps));
  }
  return -total / out.length;
}

function loss(v: M, memory: M, idx: number[][], T: number, Z: number): number {
  return valueOf(() =>
    crdContrastLoss(
      tf.tensor2d(v),
      tf.tensor2d(memory),
      contrastSample(Int32Array.from(idx.flat()), v.length, memory.length),
      { temperature: T, normalizer: Z },
    )
  );
}

// ------------------------------------------------------------------------------------- tests

Deno.test("crdContrastLoss() matches the hand-worked NCE value of one anchor", () => {
  // v = (1, 0); bank rows (1, 0), (0, 1), (−1, 0); positive 0, negatives 1 and 2; T = 1, Z = 3.
  // P = e/3, 1/3, e⁻¹/3; m·P_n = 2/3.
  const c = 2 / 3 + 1e-7;
  const p = [Math.E / 3, 1 / 3, 1 / (3 * Math.E)];
  const expected = -(Math.log(p[0] / (p[0] + c)) + Math.log((2 / 3) / (p[1] + c)) +
    Math.log((2 / 3) / (p[2] + c)));
  assertClose(expected, 1.1257577, 1e-6, "hand arithmetic"); // 0.551445 + 0.405465 + 0.168848
  const memory = [[1, 0], [0, 1], [-1, 0]];
  assertClose(loss([[1, 0]], memory, [[0, 1, 2]], 1, 3), expected, 1e-6, "crdContrastLoss");
});

Deno.test("crdContrastLoss() and crdNormalizer() match the float64 reference, repeated negatives too", () => {
  const v = randomMatrix(4, 3, 1).map(normalize);
  const memory = randomMatrix(9, 3, 2).map(normalize);
  const idx = [[0, 4, 4, 8], [1, 2, 3, 5], [7, 0, 0, 0], [3, 8, 6, 1]];
  const T = 0.07;
  const Z = refNormalizer(v, memory, idx, T);
  const got = tf.tidy(() =>
    crdNormalizer(
      tf.tensor2d(v),
      tf.tensor2d(memory),
      contrastSample(Int32Array.from(idx.flat()), 4, 9),
      T,
    )
  );
  assertClose(got, Z, 1e-5, "Z");
  assertClose(loss(v, memory, idx, T, Z), refContrast(v, memory, idx, T, Z), 1e-5, "loss");
  assertClose(loss(v, memory, idx, 0.5, 2), refContrast(v, memory, idx, 0.5, 2), 1e-5, "T = 0.5");
});

Deno.test("crdContrastLoss() gradient matches central finite differences", () => {
  const v = randomMatrix(3, 4, 3).map(normalize);
  const memory = randomMatrix(7, 4, 4).map(normalize);
  const idx = [[0, 1, 2, 2], [5, 6, 0, 1], [2, 3, 4, 5]];
  const sample = contrastSample(Int32Array.from(idx.flat()), 3, 7);
  const mem = tf.tensor2d(memory);
  const g = tf.tidy(() =>
    tf.grad((x) =>
      crdContrastLoss(x as tf.Tensor2D, mem, sample, { temperature: 0.2, normalizer: 5 })
    )(tf.tensor2d(v)).dataSync()
  );
  const expected = matrixFiniteDifference((x) => refContrast(x, memory, idx, 0.2, 5), v);
  assertAllClose(g, expected, 2e-3, "d nce / d anchor");
  tf.dispose([mem, sample.positive, sample.negative]);
});

Deno.test("contrastSample() splits the indices into each row's positive and counts of its negatives", () => {
  const s = contrastSample(Int32Array.from([0, 2, 2, 1, 0, 3]), 2, 4);
  assert.deepEqual(s.positive.arraySync(), [0, 1]);
  assert.deepEqual(s.negative.arraySync(), [[0, 0, 2, 0], [1, 0, 0, 1]]);
  assert.equal(s.k, 2);
  tf.dispose([s.positive, s.negative]);
  assert.throws(() => contrastSample(Int32Array.from([0, 9]), 1, 4), /outside the bank/);
  assert.throws(() => contrastSample(Int32Array.from([0, 1, 2]), 2, 4), KtError);
});

Deno.test("crdUpdateMemory() mixes the batch into its rows with momentum and renormalises", () => {
  const m = tf.tensor2d([[1, 0], [0, 1], [0.6, 0.8]]);
  const next = crdUpdateMemory(m, Int32Array.from([2, 0]), tf.tensor2d([[0, 1], [0, 0]]), 0.5);
  // row 2: normalize(½(0.6, 0.8) + ½(0, 1)) = (0.3, 0.9)/√0.9; row 0: normalize(½(1, 0)) = (1, 0)
  const r = 1 / Math.sqrt(0.9);
  assertAllClose(next.dataSync(), [1, 0, 0, 1, 0.3 * r, 0.9 * r], 1e-6, "bank");
  tf.dispose([m, next]);
});

Deno.test("crdEmbed() is a linear map followed by row normalisation, zero rows stay zero", () => {
  const out = tf.tidy(() =>
    crdEmbed(tf.tensor2d([[1, 2], [0, 0]]), {
      kernel: tf.tensor2d([[1, 0], [0, 1]]),
      bias: tf.tensor1d([2, 2]),
    }).arraySync()
  );
  assertAllClose(out.flat(), [0.6, 0.8, Math.SQRT1_2, Math.SQRT1_2], 1e-6, "embed");
  const zero = tf.tidy(() =>
    crdEmbed(tf.tensor2d([[1, 1]]), { kernel: tf.zeros([2, 3]), bias: tf.zeros([3]) }).dataSync()
  );
  assert.deepEqual(Array.from(zero), [0, 0, 0]);
});

Deno.test("contrastSampler() draws RepDistiller's exact and relax contrasts", () => {
  const labels = Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 2, 1]);
  const batch = Int32Array.from([0, 4, 8, 9]);
  const k = 5;
  const exact = contrastSampler(labels, k, "exact", createRng(1));
  for (let round = 0; round < 20; round++) {
    const idx = exact(batch);
    batch.forEach((row, i) => {
      const r = Array.from(idx.slice(i * (k + 1), (i + 1) * (k + 1)));
      assert.equal(r[0], row, "positive = the sample itself");
      const negs = r.slice(1);
      assert.ok(negs.every((j) => labels[j] !== labels[row]), `other classes only: ${negs}`);
      assert.equal(new Set(negs).size, k, "K ≤ negatives of the class: no repeats");
    });
  }
  const relax = contrastSampler(labels, 12, "relax", createRng(2));
  const idx = relax(batch);
  batch.forEach((row, i) => {
    const r = Array.from(idx.slice(i * 13, (i + 1) * 13));
    assert.equal(labels[r[0]], labels[row], "positive of the same class");
    assert.ok(r.slice(1).every((j) => labels[j] !== labels[row]), "negatives of other classes");
  });
  // Seeded: the same seed draws the same contrast.
  const a = contrastSampler(labels, k, "exact", createRng(3))(batch);
  const b = contrastSampler(labels, k, "exact", createRng(3))(batch);
  assert.deepEqual(a, b);
  assert.throws(() => contrastSampler(Int32Array.from([0, 0]), 2, "exact", createRng(1)), KtError);
});

Deno.test("crdContrastLoss() stays finite with finite gradients on degenerate batches", () => {
  const memory = tf.tensor2d(randomMatrix(6, 3, 5).map(normalize));
  const idx = Int32Array.from([0, 1, 2, 3, 1, 4, 5, 5]);
  const sample = contrastSample(idx, 2, 6);
  const base = randomMatrix(2, 3, 6).map(normalize);
  const cases: Record<string, M> = {
    "identical samples": [base[0], base[0]],
    "zero anchors": [[0, 0, 0], [0, 0, 0]],
    "huge scores": [[1e4, 0, 0], [0, -1e4, 0]],
  };
  for (const [name, v] of Object.entries(cases)) {
    const [value, g] = tf.tidy(() => {
      const f = (x: tf.Tensor) =>
        crdContrastLoss(x as tf.Tensor2D, memory, sample, { temperature: 0.07, normalizer: 6 });
      return [f(tf.tensor2d(v)).dataSync()[0], tf.grad(f)(tf.tensor2d(v)).dataSync()];
    });
    assert.ok(Number.isFinite(value), `${name}: loss ${value}`);
    assertFinite(g, `${name}: gradient`);
  }
  tf.dispose([memory, sample.positive, sample.negative]);
});

Deno.test("crdContrastLoss() and crdUpdateMemory() leak no tensors across steps", () => {
  const v = tf.variable(tf.tensor2d(randomMatrix(4, 3, 7)));
  let memory = tf.tensor2d(randomMatrix(10, 3, 8).map(normalize));
  const draw = contrastSampler(
    Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 2, 2]),
    4,
    "exact",
    createRng(9),
  );
  const batch = Int32Array.from([0, 3, 8, 5]);
  assertNoLeak(() => {
    const sample = contrastSample(draw(batch), 4, 10);
    const { value, grads } = tf.variableGrads(() =>
      crdContrastLoss(v, memory, sample, { temperature: 0.07, normalizer: 10 })
    );
    const next = crdUpdateMemory(memory, batch, v, 0.5);
    memory.dispose();
    memory = next;
    tf.dispose([value, ...Object.values(grads), sample.positive, sample.negative]);
  });
  tf.dispose([v, memory]);
});
