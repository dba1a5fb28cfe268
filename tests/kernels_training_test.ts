/**
 * No accuracy regression from kt's wasm kernels (generated SIMD filter gradients and max-pool
 * gradients, the composite kernels): the same seeds trained on wasm and on tfjs's plain cpu
 * backend — an independent implementation of every kernel — give the same per-epoch losses,
 * the same weights and the same test metrics, for cross-entropy and for PKT.
 */
import assert from "node:assert/strict";
import { useBackend } from "../src/backend/select.ts";
import mnist from "../plugins/datasets/mnist.ts";
import cnn from "../plugins/models/cnn.ts";
import pkt from "../plugins/losses/pkt.ts";
import { hogFeatures } from "../src/teachers/hog.ts";
import { trainModel } from "../src/train.ts";
import { extractFeatures, predictLogits } from "../src/model.ts";
import { retrievalMetrics } from "../src/metrics/retrieval.ts";
import { accuracy } from "../src/metrics/classification.ts";

const ctx = { cacheDir: ".kt/cache/datasets", seed: 0, log: () => {} };
const train = await mnist.load(mnist.options.parse({ split: "train", limit: 96 }), ctx);
const test = await mnist.load(mnist.options.parse({ split: "test", limit: 100 }), ctx);

interface Outcome {
  losses: number[];
  weights: Float32Array[];
  accuracy: number;
  map: number;
}

async function run(backend: "wasm" | "cpu", method: "ce" | "pkt"): Promise<Outcome> {
  await useBackend(backend);
  // conv4-8 (+BN for PKT): output channels multiples of 4 and 2×2 pools, so the SIMD kernels run.
  const model = cnn.build(
    cnn.options.parse({ filters: [4, 8], batchNorm: method === "pkt", dense: [16] }),
    { inputShape: train.shape, numClasses: 10, seed: 3 },
  );
  const hog = hogFeatures(train.x, train.shape, { cellSize: 7 });
  const history = await trainModel(model, train, {
    epochs: 5,
    batchSize: 32,
    optimizer: { type: "adam", lr: 5e-3 },
    seed: 5,
    progress: false,
    ...(method === "pkt"
      ? {
        loss: pkt.create(pkt.options.parse({}), { seed: 5 }),
        targets: { features: { values: hog.values, dim: hog.dim, size: train.size } },
      }
      : {}),
  });
  const logits = await predictLogits(model, test);
  const feats = await extractFeatures(model, test, "representation");
  const out = {
    losses: history.map((h) => h.loss),
    weights: model.net.getWeights().map((w) => w.dataSync() as Float32Array),
    accuracy: await accuracy(logits, test.y),
    map: (await retrievalMetrics(
      feats,
      test.y,
      feats,
      test.y,
    )).mAP,
  };
  model.net.dispose();
  return out;
}

for (const method of ["ce", "pkt"] as const) {
  Deno.test(`training with ${method} on wasm gives the cpu backend's losses, weights and metrics`, async () => {
    const cpu = await run("cpu", method);
    const wasm = await run("wasm", method);
    cpu.losses.forEach((l, i) => {
      const rel = Math.abs(wasm.losses[i] - l) / Math.abs(l);
      assert.ok(rel < 1e-3, `epoch ${i + 1} loss: wasm ${wasm.losses[i]} vs cpu ${l}`);
    });
    cpu.weights.forEach((w, k) => {
      let diff = 0;
      let scale = 1e-6;
      for (let i = 0; i < w.length; i++) {
        diff = Math.max(diff, Math.abs(wasm.weights[k][i] - w[i]));
        scale = Math.max(scale, Math.abs(w[i]));
      }
      assert.ok(diff / scale < 1e-3, `weight ${k}: relative difference ${diff / scale}`);
    });
    // One test image in 100 may flip on a float rounding difference; no more.
    assert.ok(
      Math.abs(wasm.accuracy - cpu.accuracy) <= 0.005,
      `accuracy ${wasm.accuracy} vs ${cpu.accuracy}`,
    );
    assert.ok(Math.abs(wasm.map - cpu.map) < 2e-3, `mAP ${wasm.map} vs ${cpu.map}`);
    // The training did something: better than chance on the test images.
    assert.ok(cpu.map > 0.15, `mAP ${cpu.map}`);
    if (method === "ce") assert.ok(cpu.accuracy > 0.2, `accuracy ${cpu.accuracy}`);
  });
}
