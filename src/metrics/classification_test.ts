import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../backend/select.ts";
import { KtError } from "../errors.ts";
import { accuracy, knnAccuracy } from "./classification.ts";

Deno.test("accuracy() counts rows whose largest logit is the label", async () => {
  const logits = {
    values: new Float32Array([3, 1, 0, 0, 5, 1, 2, 2, 1, 0, 0, 9]),
    dim: 3,
    size: 4,
  };
  // argmax per row: 0, 1, 0 (tie 2,2 → lowest index), 2
  assert.equal(await accuracy(logits, new Int32Array([0, 1, 1, 2])), 3 / 4);
});

Deno.test("accuracy() accepts a tensor", async () => {
  await useBackend("cpu");
  const logits = tf.tensor2d([[0, 1], [1, 0]]);
  assert.equal(await accuracy(logits, new Int32Array([1, 1])), 0.5);
  logits.dispose();
});

// Database on a line (1-d, euclidean): positions and labels.
const db = { values: new Float32Array([0, 1, 2, 3, 10]), dim: 1, size: 5 };
const dbLabels = new Int32Array([0, 0, 1, 1, 2]);

Deno.test("knnAccuracy() with k = 1 takes the nearest item's label", async () => {
  const q = { values: new Float32Array([0.2, 2.9, 9]), dim: 1, size: 3 };
  // nearest: 0 (label 0), 3 (label 1), 10 (label 2)
  const acc = await knnAccuracy(q, new Int32Array([0, 1, 1]), db, dbLabels, {
    similarity: "euclidean",
  });
  assert.equal(acc, 2 / 3);
});

Deno.test("knnAccuracy() takes the majority of k neighbours", async () => {
  // q = 1.6: neighbours by distance 2 (0.4), 1 (0.6), 3 (1.4) → labels 1, 0, 1 → 1 wins.
  const q = { values: new Float32Array([1.6]), dim: 1, size: 1 };
  assert.equal(
    await knnAccuracy(q, new Int32Array([1]), db, dbLabels, { k: 3, similarity: "euclidean" }),
    1,
  );
});

Deno.test("knnAccuracy() breaks a tied vote by the nearest neighbour", async () => {
  // q = 1.4: neighbours 1 (0.4), 2 (0.6), 0 (1.4), 3 (1.6) with labels 0, 1, 1, 0: two votes
  // each; label 1 reaches two votes first, but label 0 has the nearest neighbour and wins.
  const q = { values: new Float32Array([1.4]), dim: 1, size: 1 };
  const labels = new Int32Array([1, 0, 1, 0, 2]);
  const options = { k: 4, similarity: "euclidean" } as const;
  assert.equal(await knnAccuracy(q, new Int32Array([0]), db, labels, options), 1);
  assert.equal(await knnAccuracy(q, new Int32Array([1]), db, labels, options), 0);
});

Deno.test("knnAccuracy() ranks equally similar items by lower index", async () => {
  // Cosine: both database items point along the query; index 0 (label 1) comes first.
  const q = { values: new Float32Array([1, 0]), dim: 2, size: 1 };
  const d = { values: new Float32Array([2, 0, 1, 0]), dim: 2, size: 2 };
  assert.equal(await knnAccuracy(q, new Int32Array([1]), d, new Int32Array([1, 0])), 1);
  assert.equal(await knnAccuracy(q, new Int32Array([0]), d, new Int32Array([1, 0])), 0);
});

Deno.test("knnAccuracy() rejects k larger than the database", async () => {
  const q = { values: new Float32Array([1]), dim: 1, size: 1 };
  await assert.rejects(
    () => knnAccuracy(q, new Int32Array([0]), db, dbLabels, { k: 6 }),
    KtError,
  );
});
