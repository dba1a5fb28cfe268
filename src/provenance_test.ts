import assert from "node:assert/strict";
import { join } from "node:path";
import { builtinPlugins } from "../plugins/mod.ts";
import { defineLoss, defineStep, filePath, pluginSpec, z } from "./api.ts";
import {
  KT_NUMERICS_VERSION,
  moduleHash,
  nodeInputs,
  openHashMemo,
  type Provenance,
  relativeImports,
  staleReason,
} from "./provenance.ts";
import { createRegistry } from "./registry.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kt-provenance-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("relativeImports() finds static relative imports and re-exports, not packages", () => {
  const source = `import * as tf from "npm:@tensorflow/tfjs-core";
import { a } from "./a.ts";
import type { B } from '../b.ts';
import "./side_effect.ts";
export { c } from "./c.ts";
export * from "./d.ts";
import {
  e,
  f,
} from "./ef.ts";
const x = await import("./dynamic.ts");
import { defineLoss } from "jsr:@kt/kt";`;
  assert.deepEqual(relativeImports(source).sort(), [
    "../b.ts",
    "./a.ts",
    "./c.ts",
    "./d.ts",
    "./ef.ts",
    "./side_effect.ts",
  ]);
});

Deno.test("moduleHash() changes with the file or a module it imports, and stays when the folder moves", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "a", "lib"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "a", "plugin.ts"),
      'import { k } from "./lib/k.ts";\nexport default k;\n',
    );
    await Deno.writeTextFile(join(dir, "a", "lib", "k.ts"), "export const k = 1;\n");
    await Deno.writeTextFile(join(dir, "a", "unrelated.ts"), "export const u = 1;\n");
    const first = await moduleHash(join(dir, "a", "plugin.ts"));

    await Deno.writeTextFile(join(dir, "a", "unrelated.ts"), "export const u = 2;\n");
    assert.equal(await moduleHash(join(dir, "a", "plugin.ts")), first, "not imported");

    await Deno.rename(join(dir, "a"), join(dir, "b"));
    assert.equal(await moduleHash(join(dir, "b", "plugin.ts")), first, "moved folder");

    await Deno.writeTextFile(join(dir, "b", "lib", "k.ts"), "export const k = 1000;\n");
    assert.notEqual(await moduleHash(join(dir, "b", "plugin.ts")), first, "import changed");
  });
});

Deno.test("moduleHash() stops at kt's own modules: a plugin importing mod.ts hashes only itself", async () => {
  const fixture = new URL("../tests/fixtures/engine/nan_loss.ts", import.meta.url).pathname;
  await withDir(async (dir) => {
    // The same text elsewhere, importing nothing that exists: the listing differs only in the
    // entry for ../../../mod.ts (missing here, skipped there).
    const copy = join(dir, "nan_loss.ts");
    await Deno.copyFile(fixture, copy);
    const inTree = await moduleHash(fixture);
    assert.notEqual(inTree, await moduleHash(copy));
    const text = await Deno.readTextFile(fixture);
    await Deno.writeTextFile(copy, text.replace("../../../mod.ts", "./nothing.ts"));
    assert.notEqual(inTree, await moduleHash(copy));
  });
});

Deno.test("openHashMemo(): files and directories hash by content; a fresh rewrite at the same size and mtime is seen", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "x.bin");
    await Deno.writeFile(file, new Uint8Array([1, 2, 3]));
    const memo = await openHashMemo(dir);
    const a = await memo.hash(file);
    assert.match(a, /^[0-9a-f]{64}$/);
    await memo.save();

    // Same size, same mtime, other bytes, within the same millisecond: the file changed too
    // recently to be remembered, so it is read again.
    const { mtime } = await Deno.stat(file);
    await Deno.writeFile(file, new Uint8Array([1, 2, 4]));
    await Deno.utime(file, mtime!, mtime!);
    const again = await openHashMemo(dir);
    assert.notEqual(await again.hash(file), a);

    await Deno.mkdir(join(dir, "d"));
    await Deno.writeTextFile(join(dir, "d", "one.txt"), "1");
    const d1 = await (await openHashMemo()).hash(join(dir, "d"));
    await Deno.writeTextFile(join(dir, "d", "one.txt"), "2");
    assert.notEqual(await (await openHashMemo()).hash(join(dir, "d")), d1);

    assert.equal(await memo.hash(join(dir, "nothing")), "missing:");
    assert.equal(await memo.hash("/dev/zero"), "special:", "devices are never read");
  });
});

Deno.test("openHashMemo() reuses a remembered hash while the stat matches, and reads again when it does not", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "x.bin");
    await Deno.writeFile(file, new Uint8Array([1, 2, 3]));
    const first = await openHashMemo(dir, { racyMs: 0 });
    const real = await first.hash(file);
    await first.save();
    // Tamper with the memo: a matching stat means the file is not read again.
    const memoFile = join(dir, "file-hashes.json");
    const stored = JSON.parse(await Deno.readTextFile(memoFile));
    stored.entries[file].sha256 = "remembered";
    await Deno.writeTextFile(memoFile, JSON.stringify(stored));
    assert.equal(await (await openHashMemo(dir, { racyMs: 0 })).hash(file), "remembered");
    assert.equal(await (await openHashMemo(dir, { trust: false })).hash(file), real);
    // A file changed within the racy window is hashed but not remembered.
    await Deno.writeFile(file, new Uint8Array([9]));
    const racy = await openHashMemo(dir);
    await racy.hash(file);
    await racy.save();
    const after = JSON.parse(await Deno.readTextFile(memoFile));
    assert.equal(after.entries[file].sha256, "remembered", "racy entry not written");
    assert.notEqual(await (await openHashMemo(dir)).hash(file), "remembered");
  });
});

Deno.test("nodeInputs() lists file options and inline plugins, through nested specs and arrays", () => {
  const weights = defineLoss({
    name: "from-file",
    description: "a loss that reads a file",
    options: z.object({ table: filePath(), extra: z.array(filePath()).default([]) }).strict(),
    create: () => ({ compute: () => undefined as never }),
  });
  const step = defineStep({
    name: "reads",
    description: "a step with a file and an inline loss",
    output: "metrics",
    options: z.object({
      data: filePath().optional(),
      loss: pluginSpec("loss"),
      terms: z.array(pluginSpec("loss")).default([]),
    }).strict(),
    run: () => Promise.resolve({}),
  });
  const registry = createRegistry([...builtinPlugins, weights, step]);
  const found = nodeInputs(step, {
    data: "x.npy",
    loss: { use: "from-file", kind: "loss", version: "", options: { table: "t.npy", extra: [] } },
    terms: [{
      use: "from-file",
      kind: "loss",
      version: "",
      options: { table: "u.npy", extra: ["v.npy"] },
    }, { use: "pkt", kind: "loss", version: "1", options: {} }],
  }, registry);
  assert.deepEqual(found.files, [
    ["data", "x.npy"],
    ["loss.table", "t.npy"],
    ["terms.0.table", "u.npy"],
    ["terms.0.extra.0", "v.npy"],
  ]);
  assert.deepEqual(found.plugins.map((p) => p.name), ["reads", "from-file", "from-file", "pkt"]);
});

Deno.test("the built-in plugins that read files mark those options", () => {
  const registry = createRegistry(builtinPlugins);
  const files = (kind: "dataset" | "teacher" | "step", use: string, options: unknown) =>
    nodeInputs(registry.get(kind, use), options, registry).files.map(([o]) => o);
  assert.deepEqual(files("dataset", "npy", { images: "x.npy", labels: "y.npy" }), [
    "images",
    "labels",
  ]);
  assert.deepEqual(files("dataset", "idx", { images: "x", labels: "y" }), ["images", "labels"]);
  assert.deepEqual(files("teacher", "precomputed", { file: "f.npy" }), ["file"]);
  assert.deepEqual(files("step", "saved", { path: "m" }), ["path"]);
  assert.deepEqual(files("dataset", "mnist", { split: "train" }), []);
});

Deno.test("staleReason() names what changed: numerics version, plugin code or an input file", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "in.bin");
    await Deno.writeFile(file, new Uint8Array([1]));
    const code = join(dir, "loss.ts");
    await Deno.writeTextFile(code, "export default 1;\n");
    const memo = await openHashMemo();
    const p: Provenance = {
      numerics: KT_NUMERICS_VERSION,
      code: { "loss:x": { path: code, sha256: await moduleHash(code) } },
      files: { images: { path: file, sha256: await memo.hash(file) } },
    };
    assert.equal(await staleReason(p, await openHashMemo()), undefined);
    assert.match(
      (await staleReason({ ...p, numerics: KT_NUMERICS_VERSION - 1 }, memo))!,
      new RegExp(
        `numerics version ${KT_NUMERICS_VERSION - 1}; this kt has ${KT_NUMERICS_VERSION}`,
      ),
    );
    await Deno.writeTextFile(code, "export default 2;\n");
    assert.match((await staleReason(p, await openHashMemo()))!, /code of plugin loss:x/);
    await Deno.writeTextFile(code, "export default 1;\n");
    await Deno.writeFile(file, new Uint8Array([2]));
    assert.match(
      (await staleReason(p, await openHashMemo()))!,
      /in\.bin \(option images\) changed/,
    );
  });
});
