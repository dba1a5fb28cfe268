import assert from "node:assert/strict";
import { encodeNpy, parseNpy, readNpy, readNpyHeader, writeNpy } from "./npy.ts";
import { assertKtError, listFiles, npyBytes } from "../../tests/fixtures/datasets.ts";

Deno.test("parseNpy() reads every supported dtype in C order", () => {
  const cases: [string, string, number[]][] = [
    ["|u1", "uint8", [0, 128, 255, 3, 4, 5]],
    ["<i4", "int32", [-1, 2, -300000, 4, 5, 6]],
    ["<f4", "float32", [0.5, -2, 3.25, 4, 5, 6]],
    ["<f8", "float64", [Math.E, -1e200, 3, 4, 5, 6]],
  ];
  for (const [descr, dtype, values] of cases) {
    const a = parseNpy(npyBytes(descr, [2, 3], values), { source: "a.npy" });
    assert.equal(a.dtype, dtype);
    assert.deepEqual(a.shape, [2, 3]);
    assert.deepEqual([...a.data], values);
  }
  const big = parseNpy(npyBytes("<i8", [2], [-5, 2 ** 40]), { source: "a.npy" });
  assert.deepEqual([...big.data], [-5n, 2n ** 40n]);
});

Deno.test("parseNpy() reads format 2.0 headers, 1-d shapes and unaligned payloads", () => {
  const v2 = parseNpy(npyBytes("<f4", [3], [1, 2, 3], { version: 2 }), { source: "a" });
  assert.deepEqual(v2.shape, [3]);
  assert.deepEqual([...v2.data], [1, 2, 3]);
  // Old numpy padded headers to 16 bytes; an odd pad leaves the float data unaligned.
  const odd = parseNpy(npyBytes("<f8", [2], [1.5, -2.5], { pad: 3 }), { source: "a" });
  assert.deepEqual([...odd.data], [1.5, -2.5]);
});

Deno.test("encodeNpy() writes a 64-byte-aligned 1.0 header that parseNpy() reads back", () => {
  const data = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1);
  const bytes = encodeNpy(data, [4, 3]);
  const headerLength = new DataView(bytes.buffer).getUint16(8, true);
  assert.equal((10 + headerLength) % 64, 0);
  assert.equal(bytes[10 + headerLength - 1], 0x0a);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(4, 3\), \} *\n$/);
  const back = parseNpy(bytes, { source: "a" });
  assert.deepEqual(back.shape, [4, 3]);
  assert.deepEqual([...back.data], [...data]);
  assert.match(new TextDecoder().decode(encodeNpy(new Float32Array(2), [2])), /'shape': \(2,\)/);
});

Deno.test("writeNpy() writes atomically and readNpy() reads the file back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    await writeNpy(`${dir}/f.npy`, data, [3, 2]);
    assert.deepEqual(await listFiles(dir), ["f.npy"]);
    const a = await readNpy(`${dir}/f.npy`);
    assert.deepEqual([a.dtype, a.shape, [...a.data]], ["float32", [3, 2], [1, 2, 3, 4, 5, 6]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeNpy() rejects a shape that does not hold the data", async () => {
  await assertKtError(() => encodeNpy(new Float32Array(5), [2, 3]), /does not hold 5/);
});

Deno.test("parseNpy() rejects bad files with one-line KtErrors", async () => {
  const src = { source: "bad.npy" };
  await assertKtError(
    () => parseNpy(new TextEncoder().encode("hello world"), src),
    /not a .npy/,
  );
  const good = npyBytes("<f4", [2, 2], [1, 2, 3, 4]);
  await assertKtError(() => parseNpy(good.subarray(0, good.length - 2), src), /truncated/);
  await assertKtError(
    () => parseNpy(good.subarray(0, 40), src),
    /truncated inside its header/,
  );
  await assertKtError(
    () => parseNpy(npyBytes("<f4", [2], [1, 2], { fortran: true }), src),
    /Fortran/,
  );
  const be = npyBytes("<f4", [2], [1, 2]);
  be.set(new TextEncoder().encode(">"), be.indexOf(0x3c)); // '<' → '>'
  await assertKtError(() => parseNpy(be, src), /unsupported dtype '>f4'/);
  const e = await assertKtError(() => parseNpy(npyBytes("<f2", [1], []), src), /'<f2'/);
  assert.equal(e.where, "bad.npy");
  await assertKtError(() => readNpy("/nonexistent/x.npy"), /file not found/);
});

Deno.test("readNpyHeader() checks the file size against the header without reading values", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = encodeNpy(new Float32Array(12), [3, 4]);
    await Deno.writeFile(`${dir}/ok.npy`, bytes);
    const header = await readNpyHeader(`${dir}/ok.npy`);
    assert.deepEqual([header.shape, header.dtype, header.bytes], [[3, 4], "float32", bytes.length]);
    // A header promising 10^12 rows: refused by its size, before anything is allocated.
    const text = String.fromCharCode(...bytes.subarray(0, 128))
      .replace("(3, 4), }" + " ".repeat(12), "(1000000000000, 4), }");
    const huge = Uint8Array.from(text, (c) => c.charCodeAt(0));
    assert.equal(huge.length, 128);
    await Deno.writeFile(`${dir}/huge.npy`, huge);
    await assertKtError(() => readNpy(`${dir}/huge.npy`), /truncated: shape \(1000000000000, 4\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readNpy() refuses a directory, a device and a FIFO before opening them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertKtError(() => readNpy(dir), /is a directory; expected a regular file/);
    await assertKtError(() => readNpy("/dev/zero"), /is a device; expected a regular file/);
    const fifo = `${dir}/fifo.npy`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output().catch(() => null);
    if (made?.success) {
      await assertKtError(() => readNpyHeader(fifo), /is a FIFO \(named pipe\)/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
