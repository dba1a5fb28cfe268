/**
 * Golden loss values (torchdistill's idea): every loss function on fixed inputs stored in
 * `testdata/golden.json`, so a refactor that changes any number is caught. (The per-loss tests
 * check the functions against float64 references of their formulas; this file pins the numbers.)
 * Regenerate deliberately with `KT_UPDATE_GOLDEN=1 deno test --allow-read --allow-write
 * --allow-env src/losses/golden_test.ts && deno fmt src/losses/testdata` and say why in the commit.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { createRng } from "../rng.ts";
import { attentionTransferLoss } from "./at.ts";
import { ccLoss } from "./cc.ts";
import { contrastSample, crdContrastLoss } from "./crd.ts";
import { distLoss } from "./dist.ts";
import { dkdLoss } from "./dkd.ts";
import { hintonLoss } from "./hinton.ts";
import { nstLoss } from "./nst.ts";
import { pktLoss } from "./pkt.ts";
import { rkdLoss } from "./rkd.ts";
import { similarityPreservingLoss } from "./sp.ts";
import { vidInitialLogScale, vidLoss } from "./vid.ts";

await tf.setBackend("cpu");

const FILE = new URL("./testdata/golden.json", import.meta.url);

/** A stored input: shape and values (rounded to 4 decimals, so JSON holds them exactly). */
interface Input {
  shape: number[];
  values: number[];
}

interface Golden {
  inputs: Record<string, Input>;
  values: Record<string, number>;
}

function makeInputs(): Record<string, Input> {
  const rng = createRng(20260101);
  const input = (...shape: number[]): Input => ({
    shape,
    values: Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      () => Math.round(rng.normal() * 1e4) / 1e4,
    ),
  });
  const labels = [0, 3, 1, 1, 4, 2];
  return {
    student: input(6, 4),
    teacher: input(6, 5),
    studentEmbedding: input(6, 4),
    studentMap: input(3, 4, 4, 2),
    teacherMap: input(3, 2, 2, 3),
    studentLogits: input(6, 5),
    teacherLogits: input(6, 5),
    labels: { shape: [6], values: labels },
    vidW1: input(2, 3),
    vidW2: input(3, 3),
    vidW3: input(3, 3),
    anchor: input(3, 4),
    memory: input(8, 4),
    contrast: { shape: [3, 4], values: [0, 3, 3, 7, 1, 2, 4, 6, 5, 0, 1, 2] },
  };
}

/** Every loss on the stored inputs, at its defaults (and the options stated in the name). */
function compute(inputs: Record<string, Input>): Record<string, number> {
  return tf.tidy(() => {
    const t = (name: string) => tf.tensor(inputs[name].values, inputs[name].shape);
    const m = (name: string) => t(name) as tf.Tensor2D;
    const map = (name: string) => t(name) as tf.Tensor4D;
    const labels = tf.tensor1d(inputs.labels.values, "int32");
    const v = (f: () => tf.Scalar) => f().dataSync()[0];
    const sample = contrastSample(Int32Array.from(inputs.contrast.values), 3, 8);
    return {
      pkt: v(() => pktLoss(m("student"), m("teacher"))),
      "hinton library": v(() => hintonLoss(m("studentLogits"), m("teacherLogits"), { labels })),
      rkd: v(() => rkdLoss(m("student"), m("teacher"))),
      sp: v(() => similarityPreservingLoss(map("studentMap"), map("teacherMap"))),
      at: v(() => attentionTransferLoss(map("studentMap"), map("teacherMap"))),
      "at p=3": v(() => attentionTransferLoss(map("studentMap"), map("teacherMap"), { p: 3 })),
      nst: v(() => nstLoss(map("studentMap"), map("teacherMap"))),
      dkd: v(() => dkdLoss(m("studentLogits"), m("teacherLogits"), labels)),
      dist: v(() => distLoss(m("studentLogits"), m("teacherLogits"))),
      cc: v(() => ccLoss(m("student"), m("studentEmbedding"))),
      vid: v(() =>
        vidLoss(map("studentMap"), map("teacherMap"), {
          weights: [m("vidW1"), m("vidW2"), m("vidW3")],
          logScale: tf.fill([3], vidInitialLogScale()) as tf.Tensor1D,
        })
      ),
      "crd T=0.07 Z=8": v(() =>
        crdContrastLoss(m("anchor"), m("memory"), sample, { temperature: 0.07, normalizer: 8 })
      ),
    };
  });
}

Deno.test("every loss reproduces its golden value on the stored inputs", async () => {
  if (Deno.env.get("KT_UPDATE_GOLDEN") === "1") {
    const inputs = makeInputs();
    const golden: Golden = { inputs, values: compute(inputs) };
    await Deno.writeTextFile(FILE, JSON.stringify(golden, null, 2) + "\n");
  }
  const golden = JSON.parse(await Deno.readTextFile(FILE)) as Golden;
  const got = compute(golden.inputs);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(golden.values).sort(), "loss names");
  for (const [name, expected] of Object.entries(golden.values)) {
    const tol = 1e-5 * Math.max(1, Math.abs(expected));
    assert.ok(
      Math.abs(got[name] - expected) <= tol,
      `${name}: got ${got[name]}, golden ${expected} — a change of numerics; if intended, ` +
        "regenerate with KT_UPDATE_GOLDEN=1 and say why",
    );
  }
});
