import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { defineLoss, type LossPlugin, type PluginSpec, z } from "../../src/api.ts";
import { KtError } from "../../src/errors.ts";
import { createRegistry } from "../../src/registry.ts";
import { parseYaml, Problems, type SourceMap } from "../../src/config/parse.ts";
import { validateGraph } from "../../src/config/validate.ts";
import { hintonLoss } from "../../src/losses/hinton.ts";
import { hintLoss, randomProjection } from "../../src/losses/hint.ts";
import { pktLoss, supervisedPktLoss } from "../../src/losses/pkt.ts";
import { assertClose, valueOf } from "../../src/losses/testing.ts";
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
import crossEntropyPlugin from "./cross_entropy.ts";
import fitnets from "./fitnets.ts";
import hinton from "./hinton.ts";
import hintOptimized from "./hint_optimized.ts";
import hintRandom from "./hint_random.ts";
import multiPkt from "./multi_pkt.ts";
import none from "./none.ts";
import pkt from "./pkt.ts";
import spkt from "./spkt.ts";
import sum from "./sum.ts";

await tf.setBackend("cpu");

const ALL = [
  pkt,
  spkt,
  multiPkt,
  hinton,
  hintRandom,
  hintOptimized,
  fitnets,
  crossEntropyPlugin,
  none,
  sum,
] as LossPlugin<unknown>[];

// ------------------------------------------------------------------------------ option schemas

Deno.test("every loss plugin's options reject a misspelled option", () => {
  const misspelled: Record<string, Record<string, unknown>> = {
    pkt: { kernal: "rbf" },
    spkt: { supervisedWieght: 2 },
    "multi-pkt": { pairs: [{ student: "a", teacher: "b" }], decy: 0.9 },
    hinton: { temprature: 3 },
    "hint-random": { sed: 1 },
    "hint-optimized": { wieght: 1 },
    fitnets: { studentLayer: "a", teacherLayer: "b", hintWieght: 1 },
    "cross-entropy": { wieght: 2 },
    none: { weight: 1 },
    sum: { terms: ["pkt"], term: [] },
  };
  for (const p of ALL) {
    const bad = misspelled[p.name];
    assert.ok(bad, `no misspelling case for ${p.name}`);
    const r = p.options.safeParse(bad);
    assert.equal(r.success, false, `${p.name} accepted ${JSON.stringify(bad)}`);
  }
});

Deno.test("loss plugin options reject wrong enum values and wrong types", () => {
  const bad: [string, Record<string, unknown>][] = [
    ["pkt", { kernel: "cosin" }],
    ["pkt", { divergence: "kll" }],
    ["pkt", { sigma: 0 }],
    ["spkt", { kernel: "gaussian" }],
    ["multi-pkt", { pairs: [{ student: "a", teacher: "b" }], divergence: "L2" }],
    ["multi-pkt", { pairs: [] }],
    ["hinton", { form: "offical" }],
    ["hinton", { alpha: 2 }],
    ["hint-random", { seed: 1.5 }],
    ["hint-optimized", { weight: "big" }],
    ["fitnets", { studentLayer: "a", teacherLayer: "b", stage: "two-stage" }],
    ["fitnets", { stage: "hint" }], // hint stage needs the layer names
    ["cross-entropy", { weight: "x" }],
    ["sum", { terms: [] }],
  ];
  for (const [name, options] of bad) {
    const r = lossPlugin(name).options.safeParse(options);
    assert.equal(r.success, false, `${name} accepted ${JSON.stringify(options)}`);
  }
  // and the defaults are what the docs say
  assert.deepEqual(pkt.options.parse({}), {
    kernel: "cosine",
    divergence: "kl",
    eps: 1e-7,
    sigma: 1,
    delta: 1,
    weight: 1,
  });
});

Deno.test("the config validator checks options nested inside sum, with positions", () => {
  const registry = createRegistry(ALL);
  const yaml = [
    "loss:",
    "  use: sum",
    "  terms:",
    "    - { use: cross-entropy, weight: 0.1 }",
    "    - { use: pkt, kernel: rbff, weight: 30000 }",
    "    - { use: pkt, kernal: rbf }",
    "",
  ].join("\n");
  const { root } = parseYaml(yaml, "x.yaml");
  const problems = new Problems("x.yaml");
  const graph = validateGraph(root as SourceMap, registry, problems);
  assert.equal(graph, undefined);
  const text = problems.list.map((p) => `${p.line}: ${p.message}`).join("\n");
  assert.match(text, /^5: .*kernel/m);
  assert.match(text, /^6: .*kernal/m);

  const ok = parseYaml(yaml.replace("rbff", "rbf").replace("kernal", "kernel"), "x.yaml");
  const okProblems = new Problems("x.yaml");
  const resolved = validateGraph(ok.root as SourceMap, registry, okProblems);
  assert.deepEqual(okProblems.list, []);
  const terms = (resolved!.nodes.loss.options as { terms: PluginSpec<"loss">[] }).terms;
  // A term's weight is sum's (it applies it), not an option of the term's plugin.
  assert.deepEqual(terms.map((t) => t.weight), [0.1, 30000, 1]);
  assert.equal(terms[1].options.weight, 1);
  assert.equal(terms[1].options.divergence, "kl"); // child defaults applied

  const bad = parseYaml(yaml.replace("weight: 0.1", "weight: heavy"), "x.yaml");
  const badProblems = new Problems("x.yaml");
  validateGraph(bad.root as SourceMap, registry, badProblems);
  assert.match(
    badProblems.list.map((p) => `${p.line}:${p.col}: ${p.message}`).join("\n"),
    /^4:37: option "terms\.0" of plugin "sum": "weight" of a term must be a finite number, got string "heavy"$/m,
  );
});

Deno.test("a loss without a weight option is a weighted term of sum: sum applies the weight", () => {
  // A user's loss that declares no options at all: mean of the student features.
  const plain = defineLoss({
    name: "mean-student",
    description: "mean of the student features",
    options: z.object({}).strict(),
    create: () => ({ compute: ({ student }) => tf.mean(student) as tf.Scalar }),
  });
  const registry = createRegistry([...ALL, plain]);
  const yaml = "loss: { use: sum, terms: [{ use: mean-student, weight: 3 }, mean-student] }\n";
  const problems = new Problems("x.yaml");
  const graph = validateGraph(parseYaml(yaml, "x.yaml").root as SourceMap, registry, problems);
  assert.deepEqual(problems.list, []);
  const options = graph!.nodes.loss.options as { terms: PluginSpec<"loss">[]; weight: number };
  assert.deepEqual(options.terms.map((t) => [t.use, t.weight, t.options]), [
    ["mean-student", 3, {}],
    ["mean-student", 1, {}],
  ]);
  const term = sum.create(options, { seed: 1, plugin: () => plain });
  const b = lossBatch();
  const mean = tf.tidy(() => tf.mean(b.student).dataSync()[0]);
  assertClose(termValue(term, b), (3 + 1) * mean, 1e-6, "3·mean + mean");
  disposeBatch(b);
});

// ------------------------------------------------------------------------------ values

Deno.test("pkt, cross-entropy and none plugins compute their functions times weight", () => {
  const b = lossBatch();
  const ref = tf.tidy(() => pktLoss(b.student, b.teacher!).dataSync()[0]);
  assertClose(termValue(makeTerm("pkt"), b), ref, 1e-6, "pkt");
  assertClose(termValue(makeTerm("pkt", { weight: 30000 }), b), 30000 * ref, 1e-5, "pkt ×30000");
  const rbf = tf.tidy(() =>
    pktLoss(b.student, b.teacher!, { kernel: "rbf", sigma: 2 }).dataSync()[0]
  );
  assertClose(termValue(makeTerm("pkt", { kernel: "rbf", sigma: 2 }), b), rbf, 1e-6, "pkt rbf");
  const ce = ceValue(b);
  assertClose(
    termValue(makeTerm("cross-entropy", { weight: 0.5 }), b),
    0.5 * ce,
    1e-6,
    "cross-entropy",
  );
  assertClose(termValue(makeTerm("none"), b), ce, 1e-6, "none");
  assert.deepEqual(makeTerm("pkt").needs, { teacher: true });
  disposeBatch(b);
});

Deno.test("pkt plugin explains a missing teacher", () => {
  const b = lossBatch();
  assert.throws(
    () => makeTerm("pkt").compute({ ...b, teacher: undefined }),
    /needs teacher features/,
  );
  disposeBatch(b);
});

Deno.test("spkt plugin is PKT plus supervisedWeight times S-PKT", () => {
  const b = lossBatch();
  const [p, s] = tf.tidy(() => [
    pktLoss(b.student, b.teacher!).dataSync()[0],
    supervisedPktLoss(b.student, b.labels).dataSync()[0],
  ]);
  assertClose(termValue(makeTerm("spkt", { supervisedWeight: 3 }), b), p + 3 * s, 1e-6, "spkt");
  assertClose(termValue(makeTerm("spkt", { teacher: false }), b), s, 1e-6, "spkt supervised only");
  assert.equal(makeTerm("spkt", { teacher: false }).needs?.teacher, false);
  disposeBatch(b);
});

Deno.test("multi-pkt plugin flattens layers and decays its weights per epoch", () => {
  const b = lossBatch(2);
  const term = makeTerm("multi-pkt", {
    pairs: [{ student: "conv", teacher: "conv", weight: 2 }, { student: "fc", teacher: "fc" }],
    decay: 0.5,
  });
  assert.deepEqual(term.needs, { studentLayers: ["conv", "fc"], teacherLayers: ["conv", "fc"] });
  const expected = tf.tidy(() => {
    const conv = pktLoss(
      tf.reshape(b.studentLayers.conv, [6, 12]) as tf.Tensor2D,
      b.teacherLayers.conv,
    );
    const fc = pktLoss(b.studentLayers.fc as tf.Tensor2D, b.teacherLayers.fc);
    return (2 * conv.dataSync()[0] + fc.dataSync()[0]) * 0.25; // decay^epoch = 0.5²
  });
  assertClose(termValue(term, b), expected, 1e-6, "multi-pkt");
  assert.throws(
    () => makeTerm("multi-pkt", { pairs: [{ student: "nope", teacher: "fc" }] }).compute(b),
    /no layer output "nope".*|available/,
  );
  disposeBatch(b);
});

Deno.test("hinton plugin uses labels in the library form and not in the official form", () => {
  const b = lossBatch();
  const [lib, off] = tf.tidy(() => [
    hintonLoss(b.studentLogits, b.teacherLogits!, { labels: b.labels }).dataSync()[0],
    hintonLoss(b.studentLogits, b.teacherLogits!, { form: "official" }).dataSync()[0],
  ]);
  assertClose(termValue(makeTerm("hinton"), b), lib, 1e-6, "library");
  assertClose(termValue(makeTerm("hinton", { form: "official" }), b), off, 1e-6, "official");
  assert.deepEqual(makeTerm("hinton").needs, { teacherLogits: true });
  assert.throws(() => makeTerm("hinton").compute({ ...b, teacherLogits: undefined }), KtError);
  disposeBatch(b);
});

Deno.test("hint-random plugin uses a fixed projection seeded by its seed option", () => {
  const b = lossBatch();
  const term = makeTerm("hint-random", { seed: 9 });
  term.init!(b);
  assert.deepEqual(term.variables ?? [], []); // nothing to train
  const expected = tf.tidy(() => {
    const r = randomProjection(5, 4, 9); // dt×ds
    return hintLoss(b.student, b.teacher!, r, { mode: "random" }).dataSync()[0];
  });
  assertClose(termValue(term, b), expected, 1e-6, "hint-random");
  assertClose(termValue(term, b), expected, 1e-6, "same projection on the next batch");
  const other = makeTerm("hint-random", {}, 10);
  assert.notEqual(termValue(other, b), expected);
  term.dispose!();
  other.dispose!();
  disposeBatch(b);
});

Deno.test("hint-optimized plugin exposes its learned map and training lowers the loss", () => {
  const b = lossBatch();
  const term = makeTerm("hint-optimized", { seed: 3 });
  assert.equal(term.variables!.length, 0);
  term.init!(b);
  const [w] = term.variables!;
  assert.deepEqual(w.shape, [4, 5]); // ds×dt
  const expected = tf.tidy(() =>
    hintLoss(b.student, b.teacher!, randomProjection(4, 5, 3), { mode: "optimized" }).dataSync()[0]
  );
  const before = termValue(term, b);
  assertClose(before, expected, 1e-6, "initial map = seeded projection");
  const opt = tf.train.sgd(0.05);
  for (let i = 0; i < 20; i++) {
    tf.dispose(opt.minimize(() => term.compute(b), true, term.variables)!);
  }
  const after = termValue(term, b);
  assert.ok(after < before * 0.8, `loss ${before} → ${after}`);
  term.dispose!();
  assert.ok(w.isDisposed);
  opt.dispose();
  disposeBatch(b);
});

Deno.test("hint-optimized plugin creates its map lazily when init is skipped", () => {
  const b = lossBatch();
  const term = makeTerm("hint-optimized");
  const v = termValue(term, b);
  assert.ok(Number.isFinite(v));
  assert.equal(term.variables!.length, 1);
  term.dispose!();
  disposeBatch(b);
});

Deno.test("fitnets plugin: one-stage is CE + 100·MSE through a 1×1 conv regressor", () => {
  const b = lossBatch();
  const term = makeTerm("fitnets", { studentLayer: "conv", teacherLayer: "conv" });
  assert.deepEqual(term.needs, { studentLayers: ["conv"], teacherLayers: ["conv"] });
  term.init!(b);
  const [kernel, bias] = term.variables!;
  assert.deepEqual(kernel.shape, [3, 5]); // student channels → teacher channels (20 / (2·2))
  assert.deepEqual(bias.shape, [5]);
  // Independent reference: regress every pixel by hand in plain JS.
  const hs = b.studentLayers.conv.arraySync() as number[][][][];
  const ht = b.teacherLayers.conv.arraySync() as number[][];
  const k = kernel.arraySync() as number[][];
  let sq = 0;
  for (let n = 0; n < 6; n++) {
    let idx = 0;
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 2; x++) {
        for (let c = 0; c < 5; c++) {
          let r = 0;
          for (let ci = 0; ci < 3; ci++) r += hs[n][y][x][ci] * k[ci][c];
          sq += (r - ht[n][idx++]) ** 2;
        }
      }
    }
  }
  const mse = sq / (6 * 20);
  const ce = ceValue(b);
  assertClose(termValue(term, b), ce + 100 * mse, 1e-5, "one-stage");
  const hintOnly = makeTerm("fitnets", {
    studentLayer: "conv",
    teacherLayer: "conv",
    stage: "hint",
  });
  assertClose(termValue(hintOnly, b), mse, 1e-5, "hint stage"); // same seed → same regressor
  const kd = makeTerm("fitnets", { stage: "kd", temperature: 3, alpha: 0.2 });
  const kdRef = tf.tidy(() =>
    hintonLoss(b.studentLogits, b.teacherLogits!, { temperature: 3, alpha: 0.2, labels: b.labels })
      .dataSync()[0]
  );
  assertClose(termValue(kd, b), kdRef, 1e-6, "kd stage");
  assert.deepEqual(kd.variables, []);
  for (const t of [term, hintOnly, kd]) t.dispose!();
  disposeBatch(b);
});

Deno.test("fitnets plugin rejects hint layers whose sizes cannot match", () => {
  const b = lossBatch();
  const term = makeTerm("fitnets", { studentLayer: "conv", teacherLayer: "fc" }); // 7 values vs 4 pixels
  assert.throws(() => term.init!(b), /not a multiple/);
  disposeBatch(b);
});

Deno.test("sum plugin adds weighted child terms and merges their needs and variables", () => {
  const b = lossBatch();
  const term = makeSum([
    lossSpec("cross-entropy", {}, 0.1),
    lossSpec("pkt", {}, 300),
    lossSpec("hint-optimized"),
  ], 2);
  assert.deepEqual(term.needs, {
    teacher: true,
    teacherLogits: false,
    studentLayers: [],
    teacherLayers: [],
  });
  term.init!(b);
  assert.equal(term.variables!.length, 1);
  const ce = ceValue(b);
  const p = valueOf(() => pktLoss(b.student, b.teacher!));
  const w = term.variables![0];
  const hint = tf.tidy(() =>
    hintLoss(b.student, b.teacher!, w as tf.Tensor as tf.Tensor2D, { mode: "optimized" })
      .dataSync()[0]
  );
  assertClose(termValue(term, b), 2 * (0.1 * ce + 300 * p + hint), 1e-5, "sum");
  term.dispose!();
  assert.ok(w.isDisposed);
  disposeBatch(b);
});

Deno.test("sum plugin without a plugin resolver says how to create it", () => {
  const o = sum.options.parse({ terms: ["pkt"] });
  assert.throws(() => sum.create(o, { seed: 1 }), /plugin resolver/);
});

Deno.test("loss plugins leak no tensors across training steps", () => {
  const b = lossBatch();
  const term = makeSum([
    lossSpec("fitnets", { studentLayer: "conv", teacherLayer: "conv" }),
    lossSpec("hint-random"),
    lossSpec("spkt", { kernel: "combined" }),
    lossSpec("hinton"),
    lossSpec("multi-pkt", { pairs: [{ student: "fc", teacher: "fc" }], kernel: "adaptive-rbf" }),
  ]);
  term.init!(b);
  const student = tf.variable(b.student);
  const opt = tf.train.adam(1e-3);
  const step = () =>
    tf.dispose(
      opt.minimize(() => term.compute({ ...b, student }), true, [student, ...term.variables!])!,
    );
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before);
  term.dispose!();
  student.dispose();
  opt.dispose();
  disposeBatch(b);
});
