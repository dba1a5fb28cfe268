import assert from "node:assert/strict";
import { commonOptions, toDataset } from "./_common.ts";
import { z } from "../../src/api.ts";
import { assertKtError } from "../../tests/fixtures/datasets.ts";

const schema = z.object({ ...commonOptions }).strict();
// Six 1×1×2 samples; sample i holds pixels (10i, 10i+1), label i % 3.
const raw = (pixels: "bytes" | "values" = "bytes") => ({
  name: "t/train",
  pixels: pixels === "bytes"
    ? { bytes: Uint8Array.from({ length: 12 }, (_, k) => 10 * (k >> 1) + (k & 1)) }
    : { values: Float32Array.from({ length: 12 }, (_, k) => 10 * (k >> 1) + (k & 1)) },
  labels: Int32Array.from([0, 1, 2, 0, 1, 2]),
  shape: [1, 1, 2] as [number, number, number],
  numClasses: 3,
  source: "t",
});

Deno.test("commonOptions defaults: train split, unit scaling, file order, seed 0", () => {
  assert.deepEqual(schema.parse({}), {
    split: "train",
    normalization: "unit",
    shuffle: false,
    seed: 0,
  });
  assert.equal(schema.safeParse({ normalization: "zscore" }).success, false);
  assert.equal(schema.safeParse({ normalization: { mean: [0.5], std: [0] } }).success, false);
  assert.equal(schema.safeParse({ limit: 0 }).success, false);
});

Deno.test("toDataset() shuffle is a seeded permutation that keeps sample/label pairs", () => {
  const a = toDataset(raw(), schema.parse({ shuffle: true, normalization: "none", seed: 3 }));
  const b = toDataset(raw(), schema.parse({ shuffle: true, normalization: "none", seed: 3 }));
  assert.deepEqual(a, b);
  const order = Array.from({ length: 6 }, (_, i) => a.x[2 * i] / 10);
  assert.notDeepEqual(order, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4, 5]);
  order.forEach((s, i) => {
    assert.equal(a.y[i], s % 3);
    assert.equal(a.x[2 * i + 1], 10 * s + 1);
  });
});

Deno.test("toDataset() applies {mean, std} per channel after /255 scaling; values skip the /255", () => {
  const ds = toDataset(raw(), schema.parse({ normalization: { mean: [0.1, 0.2], std: [0.5, 2] } }));
  assert.ok(Math.abs(ds.x[2] - (10 / 255 - 0.1) / 0.5) < 1e-6);
  assert.ok(Math.abs(ds.x[3] - (11 / 255 - 0.2) / 2) < 1e-6);
  const values = toDataset(raw("values"), schema.parse({}));
  assert.deepEqual([...values.x.subarray(0, 4)], [0, 1, 10, 11]);
});

Deno.test("toDataset() rejects labels outside the classes and a pixel count mismatch", async () => {
  const bad = { ...raw(), labels: Int32Array.from([0, 1, 2, 3, 1, 2]) };
  await assertKtError(() => toDataset(bad, schema.parse({})), /label 3 of sample 3/);
  const short = { ...raw(), labels: Int32Array.from([0, 1, 2]) };
  await assertKtError(
    () => toDataset(short, schema.parse({})),
    /12 values do not match 3 labels/,
  );
});
