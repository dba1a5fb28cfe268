import assert from "node:assert/strict";
import npy from "./npy.ts";
import { writeNpy } from "../../src/io/npy.ts";
import { assertKtError, npyBytes } from "../../tests/fixtures/datasets.ts";

const ctx = { cacheDir: "/nonexistent", seed: 0, log: () => {} };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("npy loads uint8 (N,H,W,C) images as pixels / 255 with int64 labels", () =>
  withDir(async (dir) => {
    const px = Array.from({ length: 3 * 2 * 2 * 3 }, (_, i) => (i * 17) % 256);
    await Deno.writeFile(`${dir}/x.npy`, npyBytes("|u1", [3, 2, 2, 3], px));
    await Deno.writeFile(`${dir}/y.npy`, npyBytes("<i8", [3], [2, 0, 1]));
    const ds = await npy.load(
      npy.options.parse({ images: `${dir}/x.npy`, labels: `${dir}/y.npy` }),
      ctx,
    );
    assert.equal(ds.name, "npy/train");
    assert.deepEqual([ds.shape, ds.size, ds.numClasses], [[2, 2, 3], 3, 3]);
    assert.deepEqual([...ds.y], [2, 0, 1]);
    assert.deepEqual([...ds.x], px.map((v) => Math.fround(v / 255)));
  }));

Deno.test("npy uses float (N,D) features as they are, shaped 1×1×D or as given", () =>
  withDir(async (dir) => {
    const feats = Float32Array.from([0.5, -1, 2, 3, 4.5, -6]);
    await writeNpy(`${dir}/f.npy`, feats, [2, 3]);
    await Deno.writeFile(`${dir}/y.npy`, npyBytes("<i4", [2, 1], [1, 4]));
    const base = { images: `${dir}/f.npy`, labels: `${dir}/y.npy`, split: "test" };
    const ds = await npy.load(npy.options.parse(base), ctx);
    assert.deepEqual([ds.name, ds.shape, ds.numClasses], ["npy/test", [1, 1, 3], 5]);
    assert.deepEqual(ds.x, feats);
    const shaped = await npy.load(
      npy.options.parse({ ...base, shape: [3, 1, 1], numClasses: 7 }),
      ctx,
    );
    assert.deepEqual([shaped.shape, shaped.numClasses], [[3, 1, 1], 7]);
    // "standard" z-scores each of the D channels on this data: with two samples every value
    // lands at ±1, + for the larger of the pair (columns: 0.5<3, -1<4.5, 2>-6).
    const std = await npy.load(npy.options.parse({ ...base, normalization: "standard" }), ctx);
    assert.deepEqual([...std.x].map((v) => Math.round(v * 1e5) / 1e5), [-1, -1, 1, 1, 1, -1]);
  }));

Deno.test("npy reads (N,H,W) float64 images as one channel", () =>
  withDir(async (dir) => {
    await Deno.writeFile(`${dir}/x.npy`, npyBytes("<f8", [2, 1, 2], [0.25, 0.5, 0.75, 1]));
    await Deno.writeFile(`${dir}/y.npy`, npyBytes("|u1", [2], [0, 1]));
    const ds = await npy.load(
      npy.options.parse({ images: `${dir}/x.npy`, labels: `${dir}/y.npy` }),
      ctx,
    );
    assert.deepEqual([ds.shape, [...ds.x]], [[1, 2, 1], [0.25, 0.5, 0.75, 1]]);
  }));

Deno.test("npy rejects missing, truncated and mismatched files with one-line KtErrors", () =>
  withDir(async (dir) => {
    const load = (o: Record<string, unknown>) => npy.load(npy.options.parse(o), ctx);
    const images = npyBytes("|u1", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    await Deno.writeFile(`${dir}/x.npy`, images);
    await Deno.writeFile(`${dir}/short.npy`, images.subarray(0, images.length - 3));
    await Deno.writeFile(`${dir}/y.npy`, npyBytes("<i4", [2], [0, 1]));
    await Deno.writeFile(`${dir}/y3.npy`, npyBytes("<i4", [3], [0, 1, 1]));
    await Deno.writeFile(`${dir}/yneg.npy`, npyBytes("<i4", [2], [0, -1]));
    await Deno.writeFile(`${dir}/yfrac.npy`, npyBytes("<f4", [2], [0, 1.5]));
    const e = await assertKtError(
      () => load({ images: `${dir}/nope.npy`, labels: `${dir}/y.npy` }),
      /not found/,
    );
    assert.equal(e.where, `${dir}/nope.npy`);
    await assertKtError(
      () => load({ images: `${dir}/short.npy`, labels: `${dir}/y.npy` }),
      /truncated/,
    );
    await assertKtError(
      () => load({ images: `${dir}/x.npy`, labels: `${dir}/y3.npy` }),
      /expected \(2\)/,
    );
    await assertKtError(
      () => load({ images: `${dir}/x.npy`, labels: `${dir}/yneg.npy` }),
      /label -1/,
    );
    await assertKtError(
      () => load({ images: `${dir}/x.npy`, labels: `${dir}/yfrac.npy` }),
      /label 1.5/,
    );
    await assertKtError(
      () => load({ images: `${dir}/x.npy`, labels: `${dir}/y.npy`, numClasses: 1 }),
      /outside \[0, 1\)/,
    );
    await assertKtError(
      () => load({ images: `${dir}/x.npy`, labels: `${dir}/y.npy`, shape: [3, 1, 1] }),
      /holds 3 values but each sample has 4/,
    );
    await assertKtError(
      () => load({ images: `${dir}/y.npy`, labels: `${dir}/y.npy` }),
      /expected \(N, H, W, C\)/,
    );
    assert.equal(npy.options.safeParse({ images: "a", labels: "b", split: "val" }).success, false);
    assert.equal(npy.options.safeParse({ images: "a" }).success, false);
  }));
