import assert from "node:assert/strict";
import { ConfigError, parseExperiment } from "./mod.ts";
import { fakeRegistry } from "./_fixtures.ts";

const EXPERIMENT = `name: overrides
backend: auto
nodes:
  train: { use: mnist, split: train }
  teacher: { use: trained-network, data: train, model: { use: cnn, filters: [32, 64] }, epochs: 5 }
  targets: { use: features, model: teacher, layer: representation, data: train }
  student:
    use: transfer
    data: train
    targets: targets
    model: { use: cnn, filters: [8, 16, 32] }
    loss: pkt
    epochs: 10
sweep:
  grid:
    teacher.epochs: [2, 3]
  seeds: [0, 1]
`;

/** The filters of a resolved model spec. */
function filters(model: unknown): unknown {
  return (model as { options: { filters: number[] } }).options.filters;
}

async function load(...overrides: string[]) {
  return await parseExperiment(EXPERIMENT, "exp.yaml", fakeRegistry(), { overrides });
}

/** The problems of loading with `overrides`, formatted. */
async function problems(...overrides: string[]): Promise<string[]> {
  try {
    await load(...overrides);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split("\n").slice(1);
    throw e;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("overrides change nodes (by node name) and top-level keys before the file is checked", async () => {
  const { experiment, trials } = await load(
    "student.epochs=3",
    "sweep.seeds=[0, 1, 2]",
    "backend=cpu",
    "student.model.filters=[4, 8]",
    "nodes.student.batchSize=32",
  );
  assert.equal(experiment.backend, "cpu");
  assert.equal(trials.length, 2 * 3);
  const student = trials[0].graph.nodes.student.options;
  assert.equal(student.epochs, 3);
  assert.equal(student.batchSize, 32);
  assert.deepEqual(filters(student.model), [4, 8]);
});

Deno.test("overrides: a later one wins, dotted sweep keys match whole, list items by index", async () => {
  const { trials } = await load(
    "student.epochs=3",
    "student.epochs=4",
    "sweep.grid.teacher.epochs=[7]",
    "student.model.filters.1=12",
  );
  assert.deepEqual(trials.map((t) => t.label), [
    "teacher.epochs=7 seed=0",
    "teacher.epochs=7 seed=1",
  ]);
  const student = trials[0].graph.nodes.student.options;
  assert.equal(student.epochs, 4);
  assert.deepEqual(filters(student.model), [8, 12, 32]);
});

Deno.test("an override gives options to a plugin named by a string: loss.weight on loss: pkt", async () => {
  const { trials } = await load("student.loss.weight=2");
  const loss = trials[0].graph.nodes.student.options.loss as { use: string; options: object };
  assert.equal(loss.use, "pkt");
  assert.equal((loss.options as { weight: number }).weight, 2);
});

Deno.test("bad overrides are reported at the override, with the column of the fault", async () => {
  assert.deepEqual(await problems("student.epochs=0"), [
    `override "student.epochs=0" (col 16): option "epochs" of plugin "transfer": must be >= 1, got 0`,
  ]);
  assert.deepEqual(await problems("studnet.epochs=3"), [
    `override "studnet.epochs=3" (col 1): "studnet" is neither a node of the experiment nor a ` +
    `top-level key; did you mean "student"?`,
  ]);
  assert.deepEqual(await problems("epochs"), [
    `override "epochs" (col 1): expected <path>=<value> after the experiment file, e.g. ` +
    `student.epochs=3`,
  ]);
  assert.deepEqual(await problems("student..epochs=3"), [
    `override "student..epochs=3" (col 1): "student..epochs" is not an option path: names joined ` +
    `by dots, e.g. student.epochs=3`,
  ]);
  assert.deepEqual(await problems("sweep.seeds=[0, x"), [
    `override "sweep.seeds=[0, x" (col 18): YAML syntax error: Flow sequence must end with a ]`,
  ]);
  assert.deepEqual(await problems("student.epochs.max=3"), [
    `override "student.epochs.max=3" (col 16): "student.epochs" is number 10, not a map of ` +
    `options, so it has no "max"; set "student.epochs" itself, e.g. student.epochs={...}`,
  ]);
  // A new key sits at its own column: the schema's complaint points there.
  const [unknown] = await problems("student.epoch=3");
  assert.match(unknown, /^override "student.epoch=3" \(col 9\): unknown option "epoch"/);
  assert.match(unknown, /did you mean "epochs"\?/);
  // A value inside a list: the column of the item.
  const [item] = await problems("student.model.filters=[8, -1]");
  assert.match(item, /^override "student.model.filters=\[8, -1\]" \(col 27\): /);
});

Deno.test("overriding an option a sweep axis sets is an error naming the axis", async () => {
  assert.deepEqual(await problems("teacher.epochs=4"), [
    `override "teacher.epochs=4" (col 1): "teacher.epochs" is swept (axis "teacher.epochs" at ` +
    `exp.yaml:16:5), so the axis would replace this value in every trial; override the axis ` +
    `instead, e.g. 'sweep.grid.teacher.epochs=[4]'`,
  ]);
});

Deno.test("problems in the file and in overrides are listed together, the file's first", async () => {
  const yaml = EXPERIMENT.replace("epochs: 10", "epochs: ten");
  try {
    await parseExperiment(yaml, "exp.yaml", fakeRegistry(), { overrides: ["studnet.lr=1"] });
    assert.fail("expected a ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const lines = e.message.split("\n");
    assert.equal(lines[0], "2 problems in exp.yaml:");
    assert.match(lines[1], /^exp\.yaml:13:13: /);
    assert.match(lines[2], /^override "studnet.lr=1" \(col 1\): /);
  }
});
