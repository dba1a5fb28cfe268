import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { useBackend } from "./select.ts";
import { batchNormalization } from "./batch_norm_layer.ts";
import { createRng } from "../rng.ts";
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from "./kernels/batch_norm.ts";
import { countKernelCalls } from "./kernels/kernel_spy.ts";

interface Run {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
  /** Calls of the fused kernels by name (wasm runs only). */
  fusedCalls: Record<string, number>;
  /** The moving variance PyTorch's rule gives after the three calls, in float64. */
  torchMovingVariance: Float64Array;
}

/** Moving variance after `calls` updates v ← 0.9·v + 0.1·unbiased(x), v₀ = 2, per channel. */
function torchMovingVariance(xv: Float32Array, c: number, calls: number): Float64Array {
  const n = xv.length / c;
  const out = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let mean = 0;
    for (let i = ch; i < xv.length; i += c) mean += xv[i];
    mean /= n;
    let ss = 0;
    for (let i = ch; i < xv.length; i += c) ss += (xv[i] - mean) ** 2;
    let v = 2;
    for (let k = 0; k < calls; k++) v = 0.9 * v + 0.1 * ss / (n - 1);
    out[ch] = v;
  }
  return out;
}

/** One training-mode call of a BN layer and the gradients of Σ y·w, on `backend`. */
async function trainingStep(
  backend: "wasm" | "cpu",
  stock: boolean,
  shape: number[],
  seed: number,
): Promise<Run> {
  await useBackend(backend);
  const rng = createRng(seed);
  const c = shape[shape.length - 1];
  const size = shape.reduce((a, b) => a * b, 1);
  // Channels with different offsets and scales, so centring and scaling matter.
  const xv = Float32Array.from(
    { length: size },
    (_, i) => 3 * (i % c) - 4 + (1 + (i % c)) * rng.normal(),
  );
  const wv = Float32Array.from({ length: size }, () => rng.normal());
  const gamma = Float32Array.from({ length: c }, () => 1 + 0.5 * rng.normal());
  const beta = Float32Array.from({ length: c }, () => rng.normal());
  const args = { momentum: 0.9, epsilon: 1e-5, inputShape: shape.slice(1) };
  const layer = stock ? tfl.layers.batchNormalization(args) : batchNormalization(args);
  layer.build(shape);
  const [, , mm, mv] = layer.getWeights(); // the variables themselves: not disposed here
  layer.setWeights([
    tf.tensor(gamma),
    tf.tensor(beta),
    tf.fill(mm.shape, 0.5),
    tf.fill(mv.shape, 2),
  ]);
  const x = tf.tensor(xv, shape);
  const w = tf.tensor(wv, shape);
  let out!: Run;
  const step = () => {
    const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const f = (xx: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, w));
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const dx = tf.grad(f)(x);
    const { grads } = tf.variableGrads(() => f(x) as tf.Scalar, vars);
    out = {
      y: y.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
      dgamma: grads[vars[0].name].dataSync() as Float32Array,
      dbeta: grads[vars[1].name].dataSync() as Float32Array,
      movingMean: new Float32Array(0),
      movingVariance: new Float32Array(0),
      fusedCalls: {},
      torchMovingVariance: torchMovingVariance(xv, c, 3),
    };
    tf.dispose([y, dx, ...Object.values(grads)]);
  };
  if (backend === "wasm") {
    const calls = countKernelCalls([BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD], step);
    out.fusedCalls = calls;
  } else {
    step();
  }
  const weights = layer.getWeights();
  out.movingMean = weights[2].dataSync() as Float32Array;
  out.movingVariance = weights[3].dataSync() as Float32Array;
  tf.dispose([x, w]);
  for (const v of layer.weights) v.dispose();
  return out;
}

function assertClose(got: Float32Array, want: Float32Array, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, what);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  assert.ok(diff / scale <= tol, `${what}: relative error ${(diff / scale).toExponential(2)}`);
}

for (const shape of [[4, 5, 6, 8], [3, 3, 3, 12], [16, 4], [5, 4, 4, 3]]) {
  const fused = shape[shape.length - 1] % 4 === 0;
  Deno.test(`KtBatchNormalization ${shape}: output, gradients and moving mean equal the stock layer on cpu, moving variance follows PyTorch's unbiased rule${fused ? " (fused kernels ran)" : " (stock fallback)"}`, async () => {
    const ref = await trainingStep("cpu", true, shape, 7);
    const got = await trainingStep("wasm", false, shape, 7);
    const gotCpu = await trainingStep("cpu", false, shape, 7);
    for (const key of ["y", "dx", "dgamma", "dbeta", "movingMean"] as const) {
      assertClose(got[key], ref[key], key);
      assertClose(gotCpu[key], ref[key], `${key} (kt layer on cpu)`);
    }
    const want = Float32Array.from(got.torchMovingVariance);
    assertClose(got.movingVariance, want, "moving variance (wasm)");
    assertClose(gotCpu.movingVariance, want, "moving variance (cpu)");
    // The stock layer averages the biased variance: different whenever n is small.
    const n = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const stockGap = Math.abs(ref.movingVariance[0] - want[0]) / want[0];
    assert.ok(stockGap > 0.1 * (1 - 0.9 ** 3) / n, `stock gap ${stockGap}`);
    assert.equal(got.fusedCalls[BATCH_NORM_TRAIN] > 0, fused);
    assert.equal(got.fusedCalls[BATCH_NORM_TRAIN_GRAD] > 0, fused);
    // Three training calls each moved the moving mean 10 % of the way from its value (0.5 at
    // first) to the batch mean (channel 0: about -4).
    const expected = 0.5 * 0.9 ** 3 - 4 * (1 - 0.9 ** 3);
    assert.ok(Math.abs(got.movingMean[0] - expected) < 0.1, `moving mean ${got.movingMean[0]}`);
  });
}

Deno.test("KtBatchNormalization saves as a plain BatchNormalization and loads back as kt's layer", async () => {
  await useBackend("wasm");
  const input = tfl.input({ shape: [4, 4, 8] });
  const out = batchNormalization({ name: "bn", momentum: 0.9 }).apply(input) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  const config = model.toJSON(null, false) as { config: { layers: Array<{ class_name: string }> } };
  assert.equal(config.config.layers[1].class_name, "BatchNormalization");
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
  assert.equal(loaded.layers[1].constructor.name, "KtBatchNormalization");
  const x = tf.randomNormal([2, 4, 4, 8], 0, 1, "float32", 3);
  assertClose(
    (loaded.predict(x) as tf.Tensor).dataSync() as Float32Array,
    (model.predict(x) as tf.Tensor).dataSync() as Float32Array,
    "loaded model output",
    0,
  );
});
