import assert from "node:assert/strict";
import type { Dataset } from "../../src/api.ts";
import { hogFeatures } from "../../src/teachers/hog.ts";
import hog from "./hog.ts";

Deno.test("hog teacher describes every sample, in order, like hogFeatures()", async () => {
  const size = 5000; // more than one chunk
  const x = new Float32Array(size * 8 * 8);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 97) / 97;
  const data: Dataset = {
    name: "t",
    x,
    y: new Int32Array(size),
    shape: [8, 8, 1],
    size,
    numClasses: 1,
  };
  const lines: string[] = [];
  const options = hog.options.parse({ cellSize: 4 });
  const { features } = await hog.extract(options, data, {
    cacheDir: "",
    seed: 0,
    log: (m) => lines.push(m),
  });
  const direct = hogFeatures(x, [8, 8, 1], { cellSize: 4 });
  assert.equal(features.size, size);
  assert.equal(features.dim, direct.dim);
  assert.deepEqual(features.values, direct.values);
  assert.ok(lines.length >= 2);
});
