import assert from "node:assert/strict";
import type * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../../src/backend/select.ts";
import cnn from "./cnn.ts";
import mlp from "./mlp.ts";
import resnet from "./resnet.ts";

await useBackend("cpu");

interface WeightStats {
  name: string;
  fanIn: number;
  max: number;
  variance: number;
  mean: number;
}

/** Every kernel and bias of a model with its layer's fan-in (kernel h·w·in, or dense inputs). */
function weightStats(net: { weights: { name: string; read(): tf.Tensor }[] }): WeightStats[] {
  // tfjs suffixes a weight name met before in the process: `logits/kernel_1`.
  const parts = (name: string) => name.match(/^(.*)\/(kernel|bias)(_\d+)?$/);
  const kernels = new Map<string, number>();
  for (const w of net.weights) {
    const p = parts(w.name);
    if (p?.[2] === "kernel") {
      kernels.set(p[1], w.read().shape.slice(0, -1).reduce((a, b) => a * b));
    }
  }
  return net.weights.filter((w) => parts(w.name) !== null).map((w) => {
    const v = w.read().dataSync();
    let sum = 0;
    let max = 0;
    for (const x of v) {
      sum += x;
      max = Math.max(max, Math.abs(x));
    }
    const mean = sum / v.length;
    let ss = 0;
    for (const x of v) ss += (x - mean) ** 2;
    return {
      name: w.name,
      fanIn: kernels.get(parts(w.name)![1])!,
      max,
      variance: ss / v.length,
      mean,
    };
  });
}

Deno.test("init torch: every kernel and bias of cnn, mlp and resnet is U(±1/√fan_in), as PyTorch's default", () => {
  const models = [
    cnn.build(cnn.options.parse({ filters: [8, 16, 32], dense: [64] }), {
      inputShape: [28, 28, 1],
      numClasses: 10,
      seed: 3,
    }),
    mlp.build(mlp.options.parse({ hidden: [256, 128] }), {
      inputShape: [28, 28, 1],
      numClasses: 10,
      seed: 3,
    }),
    resnet.build(resnet.options.parse({ width: 8, blocks: [1, 1] }), {
      inputShape: [16, 16, 3],
      numClasses: 10,
      seed: 3,
    }),
  ];
  let checked = 0;
  for (const m of models) {
    for (const s of weightStats(m.net)) {
      const limit = 1 / Math.sqrt(s.fanIn);
      assert.ok(s.max <= limit * (1 + 1e-6), `${s.name}: |w| ${s.max} > ${limit}`);
      // A U(±l) sample has variance l²/3; at n ≥ 10 values the estimate is within ±60 %.
      assert.ok(
        Math.abs(s.variance / (limit * limit / 3) - 1) < 0.6,
        `${s.name}: variance ${s.variance} vs ${limit * limit / 3}`,
      );
      checked++;
    }
    m.net.dispose();
  }
  // cnn: 3 conv kernels + biases, fc1, logits (×2); mlp: 3 layers (×2); resnet kernels + logits.
  assert.ok(checked >= 22, `checked ${checked} weights`);
});

Deno.test("init he: He-normal hidden kernels, Glorot output kernel, zero biases; glorot: zero biases", () => {
  const he = cnn.build(cnn.options.parse({ filters: [16, 32], dense: [64], init: "he" }), {
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 1,
  });
  for (const s of weightStats(he.net)) {
    if (s.name.includes("/bias")) assert.equal(s.max, 0, s.name);
    else if (s.name.startsWith("logits")) {
      const limit = Math.sqrt(6 / (s.fanIn + 10));
      assert.ok(s.max <= limit * (1 + 1e-6), `${s.name}: glorot limit`);
    } else {
      // He-normal is a truncated normal with std √(2/fan_in) before truncation (tfjs): the
      // sample variance lands at about 0.77 of 2/fan_in.
      const ratio = s.variance / (2 / s.fanIn);
      assert.ok(ratio > 0.55 && ratio < 1.05, `${s.name}: variance ratio ${ratio}`);
    }
  }
  he.net.dispose();
  const glorot = mlp.build(mlp.options.parse({ hidden: [32], init: "glorot" }), {
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 1,
  });
  for (const s of weightStats(glorot.net)) {
    if (s.name.includes("/bias")) assert.equal(s.max, 0, s.name);
  }
  glorot.net.dispose();
});

Deno.test("init torch: the same seed builds the same weights, another seed different ones", () => {
  const build = (seed: number) =>
    cnn.build(cnn.options.parse({ filters: [4], dense: [8] }), {
      inputShape: [8, 8, 1],
      numClasses: 3,
      seed,
    });
  const [a, b, c] = [build(5), build(5), build(6)];
  const flat = (m: typeof a) => m.net.getWeights().flatMap((w) => [...w.dataSync()]);
  assert.deepEqual(flat(a), flat(b));
  assert.notDeepEqual(flat(a), flat(c));
  for (const m of [a, b, c]) m.net.dispose();
});
