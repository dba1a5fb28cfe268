import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { installCommand, useBackend } from "./backend.ts";
import { KtError } from "./errors.ts";

Deno.test("useBackend() rejects an unknown backend with a suggestion and the valid names", async () => {
  await assert.rejects(
    () => useBackend("wsam"),
    (e: unknown) =>
      e instanceof KtError && e.message === 'unknown backend "wsam"; did you mean "wasm"?' &&
      e.format().includes("auto, wasm, cpu, webgpu, tensorflow, tensorflow-gpu"),
  );
});

Deno.test("useBackend() names the install command when tfjs-node-gpu is missing", async () => {
  await assert.rejects(
    () => useBackend("tensorflow-gpu"),
    (e: unknown) =>
      e instanceof KtError &&
      e.format().includes("deno install --allow-scripts=npm:@tensorflow/tfjs-node-gpu") &&
      !e.format().includes("\n"),
  );
  assert.match(installCommand("tensorflow"), /--allow-scripts=npm:@tensorflow\/tfjs-node$/);
});

Deno.test("useBackend('auto') falls back to wasm and says why", async () => {
  const choice = await useBackend("auto");
  assert.equal(choice.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.match(choice.reason, /tfjs-node-gpu not installed.*tfjs-node not installed.*wasm/);
});

Deno.test("useBackend() switches between cpu and wasm and both compute the same", async () => {
  const x = [[1, 2], [3, 4]];
  await useBackend("cpu");
  assert.equal(tf.getBackend(), "cpu");
  const onCpu = tf.matMul(tf.tensor2d(x), tf.tensor2d(x), false, true).arraySync();
  await useBackend("wasm");
  const onWasm = tf.matMul(tf.tensor2d(x), tf.tensor2d(x), false, true).arraySync();
  assert.deepEqual(onCpu, [[5, 11], [11, 25]]);
  assert.deepEqual(onWasm, onCpu);
});

Deno.test("useBackend('webgpu') works where an adapter exists, else fails clearly", async () => {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (adapter) {
    const choice = await useBackend("webgpu");
    assert.equal(choice.name, "webgpu");
    assert.deepEqual(Array.from(await tf.add(tf.tensor1d([1, 2]), 1).data()), [2, 3]);
  } else {
    await assert.rejects(() => useBackend("webgpu"), KtError);
  }
  await useBackend("wasm");
});
