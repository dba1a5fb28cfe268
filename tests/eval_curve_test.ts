/**
 * Evaluation during training (`evalEvery` on a transfer node): curve points at the epochs asked
 * for, the last one equal to the evaluate node's measurement of the same student, and the
 * training itself unchanged by it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "../src/config/mod.ts";
import { openResults } from "../src/results.ts";
import { evaluateAfter } from "../src/eval_curve.ts";
import { artifactOf, registry, sweepInline } from "./fixtures/inline_sweep.ts";

const student = (extra: string) =>
  `{ use: transfer, data: train, model: { use: mlp, hidden: [12] }, epochs: 3, batchSize: 40${extra} }`;

const EXPERIMENT = `name: eval-curve
backend: wasm
nodes:
  train: { use: mnist, split: train, limit: 120 }
  test: { use: mnist, split: test, limit: 40 }
  student: ${student(", evalEvery: 2, evalQueries: test")}
  plain: ${student("")}
  eval: { use: evaluate, model: student, queries: test, database: train, metrics: [retrieval, accuracy] }
`;

Deno.test("evalEvery records evaluation curves that end at the evaluate node's values", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(file, EXPERIMENT);
    const loaded = await loadExperiment(file, registry);
    const report = await sweepInline(loaded, dir);
    assert.equal(report.failed, 0);
    const { metrics } = report.trials[0];

    const db = openResults(join(dir, "run"));
    let curves;
    try {
      curves = db.curves(db.trials(report.runId)[0].id).filter((p) => p.node === "student");
    } finally {
      db.close();
    }
    // 3 epochs, every 2: after epoch 2 and after the last (3); 0-based 1 and 2.
    const at = (phase: string) => curves.filter((p) => p.phase === phase).map((p) => p.epoch);
    assert.deepEqual(at("eval:mAP"), [1, 2]);
    assert.deepEqual(at("eval:P@10"), [1, 2]);
    assert.deepEqual(at("eval:accuracy"), [1, 2]);
    assert.deepEqual(curves.filter((p) => p.phase === undefined).map((p) => p.epoch), [0, 1, 2]);
    // The last evaluation is of the final student: the evaluate node's numbers, exactly.
    const last = (phase: string) => curves.find((p) => p.phase === phase && p.epoch === 2)!.loss;
    assert.equal(last("eval:mAP"), metrics.mAP);
    assert.equal(last("eval:P@10"), metrics["P@10"]);
    assert.equal(last("eval:accuracy"), metrics.accuracy);
    assert.notEqual(curves.find((p) => p.phase === "eval:mAP" && p.epoch === 1)!.loss, metrics.mAP);

    // Training is untouched: the same weights as the same student without evaluations.
    const weights = async (node: string) =>
      await (await artifactOf(loaded, loaded.trials[0], node, dir)).readFile("weights.bin");
    assert.deepEqual(await weights("student"), await weights("plain"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluateAfter() picks every N-th epoch and the last", () => {
  assert.deepEqual([0, 1, 2, 3, 4].filter((e) => evaluateAfter(e, 5, 2)), [1, 3, 4]);
  assert.deepEqual([0, 1, 2].filter((e) => evaluateAfter(e, 3, 1)), [0, 1, 2]);
});
