import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { defineLoss, defineModel, z } from "./api.ts";
import { KtError } from "./errors.ts";
import { createRegistry, loadUserPlugins, pluginShapeProblem } from "./registry.ts";

const unused = (): never => {
  throw new Error("unused");
};
const loss = (name: string) =>
  defineLoss({ name, description: name, options: z.object({}).strict(), create: unused });
const model = (name: string) =>
  defineModel({ name, description: name, options: z.object({}).strict(), build: unused });

Deno.test("registry.get() returns the plugin registered under that kind and name", () => {
  const pkt = loss("pkt");
  const cnn = model("cnn");
  const r = createRegistry([pkt, loss("hinton"), cnn]);
  assert.equal(r.get("loss", "pkt"), pkt);
  assert.equal(r.get("model", "cnn"), cnn);
  assert.equal(r.find("model", "pkt"), undefined);
  assert.deepEqual(r.findAny("cnn"), [cnn]);
});

Deno.test("registry.get() misses suggest the closest name, or list the known ones", () => {
  const r = createRegistry([loss("pkt"), loss("hinton"), model("cnn")]);
  assert.throws(() => r.get("loss", "pktt"), (e: unknown) => {
    assert.ok(e instanceof KtError);
    assert.equal(e.message, `unknown loss "pktt"; did you mean "pkt"?`);
    return true;
  });
  assert.throws(() => r.get("loss", "fitnets"), /unknown loss "fitnets"; known: hinton, pkt$/);
});

Deno.test("registering a kind and name twice throws; the same name in another kind is fine", () => {
  const r = createRegistry([loss("pkt")]);
  assert.throws(() => r.register(loss("pkt")), /duplicate loss "pkt"/);
  r.register(model("pkt"));
  assert.equal(r.findAny("pkt").length, 2);
});

Deno.test("registry.list() and names() keep registration order and filter by kind", () => {
  const r = createRegistry([loss("b"), model("m"), loss("a")]);
  assert.deepEqual(r.list("loss").map((p) => p.name), ["b", "a"]);
  assert.deepEqual(r.list().map((p) => p.name), ["b", "m", "a"]);
  assert.deepEqual(r.names("model"), ["m"]);
});

Deno.test("registry.with() extends a copy and leaves the original unchanged", () => {
  const r = createRegistry([loss("pkt")]);
  const more = r.with([loss("mine")]);
  assert.equal(more.get("loss", "mine").name, "mine");
  assert.equal(r.find("loss", "mine"), undefined);
  assert.throws(() => r.with([loss("pkt")]), /duplicate loss "pkt"/);
});

Deno.test("pluginShapeProblem() names what is missing from a would-be plugin", () => {
  assert.equal(pluginShapeProblem(loss("ok")), undefined);
  assert.match(pluginShapeProblem(42)!, /not an object/);
  assert.match(pluginShapeProblem({ kind: "losss", name: "x" })!, /"kind" must be one of/);
  assert.match(pluginShapeProblem({ kind: "loss", name: "" })!, /"name"/);
  assert.match(pluginShapeProblem({ kind: "loss", name: "x", options: {} })!, /zod schema/);
  assert.match(
    pluginShapeProblem({ kind: "loss", name: "x", options: z.object({}) })!,
    /needs a "create" function/,
  );
});

Deno.test("loadUserPlugins() imports default exports relative to baseDir and names bad files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const api = pathToFileURL(join(Deno.cwd(), "src/api.ts")).href;
    await Deno.writeTextFile(
      join(dir, "good.ts"),
      `import { defineModel, z } from "${api}";
export default defineModel({ name: "tiny", description: "t", options: z.object({}), build: () => { throw 0; } });
`,
    );
    await Deno.writeTextFile(join(dir, "none.ts"), `export const x = 1;\n`);
    await Deno.writeTextFile(
      join(dir, "half.ts"),
      `export default { kind: "model", name: "h" };\n`,
    );
    const [tiny] = await loadUserPlugins(["./good.ts"], dir);
    assert.equal(tiny.kind, "model");
    assert.equal(tiny.name, "tiny");
    await assert.rejects(
      () => loadUserPlugins(["none.ts"], dir),
      /plugin file none\.ts has no default export/,
    );
    await assert.rejects(
      () => loadUserPlugins(["half.ts"], dir),
      /plugin file half\.ts: default export is not a plugin: model "h" needs "options"/,
    );
    await assert.rejects(() => loadUserPlugins(["gone.ts"], dir), /plugin file gone\.ts not found/);
    await assert.rejects(
      () => loadUserPlugins(["https://example.com/x.ts"], dir),
      /is not a local file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
