import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { installCommand, isSoftwareAdapter, useBackend, webgpuAdapter } from "./select.ts";
import { KtError } from "../errors.ts";

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

Deno.test("useBackend('auto') never picks a software WebGPU adapter", async () => {
  const adapter = await webgpuAdapter();
  const choice = await useBackend("auto");
  if (adapter?.software) {
    assert.notEqual(choice.name, "webgpu");
    assert.match(choice.reason, /WebGPU adapter .*a software adapter skipped/);
  }
  await useBackend("wasm");
});

Deno.test("isSoftwareAdapter() knows fallback adapters and CPU rasterisers, not GPUs", () => {
  for (
    const info of [
      { fallback: true, description: "" },
      { description: "llvmpipe (LLVM 15.0.6, 256 bits)" },
      { description: "SwiftShader Device (Subzero)", vendor: "google" },
      { description: "", device: "lavapipe" },
    ]
  ) assert.equal(isSoftwareAdapter(info), true, JSON.stringify(info));
  for (
    const info of [
      { description: "NVIDIA H100 80GB HBM3", vendor: "nvidia", architecture: "hopper" },
      { description: "AMD Radeon RX 7900 XTX (RADV NAVI31)", vendor: "amd" },
      { description: "Apple M2", vendor: "apple", architecture: "metal-3" },
    ]
  ) assert.equal(isSoftwareAdapter(info), false, JSON.stringify(info));
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
    assert.ok(choice.adapter && choice.reason.includes(choice.adapter.description));
    assert.deepEqual(Array.from(await tf.add(tf.tensor1d([1, 2]), 1).data()), [2, 3]);
  } else {
    await assert.rejects(() => useBackend("webgpu"), KtError);
  }
  await useBackend("wasm");
});
