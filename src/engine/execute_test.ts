/**
 * Cache keys of {@linkcode planTrial}: a step's `seed` option that names the seed it would run
 * with anyway gives the same key as leaving it out; another seed gives another key.
 */
import assert from "node:assert/strict";
import { builtinPlugins } from "../../plugins/mod.ts";
import { parseExperiment, type Trial } from "../config/mod.ts";
import { createRegistry } from "../registry.ts";
import { planTrial } from "./execute.ts";

const registry = createRegistry(builtinPlugins);
const ROOT = new URL("../..", import.meta.url).pathname;

/** `teacherSeed` / `studentSeed`: the line added to that node (empty: none). */
function yaml(teacherSeed: string, studentSeed: string, dataSeed = ""): string {
  return `name: keys
nodes:
  train: { use: mnist, split: train, limit: 100${dataSeed} }
  teacher: { use: trained-network, data: train, model: { use: mlp, hidden: [8] }${teacherSeed} }
  targets: { use: features, model: teacher, data: train }
  student:
    use: transfer
    data: train
    targets: targets
    model: { use: mlp, hidden: [8] }
    loss: pkt${studentSeed ? `\n    ${studentSeed}` : ""}
sweep:
  seeds: [0, 1]
`;
}

async function keys(text: string): Promise<Record<string, string>[]> {
  const { trials } = await parseExperiment(text, "keys.yaml", registry);
  const ctx = { registry, baseDir: ROOT, files: new Map(), code: () => undefined };
  return trials.map((t: Trial) =>
    Object.fromEntries([...planTrial(t, ctx)].map(([name, plan]) => [name, plan.key]))
  );
}

Deno.test("planTrial: a teacher's seed: 0 (its default) is the teacher without one", async () => {
  const plain = await keys(yaml("", ""));
  const explicit = await keys(yaml(", seed: 0", ""));
  assert.deepEqual(explicit, plain);
  // One teacher for both trials; the students follow the trial seed.
  assert.equal(plain[0].teacher, plain[1].teacher);
  assert.notEqual(plain[0].student, plain[1].student);
});

Deno.test("planTrial: another teacher seed is another teacher, and everything after it", async () => {
  const plain = await keys(yaml("", ""));
  const other = await keys(yaml(", seed: 1", ""));
  for (const node of ["teacher", "targets", "student"]) {
    assert.notEqual(other[0][node], plain[0][node], node);
  }
  assert.equal(other[0].train, plain[0].train);
});

Deno.test("planTrial: seed: ${seed} on a teacher trains one teacher per trial seed", async () => {
  const plain = await keys(yaml("", ""));
  const fixed1 = await keys(yaml(", seed: 1", ""));
  const paired = await keys(yaml(', seed: "${seed}"', ""));
  // Trial seed 0 → the default teacher; trial seed 1 → the teacher of `seed: 1`.
  assert.deepEqual(paired[0], plain[0]);
  assert.equal(paired[1].teacher, fixed1[1].teacher);
  assert.notEqual(paired[0].teacher, paired[1].teacher);
});

Deno.test("planTrial: a student's seed: ${seed} is the student that follows the trial seed", async () => {
  assert.deepEqual(await keys(yaml("", "seed: ${seed}")), await keys(yaml("", "")));
  // A fixed student seed: both trials run the seed-1 student.
  const fixed = await keys(yaml("", "seed: 1"));
  assert.equal(fixed[0].student, fixed[1].student);
  assert.equal(fixed[0].student, (await keys(yaml("", "")))[1].student);
});

Deno.test("planTrial: a dataset's seed stays in its key (its subset changes with it)", async () => {
  const plain = await keys(yaml("", ""));
  assert.deepEqual(await keys(yaml("", "", ", seed: 0")), plain);
  const other = await keys(yaml("", "", ", seed: 3"));
  assert.notEqual(other[0].train, plain[0].train);
  assert.notEqual(other[0].teacher, plain[0].teacher);
});
