/**
 * Every shipped experiment graph (experiments/, examples/) validates against the built-in plugins
 * and expands into the trials its sweep promises — what `kt plan` checks — without running.
 */
import assert from "node:assert/strict";
import { builtinPlugins } from "../plugins/mod.ts";
import { createRegistry } from "../src/registry.ts";
import { loadExperiment } from "../src/config/mod.ts";
import { planTrial } from "../src/engine/execute.ts";
import { provenanceContext } from "../src/provenance.ts";

const registry = createRegistry(builtinPlugins);
const root = new URL("..", import.meta.url).pathname;

/** Expected trial counts: grid size × seeds, computed from each file's sweep by hand. */
const EXPECTED: Record<string, number> = {
  "experiments/quickstart.yaml": 4 * 2,
  "experiments/mnist_pkt.yaml": 6 * 3,
  "experiments/mnist_pkt_quick.yaml": 7 * 3,
  "experiments/mnist_pkt_lr.yaml": 3 * 2 * 3,
  "experiments/fashion_mnist_pkt.yaml": 6 * 3,
  "experiments/fashion_mnist_pkt_quick.yaml": 7 * 3,
  "experiments/fashion_teacher_seeds.yaml": 2 * 1,
  "experiments/fashion_torch_teacher.yaml": 3 * 3,
  "experiments/methods_mnist.yaml": 16 * 3,
  "experiments/methods_fashion_mnist.yaml": 16 * 3,
  "experiments/cifar10_paper.yaml": 4 * 1,
  "experiments/hog_to_cnn.yaml": 4 * 3,
  "experiments/pkt_variants.yaml": 6 * 6 * 2,
  "experiments/precomputed_teacher.yaml": 3 * 2,
  "examples/custom_loss.yaml": 2 * 2,
};

/** Files whose trials train several teachers (default: at most one). */
const TEACHERS: Record<string, number> = { "experiments/fashion_teacher_seeds.yaml": 2 };

for (const [file, trials] of Object.entries(EXPECTED)) {
  Deno.test(`${file} validates and expands to ${trials} trials`, async () => {
    const loaded = await loadExperiment(root + file, registry);
    assert.equal(loaded.trials.length, trials);
    const ids = new Set(loaded.trials.map((t) => t.id));
    assert.equal(ids.size, trials, "trial ids are distinct");
    // Shared nodes merge: every trial trains the same teacher (when there is one), except in
    // the file that sweeps the teacher's own seed.
    const ctx = await provenanceContext(loaded.experiment, loaded.trials);
    const teacherKeys = new Set(
      loaded.trials.map((t) => planTrial(t, ctx).get("teacher")?.key).filter(Boolean),
    );
    const teachers = TEACHERS[file] ?? 1;
    assert.ok(teacherKeys.size <= teachers, `${teachers} teacher(s), got ${teacherKeys.size}`);
  });
}

Deno.test("every YAML file in experiments/ and examples/ is covered above", async () => {
  const files: string[] = [];
  for (const dir of ["experiments", "examples"]) {
    for await (const e of Deno.readDir(root + dir)) {
      if (e.isFile && e.name.endsWith(".yaml")) files.push(`${dir}/${e.name}`);
    }
  }
  assert.deepEqual(files.sort(), Object.keys(EXPECTED).sort());
});

Deno.test("an evaluate node without metrics: validates and defaults to retrieval", async () => {
  const { parseExperiment } = await import("../src/config/mod.ts");
  const yaml = [
    "name: nometrics",
    "nodes:",
    "  train: { use: mnist, split: train, limit: 200 }",
    "  test: { use: mnist, split: test, limit: 100 }",
    "  net: { use: trained-network, data: train, model: { use: mlp, hidden: [8] }, epochs: 1 }",
    "  eval: { use: evaluate, model: net, queries: test, database: train }",
  ].join("\n");
  const { trials } = await parseExperiment(yaml, "nometrics.yaml", registry);
  const metrics = trials[0].graph.nodes["eval"].options.metrics as { use: string }[];
  assert.deepEqual(metrics.map((m) => m.use), ["retrieval"]);
});
