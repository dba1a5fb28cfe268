import assert from "node:assert/strict";
import { join } from "node:path";
import { cacheKey, openCache } from "./cache.ts";
import { KtError } from "./errors.ts";

const enc = new TextEncoder();

/** Independent sha-256 (WebCrypto) for checking what the cache wrote. */
async function webSha256(data: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kt-cache-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function keyOf(n: number): string {
  return cacheKey({ plugin: "test", options: { n }, inputs: {} });
}

Deno.test("cacheKey() is sha-256 of the sorted-key JSON of plugin, version, options, inputs", async () => {
  const key = cacheKey({
    plugin: "features",
    version: "2",
    options: { layer: "fc", batch: [1, 2] },
    inputs: { model: "ab", data: "cd" },
  });
  const text = '{"inputs":{"data":"cd","model":"ab"},' +
    '"options":{"batch":[1,2],"layer":"fc"},"plugin":"features","version":"2"}';
  assert.equal(key, await webSha256(text));
});

Deno.test("cacheKey() changes with plugin version, any option or any input key", () => {
  const base = { plugin: "p", version: "1", options: { a: 1 }, inputs: { x: "k1" } };
  const keys = new Set([
    cacheKey(base),
    cacheKey({ ...base, version: "2" }),
    cacheKey({ ...base, options: { a: 2 } }),
    cacheKey({ ...base, inputs: { x: "k2" } }),
    cacheKey({ ...base, inputs: { y: "k1" } }),
    cacheKey({ ...base, plugin: "q" }),
  ]);
  assert.equal(keys.size, 6);
  assert.equal(cacheKey({ ...base, options: { a: 1 } }), cacheKey(base));
});

Deno.test("put() then get() returns the same bytes, JSON and feature table", async () => {
  await withDir(async (dir) => {
    const cache = await openCache(dir);
    const key = keyOf(1);
    assert.equal(await cache.has(key), false);
    assert.equal(await cache.get(key), undefined);
    const values = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1);
    const model = enc.encode(JSON.stringify({ layers: [8, 16] }));
    const weights = new Uint8Array([0, 1, 2, 255]);
    await cache.put(key, {
      "features.f32": { values, size: 3, dim: 4 },
      "model.json": model,
      "weights.bin": weights,
    }, { plugin: "test", version: "1", info: { epochs: 5 } });

    assert.equal(await cache.has(key), true);
    const art = await cache.get(key);
    assert.ok(art);
    assert.equal(art.dir, join(dir, key.slice(0, 2), key));
    assert.deepEqual(await art.readFile("weights.bin"), weights);
    assert.deepEqual(await art.readJson("model.json"), { layers: [8, 16] });
    const table = await art.readFeatureTable("features.f32");
    assert.equal(table.size, 3);
    assert.equal(table.dim, 4);
    assert.deepEqual(Array.from(table.values), Array.from(values));
    assert.deepEqual(Array.from(await art.readFloat32("features.f32")), Array.from(values));
    await assert.rejects(art.readFeatureTable("weights.bin"), KtError);
    await assert.rejects(art.readFile("nope.bin"), /has no file "nope.bin"/);

    // The manifest on disk records sizes and checksums an independent hash agrees with.
    const manifest = JSON.parse(await Deno.readTextFile(join(art.dir, "manifest.json")));
    assert.equal(manifest.key, key);
    assert.equal(manifest.plugin, "test");
    assert.equal(manifest.version, "1");
    assert.deepEqual(manifest.info, { epochs: 5 });
    assert.deepEqual(manifest.files["weights.bin"], { size: 4, sha256: await webSha256(weights) });
    assert.deepEqual(manifest.files["features.f32"].shape, [3, 4]);
    assert.equal(manifest.files["features.f32"].size, 48);
    assert.ok(!Number.isNaN(Date.parse(manifest.created)));
    // Nothing is left in tmp/ after a successful write.
    assert.deepEqual(await Array.fromAsync(Deno.readDir(join(dir, "tmp"))), []);
  });
});

Deno.test("put() rejects bad keys, bad file names and inconsistent feature tables", async () => {
  await withDir(async (dir) => {
    const cache = await openCache(dir);
    const data = { "a.bin": new Uint8Array(1) };
    await assert.rejects(cache.put("abc", data, { plugin: "t" }), /invalid cache key/);
    for (const name of ["../x", "a/b", "manifest.json", ".hidden", ""]) {
      await assert.rejects(
        cache.put(keyOf(1), { [name]: new Uint8Array(1) }, { plugin: "t" }),
        /invalid artifact file name/,
      );
    }
    await assert.rejects(
      cache.put(keyOf(1), { "f.f32": { values: new Float32Array(5), size: 2, dim: 3 } }, {
        plugin: "t",
      }),
      /feature table "f.f32" is inconsistent/,
    );
  });
});

Deno.test("a flipped byte is detected, the artifact removed and a new put recovers", async () => {
  await withDir(async (dir) => {
    const reports: string[] = [];
    const cache = await openCache(dir, { onCorrupt: (k, why) => reports.push(`${k}: ${why}`) });
    const key = keyOf(2);
    const values = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const art = await cache.put(key, { "features.f32": { values, size: 8, dim: 8 } }, {
      plugin: "test",
    });
    const file = art.path("features.f32");
    const bytes = await Deno.readFile(file);
    bytes[100] ^= 0x01;
    await Deno.writeFile(file, bytes);

    const found = await cache.lookup(key);
    assert.equal(found.status, "corrupt");
    assert.match(found.status === "corrupt" ? found.reason : "", /features\.f32.*sha-256/);
    assert.deepEqual(reports, [`${key}: file features.f32 does not match its sha-256`]);
    assert.equal(await Deno.stat(art.dir).then(() => true, () => false), false);
    assert.equal((await cache.lookup(key)).status, "miss");

    await cache.put(key, { "features.f32": { values, size: 8, dim: 8 } }, { plugin: "test" });
    const again = await cache.get(key);
    assert.deepEqual(Array.from((await again!.readFeatureTable("features.f32")).values), [
      ...values,
    ]);
  });
});

Deno.test("a truncated file or a missing file is reported as corrupt", async () => {
  await withDir(async (dir) => {
    const cache = await openCache(dir, { onCorrupt: () => {} });
    const a = await cache.put(keyOf(3), { "x.bin": new Uint8Array(10) }, { plugin: "t" });
    await Deno.truncate(a.path("x.bin"), 7);
    const r1 = await cache.lookup(keyOf(3));
    assert.deepEqual(r1, { status: "corrupt", reason: "file x.bin has 7 bytes, manifest says 10" });

    const b = await cache.put(keyOf(4), { "y.bin": new Uint8Array(3) }, { plugin: "t" });
    await Deno.remove(b.path("y.bin"));
    assert.deepEqual(await cache.lookup(keyOf(4)), {
      status: "corrupt",
      reason: "file y.bin is missing",
    });
  });
});

Deno.test("leftovers of a crash are never trusted and gc removes them", async () => {
  await withDir(async (dir) => {
    const cache = await openCache(dir, { onCorrupt: () => {} });
    const good = await cache.put(keyOf(5), { "a.bin": new Uint8Array([1, 2]) }, { plugin: "t" });
    // A writer killed mid-write: a tmp dir with a partial file and no manifest.
    const tmpDir = join(dir, "tmp", "crashed-writer");
    await Deno.mkdir(tmpDir);
    await Deno.writeFile(join(tmpDir, "features.f32"), new Uint8Array(17));
    // A key directory without a manifest (e.g. files copied in by hand).
    const bare = keyOf(6);
    const bareDir = join(dir, bare.slice(0, 2), bare);
    await Deno.mkdir(bareDir, { recursive: true });
    await Deno.writeFile(join(bareDir, "a.bin"), new Uint8Array([1, 2]));

    assert.equal(await cache.has(bare), false);
    assert.deepEqual((await cache.list()).map((e) => e.key), [good.key]);
    const report = await cache.verify();
    assert.deepEqual(report.ok, [good.key]);
    assert.deepEqual(report.corrupt, [{ key: bare, reason: "no manifest.json" }]);
    assert.deepEqual(report.incomplete, [tmpDir]);

    // A young tmp dir may belong to a live writer: the default grace period keeps it.
    const first = await cache.gc();
    assert.equal(first.leftoversRemoved, 1);
    assert.equal(await Deno.stat(tmpDir).then(() => true, () => false), true);
    assert.equal(await Deno.stat(bareDir).then(() => true, () => false), false);

    const second = await cache.gc({ tmpGraceMs: 0 });
    assert.equal(second.leftoversRemoved, 1);
    assert.equal(second.bytesFreed, 17);
    assert.deepEqual(second.removed, []);
    assert.equal(await Deno.stat(tmpDir).then(() => true, () => false), false);
    assert.ok(await cache.get(good.key));
  });
});

Deno.test("concurrent put() of one key: the rename loser discards its copy", async () => {
  await withDir(async (dir) => {
    const cache = await openCache(dir);
    const other = await openCache(dir); // a second handle, as another worker would have
    const key = keyOf(7);
    const [a, b] = await Promise.all([
      cache.put(key, { "who.txt": enc.encode("writer A") }, { plugin: "t" }),
      other.put(key, { "who.txt": enc.encode("writer B") }, { plugin: "t" }),
    ]);
    const textA = new TextDecoder().decode(await a.readFile("who.txt"));
    const textB = new TextDecoder().decode(await b.readFile("who.txt"));
    assert.equal(textA, textB, "both writers must end up with the one stored copy");
    const stored = await cache.get(key);
    assert.equal(new TextDecoder().decode(await stored!.readFile("who.txt")), textA);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(join(dir, "tmp"))), []);
    assert.deepEqual((await cache.verify()).ok, [key]);
  });
});

Deno.test("two processes putting the same keys leave one sound copy of each", async () => {
  await withDir(async (dir) => {
    const script = join(dir, "writer.ts");
    await Deno.writeTextFile(
      script,
      `import { cacheKey, openCache } from ${JSON.stringify(import.meta.resolve("./cache.ts"))};
      const cache = await openCache(Deno.args[0]);
      const who = Deno.args[1];
      for (let n = 0; n < 30; n++) {
        const key = cacheKey({ plugin: "test", options: { n }, inputs: {} });
        const big = new Uint8Array(50_000).fill(who.charCodeAt(0));
        const art = await cache.put(key, { "who.txt": new TextEncoder().encode(who), "big.bin": big }, { plugin: "t" });
        const got = new TextDecoder().decode(await art.readFile("who.txt"));
        if ((await art.readFile("big.bin"))[0] !== got.charCodeAt(0)) throw new Error("mixed copy");
      }`,
    );
    const spawn = (who: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-check", "--allow-read", "--allow-write", script, join(dir, "c"), who],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const outs = await Promise.all([spawn("A"), spawn("B")]);
    for (const o of outs) assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
    const cache = await openCache(join(dir, "c"));
    const report = await cache.verify();
    assert.equal(report.ok.length, 30);
    assert.deepEqual(report.corrupt, []);
    assert.deepEqual(report.incomplete, []);
  });
});

Deno.test("gc() keeps listed keys and removes the rest, or only the old ones", async () => {
  await withDir(async (dir) => {
    const cache = await openCache(dir);
    const keys = [keyOf(10), keyOf(11), keyOf(12)];
    for (const k of keys) await cache.put(k, { "v.bin": new Uint8Array(5) }, { plugin: "t" });
    // Make keys[0] look unused for two days.
    const old = new Date(Date.now() - 2 * 86_400_000);
    await Deno.utime(join(dir, keys[0].slice(0, 2), keys[0], "manifest.json"), old, old);

    const nothing = await cache.gc();
    assert.deepEqual(nothing.removed, []);

    const byAge = await cache.gc({ olderThan: 86_400_000 });
    assert.deepEqual(byAge.removed, [keys[0]]);
    assert.equal(byAge.bytesFreed, 5);

    const byKeep = await cache.gc({ keep: new Set([keys[2]]) });
    assert.deepEqual(byKeep.removed, [keys[1]]);
    assert.deepEqual((await cache.list()).map((e) => e.key), [keys[2]]);
  });
});

Deno.test("list() reports plugin, sizes and files from the manifests", async () => {
  await withDir(async (dir) => {
    const cache = await openCache(dir);
    await cache.put(keyOf(20), { "a.bin": new Uint8Array(3), "b.bin": new Uint8Array(4) }, {
      plugin: "teacher",
      version: "3",
    });
    const [entry] = await cache.list();
    assert.equal(entry.key, keyOf(20));
    assert.equal(entry.plugin, "teacher");
    assert.equal(entry.version, "3");
    assert.equal(entry.bytes, 7);
    assert.deepEqual(entry.files.sort(), ["a.bin", "b.bin"]);
  });
});

Deno.test("openCache() without write permission throws a KtError naming the path", async () => {
  await withDir(async (dir) => {
    const target = join(dir, "cache");
    const script = `import { openCache } from ${JSON.stringify(import.meta.resolve("./cache.ts"))};
      try { await openCache(${JSON.stringify(target)}); console.log("opened"); }
      catch (e) { console.log(e.name + "|" + e.where + "|" + e.message + "|" + e.hint); }`;
    const scriptPath = join(dir, "open.ts");
    await Deno.writeTextFile(scriptPath, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        "--allow-read",
        `--allow-write=${join(dir, "elsewhere")}`,
        scriptPath,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const [name, where, message, hint] = new TextDecoder().decode(out.stdout).trim().split("|");
    assert.equal(name, "KtError", new TextDecoder().decode(out.stderr));
    assert.equal(where, join(target, "tmp"));
    assert.match(message, /no write permission/);
    assert.match(hint, /--allow-write/);
  });
});

Deno.test({
  name: "openCache() in a read-only directory throws a KtError with a chmod hint",
  ignore: Deno.build.os === "windows" || Deno.uid() === 0, // root ignores file modes
  fn: async () => {
    await withDir(async (dir) => {
      const locked = join(dir, "locked");
      await Deno.mkdir(locked, { mode: 0o500 });
      try {
        await assert.rejects(
          openCache(join(locked, "cache")),
          (e) =>
            e instanceof KtError && /permission denied/.test(e.message) && /chmod/.test(e.hint!),
        );
      } finally {
        await Deno.chmod(locked, 0o700);
      }
    });
  },
});
