/**
 * `kt export`: a student trained by a sweep comes out of the cache as a tfjs layers model with
 * its layer names, and the `saved` teacher of another experiment loads it back — giving the same
 * features, bit for bit, as the model it was exported from.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "../src/config/mod.ts";
import { describeTopology, exportModel, selectTrial } from "../src/export.ts";
import { KtError } from "../src/errors.ts";
import type { Trial } from "../src/config/mod.ts";
import { artifactOf, registry, sweepInline } from "./fixtures/inline_sweep.ts";

/** Students (with a features node over the train split) trained for two seeds. */
const TRAIN = `name: export-test
backend: wasm
nodes:
  train: { use: mnist, split: train, limit: 120 }
  student:
    use: transfer
    data: train
    model: { use: mlp, hidden: [12, 8] }
    epochs: 1
    batchSize: 40
  studentFeatures: { use: features, model: student, data: train }
sweep: { seeds: [0, 1] }
`;

/** The exported student as the teacher of another experiment, its features over the same data. */
const reuse = (dir: string) =>
  `name: export-reuse
backend: wasm
nodes:
  train: { use: mnist, split: train, limit: 120 }
  teacher: { use: saved, path: ${dir} }
  targets: { use: features, model: teacher, data: train }
`;

Deno.test("kt export writes a student as a tfjs layers model that the saved teacher loads back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "train.yaml");
    await Deno.writeTextFile(file, TRAIN);
    const loaded = await loadExperiment(file, registry);
    assert.equal((await sweepInline(loaded, dir)).failed, 0);

    const out = await exportModel(loaded, {
      node: "student",
      trial: "seed=1",
      cacheDir: join(dir, "cache"),
      runDir: join(dir, "run"),
    });
    const trial = loaded.trials[1];
    assert.equal(out.trial.id, trial.id);
    assert.equal(out.dir, join(dir, "run", "export", `student-${trial.id}`));
    // The model's files, byte for byte the cached ones, with kt's layer names.
    const cached = await artifactOf(loaded, trial, "student", dir);
    for (const name of ["model.json", "weights.bin"]) {
      assert.deepEqual(await Deno.readFile(join(out.dir, name)), await cached.readFile(name), name);
    }
    const topology = describeTopology(await Deno.readTextFile(join(out.dir, "model.json")));
    assert.deepEqual(out.layers, topology.layers);
    assert.deepEqual(out.layers, ["input", "flatten", "fc1", "fc2", "logits"]);
    assert.equal(out.representation, "fc2");
    assert.deepEqual(out.inputShape, [28, 28, 1]);
    const provenance = JSON.parse(await Deno.readTextFile(join(out.dir, "kt.json")));
    assert.equal(provenance.trial.label, "seed=1");
    assert.equal(provenance.cacheKey, out.key);
    assert.equal(provenance.node, "student");

    // Another experiment's saved teacher: its features equal those of the exported student.
    const reuseFile = join(dir, "reuse.yaml");
    await Deno.writeTextFile(reuseFile, reuse(out.dir));
    const reused = await loadExperiment(reuseFile, registry);
    assert.equal((await sweepInline(reused, dir)).failed, 0);
    const mine = await artifactOf(loaded, trial, "studentFeatures", dir);
    const theirs = await artifactOf(reused, reused.trials[0], "targets", dir);
    assert.deepEqual(
      await theirs.readFile("features.f32"),
      await mine.readFile("features.f32"),
      "the saved teacher's features are the exported student's",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kt export says which node or trial it needs and when the model is not cached", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "train.yaml");
    await Deno.writeTextFile(file, TRAIN);
    const loaded = await loadExperiment(file, registry);
    const options = { cacheDir: join(dir, "cache"), runDir: join(dir, "run") };
    const fails = async (o: { node: string; trial?: string }, message: RegExp, hint: RegExp) => {
      await assert.rejects(
        () => exportModel(loaded, { ...options, ...o }),
        (e) => e instanceof KtError && message.test(e.message) && hint.test(e.hint ?? ""),
      );
    };
    await fails(
      { node: "studnet", trial: "seed=0" },
      /^no node "studnet"$/,
      /did you mean "student"/,
    );
    await fails(
      { node: "train", trial: "seed=0" },
      /node "train" \(mnist\) holds no trained model/,
      /nodes with a model: student$/,
    );
    await fails({ node: "student" }, /the sweep has 2 trials; say which with --trial/, /seed=0/);
    await fails(
      { node: "student", trial: "seed=0" },
      /student of trial "seed=0" is not in the cache/,
      /deno task sweep/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("selectTrial() takes an id, a label or some parameters, and refuses ambiguity", () => {
  const t = (method: string, seed: number) =>
    ({
      id: `${method}${seed}`,
      label: `method=${method} seed=${seed}`,
      params: { method },
      seed,
      graph: {},
    }) as unknown as Trial;
  const trials = [t("pkt", 0), t("pkt", 1), t("none", 0)];
  assert.equal(selectTrial(trials, "pkt1"), trials[1]);
  assert.equal(selectTrial(trials, "method=none seed=0"), trials[2]);
  assert.equal(selectTrial(trials, "method=pkt,seed=1"), trials[1]);
  assert.equal(selectTrial(trials, "method=none"), trials[2]);
  assert.equal(selectTrial([trials[0]]), trials[0]);
  assert.throws(() => selectTrial(trials, "method=pkt"), /matches 2 trials/);
  assert.throws(
    () => selectTrial(trials, "method=pkt seed=3"),
    (e) => e instanceof KtError && /no trial/.test(e.message),
  );
});
