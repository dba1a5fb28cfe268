import assert from "node:assert/strict";
import { defineDataset, defineModel, defineStep, OptionError, pluginSpec, ref, z } from "../api.ts";
import { ConfigError, parseExperiment } from "../config/mod.ts";
import { createRegistry } from "../registry.ts";
import { describeTraining } from "../steps.ts";
import { preflight } from "./preflight.ts";

let described = 0;
const registry = createRegistry([
  defineDataset({
    name: "grid",
    description: "a dataset of known size",
    options: z.object({ side: z.number().int().positive(), n: z.number().int().default(10) })
      .strict(),
    load: () => Promise.reject(new Error("not in this test")),
    describe(o) {
      described++;
      if (o.n === 0) throw new OptionError("n", "no samples");
      return Promise.resolve({ shape: [o.side, o.side, 1], size: o.n, numClasses: 2 });
    },
  }),
  defineModel({
    name: "dense",
    description: "one dense layer",
    options: z.object({ units: z.number().int().positive() }).strict(),
    build: () => {
      throw new Error("not in this test");
    },
    estimate: (o, ctx) => {
      const params = ctx.inputShape[0] * ctx.inputShape[1] * o.units;
      const largest = { layer: "fc", option: "units", params };
      return { params: params + o.units, activations: o.units, largest };
    },
  }),
  defineStep({
    name: "train",
    description: "trains a model",
    output: "model",
    options: z.object({
      data: ref("dataset"),
      model: pluginSpec("model"),
      epochs: z.number().int().default(1),
      batchSize: z.number().int().default(8),
    }).strict(),
    run: () => Promise.reject(new Error("not in this test")),
    describe: (o, ctx) => describeTraining(o, ctx),
  }),
  defineStep({
    name: "broken",
    description: "its describe has a bug",
    output: "metrics",
    options: z.object({}).strict(),
    run: () => Promise.reject(new Error("not in this test")),
    describe: () => {
      throw new TypeError("x is undefined");
    },
  }),
]);

async function problemsOf(yaml: string): Promise<string[]> {
  const loaded = await parseExperiment(yaml, "p.yaml", registry);
  try {
    await preflight(loaded, { memoryBytes: 1e9 });
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems.map((p) => `${p.line}:${p.col} ${p.message}`);
  }
}

Deno.test("preflight() reports an option that cannot work at its line:col, once per node", async () => {
  described = 0;
  const problems = await problemsOf(`name: p
nodes:
  data: { use: grid, side: 28 }
  empty: { use: grid, side: 28, n: 0 }
  net: { use: train, data: data, model: { use: dense, units: "\${u}" } }
sweep: { grid: { u: [10, 100000000] }, seeds: [1, 2, 3] }
`);
  assert.deepEqual(problems, [
    '4:36 option "n" of dataset "grid": no samples',
    '6:26 option "model.units" of step "train": fc has 7.8e+10 parameters; training the model ' +
    "(7.9e+10 in all) needs about 1.3 TB of memory, more than the 1 GB available " +
    "— make the model smaller",
  ]);
  assert.equal(described, 2, "each distinct dataset node is described once over 6 trials");
});

Deno.test("preflight() names the node when a plugin's own check fails unexpectedly", async () => {
  const problems = await problemsOf("name: p\nnodes:\n  b: { use: broken }\n");
  assert.deepEqual(problems, [
    '3:3 step plugin "broken" of node "b" failed while checking its options: TypeError: x is undefined',
  ]);
});
