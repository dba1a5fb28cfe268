/**
 * Loss-term state stored with the student (issue 14): CC's and CRD's embeddings, VID's regressors
 * and variances, CRD's memory banks and Z are read after training, survive the cache's file form,
 * and are put back — exactly — into a fresh term (another seed) by kt's trainer; wrong shapes are
 * refused with a clear error; `sum` keeps its children's state apart.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import type { LossPlugin, LossState, LossTerm, TrainedModel } from "../../src/api.ts";
import { cacheKey, openCache } from "../../src/cache.ts";
import { outputFromArtifact, outputToFiles } from "../../src/engine/outputs.ts";
import { KtError } from "../../src/errors.ts";
import { readLossState, restoreLossState, sameLoss } from "../../src/loss_state.ts";
import { randomArray } from "../../src/losses/testing.ts";
import { trainModel } from "../../src/train.ts";
import mlp from "../models/mlp.ts";
import { disposeBatch, lossBatch, lossSpec, makeSum, makeTerm } from "./_testing.ts";
import cc from "./cc.ts";
import crd from "./crd.ts";
import sum from "./sum.ts";
import vid from "./vid.ts";

await tf.setBackend("cpu");

function make(plugin: LossPlugin<unknown>, options: Record<string, unknown>, seed: number) {
  if (plugin !== sum) return makeTerm(plugin.name, options, seed);
  // sum's terms as the validator leaves them: each child's options parsed by its plugin
  const terms = (options.terms as Record<string, unknown>[]).map(({ use, ...o }) =>
    lossSpec(use as string, o)
  );
  return makeSum(terms, 1, seed);
}

const CASES: [string, LossPlugin<unknown>, Record<string, unknown>][] = [
  ["cc", cc, { embedding: 4 }],
  ["vid", vid, { studentLayers: ["conv"], teacherLayers: ["conv"] }],
  ["crd", crd, { embedding: 4, negatives: 5 }],
  ["sum", sum, {
    terms: [{ use: "cc", embedding: 3 }, { use: "crd", embedding: 2, negatives: 3 }],
  }],
];

function sameState(a: LossState, b: LossState, what: string) {
  assert.deepEqual(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort(), what);
  for (const [name, t] of Object.entries(a.tensors)) {
    assert.deepEqual(b.tensors[name].shape, t.shape, `${what} ${name}`);
    assert.deepEqual(b.tensors[name].values, t.values, `${what} ${name}`);
  }
}

for (const [name, plugin, options] of CASES) {
  Deno.test(`${name}: its state is read after a step and restored exactly into another seed's term`, async () => {
    const b = lossBatch();
    const a = make(plugin, options, 1);
    a.init!(b);
    // one optimiser step, so the state is not the initial one (and CRD's banks and Z move)
    const opt = tf.train.adam(0.1);
    tf.dispose(opt.minimize(() => a.compute(b), true, a.variables)!);
    const saved = (await readLossState(a, { use: name, ...options }))!;
    assert.ok(saved, "a term with trainable parts has state");
    const fresh = make(plugin, options, 99);
    fresh.init!(b);
    const before = (await readLossState(fresh, null))!;
    assert.notDeepEqual(
      Object.values(before.tensors).map((t) => Array.from(t.values)),
      Object.values(saved.tensors).map((t) => Array.from(t.values)),
      "another seed starts elsewhere",
    );
    restoreLossState(fresh, saved);
    sameState(saved, (await readLossState(fresh, null))!, name);
    // same state → same loss on the same batch (CRD: same banks, Z and embeddings; its negatives
    // are drawn per term, so only the deterministic methods are compared)
    if (name === "cc" || name === "vid") {
      const va = tf.tidy(() => a.compute(b).dataSync()[0]);
      const vb = tf.tidy(() => fresh.compute(b).dataSync()[0]);
      assert.equal(vb, va);
    }
    opt.dispose();
    a.dispose!();
    fresh.dispose!();
    disposeBatch(b);
  });
}

Deno.test("crd's state holds both memory banks (N × embedding), the embeddings and Z", async () => {
  const b = lossBatch();
  const t = make(crd, { embedding: 4, negatives: 5 }, 1);
  t.init!(b);
  const noZ = (await readLossState(t, null))!;
  assert.deepEqual(Object.keys(noZ.tensors).sort(), [
    "memory.student",
    "memory.teacher",
    "student.bias",
    "student.kernel",
    "teacher.bias",
    "teacher.kernel",
  ]);
  assert.deepEqual(noZ.tensors["memory.student"].shape, [10, 4]);
  assert.deepEqual(noZ.tensors["teacher.kernel"].shape, [5, 4]);
  tf.tidy(() => void t.compute(b));
  const withZ = (await readLossState(t, null))!;
  assert.equal(withZ.tensors.z.values.length, 2);
  assert.ok(withZ.tensors.z.values.every((v) => Number.isFinite(v) && v > 0));
  t.dispose!();
});

Deno.test("a saved state that does not fit the term is refused with a clear error", async () => {
  const b = lossBatch();
  const a = make(cc, { embedding: 4 }, 1);
  a.init!(b);
  const saved = (await readLossState(a, null))!;
  const wider = make(cc, { embedding: 5 }, 1);
  wider.init!(b);
  assert.throws(
    () => restoreLossState(wider, saved),
    (e) => e instanceof KtError && /does not fit this loss term/.test(e.message),
  );
  const crdTerm = make(crd, { embedding: 4, negatives: 5 }, 1);
  crdTerm.init!(b);
  assert.throws(() => restoreLossState(crdTerm, saved), KtError);
  for (const t of [a, wider, crdTerm]) t.dispose!();
});

Deno.test("sameLoss: same plugin and options in any key order; other options differ", () => {
  assert.ok(
    sameLoss({ use: "crd", beta: 0.8, embedding: 4 }, { embedding: 4, use: "crd", beta: 0.8 }),
  );
  assert.ok(!sameLoss({ use: "crd", embedding: 4 }, { use: "crd", embedding: 5 }));
  assert.ok(!sameLoss({ use: "cc", embedding: 4 }, { use: "crd", embedding: 4 }));
});

Deno.test("the trainer restores a saved state after init, and it survives the cache's files", async () => {
  const n = 20;
  const data = {
    name: "toy",
    x: Float32Array.from(randomArray(n * 4, 7)),
    y: Int32Array.from({ length: n }, (_, i) => i % 3),
    shape: [2, 2, 1] as [number, number, number],
    size: n,
    numClasses: 3,
  };
  const targets = {
    features: { values: Float32Array.from(randomArray(n * 5, 8)), dim: 5, size: n },
  };
  const build = () =>
    mlp.build(mlp.options.parse({ hidden: [6] }), {
      inputShape: [2, 2, 1],
      numClasses: 3,
      seed: 1,
    });
  const options = { embedding: 4, negatives: 5 };
  const spec = { use: "crd", ...options };
  const train = async (term: LossTerm, lr: number, lossState?: LossState) => {
    const model = build();
    const history = await trainModel(model, data, {
      epochs: 1,
      batchSize: 8,
      optimizer: { type: "adam", lr },
      seed: 1,
      loss: term,
      targets,
      lossState,
      progress: false,
    });
    return { model, history };
  };
  const first = make(crd, options, 1);
  const trained = await train(first, 1e-2);
  const state = (await readLossState(first, spec))!;
  // through the files a transfer node's output is cached as
  const { files } = await outputToFiles("model", { ...trained, lossState: state });
  assert.ok("loss_state.json" in files);
  const dir = await Deno.makeTempDir({ prefix: "kt-loss-state-" });
  const key = cacheKey({ plugin: "step:transfer", options: { test: "loss state" }, inputs: {} });
  const cache = await openCache(dir);
  await cache.put(key, files, { plugin: "step:transfer" });
  const back = await outputFromArtifact("model", (await cache.get(key))!) as TrainedModel;
  await Deno.remove(dir, { recursive: true });
  sameState(state, back.lossState!, "cache round trip");
  assert.deepEqual(back.lossState!.loss, spec);
  // a new term of another seed, trained with lr 0 from the saved state, ends where it started
  // only if the trainer put the state back (the banks still move: they are not trained)
  const second = make(crd, options, 42);
  const resumed = await train(second, 0, back.lossState);
  const after = (await readLossState(second, spec))!;
  for (const name of ["student.kernel", "student.bias", "teacher.kernel", "teacher.bias"]) {
    assert.deepEqual(after.tensors[name].values, state.tensors[name].values, name);
  }
  assert.deepEqual(after.tensors.z.values, state.tensors.z.values, "Z is kept, not re-estimated");
  const third = make(crd, options, 42);
  const unrestored = await train(third, 0);
  const other = (await readLossState(third, spec))!;
  assert.notDeepEqual(
    other.tensors["student.kernel"].values,
    state.tensors["student.kernel"].values,
  );
  for (const t of [first, second, third]) t.dispose!();
  for (const m of [trained, back, resumed, unrestored]) m.model.net.dispose();
});
