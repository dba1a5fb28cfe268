import assert from "node:assert/strict";
import idx from "./idx.ts";
import { assertKtError, idxBytes } from "../../tests/fixtures/datasets.ts";

const ctx = { cacheDir: "/nonexistent", seed: 0, log: () => {} };

Deno.test("idx loads user IDX images and labels; integer pixels are scaled by 1/255", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const px = Array.from({ length: 4 * 3 * 2 }, (_, i) => i * 10);
    await Deno.writeFile(`${dir}/img`, idxBytes(0x08, [4, 3, 2], px));
    await Deno.writeFile(`${dir}/lab`, idxBytes(0x08, [4], [3, 1, 0, 2]));
    await Deno.writeFile(`${dir}/feat`, idxBytes(0x0d, [4, 2], [1.5, -2, 0, 0, 3, 3, 7, -7]));
    const opts = { images: `${dir}/img`, labels: `${dir}/lab` };
    const ds = await idx.load(idx.options.parse({ ...opts, split: "test" }), ctx);
    assert.deepEqual([ds.name, ds.shape, ds.size, ds.numClasses], ["idx/test", [3, 2, 1], 4, 4]);
    assert.deepEqual([...ds.y], [3, 1, 0, 2]);
    assert.deepEqual([...ds.x], px.map((v) => Math.fround(v / 255)));
    const raw = await idx.load(
      idx.options.parse({ ...opts, normalization: "none", limit: 2 }),
      ctx,
    );
    // One sample per class, limit 2: the largest-remainder tie goes to classes 0 and 1, i.e.
    // samples 2 and 1, kept in file order; "none" leaves the raw 0..255 values.
    assert.deepEqual([...raw.y], [1, 0]);
    assert.deepEqual([...raw.x], px.slice(6, 18));
    const feats = await idx.load(idx.options.parse({ ...opts, images: `${dir}/feat` }), ctx);
    assert.deepEqual([feats.shape, [...feats.x]], [[1, 1, 2], [1.5, -2, 0, 0, 3, 3, 7, -7]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("idx rejects missing, corrupted and truncated files with one-line KtErrors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const images = idxBytes(0x08, [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const bad = images.slice();
    bad[2] = 0x99;
    await Deno.writeFile(`${dir}/img`, images);
    await Deno.writeFile(`${dir}/short`, images.subarray(0, 15));
    await Deno.writeFile(`${dir}/bad`, bad);
    await Deno.writeFile(`${dir}/lab`, idxBytes(0x08, [2], [0, 1]));
    const load = (images: string) =>
      idx.load(idx.options.parse({ images, labels: `${dir}/lab` }), ctx);
    await assertKtError(() => load(`${dir}/missing`), /file not found/);
    const e = await assertKtError(() => load(`${dir}/short`), /truncated/);
    assert.equal(e.where, `${dir}/short`);
    await assertKtError(() => load(`${dir}/bad`), /bad magic/);
    await assertKtError(() => load(`${dir}/lab`), /expected \(N, H, W, C\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
