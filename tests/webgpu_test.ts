/**
 * WebGPU trains, extracts and evaluates in Deno: the same tiny models and seeds trained on tfjs's
 * webgpu backend (asynchronous reads only: src/backend/reads.ts) and on its plain cpu backend give the
 * same per-epoch losses and test metrics within {@linkcode LOSS_TOLERANCE} and
 * {@linkcode METRIC_TOLERANCE} (measured on llvmpipe: losses within 1e-5 relative, metrics equal).
 * Runs on whatever adapter Deno finds — on CI, Mesa's llvmpipe, a software adapter (slow: hence
 * tiny models and a few steps; ~40 s with a cold shader cache); skipped, saying so, without one.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { adapterLabel, useBackend, webgpuAdapter } from "../src/backend/select.ts";
import mnist from "../plugins/datasets/mnist.ts";
import cnn from "../plugins/models/cnn.ts";
import mlp from "../plugins/models/mlp.ts";
import pkt from "../plugins/losses/pkt.ts";
import { hogFeatures } from "../src/teachers/hog.ts";
import { crossEntropyTerm, trainModel } from "../src/train.ts";
import type { LossTerm } from "../src/api.ts";
import { extractFeatures, predictLogits } from "../src/model.ts";
import { retrievalMetrics } from "../src/metrics/retrieval.ts";
import { accuracy } from "../src/metrics/classification.ts";
import { ASYNC_LOSS_READ_INTERVAL } from "../src/backend/reads.ts";

/** Largest relative difference allowed between a webgpu and a cpu epoch loss. */
const LOSS_TOLERANCE = 1e-4;
/** Largest absolute difference allowed between webgpu and cpu accuracy / mAP (fractions). */
const METRIC_TOLERANCE = 0.01;

const adapter = await webgpuAdapter().catch(() => undefined);
if (!adapter) {
  console.error(
    "tests/webgpu_test.ts: SKIPPED — Deno found no WebGPU adapter here. For Mesa's software " +
      "adapter: apt-get install libegl-mesa0 libgl1-mesa-dri (what .ci/run installs).",
  );
}

const ctx = { cacheDir: ".kt/cache/datasets", seed: 0, log: () => {} };
const train = adapter
  ? await mnist.load(mnist.options.parse({ split: "train", limit: 96 }), ctx)
  : undefined;
const test = adapter
  ? await mnist.load(mnist.options.parse({ split: "test", limit: 100 }), ctx)
  : undefined;

interface Outcome {
  losses: number[];
  accuracy: number;
  map: number;
}

type Case = "cnn+bn, pkt" | "mlp, cross-entropy";

async function run(backend: "webgpu" | "cpu", which: Case): Promise<Outcome> {
  await useBackend(backend);
  const model = which === "mlp, cross-entropy"
    ? mlp.build(mlp.options.parse({ hidden: [32] }), {
      inputShape: train!.shape,
      numClasses: 10,
      seed: 3,
    })
    : cnn.build(cnn.options.parse({ filters: [4, 8], batchNorm: true, dense: [16] }), {
      inputShape: train!.shape,
      numClasses: 10,
      seed: 3,
    });
  const hog = hogFeatures(train!.x, train!.shape, { cellSize: 7 });
  const history = await trainModel(model, train!, {
    epochs: 3,
    batchSize: 32,
    optimizer: { type: "adam", lr: 5e-3 },
    seed: 5,
    progress: false,
    ...(which === "cnn+bn, pkt"
      ? {
        loss: pkt.create(pkt.options.parse({}), { seed: 5 }),
        targets: { features: { values: hog.values, dim: hog.dim, size: train!.size } },
      }
      : {}),
  });
  const logits = await predictLogits(model, test!);
  const feats = await extractFeatures(model, test!, "representation");
  const out = {
    losses: history.map((h) => h.loss),
    accuracy: await accuracy(logits, test!.y),
    map: (await retrievalMetrics(feats, test!.y, feats, test!.y)).mAP,
  };
  model.net.dispose();
  return out;
}

for (const which of ["mlp, cross-entropy", "cnn+bn, pkt"] as const) {
  Deno.test({
    name: `training ${which} on webgpu gives the cpu backend's epoch losses and test metrics`,
    ignore: !adapter,
    fn: async () => {
      const cpu = await run("cpu", which);
      const gpu = await run("webgpu", which);
      console.error(`  adapter: ${adapterLabel(adapter!)}`);
      cpu.losses.forEach((l, i) => {
        const rel = Math.abs(gpu.losses[i] - l) / Math.abs(l);
        assert.ok(rel < LOSS_TOLERANCE, `epoch ${i + 1} loss: webgpu ${gpu.losses[i]} vs cpu ${l}`);
      });
      for (const metric of ["accuracy", "map"] as const) {
        assert.ok(
          Math.abs(gpu[metric] - cpu[metric]) <= METRIC_TOLERANCE,
          `${metric}: webgpu ${gpu[metric]} vs cpu ${cpu[metric]}`,
        );
      }
      await useBackend("cpu");
    },
  });
}

Deno.test({
  name: "training on webgpu reads its losses in batches and stops a NaN loss as diverged",
  ignore: !adapter,
  fn: async () => {
    await useBackend("webgpu");
    const model = mlp.build(mlp.options.parse({ hidden: [8] }), {
      inputShape: train!.shape,
      numClasses: 10,
      seed: 1,
    });
    // A loss that turns NaN at its 3rd step (a GPU's ReLU maps NaN inputs to 0, so a NaN
    // sample would not do).
    let step = 0;
    const nanAtThird: LossTerm = {
      compute: (inputs) => {
        const ce = crossEntropyTerm.compute(inputs);
        return ++step === 3 ? tf.add(ce, NaN) as tf.Scalar : ce;
      },
    };
    const reads: number[] = [];
    const data = tf.Tensor.prototype.data;
    tf.Tensor.prototype.data = function (this: tf.Tensor) {
      reads.push(this.size);
      return data.call(this);
    } as typeof data;
    try {
      await assert.rejects(
        trainModel(model, train!, {
          epochs: 1,
          batchSize: 16,
          optimizer: { type: "adam", lr: 1e-3 },
          seed: 0,
          progress: false,
          loss: nanAtThird,
        }),
        /^DivergenceError: training diverged: the loss became NaN at epoch 1, step 3$/,
      );
    } finally {
      tf.Tensor.prototype.data = data;
      model.net.dispose();
      await useBackend("cpu");
    }
    // 96 samples / 16 = 6 steps, fewer than the interval: ONE read of all six losses.
    assert.ok(ASYNC_LOSS_READ_INTERVAL >= 6);
    assert.deepEqual(reads, [6]);
  },
});
