import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, loadExperiment, parseExperiment, type Trial } from "./mod.ts";
import { fakeRegistry } from "./_fixtures.ts";
import { defineStep, z } from "../api.ts";

const DESIGN_EXAMPLE = `name: pkt-vs-baselines
backend: auto
nodes:
  train:   { use: mnist, split: train }
  test:    { use: mnist, split: test }
  teacher: { use: trained-network, data: train, model: { use: cnn, filters: [32, 64], dense: [128] }, epochs: 5 }
  targets: { use: features, model: teacher, layer: representation, data: train }
  student: { use: transfer, data: train, targets: targets, model: { use: cnn, filters: [8, 16, 32], dense: [64] },
             loss: { use: "\${method}" }, epochs: 10 }
  eval:    { use: retrieval-eval, model: student, queries: test, database: train }
sweep: { grid: { method: [pkt, hinton, hint-optimized, none] }, seeds: [0, 1, 2] }
`;

async function trialsOf(yaml: string): Promise<Trial[]> {
  return (await parseExperiment(yaml, "exp.yaml", fakeRegistry())).trials;
}

Deno.test("the DESIGN.md example expands to one trial per method and seed, seeds innermost", async () => {
  const { experiment, trials } = await parseExperiment(DESIGN_EXAMPLE, "exp.yaml", fakeRegistry());
  assert.equal(experiment.name, "pkt-vs-baselines");
  assert.equal(experiment.backend, "auto");
  const expected: string[] = [];
  for (const m of ["pkt", "hinton", "hint-optimized", "none"]) {
    for (const s of [0, 1, 2]) expected.push(`method=${m} seed=${s}`);
  }
  assert.deepEqual(trials.map((t) => t.label), expected);
  assert.deepEqual(trials[4].params, { method: "hinton" });
  assert.equal(trials[4].seed, 1);
  assert.equal((trials[4].graph.nodes.student.options.loss as { use: string }).use, "hinton");
});

Deno.test("trial ids are 12 hex digits, distinct, and the same on every load", async () => {
  const a = await trialsOf(DESIGN_EXAMPLE);
  const b = await trialsOf(DESIGN_EXAMPLE.replace("epochs: 10", "epochs: 11"));
  assert.ok(a.every((t) => /^[0-9a-f]{12}$/.test(t.id)));
  assert.equal(new Set(a.map((t) => t.id)).size, a.length);
  assert.deepEqual(a.map((t) => t.id), b.map((t) => t.id), "ids depend on params and seed only");
});

Deno.test("references are resolved and nodes come in dependency order", async () => {
  const [trial] = await trialsOf(DESIGN_EXAMPLE);
  const { nodes, order } = trial.graph;
  assert.deepEqual(nodes.student.refs, [
    { option: "data", node: "train" },
    { option: "targets", node: "targets" },
  ]);
  assert.deepEqual(nodes.eval.inputs, ["student", "test", "train"]);
  assert.deepEqual(nodes.targets.inputs, ["teacher", "train"]);
  assert.deepEqual(nodes.train.refs, []);
  for (const name of order) {
    for (const input of nodes[name].inputs) {
      assert.ok(order.indexOf(input) < order.indexOf(name), `${input} before ${name}`);
    }
  }
  assert.deepEqual(new Set(order), new Set(Object.keys(nodes)));
  assert.equal(nodes.student.kind, "step");
  assert.equal(nodes.train.kind, "dataset");
  assert.equal(nodes.student.where, "exp.yaml:8:3");
});

Deno.test("schema defaults are applied at every depth, inline plugins included", async () => {
  const trials = await trialsOf(DESIGN_EXAMPLE);
  const hinton = trials.find((t) => t.params.method === "hinton")!;
  const student = hinton.graph.nodes.student;
  assert.equal(student.options.batchSize, 128);
  assert.equal(student.options.epochs, 10);
  assert.deepEqual(student.options.model, {
    use: "cnn",
    kind: "model",
    version: "2",
    options: { filters: [8, 16, 32], dense: [64], dropout: 0 },
  });
  assert.deepEqual(student.options.loss, {
    use: "hinton",
    kind: "loss",
    version: "",
    options: { temperature: 4, alpha: 0.9 },
  });
  assert.deepEqual(hinton.graph.nodes.eval.options.metrics, [
    {
      use: "retrieval",
      kind: "metric",
      version: "",
      options: { similarity: "cosine", k: [10, 100] },
    },
  ]);
  assert.deepEqual(hinton.graph.nodes.test.options, { split: "test" });
  assert.equal(hinton.graph.nodes.teacher.options.lr, 0.001);
});

const SWEEP = `name: sweep
nodes:
  train: { use: mnist }
  student: { use: transfer, data: train, model: cnn, loss: hinton }
sweep:
  grid: { "student.epochs": [5, 10] }
  random: { count: 4, seed: 3, space: { "student.loss.temperature": { uniform: [1, 8] } } }
  seeds: [0, 1]
`;

Deno.test("grid × random × seeds: option paths are set, random draws repeat per grid point", async () => {
  const trials = await trialsOf(SWEEP);
  assert.equal(trials.length, 2 * 4 * 2);
  const temps = trials.map((t) => t.params["student.loss.temperature"] as number);
  for (let i = 0; i < trials.length; i++) {
    const t = trials[i];
    assert.equal(t.params["student.epochs"], i < 8 ? 5 : 10);
    assert.equal(t.seed, i % 2);
    assert.equal(t.graph.nodes.student.options.epochs, t.params["student.epochs"]);
    const loss = t.graph.nodes.student.options.loss as { options: { temperature: number } };
    assert.equal(loss.options.temperature, temps[i]);
    assert.ok(temps[i] >= 1 && temps[i] < 8);
  }
  assert.deepEqual(temps.slice(0, 8), temps.slice(8), "same random points for each grid point");
  assert.equal(new Set(temps).size, 4);
  assert.deepEqual(temps, (await trialsOf(SWEEP)).map((t) => t.params["student.loss.temperature"]));
  const other = await trialsOf(SWEEP.replace("seed: 3", "seed: 4"));
  assert.notDeepEqual(other.map((t) => t.params["student.loss.temperature"]), temps);
});

Deno.test("trial labels round random floats to 4 significant digits", async () => {
  const [t] = await trialsOf(SWEEP);
  const temp = t.params["student.loss.temperature"] as number;
  assert.equal(
    t.label,
    `student.epochs=5 student.loss.temperature=${Number(temp.toPrecision(4))} seed=0`,
  );
});

Deno.test("a whole-string ${var} keeps the value's type; inside a string it is text", async () => {
  const trials = await trialsOf(`name: vars
nodes:
  train: { use: mnist, limit: "\${n}" }
  hog: { use: hog }
  feats: { use: features, data: train, model: hog, layer: "fc-\${n}-\${seed}-$\${kept}" }
sweep: { grid: { n: [3, 40] }, seeds: [7] }
`);
  assert.deepEqual(trials.map((t) => t.graph.nodes.train.options.limit), [3, 40]);
  assert.deepEqual(trials.map((t) => t.graph.nodes.feats.options.layer), [
    "fc-3-7-${kept}",
    "fc-40-7-${kept}",
  ]);
});

Deno.test("a sweep over a sub-option of the shorthand `loss: pkt` expands it to { use: pkt }", async () => {
  const trials = await trialsOf(`name: short
nodes:
  train: { use: mnist }
  student: { use: transfer, data: train, model: cnn, loss: pkt }
sweep: { grid: { student.loss.kernel: [cosine, rbf] } }
`);
  assert.deepEqual(
    trials.map((t) => t.graph.nodes.student.options.loss),
    ["cosine", "rbf"].map((kernel) => ({
      use: "pkt",
      kind: "loss",
      version: "",
      options: { kernel, weight: 1 },
    })),
  );
});

Deno.test("without a sweep there is one trial with the experiment's seed", async () => {
  const { experiment, trials } = await parseExperiment(
    "name: one\nseed: 7\nnodes:\n  train: { use: mnist }\n",
    "one.yaml",
    fakeRegistry(),
  );
  assert.equal(experiment.seed, 7);
  assert.equal(trials.length, 1);
  assert.deepEqual(trials[0].params, {});
  assert.equal(trials[0].seed, 7);
  assert.equal(trials[0].label, "seed=7");
});

Deno.test("inline plugins nest: a loss made of loss terms is validated term by term", async () => {
  const [t] = await trialsOf(`name: nest
nodes:
  train: { use: mnist }
  student: { use: transfer, data: train, model: mlp, loss: { use: sum, terms: [pkt, { use: hinton, alpha: 0.5 }] } }
`);
  const loss = t.graph.nodes.student.options.loss as { options: { terms: unknown[] } };
  assert.deepEqual(loss.options.terms, [
    { use: "pkt", kind: "loss", version: "", options: { kernel: "cosine", weight: 1 } },
    { use: "hinton", kind: "loss", version: "", options: { temperature: 4, alpha: 0.5 } },
  ]);
});

Deno.test("a name used by two plugin kinds must be qualified as kind/name", async () => {
  const clash = defineStep({
    name: "retrieval",
    description: "a step with a metric's name",
    output: "metrics",
    options: z.object({}).strict(),
    run: () => Promise.resolve({}),
  });
  const registry = fakeRegistry().with([clash]);
  const yaml = "name: q\nnodes:\n  e: { use: retrieval }\n";
  await assert.rejects(
    () => parseExperiment(yaml, "q.yaml", registry),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(
        e.message,
        /q\.yaml:3:13: plugin name "retrieval" is ambiguous; write use: metric\/retrieval or step\/retrieval/,
      );
      return true;
    },
  );
  const { trials } = await parseExperiment(
    yaml.replace("retrieval", "step/retrieval"),
    "q.yaml",
    registry,
  );
  assert.equal(trials[0].graph.nodes.e.plugin, clash);
});

Deno.test("loadExperiment() loads listed plugin files relative to the YAML and resolves dirs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "sub"));
    const api = pathToFileURL(join(Deno.cwd(), "src/api.ts")).href;
    await Deno.writeTextFile(
      join(dir, "sub", "my_loss.ts"),
      `import { defineLoss, z } from "${api}";
export default defineLoss({
  name: "my-loss",
  description: "a user loss",
  version: "3",
  options: z.object({ scale: z.number().default(2) }).strict(),
  create: () => { throw new Error("unused"); },
});
`,
    );
    const yaml = `name: user
plugins: [./sub/my_loss.ts]
cacheDir: cache
runDir: /tmp/abs-runs
nodes:
  train: { use: mnist }
  student: { use: transfer, data: train, model: cnn, loss: my-loss }
`;
    const path = join(dir, "exp.yaml");
    await Deno.writeTextFile(path, yaml);
    const { experiment, trials } = await loadExperiment(path, fakeRegistry());
    assert.deepEqual(experiment.plugins, [join(dir, "sub", "my_loss.ts")]);
    assert.equal(experiment.cacheDir, join(dir, "cache"));
    assert.equal(experiment.runDir, "/tmp/abs-runs");
    assert.equal(experiment.registry.get("loss", "my-loss").version, "3");
    assert.deepEqual(trials[0].graph.nodes.student.options.loss, {
      use: "my-loss",
      kind: "loss",
      version: "3",
      options: { scale: 2 },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ConfigError lists every problem as file:line:col: message, sorted by position", async () => {
  const yaml = `name: two
nodes:
  b: { use: mnist, split: dev }
  a: { use: mnst }
`;
  const err = await parseExperiment(yaml, "two.yaml", fakeRegistry()).catch((e) => e);
  assert.ok(err instanceof ConfigError);
  const lines = err.message.split("\n");
  assert.equal(lines[0], "2 problems in two.yaml:");
  assert.match(lines[1], /^two\.yaml:3:27: option "split" of plugin "mnist": expected one of/);
  assert.match(lines[2], /^two\.yaml:4:13: unknown plugin "mnst"; did you mean "mnist"\?$/);
});

Deno.test("loadExperiment() names a missing file", async () => {
  await assert.rejects(
    () => loadExperiment("/nonexistent/exp.yaml", fakeRegistry()),
    /cannot read experiment file \/nonexistent\/exp\.yaml: not found/,
  );
});
