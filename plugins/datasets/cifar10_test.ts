import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import cifar10 from "./cifar10.ts";
import { assertKtError, gzipBytes, listFiles, tarBytes } from "../../tests/fixtures/datasets.ts";
import type { PluginContext } from "../../src/api.ts";

// A fixture in the official byte format: each record is a label byte and R, G, B planes of 32×32.
const RECORDS = { train: 3, test: 4 }; // per batch file
const pixel = (record: number, channel: number, p: number) =>
  (record * 31 + channel * 97 + p * 5) % 256;
const labelOf = (record: number) => (record * 3 + 1) % 10;

function batchFile(first: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 3073);
  for (let r = 0; r < count; r++) {
    out[r * 3073] = labelOf(first + r);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) out[r * 3073 + 1 + c * 1024 + p] = pixel(first + r, c, p);
    }
  }
  return out;
}

const files = [1, 2, 3, 4, 5].map((i) => ({
  name: `cifar-10-batches-bin/data_batch_${i}.bin`,
  data: batchFile((i - 1) * RECORDS.train, RECORDS.train),
}));
const TEST_FIRST = 100;
const tarball = await gzipBytes(tarBytes([
  { name: "cifar-10-batches-bin/", type: "5" },
  { name: "cifar-10-batches-bin/batches.meta.txt", data: new TextEncoder().encode("airplane\n") },
  ...files,
  { name: "cifar-10-batches-bin/test_batch.bin", data: batchFile(TEST_FIRST, RECORDS.test) },
]));
const md5 = createHash("md5").update(tarball).digest("hex");
const sha256 = createHash("sha256").update(tarball).digest("hex");

/** Serves the fixture on 127.0.0.1; counts requests. */
function serve(body: Uint8Array) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    requests++;
    if (new URL(req.url).pathname !== "/cifar.tar.gz") return new Response("no", { status: 404 });
    return new Response(body as Uint8Array<ArrayBuffer>);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/cifar.tar.gz`,
    requests: () => requests,
    close: () => server.shutdown(),
  };
}

const ctx = (cacheDir: string): PluginContext => ({ cacheDir, seed: 0, log: () => {} });
const parse = (o: Record<string, unknown>) => cifar10.options.parse(o);

Deno.test("cifar10 downloads, verifies, unpacks and converts CHW records to HWC", async () => {
  const dir = await Deno.makeTempDir();
  const server = serve(tarball);
  try {
    const train = await cifar10.load(
      parse({ url: server.url, md5, split: "train", normalization: "none" }),
      ctx(dir),
    );
    assert.equal(server.requests(), 1);
    assert.deepEqual(train.shape, [32, 32, 3]);
    assert.equal(train.size, 5 * RECORDS.train);
    assert.deepEqual([...train.y], Array.from({ length: train.size }, (_, r) => labelOf(r)));
    for (let r = 0; r < train.size; r++) {
      for (const p of [0, 1, 33, 1023]) {
        for (let c = 0; c < 3; c++) assert.equal(train.x[(r * 1024 + p) * 3 + c], pixel(r, c, p));
      }
    }
    assert.deepEqual(train.augment, { cropPadding: 4, horizontalFlip: true });
    assert.equal(train.classNames?.[9], "truck");

    // Second load: from the cache, with the server gone.
    await server.close();
    const test = await cifar10.load(parse({ url: server.url, md5, split: "test" }), ctx(dir));
    assert.equal(server.requests(), 1);
    assert.equal(test.size, RECORDS.test);
    assert.deepEqual([...test.y], [0, 1, 2, 3].map((r) => labelOf(TEST_FIRST + r)));
    assert.equal(test.x[(2 * 1024 + 5) * 3 + 1], Math.fround(pixel(TEST_FIRST + 2, 1, 5) / 255));
    assert.equal(test.augment, undefined);
    const noAug = await cifar10.load(parse({ url: server.url, md5, augment: false }), ctx(dir));
    assert.equal(noAug.augment, undefined);
    assert.ok(!(await listFiles(dir)).some((f) => f.endsWith(".tmp")), "no temp files left");
  } finally {
    await server.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cifar10 accepts a sha256 instead of the md5", async () => {
  const dir = await Deno.makeTempDir();
  const server = serve(tarball);
  try {
    const ds = await cifar10.load(parse({ url: server.url, sha256, split: "test" }), ctx(dir));
    assert.equal(ds.size, RECORDS.test);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cifar10 checksum mismatch fails with expected vs got and leaves no file", async () => {
  const dir = await Deno.makeTempDir();
  const server = serve(tarball);
  const wrong = "0".repeat(32);
  try {
    const e = await assertKtError(
      () => cifar10.load(parse({ url: server.url, md5: wrong }), ctx(dir)),
      new RegExp(`checksum mismatch .*expected md5 ${wrong}, got ${md5}`),
    );
    assert.match(e.hint!, /md5 option/);
    assert.deepEqual(await listFiles(dir), []);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cifar10 download cut off mid-body fails and leaves no partial file", async () => {
  const dir = await Deno.makeTempDir();
  // A raw HTTP server that promises the whole body, sends a third, then drops the connection.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(4096));
      const head =
        `HTTP/1.1 200 OK\r\nContent-Length: ${tarball.length}\r\nConnection: close\r\n\r\n`;
      await conn.write(new TextEncoder().encode(head));
      await conn.write(tarball.subarray(0, Math.floor(tarball.length / 3)));
      conn.close();
    }
  })();
  try {
    const url = `http://127.0.0.1:${listener.addr.port}/cifar.tar.gz`;
    await assertKtError(
      () => cifar10.load(parse({ url, md5 }), ctx(dir)),
      /download of .* (failed|ended early)/,
    );
    assert.deepEqual(await listFiles(dir), []);
  } finally {
    listener.close();
    await served.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cifar10 reports HTTP errors and archives without the batch files", async () => {
  const dir = await Deno.makeTempDir();
  const server = serve(tarball);
  try {
    await assertKtError(
      () => cifar10.load(parse({ url: server.url.replace("cifar", "nope"), md5 }), ctx(dir)),
      /HTTP 404/,
    );
  } finally {
    await server.close();
  }
  const other = await gzipBytes(tarBytes([{ name: "x/data_batch_1.bin", data: batchFile(0, 1) }]));
  const server2 = serve(other);
  try {
    const otherMd5 = createHash("md5").update(other).digest("hex");
    await assertKtError(
      () => cifar10.load(parse({ url: server2.url, md5: otherMd5 }), ctx(dir)),
      /archive lacks data_batch_2.bin/,
    );
    assert.ok(!(await listFiles(dir)).some((f) => f.endsWith(".bin")), "nothing unpacked");
  } finally {
    await server2.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cifar10 rejects an unknown split and a malformed checksum option", async () => {
  assert.equal(cifar10.options.safeParse({ split: "validation" }).success, false);
  assert.equal(cifar10.options.safeParse({ md5: "xyz" }).success, false);
  assert.equal(cifar10.options.safeParse({ colour: true }).success, false);
  await assertKtError(
    () => cifar10.load({ ...parse({}), split: "validation" as "train" }, ctx("/nonexistent")),
    /unknown split "validation"/,
  );
});

Deno.test("cifar10 train and test loading in parallel share one download", async () => {
  const dir = await Deno.makeTempDir();
  const server = serve(tarball);
  try {
    const [train, test] = await Promise.all([
      cifar10.load(parse({ url: server.url, md5, split: "train" }), ctx(dir)),
      cifar10.load(parse({ url: server.url, md5, split: "test" }), ctx(dir)),
    ]);
    assert.deepEqual([train.size, test.size, server.requests()], [15, 4, 1]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
