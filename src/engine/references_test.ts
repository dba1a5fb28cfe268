import assert from "node:assert/strict";
import { join } from "node:path";
import { builtinPlugins } from "../../plugins/mod.ts";
import { defineStep, z } from "../api.ts";
import { openCache } from "../cache.ts";
import { loadExperiment, parseExperiment, type Trial } from "../config/mod.ts";
import { createRegistry } from "../registry.ts";
import { openResults } from "../results.ts";
import { comparisonTable } from "../table.ts";
import type { Registry } from "../registry.ts";
import { materialize, planTrial } from "./execute.ts";
import { type MetricsNode, metricsNodes } from "./references.ts";
import { runSweep } from "./sweep.ts";

const registry = createRegistry(builtinPlugins);
const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * A teacher, a plain student (`baseline`) the swept student starts from, and `evals`. (Every
 * evaluate lists its metrics: the schema's default list does not validate as written today.)
 */
function yaml(evals: string, sweep = "grid: { method: [pkt, none] }\n  seeds: [0, 1]"): string {
  return `name: refs
nodes:
  train: { use: mnist, split: train, limit: 100 }
  test: { use: mnist, split: test, limit: 50 }
  hog: { use: hog }
  teacher: { use: trained-network, data: train, model: { use: mlp, hidden: [8] } }
  targets: { use: features, model: teacher, data: train }
  baseline: { use: transfer, data: train, model: { use: mlp, hidden: [8] } }
  student:
    use: transfer
    data: train
    targets: targets
    init: baseline
    model: { use: mlp, hidden: [8] }
    loss: \${method}
  eval: { use: evaluate, model: student, queries: test, database: train, metrics: [retrieval] }
${evals}
sweep:
  ${sweep}
`;
}

const EVALS =
  `  teacher_eval: { use: evaluate, model: teacher, queries: test, database: train, metrics: [retrieval] }
  baseline_eval: { use: evaluate, model: baseline, queries: test, database: train, metrics: [retrieval] }`;

async function nodesOf(text: string): Promise<{ trials: Trial[]; nodes: MetricsNode[][] }> {
  const { trials } = await parseExperiment(text, "refs.yaml", registry);
  return nodesOfTrials(trials);
}

/** A provenance context for graphs that name no files and use no plugin files. */
function noFiles(reg: Registry = registry) {
  return { registry: reg, baseDir: ROOT, files: new Map(), code: () => undefined };
}

function nodesOfTrials(trials: Trial[]): { trials: Trial[]; nodes: MetricsNode[][] } {
  const plans = new Map(trials.map((t) => [t.id, planTrial(t, noFiles())]));
  const byTrial = metricsNodes(trials, plans);
  return { trials, nodes: trials.map((t) => byTrial.get(t.id)!) };
}

const labels = (nodes: MetricsNode[]) => nodes.map((n) => [n.node, n.reference]);

Deno.test("the teacher's and the plain student's evaluations are references; the student's is not", async () => {
  const { trials, nodes } = await nodesOf(yaml(EVALS));
  assert.deepEqual(trials.map((t) => t.label), [
    "method=pkt seed=0",
    "method=pkt seed=1",
    "method=none seed=0",
    "method=none seed=1",
  ]);
  for (const n of nodes) {
    assert.deepEqual(labels(n), [
      ["eval", undefined],
      ["teacher_eval", "teacher"],
      ["baseline_eval", "plain student (baseline)"],
    ]);
  }
  const key = (trial: number, node: string) => nodes[trial].find((n) => n.node === node)!.key;
  // One teacher evaluation for the whole sweep; one plain-student evaluation per seed.
  assert.equal(new Set([0, 1, 2, 3].map((i) => key(i, "teacher_eval"))).size, 1);
  assert.equal(key(0, "baseline_eval"), key(2, "baseline_eval"));
  assert.equal(key(1, "baseline_eval"), key(3, "baseline_eval"));
  assert.notEqual(key(0, "baseline_eval"), key(1, "baseline_eval"));
  assert.equal(new Set([0, 1, 2, 3].map((i) => key(i, "eval"))).size, 4);
});

Deno.test("reference: true labels by node name, a string is the label, false turns the guess off", async () => {
  const { nodes } = await nodesOf(yaml(
    `  teacher_eval: { use: evaluate, model: teacher, queries: test, database: train, metrics: [retrieval], reference: false }
  baseline_eval: { use: evaluate, model: baseline, queries: test, database: train, metrics: [retrieval], reference: "before transfer" }
  hog_eval: { use: evaluate, model: hog, queries: test, database: train, metrics: [retrieval] }
  student_again: { use: evaluate, model: student, queries: test, database: train, metrics: [retrieval], reference: true }`,
  ));
  assert.deepEqual(labels(nodes[0]), [
    ["eval", undefined],
    ["teacher_eval", undefined],
    ["baseline_eval", "before transfer"],
    ["hog_eval", "teacher (hog)"],
    ["student_again", "student_again"],
  ]);
});

Deno.test("a guessed reference that changes with the swept method measures the method after all", async () => {
  const sweep = "grid: { method: [pkt, none], baseline.epochs: [1, 2] }\n  seeds: [0]";
  const guessed = await nodesOf(yaml(EVALS, sweep));
  for (const n of guessed.nodes) {
    assert.deepEqual(labels(n), [
      ["eval", undefined],
      ["teacher_eval", "teacher"],
      ["baseline_eval", undefined],
    ]);
  }
  // Asked for explicitly, it stays a reference (its row then averages the distinct baselines).
  const asked = await nodesOf(yaml(
    EVALS.replace(
      "model: baseline, queries: test, database: train, metrics: [retrieval] }",
      "model: baseline, queries: test, database: train, metrics: [retrieval], reference: true }",
    ),
    sweep,
  ));
  assert.equal(asked.nodes[0][2].reference, "baseline_eval");
});

Deno.test("the reference option is a label: it does not change the evaluation's cache key", async () => {
  const plain = await nodesOf(yaml(EVALS));
  const labelled = await nodesOf(yaml(EVALS.replace(
    "model: teacher, queries: test, database: train, metrics: [retrieval] }",
    'model: teacher, queries: test, database: train, metrics: [retrieval], reference: "the teacher" }',
  )));
  assert.equal(labelled.nodes[0][1].reference, "the teacher");
  assert.deepEqual(
    labelled.nodes.map((n) => n.map((x) => x.key)),
    plain.nodes.map((n) => n.map((x) => x.key)),
  );
});

Deno.test("experiments/mnist_pkt.yaml: teacher and plain student are references, planned without training", async () => {
  const { trials } = await loadExperiment(join(ROOT, "experiments/mnist_pkt.yaml"), registry);
  const { nodes } = nodesOfTrials(trials);
  assert.equal(trials.length, 18);
  for (const n of nodes) {
    assert.deepEqual(labels(n), [
      ["eval", undefined],
      ["teacher_eval", "teacher"],
      ["baseline_eval", "plain student (baseline)"],
    ]);
  }
  const distinct = (node: string) => new Set(nodes.map((n) => n.find((x) => x.node === node)!.key));
  assert.equal(distinct("teacher_eval").size, 1);
  assert.equal(distinct("baseline_eval").size, 3);
  assert.equal(distinct("eval").size, 18);
});

/** A metrics step that trains nothing: mAP = `value` + `perSeed` · seed, a reference if asked. */
function scoreStep(name: string, seeded: boolean) {
  return defineStep({
    name,
    description: "a fake score",
    output: "metrics",
    seeded,
    options: z.object({
      value: z.number(),
      perSeed: z.number().default(0),
      reference: z.string().optional(),
    }).strict(),
    labelOptions: ["reference"],
    reference: (opts) => opts.reference === undefined ? undefined : { label: opts.reference },
    run: (opts, ctx) => Promise.resolve({ mAP: opts.value + opts.perSeed * ctx.seed }),
  });
}

Deno.test("a sweep records references apart from the method's metrics; the table counts each measurement once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kt-references-test-" });
  try {
    const reg = createRegistry([
      ...builtinPlugins,
      scoreStep("fixed-score", false),
      scoreStep("seeded-score", true),
    ]);
    // The teacher: one measurement, 0.9. The plain student: 0.4, 0.5, 0.6 for seeds 0, 1, 2
    // (mean 0.5, std 0.1). The methods: a = 0.5, b = 0.6, + 0.01 · seed.
    const { trials, experiment } = await parseExperiment(
      `name: fake
nodes:
  score:
    use: seeded-score
    value: \${value}
    perSeed: 0.01
  teacher_score: { use: fixed-score, value: 0.9, reference: teacher }
  plain_score: { use: seeded-score, value: 0.4, perSeed: 0.1, reference: plain student }
sweep:
  grid: { value: [0.5, 0.6] }
  seeds: [0, 1, 2]
`,
      join(dir, "fake.yaml"),
      reg,
    );
    const cacheDir = join(dir, "cache");
    const cache = await openCache(cacheDir);
    const report = await runSweep({ experiment, trials }, {
      cacheDir,
      runDir: join(dir, "run"),
      jobs: 1,
      executor: reg.get("executor", "inline"),
      workerCommand: () => ({ command: "false", args: [], stdin: "" }),
      runInProcess: async (job) => {
        const trial = trials.find((t) => t.id === job.trialId)!;
        const rt = { cache, registry: reg, cacheDir, log: () => {} };
        await materialize(trial, planTrial(trial, noFiles(reg)), job.node, rt);
        return { ok: true };
      },
      tty: false,
      log: () => {},
    });
    // 6 method scores, 1 teacher score, 3 plain-student scores.
    assert.deepEqual(report.executed, { "seeded-score": 9, "fixed-score": 1 });
    assert.deepEqual(report.trials[4].metrics, { mAP: 0.6 + 0.01 });
    assert.deepEqual(report.trials[4].references.map((r) => [r.node, r.label, r.metrics.mAP]), [
      ["teacher_score", "teacher", 0.9],
      ["plain_score", "plain student", 0.4 + 0.1],
    ]);
    const db = openResults(join(dir, "run"));
    const stored = db.trials(report.runId);
    db.close();
    for (const table of [comparisonTable(report.trials), comparisonTable(stored)]) {
      assert.deepEqual(table.rows.map((r) => [r.method, r.seeds, r.metrics.mAP.n]), [
        ["reference: teacher", 1, 1],
        ["reference: plain student", 3, 3],
        ["value=0.5", 3, 3],
        ["value=0.6", 3, 3],
      ]);
      const [teacher, plain, , b] = table.rows;
      assert.equal(teacher.metrics.mAP.mean, 0.9);
      assert.ok(Math.abs(plain.metrics.mAP.mean - 0.5) < 1e-12);
      assert.ok(Math.abs(plain.metrics.mAP.std! - 0.1) < 1e-12);
      assert.ok(Math.abs(b.metrics.mAP.mean - 0.61) < 1e-12);
      assert.deepEqual(table.rows.map((r) => r.metrics.mAP.best), [false, false, false, true]);
      assert.deepEqual(table.metrics, ["mAP"]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
