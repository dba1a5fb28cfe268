import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import {
  labelProbabilities,
  multiLayerPktLoss,
  PKT_DIVERGENCES,
  PKT_KERNELS,
  pktLoss,
  type PktOptions,
  pktProbabilities,
  supervisedPktLoss,
} from "./pkt.ts";
import {
  assertAllClose,
  assertClose,
  type M,
  matrixFiniteDifference,
  randomMatrix,
} from "./testing.ts";

await tf.setBackend("cpu");

// ------------------------------------------------------------ plain-JS fp64 reference (DESIGN §1)

function refCosineKernel(x: M, eps: number): M {
  const u = x.map((r) => {
    const n = Math.sqrt(r.reduce((a, v) => a + v * v, 0));
    return r.map((v) => {
      const y = v / (n + eps);
      return Number.isNaN(y) ? 0 : y;
    });
  });
  return u.map((a) => u.map((b) => (a.reduce((s, v, k) => s + v * b[k], 0) + 1) / 2));
}

function refDistances(x: M): M {
  return x.map((a) =>
    x.map((b) => Math.sqrt(Math.max(a.reduce((s, v, k) => s + (v - b[k]) ** 2, 0), 0) + 1e-6))
  );
}

function refKernel(x: M, kernel: string, o: Required<PktOptions>, fixedSigma?: number): M {
  if (kernel === "cosine") return refCosineKernel(x, o.eps);
  const d = refDistances(x);
  const meanD = d.flat().reduce((a, v) => a + v, 0) / (x.length * x.length);
  switch (kernel) {
    case "rbf":
      return d.map((r) => r.map((v) => Math.exp(-v / o.sigma)));
    case "adaptive-rbf": {
      const s = fixedSigma ?? meanD;
      return d.map((r) => r.map((v) => Math.exp(-v / s)));
    }
    case "student-t":
      return d.map((r) => r.map((v) => 1 / (1 + v ** o.delta)));
    case "cauchy":
      return d.map((r) => r.map((v) => 1 / (1 + (v * v) / (o.sigma * o.sigma))));
  }
  throw new Error(kernel);
}

function refRowNormalise(k: M): M {
  return k.map((r) => {
    const s = r.reduce((a, v) => a + v, 0);
    return r.map((v) => v / s);
  });
}

function refDivergence(p: M, q: M, name: string, eps: number): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    for (let j = 0; j < p.length; j++) {
      const a = p[i][j];
      const b = q[i][j];
      const lr = Math.log(a + eps) - Math.log(b + eps);
      total += name === "kl"
        ? a * lr
        : name === "jeffreys"
        ? (a - b) * lr
        : name === "abs"
        ? Math.abs(a - b)
        : name === "squared"
        ? (a - b) ** 2
        : name === "exponential"
        ? a * lr * lr
        : (a - b) ** 2 / (a + eps);
    }
  }
  return total / (p.length * p.length);
}

const DEFAULTS: Required<PktOptions> = {
  kernel: "cosine",
  divergence: "kl",
  eps: 1e-7,
  sigma: 1,
  delta: 1,
};

function refPkt(s: M, t: M, options: PktOptions = {}, fixedSigma?: number): number {
  const o = { ...DEFAULTS, ...options };
  const kernels = o.kernel === "combined" ? ["cosine", "student-t"] : [o.kernel];
  return kernels.reduce((acc, k) => {
    const p = refRowNormalise(refKernel(t, k, o, fixedSigma));
    const q = refRowNormalise(refKernel(s, k, o, fixedSigma));
    return acc + refDivergence(p, q, o.divergence, o.eps);
  }, 0);
}

function lossValue(s: M, t: M, o: PktOptions = {}): number {
  return tf.tidy(() => pktLoss(tf.tensor2d(s), tf.tensor2d(t), o).dataSync()[0]);
}

function lossGrad(s: M, t: M, o: PktOptions = {}): Float32Array {
  return tf.tidy(() => {
    const tt = tf.tensor2d(t);
    const g = tf.grad((x: tf.Tensor) => pktLoss(x as tf.Tensor2D, tt, o))(tf.tensor2d(s));
    return g.dataSync() as Float32Array;
  });
}

// ------------------------------------------------------------------------------------- tests

Deno.test("pktLoss() matches the hand-computed official value on a 3×2 example", () => {
  // Student rows (1,0), (0,1), (1,1): cosines 0, 1/√2, 1/√2 → K = (cos + 1)/2.
  const h = (1 + Math.SQRT1_2) / 2;
  const kStudent = [[1, 0.5, h], [0.5, 1, h], [h, h, 1]];
  // Teacher rows (1,0), (1,0), (0,1): cosines 1, 0, 0.
  const kTeacher = [[1, 1, 0.5], [1, 1, 0.5], [0.5, 0.5, 1]];
  const rows = (k: M) => k.map((r) => r.map((v) => v / (r[0] + r[1] + r[2])));
  const p = rows(kTeacher); // [[.4,.4,.2],[.4,.4,.2],[.25,.25,.5]]
  const q = rows(kStudent);
  let expected = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) expected += p[i][j] * Math.log(p[i][j] / q[i][j]);
  }
  expected /= 9;
  assertClose(expected, 0.028356, 1e-5, "hand arithmetic"); // worked on paper: 0.255224 / 9
  const got = lossValue([[1, 0], [0, 1], [1, 1]], [[1, 0], [1, 0], [0, 1]]);
  assertClose(got, expected, 1e-5, "pktLoss");
});

Deno.test("pktLoss() accepts different student and teacher widths", () => {
  const s = randomMatrix(4, 3, 1);
  const t = randomMatrix(4, 7, 2);
  assertClose(lossValue(s, t), refPkt(s, t), 1e-4, "pktLoss 4×3 vs 4×7");
});

Deno.test("pktLoss() is zero when student equals teacher, for every kernel and divergence", () => {
  const x = randomMatrix(5, 3, 3);
  for (const kernel of PKT_KERNELS) {
    for (const divergence of PKT_DIVERGENCES) {
      const v = lossValue(x, x, { kernel, divergence });
      assert.ok(Math.abs(v) < 1e-7, `${kernel}/${divergence}: ${v}`);
    }
  }
});

Deno.test("pktLoss() (cosine) is invariant to positive rescaling of rows", () => {
  const s = randomMatrix(5, 3, 4);
  const t = randomMatrix(5, 6, 5);
  const factors = [0.5, 3, 1000, 1e15, 2];
  const scaled = s.map((r, i) => r.map((v) => v * factors[i]));
  assertClose(lossValue(scaled, t), lossValue(s, t), 1e-4, "rescaled student");
  const scaledT = t.map((r, i) => r.map((v) => v * factors[4 - i]));
  assertClose(lossValue(s, scaledT), lossValue(s, t), 1e-4, "rescaled teacher");
});

Deno.test("pktLoss() gradient matches central finite differences of an fp64 reference", () => {
  const s = randomMatrix(4, 3, 6);
  const t = randomMatrix(4, 5, 7);
  const expected = matrixFiniteDifference((x) => refPkt(x, t), s);
  assertAllClose(lossGrad(s, t), expected, 2e-3, "d pkt / d student");
});

Deno.test("pktLoss() variants match a plain-JS reference on random 5×3 inputs", () => {
  const s = randomMatrix(5, 3, 8);
  const t = randomMatrix(5, 3, 9);
  for (const kernel of PKT_KERNELS) {
    for (const divergence of PKT_DIVERGENCES) {
      const o: PktOptions = { kernel, divergence, sigma: 1.5, delta: 2 };
      assertClose(lossValue(s, t, o), refPkt(s, t, o), 1e-4, `${kernel}/${divergence}`);
    }
  }
  // defaults of sigma and delta
  for (const kernel of ["rbf", "student-t", "cauchy"] as const) {
    assertClose(lossValue(s, t, { kernel }), refPkt(s, t, { kernel }), 1e-4, `${kernel} defaults`);
  }
});

Deno.test("pktLoss() variant gradients match finite differences", () => {
  const s = randomMatrix(5, 3, 10);
  const t = randomMatrix(5, 3, 11);
  for (const kernel of ["rbf", "student-t", "cauchy", "combined"] as const) {
    for (const divergence of ["kl", "jeffreys", "squared", "kagan", "exponential"] as const) {
      const o: PktOptions = { kernel, divergence, sigma: 1.5, delta: 2 };
      const expected = matrixFiniteDifference((x) => refPkt(x, t, o), s);
      assertAllClose(lossGrad(s, t, o), expected, 3e-3, `grad ${kernel}/${divergence}`);
    }
  }
});

Deno.test("pktLoss() adaptive-rbf passes no gradient through its bandwidth", () => {
  const s = randomMatrix(5, 3, 12);
  const t = randomMatrix(5, 3, 13);
  const d = refDistances(s);
  const sigma0 = d.flat().reduce((a, v) => a + v, 0) / 25;
  // Differentiate with the student's σ frozen at its current value.
  const tSigma = refDistances(t).flat().reduce((a, v) => a + v, 0) / 25;
  const f = (x: M) => {
    const o = { ...DEFAULTS, kernel: "adaptive-rbf" as const };
    const p = refRowNormalise(refKernel(t, "adaptive-rbf", o, tSigma));
    const q = refRowNormalise(refKernel(x, "adaptive-rbf", o, sigma0));
    return refDivergence(p, q, "kl", o.eps);
  };
  const expected = matrixFiniteDifference(f, s);
  assertAllClose(lossGrad(s, t, { kernel: "adaptive-rbf" }), expected, 2e-3, "adaptive-rbf grad");
});

Deno.test("pktLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMatrix(4, 3, 14);
  const cases: Record<string, [M, M]> = {
    "all-zero student rows": [[[0, 0, 0], [0, 0, 0], ...base.slice(2)], base],
    "all-zero student": [base.map((r) => r.map(() => 0)), base],
    "all-zero teacher": [base, base.map((r) => r.map(() => 0))],
    "duplicated rows": [[base[0], base[0], base[0], base[1]], [base[2], base[2], base[3], base[3]]],
    "B = 1": [[base[0]], [base[1]]],
    "B = 2": [base.slice(0, 2), base.slice(2)],
    "huge 1e20": [base.map((r) => r.map((v) => v * 1e20)), base],
    "tiny 1e-20": [base.map((r) => r.map((v) => v * 1e-20)), base],
    "huge teacher": [base, base.map((r) => r.map((v) => v * 1e20))],
    "anti-parallel": [[[1, 2, 3], [-1, -2, -3]], [[1, 0, 0], [0, 1, 0]]],
  };
  for (const [name, [s, t]] of Object.entries(cases)) {
    for (const kernel of PKT_KERNELS) {
      for (const divergence of PKT_DIVERGENCES) {
        const what = `${name}, ${kernel}/${divergence}`;
        const v = lossValue(s, t, { kernel, divergence });
        assert.ok(Number.isFinite(v) && v >= -1e-6, `${what}: loss ${v}`);
        const g = lossGrad(s, t, { kernel, divergence });
        assert.ok(g.every(Number.isFinite), `${what}: gradient ${g}`);
      }
    }
  }
});

Deno.test("pktLoss() at huge magnitudes equals the loss of the rescaled inputs (cosine)", () => {
  const s = randomMatrix(4, 3, 15);
  const t = randomMatrix(4, 3, 16);
  const big = s.map((r) => r.map((v) => v * 1e20));
  assertClose(lossValue(big, t), refPkt(s, t), 1e-4, "1e20 student");
});

Deno.test("pktLoss() B = 1 is zero and a duplicated batch matches the reference", () => {
  assert.equal(lossValue([[1, 2]], [[3, -1, 2]]), 0);
  const s = [[1, 2, 0], [1, 2, 0], [0, 1, 1]];
  const t = [[0, 1, 0], [1, 0, 0], [1, 0, 0]];
  for (const kernel of PKT_KERNELS) {
    assertClose(lossValue(s, t, { kernel }), refPkt(s, t, { kernel }), 1e-4, `dup ${kernel}`);
  }
});

Deno.test("pktLoss() rejects bad shapes and options with a KtError", () => {
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const b = tf.tensor2d([[1, 2, 3]]);
  assert.throws(() => pktLoss(a, b), KtError);
  assert.throws(() => pktLoss(a, tf.tensor1d([1, 2]) as unknown as tf.Tensor2D), KtError);
  assert.throws(() => pktLoss(a, a, { kernel: "cosin" as "cosine" }), /unknown kernel "cosin"/);
  assert.throws(() => pktLoss(a, a, { divergence: "k1" as "kl" }), /unknown divergence/);
  assert.throws(() => pktLoss(a, a, { sigma: 0 }), /sigma must be/);
  assert.throws(() => pktLoss(a, a, { eps: -1 }), /eps must be/);
  tf.dispose([a, b]);
});

Deno.test("pktProbabilities() rows sum to one and match the cosine kernel by hand", () => {
  const p = pktProbabilities(tf.tensor2d([[1, 0], [0, 1]]));
  assertAllClose(p.dataSync(), [2 / 3, 1 / 3, 1 / 3, 2 / 3], 1e-6, "P");
  p.dispose();
});

Deno.test("supervisedPktLoss() matches the label-target reference", () => {
  const y = [0, 1, 0, 2, 1];
  const target = labelProbabilities(tf.tensor1d(y));
  assertAllClose(
    target.dataSync(),
    y.flatMap((a) => {
      const n = y.filter((b) => b === a).length;
      return y.map((b) => (a === b ? 1 / n : 0));
    }),
    1e-7,
    "P^y",
  );
  const s = randomMatrix(5, 3, 17);
  const py = y.map((a) => y.map((b) => (a === b ? 1 : 0) / y.filter((c) => c === a).length));
  for (const kernel of ["cosine", "student-t", "combined"] as const) {
    const o = { ...DEFAULTS, kernel };
    const kernels = kernel === "combined" ? ["cosine", "student-t"] : [kernel];
    const expected = kernels.reduce(
      (acc, k) => acc + refDivergence(py, refRowNormalise(refKernel(s, k, o)), "kl", o.eps),
      0,
    );
    const got = tf.tidy(() =>
      supervisedPktLoss(tf.tensor2d(s), tf.tensor1d(y, "int32"), { kernel }).dataSync()[0]
    );
    assertClose(got, expected, 1e-4, `S-PKT ${kernel}`);
  }
  target.dispose();
  assert.throws(() => supervisedPktLoss(tf.tensor2d(s), tf.tensor1d([0, 1])), KtError);
});

Deno.test("multiLayerPktLoss() is the weighted sum of per-pair losses", () => {
  const s1 = randomMatrix(4, 3, 18);
  const t1 = randomMatrix(4, 5, 19);
  const s2 = randomMatrix(4, 2, 20);
  const t2 = randomMatrix(4, 2, 21);
  const got = tf.tidy(() =>
    multiLayerPktLoss([
      { student: tf.tensor2d(s1), teacher: tf.tensor2d(t1), weight: 0.5 },
      { student: tf.tensor2d(s2), teacher: tf.tensor2d(t2), weight: 3 },
    ]).dataSync()[0]
  );
  assertClose(got, 0.5 * refPkt(s1, t1) + 3 * refPkt(s2, t2), 1e-4, "multi-layer");
  assert.throws(() => multiLayerPktLoss([]), KtError);
});

Deno.test("pktLoss() leaks no tensors across repeated gradient steps", () => {
  const s = tf.variable(tf.tensor2d(randomMatrix(8, 4, 22)));
  const t = tf.tensor2d(randomMatrix(8, 6, 23));
  const step = () => {
    const { value, grads } = tf.variableGrads(() => pktLoss(s, t, { kernel: "adaptive-rbf" }));
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([s, t]);
});
