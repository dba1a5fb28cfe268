/**
 * Regression: on a small MNIST subset, a student trained with PKT alone (no labels) from a HoG
 * teacher retrieves far better than the same student without transfer, on every seed — the
 * margin is measured over seeds, not taken from one lucky run.
 */
import assert from "node:assert/strict";
import { useBackend } from "../src/backend.ts";
import mnist from "../plugins/datasets/mnist.ts";
import cnn from "../plugins/models/cnn.ts";
import pkt from "../plugins/losses/pkt.ts";
import { hogFeatures } from "../src/teachers/hog.ts";
import { trainModel } from "../src/train.ts";
import { extractFeatures } from "../src/model.ts";
import { retrievalMetrics } from "../src/metrics/retrieval.ts";
import { meanStd } from "../src/table.ts";

await useBackend("wasm");
const ctx = { cacheDir: ".kt/cache/datasets", seed: 0, log: () => {} };
const train = await mnist.load(mnist.options.parse({ split: "train", limit: 600 }), ctx);
const test = await mnist.load(mnist.options.parse({ split: "test", limit: 200 }), ctx);
const hog = hogFeatures(train.x, train.shape, { cellSize: 7 });
const targets = { features: { values: hog.values, dim: hog.dim, size: train.size } };

async function studentMap(seed: number, transfer: boolean): Promise<number> {
  const model = cnn.build(
    cnn.options.parse({ filters: [8, 16, 32], batchNorm: true, dense: [64] }),
    { inputShape: train.shape, numClasses: 10, seed },
  );
  if (transfer) {
    trainModel(model, train, {
      epochs: 4,
      batchSize: 64,
      optimizer: { type: "adam", lr: 1e-3 },
      seed,
      progress: false,
      loss: pkt.create(pkt.options.parse({}), { seed }),
      targets,
    });
  }
  const q = extractFeatures(model, test);
  const db = extractFeatures(model, train);
  const { mAP } = await retrievalMetrics(
    { values: q.values, dim: q.dim },
    test.y,
    { values: db.values, dim: db.dim },
    train.y,
  );
  model.net.dispose();
  return mAP;
}

Deno.test("PKT from a HoG teacher beats the untransferred student on every seed, by a clear margin", async () => {
  const seeds = [0, 1, 2];
  const withPkt: number[] = [];
  const without: number[] = [];
  for (const seed of seeds) {
    withPkt.push(await studentMap(seed, true));
    without.push(await studentMap(seed, false));
  }
  const a = meanStd(withPkt);
  const b = meanStd(without);
  const gaps = withPkt.map((m, i) => m - without[i]);
  const gap = meanStd(gaps);
  // Every seed improves, and the mean gain is far outside the seed-to-seed spread.
  assert.ok(gaps.every((g) => g > 0), `per-seed gains ${gaps}`);
  assert.ok(gap.mean > 3 * (gap.std ?? 0) && gap.mean > 0.05, `gain ${gap.mean} ± ${gap.std}`);
  console.log(
    `mAP with PKT ${a.mean.toFixed(3)} ± ${a.std?.toFixed(3)}, without ${b.mean.toFixed(3)} ± ${
      b.std?.toFixed(3)
    }`,
  );
});
