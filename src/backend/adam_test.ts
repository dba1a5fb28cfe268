import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
// tfjs-layers registers the gradients of the core ops (as in training).
import "@tensorflow/tfjs-layers";
import { useBackend } from "./select.ts";
import { KtAdamOptimizer } from "./adam.ts";
import { createRng } from "../rng.ts";
import { ADAM_UPDATE } from "./kernels/adam.ts";
import { countKernelCalls } from "./kernels/kernel_spy.ts";

/** Values of variables of several sizes after `steps` Adam steps on a quadratic-plus-sine loss. */
function optimize(make: () => tf.Optimizer, steps: number): Float32Array[] {
  const rng = createRng(4);
  const sizes = [1, 3, 4, 10, 1001];
  const vars = sizes.map((n) =>
    tf.variable(tf.tensor1d(Float32Array.from({ length: n }, () => rng.normal())))
  );
  const targets = sizes.map((n) =>
    tf.tensor1d(Float32Array.from({ length: n }, () => rng.normal()))
  );
  const opt = make();
  for (let s = 0; s < steps; s++) {
    const cost = opt.minimize(
      () =>
        tf.addN(
          vars.map((v, k) =>
            tf.sum(tf.add(tf.square(tf.sub(v, targets[k])), tf.sin(tf.mul(v, 3))))
          ),
        ) as tf.Scalar,
      true,
    );
    cost?.dispose();
  }
  const out = vars.map((v) => v.dataSync() as Float32Array);
  opt.dispose();
  tf.dispose([...vars, ...targets]);
  return out;
}

Deno.test("KtAdamOptimizer on wasm runs the fused kernel and is bit-identical to tfjs's Adam", async () => {
  await useBackend("wasm");
  let ours: Float32Array[] = [];
  const calls = countKernelCalls([ADAM_UPDATE], () => {
    ours = optimize(() => new KtAdamOptimizer(0.05), 25);
  });
  const stock = optimize(() => tf.train.adam(0.05), 25);
  assert.equal(calls[ADAM_UPDATE], 25 * 5);
  ours.forEach((v, k) => assert.deepEqual(v, stock[k], `variable ${k}`));
  // The optimisation moved the variables (the comparison is not between initial values).
  const initial = optimize(() => tf.train.adam(0.05), 0);
  assert.notDeepEqual(stock[4], initial[4]);
});

Deno.test("KtAdamOptimizer falls back to tfjs's Adam on other backends, with the same results", async () => {
  await useBackend("cpu");
  const ours = optimize(() => new KtAdamOptimizer(0.05), 5);
  const stock = optimize(() => tf.train.adam(0.05), 5);
  ours.forEach((v, k) => assert.deepEqual(v, stock[k], `variable ${k}`));
  await useBackend("wasm");
});

Deno.test("Adam's ε reaches the step: a 1e-7 gradient moves lr/(1+ε/|g|) — 0.5·lr at tfjs's 1e-7, 0.909·lr at PyTorch's 1e-8", async () => {
  for (const backend of ["wasm", "cpu"] as const) {
    await useBackend(backend);
    for (const [epsilon, factor] of [[1e-7, 0.5], [1e-8, 1 / 1.1]]) {
      const v = tf.variable(tf.tensor1d([1, -1]));
      const opt = new KtAdamOptimizer(0.01, 0.9, 0.999, epsilon);
      // d/dv of 1e-7·(v0 − v1) is [1e-7, −1e-7]: the first bias-corrected step is lr·g/(|g| + ε).
      opt.minimize(() => tf.sum(tf.mul(v, tf.tensor1d([1e-7, -1e-7]))) as tf.Scalar);
      const [a, b] = v.dataSync();
      assert.ok(Math.abs((1 - a) / 0.01 - factor) < 2e-3, `${backend} ε ${epsilon}: step ${1 - a}`);
      assert.ok(Math.abs((b + 1) / 0.01 - factor) < 2e-3, `${backend} ε ${epsilon}: step ${b + 1}`);
      opt.dispose();
      v.dispose();
    }
  }
});
