import assert from "node:assert/strict";
import { readTar, type TarEntry } from "./tar.ts";
import { assertKtError, tarBytes } from "../../tests/fixtures/datasets.ts";

function streamOf(bytes: Uint8Array, chunk = 100): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

async function collect(it: AsyncIterable<TarEntry>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for await (const e of it) out[e.name] = [...e.data];
  return out;
}

const bytes = (n: number, f: (i: number) => number) =>
  Uint8Array.from({ length: n }, (_, i) => f(i));

Deno.test("readTar() yields regular files with their bytes across odd chunk sizes", async () => {
  const long = "d/" + "x".repeat(120) + ".bin";
  const archive = tarBytes([
    { name: "d/", type: "5" },
    { name: "d/a.bin", data: bytes(700, (i) => i % 251) },
    { name: "b.txt", prefix: "root/dir", data: new TextEncoder().encode("hi") },
    { name: "././@LongLink", type: "L", data: new TextEncoder().encode(long + "\0") },
    { name: "truncated-name", data: bytes(512, () => 9) },
    { name: "empty", data: new Uint8Array(0) },
  ]);
  for (const chunk of [1, 100, 511, 1 << 20]) {
    const files = await collect(readTar(streamOf(archive, chunk), { source: "t.tar" }));
    assert.deepEqual(Object.keys(files), ["d/a.bin", "root/dir/b.txt", long, "empty"]);
    assert.deepEqual(files["d/a.bin"], [...bytes(700, (i) => i % 251)]);
    assert.deepEqual(files["root/dir/b.txt"], [104, 105]);
    assert.equal(files[long].length, 512);
  }
});

Deno.test("readTar() skips files the caller does not want", async () => {
  const archive = tarBytes([
    { name: "keep", data: bytes(3, (i) => i + 1) },
    { name: "skip", data: bytes(2000, () => 1) },
    { name: "keep2", data: bytes(1, () => 5) },
  ]);
  const files = await collect(
    readTar(streamOf(archive), { source: "t", want: (n) => n.startsWith("keep") }),
  );
  assert.deepEqual(files, { keep: [1, 2, 3], keep2: [5] });
});

Deno.test("readTar() rejects damaged headers and truncated archives", async () => {
  const archive = tarBytes([{ name: "a", data: bytes(1000, () => 1) }]);
  const damaged = archive.slice();
  damaged[10] ^= 0xff;
  await assertKtError(() => collect(readTar(streamOf(damaged), { source: "t" })), /checksum/);
  await assertKtError(
    () => collect(readTar(streamOf(archive.subarray(0, 900)), { source: "t" })),
    /truncated inside "a"/,
  );
  await assertKtError(
    () => collect(readTar(streamOf(archive.subarray(0, 300)), { source: "t" })),
    /truncated inside a header/,
  );
});
