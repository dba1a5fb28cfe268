import assert from "node:assert/strict";
import { parseIdx, readIdx, readIdxHeader } from "./idx.ts";
import { assertKtError, idxBytes } from "../../tests/fixtures/datasets.ts";

Deno.test("parseIdx() reads uint8 dims and values in C order", () => {
  const f = parseIdx(idxBytes(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]), {
    source: "t.idx",
  });
  assert.equal(f.type, "uint8");
  assert.deepEqual(f.dims, [2, 2, 3]);
  assert.deepEqual([...f.data], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
});

Deno.test("parseIdx() decodes big-endian int16, int32, float32 and float64", () => {
  const cases: [number, string, number[]][] = [
    [0x0b, "int16", [-2, 300, 32767]],
    [0x0c, "int32", [-70000, 1, 2 ** 30]],
    [0x0d, "float32", [0.5, -1.25, 1024]],
    [0x0e, "float64", [Math.PI, -1e-300, 7]],
  ];
  for (const [byte, type, values] of cases) {
    const f = parseIdx(idxBytes(byte, [3], values), { source: "t.idx" });
    assert.equal(f.type, type);
    assert.deepEqual([...f.data], values);
  }
});

Deno.test("parseIdx() rejects a bad magic number, naming the file", async () => {
  const bytes = idxBytes(0x08, [1], [1]);
  bytes[0] = 1;
  const e = await assertKtError(() => parseIdx(bytes, { source: "x.idx" }), /bad magic/);
  assert.equal(e.where, "x.idx");
  const badType = idxBytes(0x08, [1], [1]);
  badType[2] = 0x42;
  await assertKtError(() => parseIdx(badType, { source: "x.idx" }), /bad magic/);
});

Deno.test("parseIdx() rejects truncated and over-long files with the expected length", async () => {
  const good = idxBytes(0x08, [3, 4], new Array(12).fill(7));
  await assertKtError(
    () => parseIdx(good.subarray(0, good.length - 1), { source: "x" }),
    /truncated: dims 3×4 of uint8 need 24 bytes, found 23/,
  );
  await assertKtError(
    () => parseIdx(good.subarray(0, 6), { source: "x" }),
    /inside its header/,
  );
  await assertKtError(() => parseIdx(good.subarray(0, 2), { source: "x" }), /too short/);
  const long = new Uint8Array(good.length + 3);
  long.set(good);
  await assertKtError(() => parseIdx(long, { source: "x" }), /longer than its header/);
});

Deno.test("parseIdx() passes the caller's fix-it hint through", async () => {
  const e = await assertKtError(
    () => parseIdx(new Uint8Array(3), { source: "m", hint: "reinstall it" }),
    /too short/,
  );
  assert.equal(e.hint, "reinstall it");
});

Deno.test("readIdx() of a missing file is a KtError naming the path", async () => {
  const e = await assertKtError(() => readIdx("/nonexistent/dir/train.idx"), /file not found/);
  assert.equal(e.where, "/nonexistent/dir/train.idx");
});

Deno.test("readIdxHeader() reads dims and refuses a size that differs, or a non-regular file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(
      `${dir}/a.idx`,
      new Uint8Array([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]),
    );
    assert.deepEqual((await readIdxHeader(`${dir}/a.idx`)).dims, [2, 3]);
    await Deno.writeFile(
      `${dir}/b.idx`,
      new Uint8Array([0, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff, 1]),
    );
    const e = await assertKtError(
      () => readIdx(`${dir}/b.idx`),
      /IDX file is truncated: dims 4294967295/,
    );
    assert.equal(e.where, `${dir}/b.idx`);
    await assertKtError(() => readIdxHeader(dir), /is a directory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
