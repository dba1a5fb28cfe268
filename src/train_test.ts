import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "./backend/select.ts";
import { DivergenceError, isDivergence, scheduledLr, trainModel } from "./train.ts";
import { extractFeatures, extractLayers, loadModel, predictLogits, saveModel } from "./model.ts";
import type { Dataset } from "./data.ts";
import { createRng } from "./rng.ts";
import { KtError } from "./errors.ts";
import mlp from "../plugins/models/mlp.ts";
import cnn from "../plugins/models/cnn.ts";

await useBackend("wasm");

/** Two Gaussian blobs per class in 8×8×1 "images": easily separable. */
function blobs(n: number, classes: number, seed: number): Dataset {
  const rng = createRng(seed);
  const d = 64;
  const centers = Array.from(
    { length: classes },
    () => Array.from({ length: d }, () => rng.normal()),
  );
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let k = 0; k < d; k++) x[i * d + k] = centers[y[i]][k] + 0.5 * rng.normal();
  }
  return { name: "blobs", x, y, shape: [8, 8, 1], size: n, numClasses: classes };
}

function accuracyOf(logits: Float32Array, labels: Int32Array, classes: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    }
    if (best === labels[i]) correct++;
  }
  return correct / labels.length;
}

const build = (seed: number) =>
  mlp.build(mlp.options.parse({ hidden: [32, 16] }), {
    inputShape: [8, 8, 1],
    numClasses: 4,
    seed,
  });

Deno.test("trainModel() learns a separable problem and the loss falls", async () => {
  const data = blobs(512, 4, 1);
  const model = build(1);
  const history = await trainModel(model, data, {
    epochs: 4,
    batchSize: 32,
    optimizer: { type: "adam", lr: 3e-3 },
    seed: 0,
    progress: false,
  });
  assert.ok(history[3].loss < history[0].loss * 0.5, `loss ${history.map((h) => h.loss)}`);
  const acc = accuracyOf((await predictLogits(model, data)).values, data.y, 4);
  assert.ok(acc > 0.95, `accuracy ${acc}`);
  model.net.dispose();
});

Deno.test("trainModel() repeats exactly for the same seed and differs for another", async () => {
  const data = blobs(256, 4, 2);
  const run = async (seed: number) => {
    const model = build(7);
    const h = await trainModel(model, data, {
      epochs: 2,
      batchSize: 32,
      optimizer: { type: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 1e-4 },
      seed,
      progress: false,
    });
    const w = Array.from(model.net.getWeights()[0].dataSync());
    model.net.dispose();
    return { losses: h.map((r) => r.loss), w };
  };
  const a = await run(3);
  const b = await run(3);
  const c = await run(4);
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(a.w, b.w);
  assert.notDeepEqual(a.losses, c.losses);
});

Deno.test("trainModel() does not grow tf.memory() across steps and epochs", async () => {
  const data = blobs(128, 4, 3);
  const model = cnn.build(cnn.options.parse({ filters: [4, 8], batchNorm: true, dense: [16] }), {
    inputShape: [8, 8, 1],
    numClasses: 4,
    seed: 1,
  });
  const counts: number[] = [];
  const bytes: number[] = [];
  await trainModel(model, data, {
    epochs: 4,
    batchSize: 16,
    optimizer: { type: "adam", lr: 1e-3 },
    seed: 0,
    progress: false,
    onEpoch: () => (counts.push(tf.memory().numTensors), bytes.push(tf.memory().numBytes)),
  });
  assert.equal(counts[1], counts[3], `tensor counts per epoch ${counts}`);
  assert.equal(counts[2], counts[3]);
  assert.equal(bytes[1], bytes[3], `bytes per epoch ${bytes}`);
  model.net.dispose();
});

Deno.test("trainModel() stops as diverged when the loss becomes NaN", async () => {
  const data = blobs(64, 4, 4);
  data.x[5] = NaN;
  const model = build(1);
  await assert.rejects(
    () =>
      trainModel(model, data, {
        epochs: 1,
        batchSize: 64,
        optimizer: { type: "adam", lr: 1e-3 },
        seed: 0,
        progress: false,
      }),
    (e: unknown) =>
      e instanceof DivergenceError &&
      /^training diverged: the loss became NaN at epoch 1, step 1$/.test(e.message),
  );
  model.net.dispose();
});

Deno.test("trainModel() stops as diverged when the loss grows by orders of magnitude (lr 1e6)", async () => {
  const data = blobs(64, 4, 5);
  const model = build(1);
  const opts = {
    epochs: 2,
    batchSize: 8,
    optimizer: { type: "adam" as const, lr: 1e6 },
    seed: 0,
    progress: false as const,
  };
  let caught: unknown;
  try {
    await trainModel(model, data, opts);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DivergenceError, `expected a DivergenceError, got ${caught}`);
  assert.match(
    caught.message,
    /^training diverged: the loss grew to \S+, more than 10000 × its lowest \(\S+\) at epoch 1, step \d+$/,
  );
  assert.match(caught.hint!, /lower the learning rate \(lr 1000000\).*divergence: false/);
  assert.ok(isDivergence(new KtError("wrapped", { cause: caught })));
  model.net.dispose();

  // Turned off, only NaN/Inf would stop it: the same run trains to a huge but finite loss.
  const unchecked = build(1);
  const history = await trainModel(unchecked, data, { ...opts, divergence: false });
  assert.ok(
    history[1].loss > 1e4 * history[0].loss || history[1].loss > 100,
    `${history.map((h) => h.loss)}`,
  );
  unchecked.net.dispose();
});

Deno.test("trainModel() does not call a noisy but converging run diverged", async () => {
  const data = blobs(256, 4, 6);
  const model = build(2);
  const history = await trainModel(model, data, {
    epochs: 6,
    batchSize: 8,
    optimizer: { type: "adam", lr: 1e-2 },
    seed: 0,
    progress: false,
    divergence: { factor: 100 },
  });
  assert.equal(history.length, 6);
  model.net.dispose();
});

Deno.test("scheduledLr() steps the learning rate by gamma", () => {
  assert.equal(scheduledLr(0.1, 0, { gamma: 0.1, stepSize: 10 }), 0.1);
  assert.ok(Math.abs(scheduledLr(0.1, 10, { gamma: 0.1, stepSize: 10 }) - 0.01) < 1e-12);
  assert.ok(
    Math.abs(scheduledLr(0.1, 25, { gamma: 0.5, milestones: [5, 20, 30] }) - 0.025) < 1e-12,
  );
  assert.equal(scheduledLr(0.1, 99), 0.1);
});

Deno.test("saveModel()/loadModel() round-trip gives identical outputs and representation", async () => {
  const data = blobs(40, 4, 5);
  const model = cnn.build(cnn.options.parse({ filters: [4], batchNorm: true, dense: [8] }), {
    inputShape: [8, 8, 1],
    numClasses: 4,
    seed: 2,
  });
  await trainModel(model, data, {
    epochs: 1,
    batchSize: 8,
    optimizer: { type: "adam", lr: 1e-2 },
    seed: 0,
    progress: false,
  });
  const dir = await Deno.makeTempDir();
  try {
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    assert.equal(loaded.representation, "fc1");
    assert.deepEqual(
      (await extractFeatures(loaded, data)).values,
      (await extractFeatures(model, data)).values,
    );
    assert.deepEqual(
      (await predictLogits(loaded, data)).values,
      (await predictLogits(model, data)).values,
    );
    loaded.net.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
    model.net.dispose();
  }
});

Deno.test("trainModel() trains the variables a loss term creates in init()", async () => {
  const { default: hintOptimized } = await import("../plugins/losses/hint_optimized.ts");
  const data = blobs(64, 4, 6);
  const model = build(3);
  const rng = createRng(9);
  const teacher = {
    values: Float32Array.from({ length: 64 * 5 }, () => rng.normal()),
    dim: 5,
    size: 64,
  };
  const term = hintOptimized.create(hintOptimized.options.parse({}), { seed: 1 });
  await trainModel(model, data, {
    epochs: 1,
    batchSize: 64,
    optimizer: { type: "adam", lr: 1e-2 },
    seed: 0,
    progress: false,
    loss: term,
    targets: { features: teacher },
  });
  assert.equal(term.variables?.length, 1);
  const before = hintOptimized.create(hintOptimized.options.parse({}), { seed: 1 });
  before.init!({
    student: tf.zeros([2, 16]),
    studentLogits: tf.zeros([2, 4]),
    teacher: tf.zeros([2, 5]),
    studentLayers: {},
    teacherLayers: {},
    labels: tf.tensor1d([0, 1], "int32"),
    numClasses: 4,
    epoch: 0,
  });
  const initial = before.variables![0].dataSync();
  const trained = term.variables![0].dataSync();
  assert.deepEqual(term.variables![0].shape, [16, 5]);
  assert.ok(trained.some((v, i) => Math.abs(v - initial[i]) > 1e-4), "projection did not move");
  model.net.dispose();
});

Deno.test("extractLayers() gives each layer in one pass, the same as one layer at a time", async () => {
  const data = blobs(70, 4, 8);
  const model = cnn.build(cnn.options.parse({ filters: [4], batchNorm: true, dense: [8] }), {
    inputShape: [8, 8, 1],
    numClasses: 4,
    seed: 3,
  });
  const layers = ["representation", "logits", "pool1", "fc1"];
  const together = await extractLayers(model, data, layers, 32);
  for (const [i, l] of layers.entries()) {
    assert.deepEqual(together[i], await extractFeatures(model, data, l, 32), l);
  }
  assert.deepEqual([together[0].dim, together[1].dim, together[2].dim], [8, 4, 4 * 4 * 4]);
  model.net.dispose();
});
