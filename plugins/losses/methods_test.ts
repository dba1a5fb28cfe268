/**
 * The plugins of the reference libraries' methods (`rkd`, `sp`, `at`, `nst`, `cc`, `vid`, `crd`,
 * `dkd`, `dist`): their options and library defaults, that each computes weight·(γ·CE + β·method)
 * with its pure function, layer pairs reshaped like the student's maps, trainable parts created,
 * seeded, trained and disposed, CRD's memory banks, and no tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { type LossPlugin, type LossTerm, type PluginSpec, z } from "../../src/api.ts";
import { KtError } from "../../src/errors.ts";
import { attentionTransferLoss } from "../../src/losses/at.ts";
import { ccLoss } from "../../src/losses/cc.ts";
import { distLoss } from "../../src/losses/dist.ts";
import { dkdLoss } from "../../src/losses/dkd.ts";
import { nstLoss } from "../../src/losses/nst.ts";
import { rkdLoss } from "../../src/losses/rkd.ts";
import { similarityPreservingLoss } from "../../src/losses/sp.ts";
import { assertClose } from "../../src/losses/testing.ts";
import { vidInitialLogScale, vidLoss } from "../../src/losses/vid.ts";
import { createRng } from "../../src/rng.ts";
import { trainModel } from "../../src/train.ts";
import mlp from "../models/mlp.ts";
import { builtinPlugins } from "../mod.ts";
import {
  ceValue,
  disposeBatch,
  lossBatch,
  lossPlugin,
  lossSpec,
  makeSum,
  makeTerm,
  termValue,
} from "./_testing.ts";
import at from "./at.ts";
import cc from "./cc.ts";
import crd from "./crd.ts";
import dist from "./dist.ts";
import dkd from "./dkd.ts";
import nst from "./nst.ts";
import rkd from "./rkd.ts";
import sp from "./sp.ts";
import vid from "./vid.ts";

await tf.setBackend("cpu");

const METHODS = [rkd, sp, at, nst, cc, vid, crd, dkd, dist] as LossPlugin<unknown>[];
const LAYERS = { studentLayers: ["conv"], teacherLayers: ["conv"] };

// ------------------------------------------------------------------------------ options

Deno.test("every method plugin is registered and its defaults are the reference libraries'", () => {
  const names = new Set(builtinPlugins.filter((p) => p.kind === "loss").map((p) => p.name));
  for (const p of METHODS) assert.ok(names.has(p.name), `${p.name} is not in plugins/mod.ts`);
  const defaults = (name: string, extra: Record<string, unknown> = {}) =>
    lossPlugin(name).options.parse(extra) as Record<string, unknown>;
  assert.deepEqual(defaults("rkd"), {
    beta: 1,
    distanceWeight: 25,
    angleWeight: 50,
    crossEntropy: 1,
    weight: 1,
  });
  assert.deepEqual(defaults("sp", LAYERS), { ...LAYERS, beta: 3000, crossEntropy: 1, weight: 1 });
  assert.deepEqual(defaults("at", LAYERS), {
    ...LAYERS,
    p: 2,
    beta: 1000,
    crossEntropy: 1,
    weight: 1,
  });
  assert.deepEqual(defaults("nst", LAYERS), { ...LAYERS, beta: 50, crossEntropy: 1, weight: 1 });
  assert.deepEqual(defaults("vid", LAYERS), {
    ...LAYERS,
    beta: 1,
    initVariance: 5,
    eps: 1e-5,
    crossEntropy: 1,
    weight: 1,
  });
  assert.deepEqual(defaults("cc"), { embedding: 128, beta: 0.02, crossEntropy: 1, weight: 1 });
  assert.deepEqual(defaults("crd"), {
    embedding: 128,
    negatives: 16384,
    temperature: 0.07,
    momentum: 0.5,
    mode: "exact",
    beta: 0.8,
    crossEntropy: 1,
    weight: 1,
  });
  assert.deepEqual(defaults("dkd"), {
    alpha: 1,
    beta: 8,
    temperature: 4,
    warmup: 20,
    crossEntropy: 1,
    weight: 1,
  });
  assert.deepEqual(defaults("dist"), {
    beta: 1,
    gamma: 1,
    temperature: 4,
    kdWeight: 2,
    crossEntropy: 1,
    weight: 1,
  });
});

Deno.test("method plugins reject misspelled options, bad values and unpaired layers", () => {
  const bad: [string, Record<string, unknown>][] = [
    ["rkd", { distanceWieght: 25 }],
    ["rkd", { beta: -1 }],
    ["sp", { studentLayer: "conv", teacherLayer: "conv" }],
    ["sp", { studentLayers: ["a", "b"], teacherLayers: ["a"] }],
    ["at", { ...LAYERS, p: 0 }],
    ["at", { ...LAYERS, teacherShapes: [[2, 2]] }],
    ["at", { ...LAYERS, teacherShapes: [[2, 2, 5], [1, 1, 1]] }],
    ["nst", { studentLayers: [], teacherLayers: [] }],
    ["vid", { ...LAYERS, initVariance: 0 }],
    ["cc", { embedding: 0 }],
    ["crd", { mode: "exakt" }],
    ["crd", { negatives: 1.5 }],
    ["dkd", { warmup: 0 }],
    ["dist", { tau: 4 }],
  ];
  for (const [name, options] of bad) {
    const r = lossPlugin(name).options.safeParse(options);
    assert.equal(r.success, false, `${name} accepted ${JSON.stringify(options)}`);
  }
  const unpaired = sp.options.safeParse({ studentLayers: ["a", "b"], teacherLayers: ["a"] });
  assert.match(JSON.stringify(unpaired.error?.issues), /pair them one to one/);
});

// ------------------------------------------------------------------------------ values

Deno.test("rkd, dkd and dist plugins compute weight·(γ·CE + β·method) from their functions", () => {
  const b = lossBatch();
  const [r, k, d] = tf.tidy(() => [
    rkdLoss(b.student, b.teacher!, { distanceWeight: 5, angleWeight: 7 }).dataSync()[0],
    dkdLoss(b.studentLogits, b.teacherLogits!, b.labels, { alpha: 2 }).dataSync()[0],
    distLoss(b.studentLogits, b.teacherLogits!, { gamma: 3 }).dataSync()[0],
  ]);
  const c = ceValue(b);
  assertClose(
    termValue(makeTerm("rkd", { distanceWeight: 5, angleWeight: 7, beta: 2, weight: 3 }), b),
    3 * (c + 2 * r),
    1e-5,
    "rkd",
  );
  assertClose(
    termValue(makeTerm("rkd", { distanceWeight: 5, angleWeight: 7, crossEntropy: 0 }), b),
    r,
    1e-5,
    "rkd without cross-entropy",
  );
  assertClose(
    termValue(makeTerm("dkd", { alpha: 2 }), b),
    c + k / 20,
    1e-5,
    "dkd, first epoch: 1/20",
  );
  assertClose(termValue(makeTerm("dist", { gamma: 3 }), b), c + 2 * d, 1e-5, "dist");
  assert.deepEqual(makeTerm("rkd").needs, { teacher: true });
  assert.deepEqual(makeTerm("dkd").needs, { teacherLogits: true });
  assert.throws(() => makeTerm("dist").compute({ ...b, teacherLogits: undefined }), KtError);
  disposeBatch(b);
});

Deno.test("dkd plugin ramps its term by min(epoch/warmup, 1), counting epochs from 1", () => {
  for (const [epoch, factor] of [[0, 1 / 20], [9, 0.5], [19, 1], [40, 1]]) {
    const b = lossBatch(epoch);
    const k = tf.tidy(() => dkdLoss(b.studentLogits, b.teacherLogits!, b.labels).dataSync()[0]);
    assertClose(termValue(makeTerm("dkd"), b), ceValue(b) + factor * k, 1e-5, `epoch ${epoch + 1}`);
    assertClose(
      termValue(makeTerm("dkd", { warmup: 1, crossEntropy: 0 }), b),
      k,
      1e-5,
      "warm-up 1",
    );
    disposeBatch(b);
  }
});

Deno.test("sp, at and nst plugins reshape flat teacher layers like the student's maps", () => {
  const b = lossBatch();
  const teacherMap = tf.reshape(b.teacherLayers.conv, [6, 2, 2, 5]) as tf.Tensor4D;
  const student = b.studentLayers.conv as tf.Tensor4D;
  const [s, a, n, aBig] = tf.tidy(() => [
    similarityPreservingLoss(student, b.teacherLayers.conv).dataSync()[0],
    attentionTransferLoss(student, teacherMap).dataSync()[0],
    nstLoss(student, teacherMap).dataSync()[0],
    // a 4×4 student map against the teacher's 2×2 one, given its shape: pooled to 2×2
    attentionTransferLoss(b.studentLayers.big as tf.Tensor4D, teacherMap).dataSync()[0],
  ]);
  const c = ceValue(b);
  assertClose(termValue(makeTerm("sp", LAYERS), b), c + 3000 * s, 1e-5, "sp");
  assertClose(termValue(makeTerm("at", LAYERS), b), c + 1000 * a, 1e-5, "at");
  assertClose(termValue(makeTerm("nst", LAYERS), b), c + 50 * n, 1e-5, "nst");
  const twoPairs = { studentLayers: ["conv", "big"], teacherLayers: ["conv", "conv"] };
  const shapes = { ...twoPairs, teacherShapes: [[2, 2, 5], [2, 2, 5]], crossEntropy: 0 };
  assertClose(termValue(makeTerm("at", shapes), b), 1000 * (a + aBig), 1e-5, "at, two pairs");
  // Without teacherShapes the 4×4 student map cannot hold the teacher's 20 values per sample.
  assert.throws(
    () => makeTerm("at", twoPairs).compute(b),
    (e) => e instanceof KtError && /not 4×4×C/.test(e.message) && /teacherShapes/.test(e.hint!),
  );
  assert.throws(
    () => makeTerm("at", { ...LAYERS, teacherShapes: [[3, 3, 3]] }).compute(b),
    /holds 27/,
  );
  assert.deepEqual(makeTerm("nst", LAYERS).needs, {
    teacher: false,
    studentLayers: ["conv"],
    teacherLayers: ["conv"],
  });
  const rep = makeTerm("sp", {
    studentLayers: ["representation"],
    teacherLayers: ["representation"],
  });
  assert.deepEqual(rep.needs, { teacher: true, studentLayers: [], teacherLayers: [] });
  const r = tf.tidy(() => similarityPreservingLoss(b.student, b.teacher!).dataSync()[0]);
  assertClose(termValue(rep, b), c + 3000 * r, 1e-5, "sp on the representation");
  // AT and NST need conv maps.
  const flat = { studentLayers: ["representation"], teacherLayers: ["fc"] };
  assert.throws(() => makeTerm("at", flat).compute(b), /NHWC/);
  assert.throws(
    () => makeTerm("nst", { ...LAYERS, studentLayers: ["nope"] }).compute(b),
    /no layer output "nope"/,
  );
  disposeBatch(b);
});

Deno.test("vid plugin creates seeded regressors and variances (init 5) and trains them", () => {
  const b = lossBatch();
  const term = makeTerm("vid", { ...LAYERS, seed: 4 });
  assert.equal(term.variables!.length, 0);
  term.init!(b);
  const vars = term.variables!;
  assert.deepEqual(vars.map((v) => v.shape), [[3, 5], [5, 5], [5, 5], [5]]);
  const s0 = vars[3].dataSync();
  s0.forEach((s) => assertClose(Math.log1p(Math.exp(s)) + 1e-5, 5, 1e-6, "initial variance"));
  // PyTorch's default init: |w| ≤ 1/√fan_in.
  assert.ok(vars[0].dataSync().every((w) => Math.abs(w) <= 1 / Math.sqrt(3)));
  const expected = tf.tidy(() =>
    vidLoss(b.studentLayers.conv, tf.reshape(b.teacherLayers.conv, [6, 2, 2, 5]), {
      weights: vars.slice(0, 3) as tf.Tensor[] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D],
      logScale: vars[3] as tf.Tensor as tf.Tensor1D,
    }).dataSync()[0]
  );
  assertClose(termValue(term, b), ceValue(b) + expected, 1e-5, "vid");
  const same = makeTerm("vid", { ...LAYERS, seed: 4 });
  same.init!(b);
  assert.deepEqual(same.variables![0].dataSync(), vars[0].dataSync(), "same seed, same init");
  const before = termValue(term, b);
  const opt = tf.train.adam(0.05);
  for (let i = 0; i < 20; i++) tf.dispose(opt.minimize(() => term.compute(b), true, vars)!);
  assert.ok(termValue(term, b) < before, "training the regressor lowers the loss");
  assert.ok(vidInitialLogScale() > 0);
  term.dispose!();
  same.dispose!();
  assert.ok(vars.every((v) => v.isDisposed));
  opt.dispose();
  disposeBatch(b);
});

Deno.test("cc plugin embeds student and teacher linearly (128-d) and trains the embeddings", () => {
  const b = lossBatch();
  const term = makeTerm("cc", { embedding: 8, seed: 2 });
  term.init!(b);
  const [sk, sb, tk, tb] = term.variables!;
  assert.deepEqual([sk.shape, sb.shape, tk.shape, tb.shape], [[4, 8], [8], [5, 8], [8]]);
  const expected = tf.tidy(() =>
    ccLoss(
      tf.add(tf.matMul(b.student, sk), sb) as tf.Tensor2D,
      tf.add(tf.matMul(b.teacher!, tk), tb) as tf.Tensor2D,
    ).dataSync()[0]
  );
  assertClose(termValue(term, b), ceValue(b) + 0.02 * expected, 1e-5, "cc");
  const pure = makeTerm("cc", { embedding: 8, seed: 2, crossEntropy: 0, beta: 1 });
  const before = termValue(pure, b);
  const opt = tf.train.sgd(0.05);
  for (let i = 0; i < 10; i++) {
    tf.dispose(opt.minimize(() => pure.compute(b), true, pure.variables)!);
  }
  assert.ok(termValue(pure, b) < before, "training the embeddings lowers CC");
  for (const t of [term, pure]) t.dispose!();
  assert.ok(sk.isDisposed);
  opt.dispose();
  disposeBatch(b);
});

Deno.test("crd plugin: banks sized to the dataset, Z from the first batch, momentum updates", () => {
  const b = lossBatch();
  const term = makeTerm("crd", { embedding: 4, negatives: 3, seed: 5 });
  term.init!(b);
  assert.equal(term.variables!.length, 4, "only the embeddings train");
  const first = termValue(term, b);
  assert.ok(Number.isFinite(first) && first > ceValue(b), `loss ${first}`);
  // A second compute sees updated banks (the batch's rows moved) and the same Z.
  const second = termValue(term, b);
  assert.ok(Number.isFinite(second) && second !== first, `${first} → ${second}`);
  // Training the embeddings lowers the contrastive term.
  const pure = makeTerm("crd", { embedding: 4, negatives: 3, seed: 5, crossEntropy: 0 });
  pure.init!(b);
  const opt = tf.train.adam(0.05);
  const losses: number[] = [];
  for (let i = 0; i < 30; i++) {
    const cost = opt.minimize(() => pure.compute(b), true, pure.variables)!;
    losses.push(cost.dataSync()[0]);
    cost.dispose();
  }
  assert.ok(losses.at(-1)! < losses[0], `CRD ${losses[0]} → ${losses.at(-1)}`);
  assert.throws(() => makeTerm("crd").compute({ ...b, indices: undefined }), /dataset indices/);
  for (const t of [term, pure]) t.dispose!();
  opt.dispose();
  disposeBatch(b);
});

Deno.test("crd plugin draws its negatives from other classes of the whole dataset", () => {
  // With a single-class dataset there are no negatives: an actionable error, not NaN.
  const b = lossBatch();
  const oneClass = { ...b, datasetLabels: new Int32Array(10) };
  assert.throws(() => makeTerm("crd", { negatives: 2 }).init!(oneClass), /at least two classes/);
  disposeBatch(b);
});

Deno.test("method plugins leak no tensors across training steps", () => {
  const b = lossBatch();
  const specs: PluginSpec<"loss">[] = [
    ["rkd", {}],
    ["sp", LAYERS],
    ["at", LAYERS],
    ["nst", LAYERS],
    ["vid", LAYERS],
    ["cc", { embedding: 8 }],
    ["crd", { embedding: 8, negatives: 4 }],
    ["dkd", {}],
    ["dist", {}],
  ].map(([use, o]) => lossSpec(use as string, o as Record<string, unknown>));
  const term = makeSum(specs);
  term.init!(b);
  const student = tf.variable(b.student);
  const conv = tf.variable(b.studentLayers.conv);
  const opt = tf.train.adam(1e-3);
  const step = () =>
    tf.dispose(
      opt.minimize(
        () => term.compute({ ...b, student, studentLayers: { ...b.studentLayers, conv } }),
        true,
        [student, conv, ...term.variables!],
      )!,
    );
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before);
  term.dispose!();
  tf.dispose([student, conv]);
  opt.dispose();
  disposeBatch(b);
});

Deno.test("kt's trainer hands CRD each batch's dataset rows and the dataset labels", async () => {
  const n = 20;
  const rng = createRng(3);
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  const data = {
    name: "toy",
    x: Float32Array.from({ length: n * 4 }, () => rng.normal()),
    y,
    shape: [2, 2, 1] as [number, number, number],
    size: n,
    numClasses: 3,
  };
  const model = mlp.build(mlp.options.parse({ hidden: [6] }), {
    inputShape: [2, 2, 1],
    numClasses: 3,
    seed: 1,
  });
  const teacher = {
    values: Float32Array.from({ length: n * 5 }, () => rng.normal()),
    dim: 5,
    size: n,
  };
  const inner = makeTerm("crd", { embedding: 4, negatives: 5 });
  const seen: number[][] = [];
  const spy: LossTerm = {
    ...inner,
    get variables() {
      return inner.variables;
    },
    compute: (inputs) => {
      assert.equal(inputs.datasetLabels, y);
      seen.push(Array.from(inputs.indices!));
      // the rows of the batch are the samples of the batch: their labels agree
      assert.deepEqual(Array.from(inputs.labels.dataSync()), seen.at(-1)!.map((i) => y[i]));
      return inner.compute(inputs);
    },
  };
  const history = await trainModel(model, data, {
    epochs: 2,
    batchSize: 8,
    optimizer: { type: "adam", lr: 1e-3 },
    seed: 1,
    loss: spy,
    targets: { features: teacher },
    progress: false,
  });
  assert.ok(history.every((h) => Number.isFinite(h.loss)));
  assert.equal(seen.length, 6); // 3 batches (8, 8, 4) × 2 epochs
  for (const epoch of [seen.slice(0, 3), seen.slice(3)]) {
    assert.deepEqual(epoch.flat().sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  }
  inner.dispose!();
  model.net.dispose();
});

Deno.test("every loss plugin says what it reads, matching what its term asks for", () => {
  const losses = builtinPlugins.filter((p) => p.kind === "loss") as LossPlugin<unknown>[];
  for (const plugin of losses.filter((p) => p.name !== "sum")) {
    assert.ok(plugin.reads && plugin.reads.length > 0, `${plugin.name} lists what it reads`);
    const layered = plugin.options.safeParse(LAYERS).success;
    const fitnets = { studentLayer: "conv", teacherLayer: "conv" };
    const options = plugin.options.parse(
      plugin.name === "fitnets"
        ? fitnets
        : plugin.name === "multi-pkt"
        ? { pairs: [{ student: "conv", teacher: "conv" }] }
        : layered
        ? LAYERS
        : {},
    );
    const needs = plugin.create(options, { seed: 1 }).needs ?? {};
    if (needs.teacher) assert.ok(plugin.reads.includes("representation"), plugin.name);
    if (needs.teacherLogits) assert.ok(plugin.reads.includes("logits"), plugin.name);
    if (needs.studentLayers?.length) assert.ok(plugin.reads.includes("layers"), plugin.name);
  }
  for (const name of ["rkd", "sp", "at", "nst", "cc", "vid", "crd", "dkd", "dist"]) {
    assert.match(lossPlugin(name).paper ?? "", /, [A-Za-z]+ 20\d\d$/, `${name} names its paper`);
  }
});

Deno.test("README's methods table gives each loss plugin's paper, reads and defaults", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const rows = new Map(
    readme.split("\n").filter((l) => l.startsWith("| `")).map((l) => {
      const [plugin, paper, reads, defaults] = l.split("|").slice(1, 5).map((c) => c.trim());
      return [plugin.replaceAll("`", ""), { paper, reads, defaults }];
    }),
  );
  const losses = builtinPlugins.filter((p) => p.kind === "loss" && p.paper) as LossPlugin<
    unknown
  >[];
  assert.ok(losses.length >= 16);
  for (const plugin of losses) {
    const row = rows.get(plugin.name);
    assert.ok(row, `README lists ${plugin.name}`);
    assert.equal(row.paper, plugin.paper, `${plugin.name}: paper`);
    assert.equal(row.reads, plugin.reads?.join(", "), `${plugin.name}: reads`);
    const schema = z.toJSONSchema(plugin.options, { io: "input", unrepresentable: "any" }) as {
      properties?: Record<string, { default?: unknown }>;
    };
    for (const [, option, value] of row.defaults.matchAll(/`(\w+): ([^`]+)`/g)) {
      const given = schema.properties?.[option];
      assert.ok(given, `${plugin.name}: README names option ${option}, which it does not have`);
      assert.equal(String(given.default), value, `${plugin.name}: ${option}'s default`);
    }
  }
});
